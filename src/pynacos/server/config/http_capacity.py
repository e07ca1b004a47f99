"""Capacity routes: `/v1/cs/capacity` (Nacos 2.x, parameters `group`/`tenant`) and `/v3/admin/cs/capacity`
(3.x, `groupName`/`namespaceId`, protocol-v3 G.2.3). The rules live in config/capacity.py.

Both need an admin when auth is on for their scope: Nacos 3.x names the resource `/v3/admin/cs/capacity`,
which no role permission matches; 2.5.1's v1 controller had no check at all, which let anyone raise a quota.
Where both a namespace and a group are given, the namespace wins, as in Nacos.
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import Secured
from pynacos.server.config.capacity import (
    Capacity,
    CapacityService,
    Target,
    group_target,
    parse_limits,
    tenant_target,
)
from pynacos.server.errors import BadRequest
from pynacos.server.http import Call, Params
from pynacos.server.routing import Route, route

V1 = "/v1/cs/capacity"
V3 = "/v3/admin/cs/capacity"


class NoTarget(BadRequest):
    """3.x reports a request naming neither a group nor a namespace as a missing parameter."""

    code: ClassVar[int] = 10000
    title: ClassVar[str] = "parameter missing"


def capacity_json(capacity: Capacity, owner_key: str, owner: str) -> dict[str, Any]:
    """Nacos's Capacity JSON: `id` as a string, its timestamps null (Nacos's row mapper never reads them)."""
    return {
        "id": None if capacity.id is None else str(capacity.id),
        "quota": capacity.quota,
        "usage": capacity.usage,
        "maxSize": capacity.max_size,
        "maxAggrCount": capacity.max_aggr_count,
        "maxAggrSize": capacity.max_aggr_size,
        "gmtCreate": None,
        "gmtModified": None,
        owner_key: owner,
    }


def _limits(params: Params) -> dict[str, int]:
    return parse_limits({name: params.get(name) for name in ("quota", "maxSize", "maxAggrCount", "maxAggrSize")})


class CapacityRoutes:
    def __init__(self, capacity: CapacityService) -> None:
        self.capacity = capacity

    def routes(self) -> list[Route]:
        read_v1, write_v1 = Secured("r", resource=V1), Secured("w", resource=V1)
        read_v3, write_v3 = Secured("r", resource=V3), Secured("w", resource=V3)
        return [
            route(V1, "GET", self.get_v1, read_v1),
            route(V1, "POST", self.update_v1, write_v1),
            route(V3, "GET", self.get_v3, read_v3, "v2"),
            route(V3, "POST", self.update_v3, write_v3, "v2"),
        ]

    # -- 3.x --------------------------------------------------------------------------------------------

    @staticmethod
    def _target_v3(params: Params) -> Target:
        namespace, group = params.text("namespaceId").strip(), params.text("groupName").strip()
        if not namespace and not group:
            raise NoTarget("At least one of the parameters (groupName or namespaceId) must be provided")
        return tenant_target(namespace) if namespace else group_target(group)

    async def get_v3(self, call: Call) -> Response:
        target = self._target_v3(call.params)
        shown = await self.capacity.get(target)
        key = "namespaceId" if target.owner == "tenant" else "groupName"
        return http.result(capacity_json(shown, key, target.name))

    async def update_v3(self, call: Call) -> Response:
        target = self._target_v3(call.params)
        limits = _limits(call.params)
        if not limits:
            raise NoTarget("The parameters quota, maxSize, maxAggrCount, maxAggrSize cannot be empty at the same time")
        await self.capacity.update(target, limits)
        return http.result(True)

    # -- 2.x (v1) ---------------------------------------------------------------------------------------

    async def get_v1(self, call: Call) -> Response:
        """`group` alone (even "", the whole server) or a non-blank `tenant`."""
        group, tenant = call.params.get("group"), call.params.get("tenant")
        if group is None and tenant is None:
            raise BadRequest("The parameter group and tenant cannot be empty at the same time")
        if group is None and not (tenant or "").strip():
            raise BadRequest("tenant cannot be an empty string")
        tenant, group = (tenant or "").strip(), (group or "").strip()
        target = tenant_target(tenant) if tenant else group_target(group)
        shown = await self.capacity.get(target)
        return http.rest_result(capacity_json(shown, target.owner, target.name))

    async def update_v1(self, call: Call) -> Response:
        group, tenant = call.params.text("group").strip(), call.params.text("tenant").strip()
        if not group and not tenant:
            raise BadRequest("The parameter group and tenant cannot be empty at the same time")
        target = tenant_target(tenant) if tenant else group_target(group)
        await self.capacity.update(target, _limits(call.params))
        message = f"successfully updated the capacity information configuration of {target.owner} to {target.name}"
        return http.rest_result(True, message=message)
