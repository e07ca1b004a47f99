"""Ops routes across members: the loader's connection figures and "keep this many" orders, and config client
metrics.

Nacos asks its peers with ServerLoaderInfoRequest / ServerReloadRequest over the cluster gRPC port and with
`/v1/cs/metrics/current` over HTTP; here each question is an Internal route (signed, like every node message).
A peer that does not answer within the peer client's timeout is left out: the loader figures show it as
`completed: false` (ops/loader.py then refuses to move connections on half a picture), the metrics merge the
answers there are, as they do for a client that does not answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httpx
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.cluster.members import Member
from pynacos.server.config.models import ConfigKey
from pynacos.server.http import Call
from pynacos.server.ops.http_ops import ModuleOpsRoutes, metrics_key
from pynacos.server.ops.loader import LoaderRoutes

if TYPE_CHECKING:
    from pynacos.server.cluster import Cluster

log = logging.getLogger("pynacos.cluster")
FIGURES = "/v1/core/loader/node/figures"
RELOAD = "/v1/core/loader/node/reload"
CLIENT_METRICS = "/v1/cs/metrics/node"


async def ask_peers(cluster: Cluster, path: str, data: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The `data` object every reachable peer answers on `path`; peers that fail or answer oddly are left out."""
    answers = await asyncio.gather(*(_ask(cluster, m, path, data) for m in cluster.members.reachable_peers()))
    return [answer for answer in answers if answer is not None]


async def _ask(cluster: Cluster, member: Member, path: str, data: dict[str, str] | None) -> dict[str, Any] | None:
    try:
        response = await cluster.peers.post(member, path, data=data)
        answer = response.json()["data"] if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return answer if isinstance(answer, dict) else None


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
        answers = await ask_peers(self.cluster, FIGURES)
        return [figures for figures in answers if isinstance(figures.get("sdkConCount"), int)]

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


class ClusterMetrics:
    """`MetricsPeers` (ops/http_ops.py) over the cluster's peer client."""

    def __init__(self, cluster: Cluster, ops: ModuleOpsRoutes) -> None:
        self.cluster = cluster
        self.ops = ops
        cluster.internal_route(CLIENT_METRICS, self.answer)
        ops.peers = self

    async def client_metrics(self, ip: str, key: ConfigKey | None) -> list[dict[str, Any]]:
        form = {"ip": ip}
        if key is not None:
            form |= {"dataId": key.data_id, "group": key.group, "tenant": key.tenant}
        return await ask_peers(self.cluster, CLIENT_METRICS, form)

    async def answer(self, call: Call) -> Response:
        key = metrics_key(call.params, "group", call.params.text("tenant"))
        return http.result(await self.ops.client_metrics(call.params.required("ip"), key))
