"""Core routes of Nacos 3.x (`/v3/admin/core/*`, protocol-v3 G.4) and the 1.x/2.x core routes that show the
same facts: server state, this node as a cluster member, and the gRPC connections (Nacos's "loader").

Standalone, the member list is this node alone, `UP`, in Nacos's Member JSON (protocol.md
F.1.6; no `raftMetaData`, and `supportJraft` false: there is no Raft); in cluster mode it is the cluster's
member list with each member's state (cluster/members.py). Its address is `ip:port` with the HTTP
port and, for the IP, `server.address` when it names one address, else 127.0.0.1 when the server listens
on loopback only, else the address of the interface the default route leaves by (no packet is sent), which
is what Nacos's "first non-loopback IPv4" usually finds.

Auth: state, liveness and readiness are open (as in Nacos); members and connections need an admin (Nacos's
fixed resources `/v3/admin/core/cluster`, `/v3/admin/core/loader`, `nacos/admin`, `/v1/core/cluster`,
`/v2/core/loader`). `/v1/ns/operator/servers` (a 1.x-2.1 route, gone from 2.2) needs a login when auth is
on (Nacos: none; scripts call it as a liveness probe).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Protocol

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import AUTHENTICATED, PUBLIC, Secured
from pynacos.server.cluster.members import outgoing_ip
from pynacos.server.errors import BadRequest
from pynacos.server.grpc.connections import Connection, split_peer
from pynacos.server.http import Call
from pynacos.server.ops.http import NACOS_VERSION, OpsRoutes
from pynacos.server.routing import Route, route
from pynacos.server.settings import Settings

CORE = "/v3/admin/core"
NODE_STATES = ("STARTING", "UP", "SUSPICIOUS", "DOWN", "ISOLATION")
NACOS_ADMIN = Secured("r", resource="nacos/admin")


class IllegalState(BadRequest):
    code: ClassVar[int] = 23000
    title: ClassVar[str] = "illegal state"


def self_ip(settings: Settings) -> str:
    """This node's IP as members and clients see it (module docstring); IPv6 in brackets, as Nacos writes it."""
    ip = settings.listen_address
    if ip in ("0.0.0.0", "::", ""):
        ip = outgoing_ip()
    return f"[{ip}]" if ":" in ip else ip


class MemberView(Protocol):
    @property
    def address(self) -> str: ...

    @property
    def state(self) -> str: ...

    def json(self) -> dict[str, Any]: ...


class MemberSource(Protocol):
    """The cluster's member list (cluster/members.py MemberList)."""

    @property
    def self_member(self) -> MemberView: ...

    def members(self) -> list[Any]: ...


class Member:
    """This node as Nacos's Member JSON (keys in Nacos's order)."""

    def __init__(self, ip: str, port: int, started_ms: int) -> None:
        self.ip, self.port, self.started_ms = ip, port, started_ms
        self.address = f"{ip}:{port}"
        self.state = "UP"

    def json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "port": self.port,
            "state": self.state,
            "extendInfo": {
                "lastRefreshTime": self.started_ms,
                "raftPort": str(self.port - 1000),
                "readyToUpgrade": True,
                "supportGrayModel": True,
                "version": NACOS_VERSION,
            },
            "address": self.address,
            "failAccessCnt": 0,
            "abilities": {
                "remoteAbility": {"supportRemoteConnection": True, "grpcReportEnabled": True},
                "configAbility": {"supportRemoteMetrics": False},
                "namingAbility": {"supportJraft": False},
            },
            "grpcReportEnabled": True,
        }


def connection_json(connection: Connection, local_port: int, tls: bool) -> dict[str, Any]:
    """Nacos's Connection as its loader route shows it (`abilityTable`, `metaInfo`, `traced`, ...)."""
    created, _, _ = connection.id.partition("_")
    idle_ms = (time.monotonic() - connection.last_active) * 1000
    source = connection.labels.get("source", "")
    meta = {
        "connectType": "GRPC",
        "clientIp": connection.client_ip,
        "remoteIp": connection.remote_ip,
        "remotePort": split_peer(connection.peer)[1],
        "localPort": local_port,
        "version": connection.version,
        "connectionId": connection.id,
        "createTime": int(created) if created.isdigit() else None,
        "lastActiveTime": int(time.time() * 1000 - idle_ms),
        "appName": connection.app_name,
        "tenant": connection.tenant,
        "labels": connection.labels,
        "sdkSource": source == "sdk",
        "clusterSource": source == "cluster",
        "tlsProtected": tls,
    }
    return {
        "traced": False,
        "abilityTable": connection.abilities,
        "metaInfo": meta,
        "connected": not connection.closed.is_set(),
        "labels": connection.labels,
    }


