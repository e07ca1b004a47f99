"""The auth checks of a set of settings, each with what is wrong, why it matters and the one fix.

One list for two readers: `pynacos doctor --home` (before a start, from the files) and the console's
auth health page (`/v3/console/auth/health`, the settings the server is running with, reloads
included). Both must say the same thing about the same settings, so the checks live here, pure:
settings in, checks out, no I/O. No check ever shows a secret: a key is described by its length and
strength, the identity value by its length.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from pynacos.server.auth import keys, system
from pynacos.server.settings import Settings, SettingsError

Status = Literal["ok", "warn", "fail"]
LONG_TTL = 86400
SHORT_TTL = 60
PREVIOUS_KEY = "pynacos.auth.token.previous.secret.key"
#: keys.decode names the offending character; a character of a secret stays out of every answer
_KEY_CHARACTER = re.compile(r"character: '.*?'")


@dataclass(frozen=True)
class Check:
    """One finding: `name` says what was checked, `detail` what was found and why it matters."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def text(self) -> str:
        """One sentence for a terminal: the detail, then the fix."""
        return f"{self.detail} Fix: {self.fix}" if self.fix else self.detail


def settings_checks(settings: Settings) -> list[Check]:
    """Every check, in the order doctor prints them. Settings the server would refuse to start with are
    one `fail` (the refusal names its own fix); the other checks assume a server that starts."""
    try:
        warnings = system.check(settings)
    except SettingsError as exc:
        return [Check("settings", "fail", str(exc))]
    return [
        *(Check("settings", "warn", text) for text in [*settings.notes, *warnings]),
        *auth_checks(settings),
        *key_checks(settings),
        *identity_checks(settings),
        *risky_switch_checks(settings),
        *scope_checks(settings),
        *ttl_checks(settings.token_expire_seconds),
        *health_check_target_checks(settings),
    ]


def auth_checks(settings: Settings) -> list[Check]:
    if settings.auth_enabled:
        return [Check("auth", "ok", "auth is on")]
    found = [
        Check(
            "auth",
            "warn",
            "auth is off: clients configured with a username still try to log in, and a missing user shows "
            "up as `login failed ... user not found!` every few seconds while everything else works.",
            "turn auth on (nacos.core.auth.enabled=true) or remove the credentials from the clients.",
        )
    ]
    if settings.address and settings.address not in ("127.0.0.1", "localhost", "::1"):
        found.append(
            Check(
                "exposure",
                "fail",
                f"auth is off and server.address={settings.address}: anyone on the network can "
                "read and write every config.",
                "nacos.core.auth.enabled=true.",
            )
        )
    return found


def key_checks(settings: Settings) -> list[Check]:
    """The strength of each token key that is set (an unset key is the scope check's business)."""
    named = (
        ("secret-key", keys.PROPERTY, settings.token_secret_key),
        ("previous-secret-key", PREVIOUS_KEY, settings.token_previous_secret_key),
    )
    return [_key_strength(name, prop, value, settings.auth_enabled) for name, prop, value in named if value]


def _key_strength(name: str, prop: str, value: str, auth_enabled: bool) -> Check:
    try:
        key, warnings = keys.check(value)
    except keys.InvalidKey as exc:
        return Check(name, "fail" if auth_enabled else "warn", _KEY_CHARACTER.sub("character", str(exc)))
    detail = f"{prop}: a {len(key) * 8}-bit key, tokens signed with {keys.algorithm_for(key)}."
    if warnings:
        return Check(name, "warn", " ".join([detail, *warnings]), "re-encode the same key in standard Base64.")
    return Check(name, "ok", detail)


def identity_checks(settings: Settings) -> list[Check]:
    """The identity header skips every check, so its value is held to the rules start-up applies with auth
    on, whatever nacos.core.auth.enabled says: the admin and console scopes honour it too."""
    if settings.auth_enabled and not settings.standalone and not settings.identity_value:
        return [
            Check(
                "server-identity",
                "fail",
                "cluster mode without a server identity: nodes answer each other 403 "
                "(`invalid server identity key or value`).",
                "set the same nacos.core.auth.server.identity.key/value on every node.",
            )
        ]
    if not settings.identity_key or not settings.identity_value:
        return []
    try:
        system._check_identity(settings)  # the start-up rule itself, not a copy of it
    except SettingsError as exc:
        return [Check("server-identity", "fail", str(exc))]
    size = len(settings.identity_value.encode())
    return [Check("server-identity", "ok", f"server identity key and value are set (the value is {size} bytes)")]


