"""Requests a browser makes on behalf of another site: refused before they reach a route.

Nacos clients (every SDK) send no `Origin`, so they are never affected. A browser does:
1. A state-changing request (POST, PUT, DELETE, PATCH) whose `Origin` is neither this server's own
   (the `Host` it was sent to) nor a configured allowed origin is refused, and so is one marked
   `Sec-Fetch-Site: cross-site` without an allowed `Origin`. Otherwise a page on the operator's
   machine could claim the first admin, or, with auth off, publish configs and create users.
2. With auth off there is no credential to protect, so a page could rebind its own DNS name to
   127.0.0.1 and read everything as a same-origin page. Such a request carries the page's name
   in `Host`: a `Host` that is not an IP address, `localhost` or a configured name is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers

from pynacos.server.errors import Forbidden

STATE_CHANGING = frozenset({"POST", "PUT", "DELETE", "PATCH"})
DEFAULT_PORTS = {"http": 80, "https": 443}
ALLOWED_ORIGINS_KEY = "pynacos.http.allowed.origins"
ALLOWED_HOSTS_KEY = "pynacos.http.allowed.hosts"
MAX_REMEMBERED = 1024


class CrossSiteRefused(Forbidden):
    pass


class CrossSitePolicy:
    def __init__(
        self, allowed_origins: Iterable[str], allowed_hosts: Iterable[str], auth_enabled: Callable[[], bool]
    ) -> None:
        self.allowed_origins = {_origin_key(o) for o in allowed_origins}
        self.allowed_hosts = {h.lower().rstrip(".") for h in allowed_hosts} | {"localhost"}
        self.auth_enabled = auth_enabled
        self._hosts: dict[str, bool] = {}

    def check(self, method: str, headers: Headers, scheme: str) -> None:
        host = headers.get("host", "")
        if not self.auth_enabled() and host and not self._known_host(host):
            raise CrossSiteRefused(
                f"Host '{_printable(host)}' is not an address, localhost or a name in {ALLOWED_HOSTS_KEY} "
                "(auth is off, so other names are refused against DNS rebinding)"
            )
        if method in STATE_CHANGING:
            self._check_origin(headers, host, scheme)

    def _check_origin(self, headers: Headers, host: str, scheme: str) -> None:
        origin = headers.get("origin")
        if origin is None:
            if headers.get("sec-fetch-site", "").lower() == "cross-site":
                raise CrossSiteRefused("cross-site request refused")
            return
        key = _origin_key(origin)
        if key is not None and (key == _origin_key(f"{scheme}://{host}") or key in self.allowed_origins):
            return
        raise CrossSiteRefused(
            f"cross-site request from origin '{_printable(origin)}' refused; "
            f"allow a trusted origin with {ALLOWED_ORIGINS_KEY}"
        )

    def _known_host(self, host: str) -> bool:
        """Every request asks this, with one of a handful of values: remembered (bounded)."""
        known = self._hosts.get(host)
        if known is None:
            if len(self._hosts) >= MAX_REMEMBERED:
                self._hosts.clear()
            known = self._hosts[host] = self._judge_host(host)
        return known

    def _judge_host(self, host: str) -> bool:
        name = _host_name(host)
        if name is None:
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return name in self.allowed_hosts
        return True


def _host_name(host: str) -> str | None:
    """The name in a `Host` value without its port (`[::1]:8848` -> `::1`); None if malformed."""
    try:
        parts = urlsplit(f"//{host}")
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return None
    return (parts.hostname or "").rstrip(".") or None


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with default ports filled in; None for `null` or anything malformed."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.rstrip("."), port or DEFAULT_PORTS[scheme]


def _printable(value: str) -> str:
    return value[:100].encode("ascii", "backslashreplace").decode("ascii")
