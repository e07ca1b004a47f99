"""Namespaces over Nacos 3.x's admin API (`/v3/admin/core/namespace*`, protocol-v3 G.4, G.9), in `Result`.

The same service and checks as v1/v2 (namespaces/http.py); 3.x shows the public namespace as `public` and a
custom one with type 1 (2.x: 2), refuses creating `public` or an existing id with code 22002, and answers
`/check` with a count. Admins only (Nacos's fixed `/v3/admin/core/namespace` resource).

Where 3.0.3 is not followed: updating an unknown namespace is a 400 (code 22001) as in v2, not a `true`
that changed nothing; `GET` of a blank id shows `public`, not the blank id it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import Secured
from pynacos.server.config import validation
from pynacos.server.errors import BadRequest
from pynacos.server.http import Call
from pynacos.server.namespaces.http import NamespaceRoutes
from pynacos.server.namespaces.service import PUBLIC, Namespace, NamespaceService, normalise
from pynacos.server.routing import Route, route

BASE = "/v3/admin/core/namespace"
READ = Secured("r", resource=BASE)
WRITE = Secured("w", resource=BASE)


class NamespaceExists(BadRequest):
    code: ClassVar[int] = 22002
    title: ClassVar[str] = "namespace already exist"


class NamespaceRoutesV3:
    def __init__(self, v2: NamespaceRoutes) -> None:
        self.v2 = v2
        self.service: NamespaceService = v2.service
        self.config_count: Callable[[str], int] = v2.config_count

    def routes(self) -> list[Route]:
        return [
            route(f"{BASE}/list", "GET", self.list, READ, "v2"),
            route(BASE, "GET", self.get, READ, "v2"),
            route(BASE, "POST", self.create, WRITE, "v2"),
            route(BASE, "PUT", self.update, WRITE, "v2"),
            route(BASE, "DELETE", self.delete, WRITE, "v2"),
            route(f"{BASE}/check", "GET", self.check, READ, "v2"),
        ]

    def shown(self, namespace: Namespace) -> dict[str, Any]:
        """Nacos 3.x's Namespace: id `public` for the public one, type 0 public / 1 custom."""
        shown = self.service.as_json(namespace, self.v2.quota, self.config_count)
        return {**shown, "namespace": namespace.id or "public", "type": 0 if namespace is PUBLIC else 1}

    def _id(self, call: Call) -> str:
        namespace_id = call.params.required("namespaceId")
        validation.check_namespace(namespace_id)
        return namespace_id

    async def list(self, call: Call) -> Response:
        return http.result([self.shown(ns) for ns in self.service.all()])

    async def get(self, call: Call) -> Response:
        return http.result(self.shown(self.service.get(self._id(call))))

    async def create(self, call: Call) -> Response:
        """`namespaceId` must be given (blank: a random UUID); `public` and existing ids are code 22002."""
        namespace_id, name = self.v2._v2_fields(call)
        await self.create_new(namespace_id, name, call.params.get("namespaceDesc"))
        return http.result(True)

    async def create_new(self, namespace_id: str, name: str, desc: str | None) -> None:
        """Create a custom namespace (blank id: a random UUID); `public` and existing ids are code 22002.
        The console's create (`customNamespaceId`) calls this too."""
        wanted = namespace_id.strip()
        if wanted and normalise(wanted) == "":
            raise NamespaceExists(f"namespaceId [{wanted}] is default namespace id and already exist.")
        if wanted and self.service.exists(wanted):
            raise NamespaceExists(f"namespaceId [{wanted}] already exist.")
        await self.service.create(namespace_id, name, desc)

    async def update(self, call: Call) -> Response:
        return await self.v2.update_v2(call)

    async def delete(self, call: Call) -> Response:
        """`true` always, as v2 (the public namespace stays; configs and services in it are kept)."""
        await self.service.delete(self._id(call))
        return http.result(True)

    async def check(self, call: Call) -> Response:
        """How many custom namespaces have this id: 0 or 1 (`public` has no row)."""
        namespace_id = self._id(call)
        return http.result(int(normalise(namespace_id) != "" and self.service.exists(namespace_id)))
