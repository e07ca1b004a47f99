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
from pynacos.client._auth import AuthSession
from pynacos.client._exceptions import ClientClosed, ConnectError, Timeout, TransportError
from pynacos.client._failover import Attempt, Servers
from pynacos.client._protocol import Reply, Request, url
from pynacos.client._settings import ClientSettings

USER_AGENT = f"Nacos-Python-Client:v{__version__} (pynacos)"


class BaseTransport:
    """Settings, auth session and server order of one client; no I/O here."""

    def __init__(self, settings: ClientSettings, rng: Callable[[], float] = random.random) -> None:
        self.settings = settings
        self.clock: Callable[[], float] = time.monotonic
        self.session = AuthSession(settings.username, settings.password, rng)
        self.servers = Servers(settings.servers, rng)
        self.closed = False

    def deadline(self, request: Request) -> float:
        return self.clock() + self.settings.timeout + request.extra_timeout

    def check_open(self) -> None:
        if self.closed:
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
