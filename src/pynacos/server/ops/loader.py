"""Nacos's "loader" write routes: ask SDK connections to reconnect (elsewhere), and the per-node load figures.

Nacos 3.x: `POST /v3/admin/core/loader/{reloadCurrent,reloadClient,smartReloadCluster}` and `GET .../cluster`
(protocol-v3 G.4); Nacos 2.x served the same under `/v2/core/loader/*` with GET and plain-text answers.

A reset sends ConnectResetRequest (with `serverIp`/`serverPort` when a `redirectAddress` is given) and waits
for the client's ack up to RESET_ACK_TIMEOUT, then ends the stream as the graceful shutdown does: the Java
client switches server on the request, but Go may stay and the Python and Rust clients ignore it
(protocol.md E.6), and only a closed stream makes all of them reconnect. Only connections labelled
`source=sdk` are reset, as in Nacos.

The cluster figures and the smart reload cover every member: in cluster mode `peers` (cluster/ops.py) asks
each reachable peer for its figures and tells an overloaded one to keep only the average; standalone, the
cluster is this node, so a smart reload finds no node over the average and moves nothing (as Nacos with one
member). A smart reload that could not hear from every member moves nothing and says so (503).

Differences, decided: `reloadCurrent` keeps `count` connections and resets the rest at once (Nacos leaves it
to a timer task and treats `count=0` as "do nothing"); an unknown `connectionId` is a 404 (Nacos: success);
a malformed `redirectAddress`, `count` below 0 or `loaderFactor` outside 0-1 is a 400 (Nacos: ignored or 500).
"""

from __future__ import annotations

import asyncio
import math
import os
from typing import Any, Protocol

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import Secured
from pynacos.server.errors import BadRequest, NotFound, Unavailable
from pynacos.server.grpc.connections import Connection, Connections
from pynacos.server.http import Call, Params
from pynacos.server.routing import Route, route

V3 = "/v3/admin/core/loader"
V2 = "/v2/core/loader"
RESET_ACK_TIMEOUT = 3.0
DEFAULT_LOADER_FACTOR = 0.1


def redirect_of(params: Params) -> dict[str, str]:
    """`redirectAddress` (`ip:port`) as ConnectResetRequest fields; blank -> none (the client picks)."""
    raw = params.optional("redirectAddress")
    if raw is None:
        return {}
    host, _, port = raw.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536 or len(host) > 253:
        raise BadRequest(f"redirectAddress must be host:port, not '{raw[:64]}'")
    if not all(c.isalnum() or c in ".-:_" for c in host) or not host.isascii():
        raise BadRequest(f"redirectAddress must be host:port, not '{raw[:64]}'")
    return {"serverIp": host, "serverPort": port}


def loader_factor(params: Params) -> float:
    raw = params.text("loaderFactor").strip() or str(DEFAULT_LOADER_FACTOR)
    try:
        value = float(raw) if raw.isascii() else -1.0
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise BadRequest(f"loaderFactor must be a number from 0 to 1, not '{raw[:32]}'")
    return value


def _cpu_share() -> float:
    """The share of the machine busy (1-minute load over CPUs), Nacos's `cpu` figure as near as the
    standard library gets."""
    return round(min(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)), 4)


class LoaderPeers(Protocol):
    """The other members, as the loader needs them (cluster/ops.py)."""

    def member_count(self) -> int: ...

    async def figures(self) -> list[dict[str, Any]]:
        """The figures of every peer that answered."""

    async def reload(self, address: str, keep: int) -> None:
        """Tell the member at `address` to keep `keep` SDK connections and reset the others."""


