"""`pynacos doctor --server URL --cluster`: ask every member how it sees the others, and say what to fix.

The server named on the command line gives the member list (`/v1/core/cluster/nodes`); then each member
is asked the same question at its own address, with the same context path and the same token (a token
from one node works on all of them when their token secrets agree; one refused is itself a finding).
Reported: members that cannot be reached, members some node sees SUSPICIOUS or DOWN, and the problems
nodes record about each other (`extendInfo.pynacosIssues`: identity refused, token secret differs).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from pynacos.cli import servers
from pynacos.cli.doctor import Finding

NODES = "/v1/core/cluster/nodes"


def check_cluster(url: str, username: str | None, password: str | None, timeout: float = 5.0) -> list[Finding]:
    base = servers.base_url(url)
    context = urlsplit(base).path
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        params = _credentials(client, base, username, password)
        listed, problem = _members(client, base, params)
        if problem is not None:
            return [problem]
        findings: list[Finding] = []
        for member in listed:
            address = str(member.get("address"))
            seen, problem = _members(client, f"http://{address}{context}", params)
            findings += [problem] if problem is not None else _views(address, seen)
    return findings or [Finding("ok", f"{len(listed)} members; every one sees every other UP, with no problems")]


def _credentials(client: httpx.Client, base: str, username: str | None, password: str | None) -> dict[str, str]:
    if not username or not password:
        return {}
    reply = client.post(base + "/v1/auth/login", data={"username": username, "password": password})
    token = reply.json().get("accessToken") if reply.status_code == 200 else None
    return {"accessToken": token} if token and token != "AUTH_DISABLED" else {}


def _members(client: httpx.Client, base: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], Finding | None]:
    try:
        reply = client.get(base + NODES, params=params)
    except httpx.HTTPError as exc:
        return [], Finding("problem", f"cannot reach {base} ({exc.__class__.__name__}): is the member running?")
    if reply.status_code == 403:
        return [], Finding(
            "problem",
            f"{base} refused the member list (403): give --username/--password of an admin; if they work on other "
            "members, this one has a different nacos.core.auth.plugin.nacos.token.secret.key",
        )
    if reply.status_code != 200:
        return [], Finding("problem", f"{base}{NODES} answered {reply.status_code}")
    data = reply.json().get("data")
    return (data if isinstance(data, list) else []), None


def _views(observer: str, members: list[dict[str, Any]]) -> list[Finding]:
    """What `observer` reports about the others: states other than UP, and recorded problems."""
    found: list[Finding] = []
    for member in members:
        address, state = member.get("address"), member.get("state")
        if address == observer:
            continue
        if state != "UP":
            found.append(Finding("problem", f"{observer} sees {address} {state} (failed health reports)"))
        issues = (member.get("extendInfo") or {}).get("pynacosIssues") or {}
        for name, text in sorted(issues.items()):
            found.append(Finding("problem", f"{observer}: member {address} {text} [{name}]"))
    return found
