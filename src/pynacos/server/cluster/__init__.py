"""Cluster mode: the member list, node-to-node messages, and catch-up (docs/cluster.md has the design).

The database is the durable source of truth; nodes only tell each other which keys changed, and each
re-reads them. `Cluster` assembles the parts for app.py:

- `members` (members.py): the list, this node, states, `on_state_change(listener)`.
- `peers` (peers.py): `send(path, form, key=None, retry=True)` to every peer with Nacos's retry schedule,
  `post(member, path, ...)` for one call, the health reports.
- `internal_route(path, handler)`: add a node-to-node route (policy `Internal`: the server identity header
  or nothing) before the router is built; naming replication registers its routes here.
- config notices and repair (notify.py, repair.py), auth notices (notify.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.auth import keys
from pynacos.server.auth.policy import INTERNAL
from pynacos.server.auth.system import AuthSystem
from pynacos.server.cluster.http import ClusterRoutes
from pynacos.server.cluster.members import MemberAddresses, MemberList
from pynacos.server.cluster.notify import AUTH_CHANGED, DATA_CHANGE, LOGIN_FAILED, AuthNotices, ConfigNotices
from pynacos.server.cluster.peers import Peers, fingerprint
from pynacos.server.cluster.repair import ConfigRepair
from pynacos.server.config.service import ConfigService
from pynacos.server.events import ConfigChanged, EventBus
from pynacos.server.namespaces.service import NamespaceService
from pynacos.server.routing import Handler, Route, route
from pynacos.server.settings import Settings

__all__ = ["Cluster"]


class Cluster:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        bus: EventBus,
        configs: ConfigService,
        namespaces: NamespaceService,
        auth: AuthSystem,
    ) -> None:
        self.members = MemberList(settings)
        secret, _ = keys.check(settings.token_secret_key)  # checked at start-up (startup.py)
        self.peers = Peers(self.members, settings, fingerprint(secret))
        if settings.member_address_check:
            auth.guard.member_address = MemberAddresses(self.members).contains
        self.config_notices = ConfigNotices(configs, self.peers)
        self.auth_notices = AuthNotices(auth, self.peers)
        self.repair = ConfigRepair(configs, namespaces, engine)
        configs.read_through = True
        bus.subscribe(ConfigChanged, self.config_notices.changed)
        auth.accounts.on_change.append(self.auth_notices.changed)
        auth.throttle.on_failure = self.auth_notices.login_failed
        self._routes = ClusterRoutes(self.members, self.peers).routes()
        self.internal_route(DATA_CHANGE, self.config_notices.receive)
        self.internal_route(AUTH_CHANGED, self.auth_notices.receive_changed)
        self.internal_route(LOGIN_FAILED, self.auth_notices.receive_login_failed)
        self._tasks: list[asyncio.Task[None]] = []
        self._more_work: list[Callable[[], Coroutine[Any, Any, None]]] = []

    def internal_route(self, path: str, handler: Handler, methods: str = "POST", before_ready: bool = False) -> None:
        """A node-to-node route; call before `routes()` is read (the router is built once, at start-up)."""
        self._routes.append(route(path, methods, handler, INTERNAL, before_ready=before_ready))

    def routes(self) -> list[Route]:
        return list(self._routes)

    def also_run(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work()` from `start()` to `stop()` too (naming replication, distro.py, adds its loop here)."""
        self._more_work.append(work)

    def start(self) -> None:
        """Begin reporting, catching up and reloading auth (once the data is loaded)."""
        for work in (self.peers.report_forever(), self.repair.run_forever(), self.auth_notices.reload_forever()):
            self._tasks.append(asyncio.create_task(work))
        self._tasks.extend(asyncio.create_task(work()) for work in self._more_work)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.peers.close()
