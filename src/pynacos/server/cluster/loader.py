"""The loader routes across members: each node's connection figures, and "keep this many" orders.

Nacos asks its peers with ServerLoaderInfoRequest and ServerReloadRequest over the cluster gRPC port; here the
same two questions are Internal HTTP routes (signed, like every node message). A peer that does not answer
within the peer client's timeout is left out of the figures, which the answer shows as `completed: false`
(ops/loader.py then refuses to move connections on half a picture).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httpx
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.cluster.members import Member
from pynacos.server.http import Call
from pynacos.server.ops.loader import LoaderRoutes

if TYPE_CHECKING:
    from pynacos.server.cluster import Cluster

log = logging.getLogger("pynacos.cluster")
FIGURES = "/v1/core/loader/node/figures"
RELOAD = "/v1/core/loader/node/reload"


class ClusterLoader:
    """`LoaderPeers` (ops/loader.py) over the cluster's members and peer client."""

    def __init__(self, cluster: Cluster, loader: LoaderRoutes) -> None:
        self.cluster = cluster
        self.loader = loader
        cluster.internal_route(FIGURES, self.send_figures)
        cluster.internal_route(RELOAD, self.reload_here)
        loader.peers = self

    def member_count(self) -> int:
        return len(self.cluster.members.members())

    async def figures(self) -> list[dict[str, Any]]:
        peers = self.cluster.members.reachable_peers()
        answers = await asyncio.gather(*(self._figures_of(member) for member in peers))
        return [answer for answer in answers if answer is not None]

    async def _figures_of(self, member: Member) -> dict[str, Any] | None:
        try:
            response = await self.cluster.peers.post(member, FIGURES)
            figures = response.json()["data"] if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None
        return figures if isinstance(figures, dict) and isinstance(figures.get("sdkConCount"), int) else None

    async def reload(self, address: str, keep: int) -> None:
        member = self.cluster.members.get(address)
        if member is None:
            return
        try:
            await self.cluster.peers.post(member, RELOAD, data={"count": str(keep)})
        except httpx.HTTPError as exc:
            log.warning("could not ask %s to shed connections: %s", address, type(exc).__name__)

    async def send_figures(self, call: Call) -> Response:
        return http.result(self.loader.figures())

    async def reload_here(self, call: Call) -> Response:
        await self.loader.reload_current(call.params)
        return http.result(None)
