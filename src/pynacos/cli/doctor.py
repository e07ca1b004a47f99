"""`pynacos doctor`: find the auth mistakes behind Nacos users' most common reports, and say the fix.

Each finding names what is wrong, why it matters and the one change that fixes it. Checks of a
settings directory need no server; checks of a running server use only public routes and, if
given, one login.
"""

from __future__ import annotations

import email.utils
import ipaddress
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import httpx

from pynacos.cli import servers

if TYPE_CHECKING:
    from pynacos.server.settings import Settings

Level = Literal["ok", "warn", "problem"]
LONG_TTL = 86400
SHORT_TTL = 60
SKEW_LIMIT = 5.0
STATE = "/v1/console/server/state"


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str

    def line(self) -> str:
        return {"ok": "ok      ", "warn": "warning ", "problem": "PROBLEM "}[self.level] + self.text


def check_settings(home: str) -> list[Finding]:
    """Static checks of `<home>/conf/application.properties` plus the environment."""
    from pynacos.server import settings as settings_module
    from pynacos.server.auth import system

    try:
        settings = settings_module.load(home)
        warnings = system.check(settings)
    except settings_module.SettingsError as exc:
        return [Finding("problem", str(exc))]
    findings = [Finding("warn", w) for w in [*settings.notes, *warnings]]
    findings += _auth_findings(settings)
    findings += _scope_findings(settings)
    findings += _ttl_findings(settings.token_expire_seconds)
    findings += _health_check_findings(settings)
    return findings or [Finding("ok", "settings look sound")]


def _health_check_findings(settings: Settings) -> list[Finding]:
    """Active checks connect to addresses clients register: an unrestricted target list is worth a look."""
    wide = [block for block in settings.naming_check_targets if _wide(block)]
    if not settings.naming_active_checks or not wide:
        return []
    return [
        Finding(
            "warn",
            "active health checks may connect to almost any address a client registers (" + ", ".join(wide) + "; "
            "loopback, link-local and cloud metadata addresses excepted), and HTTP checks send the client's path "
            "and headers there. Fix: list your service networks in pynacos.naming.health.active.targets, "
            "e.g. 10.0.0.0/8.",
        )
    ]


