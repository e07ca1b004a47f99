"""Namespace routes: v1 console (`true`/`false` answers) and v2 (`Result` envelope)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import AUTHENTICATED, Policy, Secured
from pynacos.server.config import validation
from pynacos.server.errors import MissingParameter
from pynacos.server.http import Call
from pynacos.server.namespaces.service import NamespaceRejected, NamespaceService, check_name, normalise
from pynacos.server.routing import Route, route

NAMESPACE_WRITE = Secured("w", resource="console/namespaces")


class MissingV2(MissingParameter):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.detail = f"required parameter '{name}' is missing"


class NamespaceRoutes:
    def __init__(
        self,
        service: NamespaceService,
        config_count: Callable[[str], int],
        quota: int,
        read_policy: Policy = AUTHENTICATED,
    ) -> None:
        self.service = service
        self.config_count = config_count
        self.quota = quota
        self.read_policy = read_policy

    def routes(self) -> list[Route]:
        path, v2 = "/v1/console/namespaces", "/v2/console/namespace"
        return [
            route(path, "GET", self.get_v1, self.read_policy),
            route(path, "POST", self.create_v1, NAMESPACE_WRITE),
            route(path, "PUT", self.update_v1, NAMESPACE_WRITE),
            route(path, "DELETE", self.delete_v1, NAMESPACE_WRITE),
            route(v2 + "/list", "GET", self.list_v2, self.read_policy, "v2"),
            route(v2, "GET", self.get_v2, self.read_policy, "v2"),
            route(v2, "POST", self.create_v2, NAMESPACE_WRITE, "v2"),
            route(v2, "PUT", self.update_v2, NAMESPACE_WRITE, "v2"),
            route(v2, "DELETE", self.delete_v2, NAMESPACE_WRITE, "v2"),
        ]

    def _json(self, namespace_id: str) -> dict[str, object]:
        return self.service.as_json(self.service.get(namespace_id), self.quota, self.config_count)

    def _all(self) -> list[dict[str, object]]:
        return [self.service.as_json(ns, self.quota, self.config_count) for ns in self.service.all()]

    async def get_v1(self, call: Call) -> Response:
        p = call.params
        if p.get("show") == "all":
            namespace_id = p.required("namespaceId")
            validation.check_namespace(namespace_id)
            return http.json(self._json(namespace_id))
        if p.get("checkNamespaceIdExist") == "true":
            custom = p.text("customNamespaceId").strip()
            return http.boolean(bool(custom) and normalise(custom) != "" and self.service.exists(custom))
        return http.rest_result(self._all())

    async def create_v1(self, call: Call) -> Response:
        p = call.params
        namespace_id, name = p.required("customNamespaceId"), p.required("namespaceName")
        validation.check_namespace(namespace_id)
        validation.check_show_name(name)
        try:
            await self.service.create(namespace_id, name, p.get("namespaceDesc"))
        except NamespaceRejected:
            return http.boolean(False)
        return http.boolean(True)

    async def update_v1(self, call: Call) -> Response:
        p = call.params
        namespace_id, name = p.required("namespace"), p.required("namespaceShowName")
        validation.check_namespace(namespace_id)
        try:
            check_name(name)  # Nacos's param check skips `namespaceShowName`: an illegal name is a `false`
        except NamespaceRejected:
            return http.boolean(False)
        validation.check_show_name(name)  # the length bound still holds
        try:
            await self.service.update(namespace_id, name, p.get("namespaceDesc"))
        except NamespaceRejected:
            return http.boolean(False)
        return http.boolean(True)

    async def delete_v1(self, call: Call) -> Response:
        namespace_id = call.params.required("namespaceId")
        validation.check_namespace(namespace_id)
        return http.boolean(await self.service.delete(namespace_id))

    async def list_v2(self, call: Call) -> Response:
        return http.result(self._all())

    async def get_v2(self, call: Call) -> Response:
        namespace_id = call.params.required("namespaceId")
        validation.check_namespace(namespace_id)
        return http.result(self._json(namespace_id))

    def _v2_fields(self, call: Call) -> tuple[str, str]:
        p = call.params
        for name in ("namespaceId", "namespaceName"):
            if p.get(name) is None:
                raise MissingV2(name)
        validation.check_namespace(p["namespaceId"])
        validation.check_show_name(p["namespaceName"])
        return p["namespaceId"], p["namespaceName"]

    async def create_v2(self, call: Call) -> Response:
        namespace_id, name = self._v2_fields(call)
        await self.service.create(namespace_id, name, call.params.get("namespaceDesc"))
        return http.result(True)

    async def update_v2(self, call: Call) -> Response:
        namespace_id, name = self._v2_fields(call)
        await self.service.update(namespace_id, name, call.params.get("namespaceDesc"))
        return http.result(True)

    async def delete_v2(self, call: Call) -> Response:
        namespace_id = call.params.required("namespaceId")
        validation.check_namespace(namespace_id)
        await self.service.delete(namespace_id)
        return http.result(True)