class CoreRoutes:
    def __init__(
        self,
        settings: Settings,
        ops: OpsRoutes,
        connections: Callable[[], Iterable[Connection]],
        cluster: MemberSource | None = None,
    ) -> None:
        self.settings = settings
        self.ops = ops
        self.connections = connections
        self.cluster = cluster
        self.member: MemberView = (
            cluster.self_member if cluster else Member(self_ip(settings), settings.port, int(time.time() * 1000))
        )

    def routes(self) -> list[Route]:
        cluster_v3, cluster_v2 = Secured("r", resource=f"{CORE}/cluster"), NACOS_ADMIN
        return [
            route(f"{CORE}/state", "GET", self.state, PUBLIC, "v2", before_ready=True),
            route(f"{CORE}/state/liveness", "GET", self.ops.liveness_v2, PUBLIC, "v2", before_ready=True),
            route(f"{CORE}/state/readiness", "GET", self.ops.readiness_v2, PUBLIC, "v2", before_ready=True),
            route(f"{CORE}/cluster/node/self", "GET", self.node_self, cluster_v3, "v2"),
            route(f"{CORE}/cluster/node/list", "GET", self.node_list, cluster_v3, "v2"),
            route(f"{CORE}/loader/current", "GET", self.loader_v3, Secured("r", resource=f"{CORE}/loader"), "v2"),
            route("/v2/core/cluster/node/self", "GET", self.node_self, cluster_v2, "v2"),
            route("/v2/core/cluster/node/list", "GET", self.node_list, cluster_v2, "v2"),
            route("/v2/core/cluster/node/self/health", "GET", self.self_health, cluster_v2, "v2"),
            # 2.5.1 answers the bare map here (a ResponseEntity, not a `Result`)
            route("/v2/core/loader/current", "GET", self.loader_v2, Secured("r", resource="/v2/core/loader")),
            route("/v1/core/cluster/nodes", "GET", self.nodes_v1, Secured("r", resource="/v1/core/cluster")),
            route("/v1/ns/operator/servers", "GET", self.servers_v1, AUTHENTICATED),
        ]

    def members(self) -> list[MemberView]:
        return self.cluster.members() if self.cluster else [self.member]

    async def state(self, call: Call) -> Response:
        return http.result(self.ops.state_map())

    async def node_self(self, call: Call) -> Response:
        return http.result(self.member.json())

    async def node_list(self, call: Call) -> Response:
        """`address`: a prefix of `ip:port`; `state`: one of NODE_STATES in any case (else 400 code 23000)."""
        params = call.params
        address, state = params.get("address", "").strip(), params.get("state", "").strip()
        if state and state.upper() not in NODE_STATES:
            raise IllegalState(f"Illegal state: {state}")
        shown = [
            m.json()
            for m in self.members()
            if m.address.startswith(address) and (not state or m.state == state.upper())
        ]
        return http.result(shown)

    async def self_health(self, call: Call) -> Response:
        return http.result(self.member.state)

    async def nodes_v1(self, call: Call) -> Response:
        """`keyword`: the address itself or a prefix of it; members sorted by address."""
        keyword = call.params.get("keyword", "").strip()
        members = sorted(self.members(), key=lambda m: m.address)
        return http.rest_result([m.json() for m in members if m.address.startswith(keyword)])

    async def servers_v1(self, call: Call) -> Response:
        """`healthy=true` keeps the `UP` members only."""
        healthy = call.params.flag("healthy")
        return http.json({"servers": [m.json() for m in self.members() if m.state == "UP" or not healthy]})

    def loader(self) -> dict[str, Any]:
        s = self.settings
        local_port = s.port + s.grpc_port_offset
        return {c.id: connection_json(c, local_port, s.grpc_tls) for c in self.connections()}

    async def loader_v3(self, call: Call) -> Response:
        return http.result(self.loader())

    async def loader_v2(self, call: Call) -> Response:
        return http.json(self.loader())