class LoaderRoutes:
    def __init__(self, connections: Connections, address: str) -> None:
        self.connections = connections
        self.address = address
        #: the other members, in cluster mode
        self.peers: LoaderPeers | None = None

    def routes(self) -> list[Route]:
        read_v3, write_v3 = Secured("r", resource=V3), Secured("w", resource=V3)
        read_v2, write_v2 = Secured("r", resource=V2), Secured("w", resource=V2)
        return [
            route(f"{V3}/reloadCurrent", "POST", self.reload_current_v3, write_v3, "v2"),
            route(f"{V3}/reloadClient", "POST", self.reload_client_v3, write_v3, "v2"),
            route(f"{V3}/smartReloadCluster", "POST", self.smart_reload_v3, write_v3, "v2"),
            route(f"{V3}/cluster", "GET", self.cluster_v3, read_v3, "v2"),
            route(f"{V2}/reloadCurrent", "GET", self.reload_current_v2, write_v2, get_changes_state=True),
            route(f"{V2}/reloadClient", "GET", self.reload_client_v2, write_v2, get_changes_state=True),
            route(f"{V2}/smartReloadCluster", "GET", self.smart_reload_v2, write_v2, get_changes_state=True),
            route(f"{V2}/cluster", "GET", self.cluster_v2, read_v2),
        ]

    # -- resets -------------------------------------------------------------------------------------------

    def sdk_connections(self) -> list[Connection]:
        return [c for c in self.connections.registered.values() if c.labels.get("source") == "sdk"]

    async def reset(self, targets: list[Connection], redirect: dict[str, str]) -> None:
        await asyncio.gather(*(self._reset_one(c, redirect) for c in targets))

    async def _reset_one(self, connection: Connection, redirect: dict[str, str]) -> None:
        body = {"module": "internal", **redirect, **({"connectionId": connection.id} if redirect else {})}
        await self.connections.push(connection, "ConnectResetRequest", body, RESET_ACK_TIMEOUT)
        self.connections.evict(connection)

    async def reload_current(self, params: Params) -> None:
        """Keep `count` SDK connections (the oldest) and reset the others."""
        count = params.integer("count")
        if count < 0:
            raise BadRequest(f"count must be 0 or more, not {count}")
        redirect = redirect_of(params)
        await self.reset(self.sdk_connections()[count:], redirect)

    async def smart_reload(self, params: Params) -> None:
        """Members with more SDK connections than the average times (1 + loaderFactor) keep the average."""
        factor = loader_factor(params)
        shown = await self.cluster()
        if not shown["completed"]:
            raise Unavailable("not every member reported its load: nothing was moved, try again")
        keep = math.ceil(shown["total"] / shown["metricsCount"])
        for node in shown["detail"]:
            if node["sdkConCount"] > keep * (1 + factor):
                await self.reload_member(node["address"], keep)

    async def reload_member(self, address: str, keep: int) -> None:
        if address == self.address:
            await self.reset(self.sdk_connections()[keep:], {})
        elif self.peers is not None:
            await self.peers.reload(address, keep)

    async def reload_client(self, params: Params) -> None:
        connection_id = params.required("connectionId").strip()
        redirect = redirect_of(params)
        connection = self.connections.registered.get(connection_id)
        if connection is None:
            raise NotFound(f"connectionId [ {connection_id[:128]} ] not exist")
        if connection.labels.get("source") == "sdk":
            await self.reset([connection], redirect)

    # -- load figures ---------------------------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        """This node's load (the cluster's only member)."""
        load = os.getloadavg()[0]
        return {
            "address": self.address,
            "sdkConCount": len(self.sdk_connections()),
            "conCount": len(self.connections.registered),
            "load": repr(round(load, 4)),
            "cpu": repr(_cpu_share()),
        }

    async def cluster(self) -> dict[str, Any]:
        """Every member's figures that could be had, and their spread (Nacos's ServerLoaderInfo shape)."""
        nodes = [self.figures(), *(await self.peers.figures() if self.peers else [])]
        members = self.peers.member_count() if self.peers else 1
        counts = [int(node["sdkConCount"]) for node in nodes]
        total, average = sum(counts), sum(counts) // len(counts)
        return {
            "detail": nodes,
            "memberCount": members,
            "metricsCount": len(nodes),
            "completed": len(nodes) == members,
            "max": max(counts),
            "min": min(counts),
            "avg": average,
            "threshold": repr(average * 1.1),
            "total": total,
        }

    # -- 3.x -----------------------------------------------------------------------------------------------

    async def reload_current_v3(self, call: Call) -> Response:
        await self.reload_current(call.params)
        return http.result(None)

    async def reload_client_v3(self, call: Call) -> Response:
        await self.reload_client(call.params)
        return http.result(None)

    async def smart_reload_v3(self, call: Call) -> Response:
        await self.smart_reload(call.params)
        return http.result(None)

    async def cluster_v3(self, call: Call) -> Response:
        return http.result(await self.cluster())

    # -- 2.x -----------------------------------------------------------------------------------------------

    async def reload_current_v2(self, call: Call) -> Response:
        await self.reload_current(call.params)
        return http.text("success")

    async def reload_client_v2(self, call: Call) -> Response:
        await self.reload_client(call.params)
        return http.text("success")

    async def smart_reload_v2(self, call: Call) -> Response:
        await self.smart_reload(call.params)
        return http.text("Ok")

    async def cluster_v2(self, call: Call) -> Response:
        """2.5.1's shape: each node's figures under `metric` as strings, `threshold` a number."""
        shown = await self.cluster()
        detail = [
            {
                "address": node["address"],
                "metric": {k: str(node[k]) for k in ("conCount", "sdkConCount", "load", "cpu")},
            }
            for node in shown["detail"]
        ]
        return http.json({**shown, "detail": detail, "threshold": shown["avg"] * 1.1})
