"""The console port (`nacos.console.port`, as Nacos 3.x): what it serves, and its ASGI entry.

It serves the same route objects as the main port, picked by path, through a second router with
the same guard and limits: the web console, `/v3/console/**`, `/v3/auth/**` (login and accounts) and
the open health and server-state routes. Config, naming and admin APIs stay on the main port only,
so a console port opened to a wider network does not open the SDK or admin surface with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Receive, Scope, Send

from pynacos.server.auth.policy import Public
from pynacos.server.routing import Route, Router

SERVED = ("/v3/console/", "/v3/auth/", "/console-ui/")
PAGES = ("/", "/index.html")
#: open everywhere already; probes and the console's start-up read them
OPEN_STATE = ("/v1/console/server/state", "/v1/console/health/", "/v2/console/health/")


def console_routes(routes: Iterable[Route]) -> list[Route]:
    return [
        entry
        for entry in routes
        if entry.path in PAGES
        or entry.path.startswith(SERVED)
        or (isinstance(entry.policy, Public) and entry.path.startswith(OPEN_STATE))
    ]


class ConsoleListener:
    """The console port's ASGI app: HTTP requests go to its router; start-up and shutdown belong to the
    main port's app (the console listener runs with lifespan off), and nothing else is served."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.router(scope, receive, send)
