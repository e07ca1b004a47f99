"""`pynacos doctor`: find the auth mistakes behind Nacos users' most common reports, and say the fix.

Each finding names what is wrong, why it matters and the one change that fixes it. Checks of a
settings directory need no server; checks of a running server use only public routes and, if
given, one login.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from pynacos.cli import servers

Level = Literal["ok", "warn", "problem"]
_LEVELS: dict[str, Level] = {"ok": "ok", "warn": "warn", "fail": "problem"}
SKEW_LIMIT = 5.0
STATE = "/v1/console/server/state"


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str

    def line(self) -> str:
        return {"ok": "ok      ", "warn": "warning ", "problem": "PROBLEM "}[self.level] + self.text


def check_settings(home: str) -> list[Finding]:
    """Static checks of `<home>/conf/application.properties` plus the environment: the same checks the
    console's auth health page runs on the live settings (server/auth/health_checks.py)."""
    from pynacos.server import settings as settings_module
    from pynacos.server.auth import health_checks

    try:
        settings = settings_module.load(home)
    except settings_module.SettingsError as exc:
        return [Finding("problem", str(exc))]
    findings = [Finding(_LEVELS[check.status], check.text()) for check in health_checks.settings_checks(settings)]
    return findings or [Finding("ok", "settings look sound")]


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
