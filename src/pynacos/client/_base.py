"""What the sync and async transports share: state, request arguments, error mapping (httpx BaseClient).

The twins in `_sync.py` and `_async.py` only run loops: they drive `auth_flow` (login once, retry
once) around `failover` (next server, pause, deadline), and send each attempt with httpx.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from pynacos import __version__
from pynacos.client._auth import AuthSession, FailureLog
from pynacos.client._exceptions import ClientClosed, ConnectError, Timeout, TransportError
from pynacos.client._failover import Attempt, Servers
from pynacos.client._models import LoginReply
from pynacos.client._protocol import Reply, Request, url
from pynacos.client._settings import ClientSettings, parse_server_list

USER_AGENT = f"Nacos-Python-Client:v{__version__} (pynacos)"


class BaseTransport:
    """Settings, auth session and server order of one client; no I/O here."""

    def __init__(self, settings: ClientSettings, rng: Callable[[], float] = random.random) -> None:
        self.settings = settings
        self.clock: Callable[[], float] = time.monotonic
        self.session = AuthSession(settings.username, settings.password, rng)
        self.servers = Servers(settings.servers, rng)
        self.closed = False
        self.closing = False  # close() has begun: background calls stop, its own last calls go on
        self._server_list_due = self.clock() + settings.endpoint_refresh_interval
        self._server_list_log = FailureLog()

    def server_list_due(self) -> bool:
        """True when the address server should be asked again (only with `settings.endpoint`)."""
        return self.settings.endpoint is not None and self.clock() >= self._server_list_due

    def on_server_list(self, answer: tuple[int, str] | Exception) -> None:
        """Take the address server's (status, text); a failure keeps the current list and is logged."""
        self._server_list_due = self.clock() + self.settings.endpoint_refresh_interval
        endpoint = self.settings.endpoint or ""
        try:
            if isinstance(answer, Exception):
                raise ValueError(f"the address server {endpoint} did not answer: {type(answer).__name__}")
            self.servers.replace(parse_server_list(endpoint, *answer))
        except ValueError as exc:
            kept = ", ".join(self.servers.addresses)
            self._server_list_log.report("server list", f"{exc}; keeping {kept}", self.clock())
            return
        self._server_list_log.clear()

    def start_login(self) -> None:
        """Before an explicit login: credentials must be set; the session starts from scratch."""
        self.check_open()
        if not self.session.username:
            raise ValueError("no username set: give ClientSettings(username=..., password=...)")
        self.session.set_credentials(self.session.username, self.session.password)

    def login_result(self) -> LoginReply | None:
        """What an explicit login gives: the token and TTL, None when the server has auth off."""
        if self.session.failure is not None:
            raise self.session.error()
        return None if self.session.auth_off else self.session.last_login

    def deadline(self, request: Request) -> float:
        return self.clock() + self.settings.timeout + request.extra_timeout

    def check_open(self, background: bool = False) -> None:
        if self.closed or (background and self.closing):
            raise ClientClosed("the client is closed")

    def arguments(self, attempt: Attempt, request: Request) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.request` / `httpx.AsyncClient.request`."""
        return {
            "method": request.method,
            "url": url(attempt.address, self.settings.context_path, request.path),
            "params": dict(request.params),
            "data": dict(request.data) if request.data is not None else None,
            "headers": dict(request.headers),
            "timeout": httpx.Timeout(attempt.timeout, connect=attempt.connect_timeout),
        }


def http_options(transport: Any) -> dict[str, Any]:
    return {"transport": transport, "headers": {"User-Agent": USER_AGENT}, "follow_redirects": False}


def reply_of(response: httpx.Response) -> Reply:
    return Reply(response.status_code, response.headers, response.content)


def outcome_of(address: str, exc: httpx.TransportError) -> TransportError:
    """A read timeout ends the call (its deadline is spent); any other failure moves to the next server."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return Timeout(f"{address} did not answer in time ({type(exc).__name__})")
    return ConnectError(f"{address}: {type(exc).__name__} {exc}".strip())
