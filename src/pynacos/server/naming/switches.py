"""Naming switches an operator may change while the server runs (`PUT /v1/ns/operator/switches`).

Nacos accepts some thirty entries, most of which steer machinery pynacos does not have (Distro,
Raft, push version filters); it takes a mistyped entry without a word and reads any boolean it
does not recognise as false. pynacos takes the entries that change what it does, under Nacos's
names, refuses the others by name, and refuses values that are not what the entry needs:

- `check`: the health checks (beats turning instances unhealthy and expiring them, and active
  checks) pause while false, e.g. during network maintenance, so that nothing is removed;
- `pushEnabled`: UDP push pauses while false (subscribers fall back to polling);
- `healthCheckTimes`: consecutive active-check results that flip an instance's health;
- `clientBeatInterval`: the beat interval the beat answer tells clients (ms);
- `defaultInstanceEphemeral`: what `ephemeral` means when a request leaves it out;
- `lightBeatEnabled`: what the beat answer tells clients about light beats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynacos.server.naming.models import NamingError


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ValueError("true or false")
    return value == "true"


def _positive(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("a whole number") from None
    if not 0 < value <= 2**31 - 1:
        raise ValueError("a number from 1 to 2147483647")
    return value


#: entry (Nacos's name) -> (field, parser)
ENTRIES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "check": ("health_check_enabled", _boolean),
    "pushEnabled": ("push_enabled", _boolean),
    "healthCheckTimes": ("check_times", _positive),
    "clientBeatInterval": ("client_beat_interval", _positive),
    "defaultInstanceEphemeral": ("default_instance_ephemeral", _boolean),
    "lightBeatEnabled": ("light_beat_enabled", _boolean),
}


@dataclass
class Switches:
    health_check_enabled: bool = True
    push_enabled: bool = True
    check_times: int = 3
    client_beat_interval: int = 5000
    default_instance_ephemeral: bool = True
    light_beat_enabled: bool = True

    def parse(self, entry: str, raw: str) -> tuple[str, Any]:
        """(field, value) for an entry and its text; NamingError (400) names what is wrong."""
        known = ENTRIES.get(entry)
        if known is None:
            raise NamingError(f"switch entry '{entry}' is not supported by pynacos; it supports {', '.join(ENTRIES)}")
        name, parse = known
        try:
            return name, parse(raw)
        except ValueError as exc:
            raise NamingError(f"switch {entry} needs {exc}, got '{raw}'") from None

    def load(self, stored: dict[str, str]) -> None:
        """Stored entries, as written by `PUT /switches`; an entry no longer understood is skipped."""
        for entry, raw in stored.items():
            try:
                name, value = self.parse(entry, raw)
            except NamingError:
                continue
            setattr(self, name, value)

    def as_json(self) -> dict[str, Any]:
        """The SwitchDomain keys these switches stand for (`check` is shown as `healthCheckEnabled`)."""
        return {
            "healthCheckEnabled": self.health_check_enabled,
            "pushEnabled": self.push_enabled,
            "checkTimes": self.check_times,
            "clientBeatInterval": self.client_beat_interval,
            "defaultInstanceEphemeral": self.default_instance_ephemeral,
            "lightBeatEnabled": self.light_beat_enabled,
        }


#: Nacos 2.5.1's SwitchDomain as `GET /operator/switches` shows it; the entries above replace theirs
SWITCH_DOMAIN: dict[str, Any] = {
    "masters": None,
    "adWeightMap": {},
    "defaultPushCacheMillis": 10000,
    "clientBeatInterval": 5000,
    "defaultCacheMillis": 3000,
    "distroThreshold": 0.7,
    "healthCheckEnabled": True,
    "autoChangeHealthCheckEnabled": True,
    "distroEnabled": True,
    "enableStandalone": True,
    "pushEnabled": True,  # the live value comes from UdpPush.active
    "checkTimes": 3,
    "httpHealthParams": {"max": 5000, "min": 500, "factor": 0.85},
    "tcpHealthParams": {"max": 5000, "min": 1000, "factor": 0.75},
    "mysqlHealthParams": {"max": 3000, "min": 2000, "factor": 0.65},
    "incrementalList": [],
    "serverStatusSynchronizationPeriodMillis": 2000,
    "serviceStatusSynchronizationPeriodMillis": 5000,
    "disableAddIP": False,
    "sendBeatOnly": False,
    "lightBeatEnabled": True,
    "limitedUrlMap": {},
    "distroServerExpiredMillis": 10000,
    "pushGoVersion": "0.1.0",
    "pushJavaVersion": "0.1.0",
    "pushPythonVersion": "0.4.3",
    "pushCVersion": "1.0.12",
    "pushCSharpVersion": "0.9.0",
    "enableAuthentication": False,
    "overriddenServerStatus": None,
    "defaultInstanceEphemeral": True,
    "healthCheckWhiteList": [],
    "name": "00-00---000-NACOS_SWITCH_DOMAIN-000---00-00",
    "checksum": None,
}
