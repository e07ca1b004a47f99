"""Config client metrics across members: `metrics/cluster` on any node asks every peer what the connections
from an IP report (Nacos asks each member's `/v1/cs/metrics/current` over HTTP; here a signed node route).
A peer that does not answer within the peer client's timeout is left out, as a client that does not answer is.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.cluster.members import Member
from pynacos.server.config.models import ConfigKey
from pynacos.server.http import Call
from pynacos.server.ops.http_ops import ModuleOpsRoutes, metrics_key

if TYPE_CHECKING:
    from pynacos.server.cluster import Cluster

CLIENT_METRICS = "/v1/cs/metrics/node"


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
        peers = self.cluster.members.reachable_peers()
        answers = await asyncio.gather(*(self._ask(member, form) for member in peers))
        return [answer for answer in answers if answer is not None]

    async def _ask(self, member: Member, form: dict[str, str]) -> dict[str, Any] | None:
        try:
            response = await self.cluster.peers.post(member, CLIENT_METRICS, data=form)
            data = response.json()["data"] if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None
        return data if isinstance(data, dict) else None

    async def answer(self, call: Call) -> Response:
        key = metrics_key(call.params, "group", call.params.text("tenant"))
        return http.result(await self.ops.client_metrics(call.params.required("ip"), key))