def risky_switch_checks(settings: Settings) -> list[Check]:
    found = []
    if settings.token_cache_enable:
        found.append(
            Check(
                "token-cache",
                "warn",
                "token.cache.enable=true: logins within 90% of a token's life get the same "
                "token with a shrinking tokenTtl; clients must honour tokenTtl.",
            )
        )
    if settings.storage == "sqlite" and settings.sqlite_synchronous == "normal":
        found.append(
            Check(
                "storage-sync",
                "warn",
                "pynacos.storage.synchronous=normal: a power loss may undo acknowledged writes.",
            )
        )
    return found


def scope_checks(settings: Settings) -> list[Check]:
    """Nacos 3.x's admin and console auth scopes (protocol-v3 G.8.1): on by default, and checked whatever
    nacos.core.auth.enabled says."""
    found = [
        Check(
            name,
            "warn",
            f"{key}=false: {routes} answers anyone who can reach the port, whatever nacos.core.auth.enabled says.",
            f"{key}=true (the Nacos 3.x default).",
        )
        for on, name, key, routes in (
            (
                settings.auth_admin_enabled,
                "admin-scope",
                "nacos.core.auth.admin.enabled",
                "/v3/admin/** (configs, services, ops)",
            ),
            (settings.auth_console_enabled, "console-scope", "nacos.core.auth.console.enabled", "/v3/console/**"),
        )
        if not on
    ]
    scoped = settings.auth_admin_enabled or settings.auth_console_enabled
    if scoped and not settings.auth_enabled and system.codec_for(settings) is None:
        found.append(
            Check(
                "scope-login",
                "warn",
                "/v3/admin/**, /v3/console/** and the user, role and permission routes need a login "
                "(nacos.core.auth.admin.enabled / console.enabled), but no usable token secret key is set, so a "
                "login gives no usable token and only requests that carry username and password get through.",
                "set nacos.core.auth.plugin.nacos.token.secret.key (`pynacos secret` prints one).",
            )
        )
    return found


def ttl_checks(ttl: int) -> list[Check]:
    if ttl > LONG_TTL:
        return [
            Check(
                "token-lifetime",
                "warn",
                f"token lifetime {ttl} s: a leaked token works for over a day.",
                "lower nacos.core.auth.plugin.nacos.token.expire.seconds (default 18000).",
            )
        ]
    if ttl < SHORT_TTL:
        return [
            Check(
                "token-lifetime",
                "warn",
                f"token lifetime {ttl} s: clients that refresh 10 s before expiry (nacos-sdk-python) "
                "log in almost every call; clients that never refresh get 403 after it.",
                "18000.",
            )
        ]
    return [Check("token-lifetime", "ok", f"token lifetime {ttl} s")]


def health_check_target_checks(settings: Settings) -> list[Check]:
    """Active checks connect to addresses clients register: an unrestricted target list is worth a look."""
    wide = [block for block in settings.naming_check_targets if _wide(block)]
    if not settings.naming_active_checks or not wide:
        return []
    return [
        Check(
            "active-health-checks",
            "warn",
            "active health checks may connect to almost any address a client registers (" + ", ".join(wide) + "; "
            "loopback, link-local and cloud metadata addresses excepted), and HTTP checks send the client's path "
            "and headers there.",
            "list your service networks in pynacos.naming.health.active.targets, e.g. 10.0.0.0/8.",
        )
    ]


def _wide(block: str) -> bool:
    """Wider than a /8 (IPv4) or a /16 (IPv6): more than one organisation's networks."""
    network = ipaddress.ip_network(block, strict=False)
    return network.prefixlen < (8 if network.version == 4 else 16)
