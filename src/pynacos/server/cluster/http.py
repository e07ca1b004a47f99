"""Cluster routes served only in cluster mode: the health report between nodes (Internal) and the v1 member
routes that standalone pynacos does not have (`/self`, `/simple/nodes`, `/health`; `/nodes` and the v2/v3
node routes are ops/http_v3.py's, fed with this member list).

`POST /v1/core/cluster/report` (F.1.5): the body is the sender's Member JSON; a member needs a non-blank
`ip` and a `port`, else `{"code":400,"message":"Node information is illegal"}`. A listed sender becomes UP;
an unlisted one is ignored (security.md §5.7: the list changes only through configuration). The answer is
`{"code":200,"data":"<this node's Member JSON as a string>"}`, with the token secret fingerprint inside.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import INTERNAL, Secured
from pynacos.server.cluster.members import MemberList
from pynacos.server.cluster.peers import FINGERPRINT_FIELD, REPORT_PATH, Peers
from pynacos.server.http import Call
from pynacos.server.routing import Route, route

log = logging.getLogger("pynacos.cluster")
CLUSTER_READ = Secured("r", resource="/v1/core/cluster")
ILLEGAL = "Node information is illegal"


class ClusterRoutes:
    def __init__(self, members: MemberList, peers: Peers) -> None:
        self.members = members
        self.peers = peers

    def routes(self) -> list[Route]:
        return [
            route(REPORT_PATH, "POST", self.report, INTERNAL, before_ready=True),
            route("/v1/core/cluster/self", "GET", self.node_self, CLUSTER_READ),
            route("/v1/core/cluster/simple/nodes", "GET", self.simple_nodes, CLUSTER_READ),
            route("/v1/core/cluster/health", "GET", self.health, CLUSTER_READ, before_ready=True),
        ]

    async def node_self(self, call: Call) -> Response:
        return http.rest_result(self.members.self_member.json())

    async def simple_nodes(self, call: Call) -> Response:
        return http.rest_result([m.address for m in self.members.members() if m.state == "UP"])

    async def health(self, call: Call) -> Response:
        return http.rest_result(self.members.self_member.state)

    async def report(self, call: Call) -> Response:
        sender = _sender(await call.http_request.body())
        if sender is None:
            return http.rest_result(None, 400, ILLEGAL)
        address = sender.get("address") or f"{sender['ip']}:{sender['port']}"
        member = self.members.get(str(address))
        if member is None:
            self.peers.problems.log(
                logging.WARNING,
                ("unlisted", address),
                "health report from %s, which is not in this node's member list: ignored. Fix: list it in "
                "conf/cluster.conf (or nacos.member.list) on every node, or set its nacos.server.ip to the "
                "address listed",
                address,
            )
        else:
            self.peers.compare_fingerprint(member, sender.get(FINGERPRINT_FIELD))
            extend = sender.get("extendInfo")
            self.members.succeeded(member, extend if isinstance(extend, dict) else {})
        reply = {**self.members.self_member.json(), FINGERPRINT_FIELD: self.peers.fingerprint}
        return http.rest_result(json.dumps(reply, separators=(",", ":")))


def _sender(raw: bytes) -> dict[str, Any] | None:
    """The sender's Member, or None when it lacks a usable ip and port."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    ip, port = body.get("ip"), body.get("port")
    if not isinstance(ip, str) or not ip.strip() or not isinstance(port, int) or port == -1:
        return None
    return body