def _auth_findings(settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    if not settings.auth_enabled:
        found.append(
            Finding(
                "warn",
                "auth is off: clients configured with a username still try to log in, and a missing user shows "
                "up as `login failed ... user not found!` every few seconds while everything else works. "
                "Fix: turn auth on (nacos.core.auth.enabled=true) or remove the credentials from the clients.",
            )
        )
        if settings.address and settings.address not in ("127.0.0.1", "localhost", "::1"):
            found.append(
                Finding(
                    "problem",
                    f"auth is off and server.address={settings.address}: anyone on the network can "
                    "read and write every config. Fix: nacos.core.auth.enabled=true.",
                )
            )
    else:
        found.append(Finding("ok", "auth is on with a usable secret key"))
    if settings.auth_enabled and not settings.standalone and not settings.identity_value:
        found.append(
            Finding(
                "problem",
                "cluster mode without a server identity: nodes answer each other 403 "
                "(`invalid server identity key or value`). Fix: set the same "
                "nacos.core.auth.server.identity.key/value on every node.",
            )
        )
    if settings.token_cache_enable:
        found.append(
            Finding(
                "warn",
                "token.cache.enable=true: logins within 90% of a token's life get the same "
                "token with a shrinking tokenTtl; clients must honour tokenTtl.",
            )
        )
    if settings.storage == "sqlite" and settings.sqlite_synchronous == "normal":
        found.append(Finding("warn", "pynacos.storage.synchronous=normal: a power loss may undo acknowledged writes."))
    return found


def _scope_findings(settings: Settings) -> list[Finding]:
    """Nacos 3.x's admin and console auth scopes (protocol-v3 G.8.1): on by default, and checked whatever
    nacos.core.auth.enabled says."""
    from pynacos.server.auth import system

    found = [
        Finding(
            "warn",
            f"{key}=false: {routes} answers anyone who can reach the port, whatever nacos.core.auth.enabled "
            f"says. Fix: {key}=true (the Nacos 3.x default).",
        )
        for on, key, routes in (
            (settings.auth_admin_enabled, "nacos.core.auth.admin.enabled", "/v3/admin/** (configs, services, ops)"),
            (settings.auth_console_enabled, "nacos.core.auth.console.enabled", "/v3/console/**"),
        )
        if not on
    ]
    scoped = settings.auth_admin_enabled or settings.auth_console_enabled
    if scoped and not settings.auth_enabled and system.codec_for(settings) is None:
        found.append(
            Finding(
                "warn",
                "/v3/admin/**, /v3/console/** and the user, role and permission routes need a login "
                "(nacos.core.auth.admin.enabled / console.enabled), but no usable token secret key is set, so a "
                "login gives no usable token and only requests that carry username and password get through. "
                "Fix: set nacos.core.auth.plugin.nacos.token.secret.key (`pynacos secret` prints one).",
            )
        )
    return found


def _ttl_findings(ttl: int) -> list[Finding]:
    if ttl > LONG_TTL:
        return [
            Finding(
                "warn",
                f"token lifetime {ttl} s: a leaked token works for over a day. Fix: lower "
                "nacos.core.auth.plugin.nacos.token.expire.seconds (default 18000).",
            )
        ]
    if ttl < SHORT_TTL:
        return [
            Finding(
                "warn",
                f"token lifetime {ttl} s: clients that refresh 10 s before expiry (nacos-sdk-python) "
                "log in almost every call; clients that never refresh get 403 after it. Fix: 18000.",
            )
        ]
    return [Finding("ok", f"token lifetime {ttl} s")]


def _wide(block: str) -> bool:
    """Wider than a /8 (IPv4) or a /16 (IPv6): more than one organisation's networks."""
    network = ipaddress.ip_network(block, strict=False)
    return network.prefixlen < (8 if network.version == 4 else 16)


def check_server(url: str, username: str | None, password: str | None, timeout: float = 5.0) -> list[Finding]:
    """Live checks against a running server: reachability, clock skew, auth state, one login.
    `url` is `host:port` (context path /nacos) or a URL with the context path (servers.py)."""
    base = servers.base_url(url)
    try:
        with httpx.Client(base_url=base, timeout=timeout) as client:
            state = client.get(STATE)
            found: list[Finding] = []
            if state.status_code == 404 and not urlsplit(base).path:
                base, state, found = _with_default_context(client, base, state)
            findings = [*found, _skew(state), *_state_findings(state)]
            if username and password:
                findings += _login_findings(client, base, username, password)
            return findings
    except httpx.HTTPError as exc:
        return [
            Finding(
                "problem",
                f"cannot reach {base}: {exc.__class__.__name__}. Fix: check the URL "
                "(host:port, or with the context path, e.g. http://host:8848/nacos) and the network.",
            )
        ]


def _with_default_context(
    client: httpx.Client, base: str, state: httpx.Response
) -> tuple[str, httpx.Response, list[Finding]]:
    """A URL without a path answered 404: if `/nacos` under it is a Nacos server, say so and check that."""
    fixed = base + servers.DEFAULT_CONTEXT
    retried = client.get(fixed + STATE)
    if retried.status_code == 404:
        return base, state, []
    note = Finding(
        "warn",
        f"{base} has no context path, so every API there answers 404; the server is at {fixed} (checked "
        f"below). Fix: use {fixed} wherever {base} is configured (--server, serverAddr with contextPath).",
    )
    return fixed, retried, [note]


def _skew(response: httpx.Response) -> Finding:
    date = response.headers.get("date")
    if not date:
        return Finding("warn", "server sent no Date header; clock skew not checked")
    skew = time.time() - email.utils.parsedate_to_datetime(date).timestamp()
    if abs(skew) > SKEW_LIMIT:
        return Finding(
            "problem",
            f"clock skew {skew:+.0f} s between here and the server: tokens look expired "
            "early or late (403 `token expired!`). Fix: run NTP on both machines.",
        )
    return Finding("ok", f"clock skew {skew:+.1f} s")


def _state_findings(response: httpx.Response) -> list[Finding]:
    if response.status_code == 404:
        return [
            Finding(
                "problem",
                f"{response.request.url} answered 404: not a Nacos server, or the context path is wrong "
                "(Nacos serves under /nacos, e.g. http://host:8848/nacos).",
            )
        ]
    if response.status_code != 200:
        return [Finding("problem", f"server state answered {response.status_code}")]
    state = response.json()
    found = [
        Finding(
            "ok",
            f"server {state.get('version')} ({state.get('startup_mode')}), auth_enabled={state.get('auth_enabled')}",
        )
    ]
    if state.get("auth_admin_request") == "true":
        found.append(
            Finding(
                "problem",
                "auth is on but no admin exists yet, so every login fails with "
                "`user not found!`. Fix: `pynacos user init-admin --home DIR` on the server.",
            )
        )
    return found


def _login_findings(client: httpx.Client, base: str, username: str, password: str) -> list[Finding]:
    response = client.post(base + "/v1/auth/login", data={"username": username, "password": password})
    if response.status_code == 403:
        return [
            Finding(
                "problem",
                f"login as {username!r} refused ({response.text.strip()}): the user does not "
                "exist or the password is wrong. Fix: create the user or correct the password.",
            )
        ]
    if response.status_code == 429:
        return [
            Finding(
                "problem",
                f"login as {username!r} is locked after repeated failures; retry after "
                f"{response.headers.get('Retry-After')} s with the right password.",
            )
        ]
    if response.status_code != 200:
        return [Finding("problem", f"login answered {response.status_code}: {response.text[:200]}")]
    body = response.json()
    if body.get("accessToken") == "AUTH_DISABLED":
        return [Finding("warn", "login works but the server has auth off (token AUTH_DISABLED)")]
    ttl = int(body.get("tokenTtl", 0))
    return [
        Finding(
            "ok",
            f"login as {username!r} works; token lifetime {ttl} s. Clients must log in again "
            "before it ends (a client that never refreshes gets 403 after that).",
        )
    ]
