"""Service registry over HTTP v2 (`/v2/ns/...`): v1 semantics in the `{code,message,data}` envelope."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import AUTHENTICATED, PUBLIC
from pynacos.server.http import Call
from pynacos.server.naming import params as p
from pynacos.server.naming.http import NAMING_READ, NAMING_WRITE, NamingRoutes, selector_of, threshold_of
from pynacos.server.naming.models import Service, ServiceMissing
from pynacos.server.naming.views import cluster_json, cluster_names
from pynacos.server.routing import Route, route

V2_CLUSTER = ("clusterName",)


class NamingRoutesV2:
    def __init__(self, v1: NamingRoutes) -> None:
        self.v1 = v1
        self.service = v1.service

    def routes(self) -> list[Route]:
        base = "/v2/ns"
        routes = [
            route(f"{base}/instance", "POST", self.register, NAMING_WRITE, "v2"),
            route(f"{base}/instance", "DELETE", self.deregister, NAMING_WRITE, "v2"),
            route(f"{base}/instance", "PUT", self.update, NAMING_WRITE, "v2"),
            route(f"{base}/instance", "PATCH", self.v1.patch, NAMING_WRITE, "v2"),
            route(f"{base}/instance", "GET", self.detail, NAMING_READ, "v2"),
            route(f"{base}/instance/list", "GET", self.list_instances, NAMING_READ, "v2"),
            route(f"{base}/instance/beat", "PUT", self.v1.beat, NAMING_WRITE, "v2"),
            route(f"{base}/health/instance", "PUT", self.set_health, NAMING_WRITE, "v2"),
            route(f"{base}/health", "PUT", self.set_health, NAMING_WRITE, "v2"),
            route(f"{base}/service", "POST", self.create_service, NAMING_WRITE, "v2"),
            route(f"{base}/service", "DELETE", self.delete_service, NAMING_WRITE, "v2"),
            route(f"{base}/service", "PUT", self.update_service, NAMING_WRITE, "v2"),
            route(f"{base}/service", "GET", self.get_service, NAMING_READ, "v2"),
            route(f"{base}/service/list", "GET", self.list_services, NAMING_READ, "v2"),
        ]
        for ops in ("operator", "ops"):
            routes.append(route(f"{base}/{ops}/metrics", "GET", self.metrics, PUBLIC, "v2"))
            routes.append(route(f"{base}/{ops}/switches", "GET", self.switches, AUTHENTICATED, "v2"))
        return routes

    async def register(self, call: Call) -> Response:
        key = self.v1._writable(p.service_key(call.params))
        await self.service.register(key, p.instance_of(call.params, enable_alias=False, cluster_names=V2_CLUSTER))
        return http.result("ok")

    async def deregister(self, call: Call) -> Response:
        key = p.service_key(call.params)
        instance = p.instance_of(call.params, enable_alias=False, cluster_names=V2_CLUSTER)
        await self.service.deregister(key, instance.ip, instance.port, instance.ephemeral)
        return http.result("ok")

    async def update(self, call: Call) -> Response:
        key = p.service_key(call.params)
        self.service.set_override(key, p.instance_of(call.params, enable_alias=False, cluster_names=V2_CLUSTER))
        return http.result("ok")

    async def detail(self, call: Call) -> Response:
        body = self.v1._detail(call.params, V2_CLUSTER)
        body["serviceName"] = body.pop("service")
        return http.result(body)

    async def list_instances(self, call: Call) -> Response:
        """v2 takes `port` (the UDP port) and `ip` for v1's `udpPort` and `clientIP`; `ip` is ignored likewise."""
        body = self.v1.list_body(call.params, "clusterName")
        self.v1.subscribe(call, "port", "clusterName")
        return http.result(body)

    async def set_health(self, call: Call) -> Response:
        await self.v1.set_health(call)
        return http.result("ok")

    async def create_service(self, call: Call) -> Response:
        params = call.params
        key = self.v1._writable(p.service_key(params))
        service = Service(
            key,
            ephemeral=p.to_boolean(params.get("ephemeral"), False),
            protect_threshold=threshold_of(params.get("protectThreshold")),
            metadata=p.metadata_of(params.get("metadata")),
            selector=selector_of(params.get("selector")),
        )
        await self.service.create_service(service)
        return http.result("ok")

    async def delete_service(self, call: Call) -> Response:
        await self.service.delete_service(p.service_key(call.params))
        return http.result("ok")

    async def update_service(self, call: Call) -> Response:
        params = call.params
        await self.service.update_service(
            p.service_key(params),
            threshold_of(params.get("protectThreshold")),
            p.metadata_of(params.get("metadata")),
            selector_of(params.get("selector")),
        )
        return http.result("ok")

    async def get_service(self, call: Call) -> Response:
        key = p.service_key(call.params)
        service = self.service.services.get(key)
        if service is None:
            raise ServiceMissing(f"service not found, namespace: {key.namespace}, serviceName: {key.grouped}")
        return http.result(
            {
                "namespace": key.namespace,
                "serviceName": key.name,
                "groupName": key.group,
                "clusterMap": {c: self._cluster_info(service, c) for c in cluster_names(service)},
                "metadata": service.metadata,
                "protectThreshold": service.protect_threshold,
                "selector": {**service.selector, "contextType": "NONE"},
                "ephemeral": service.ephemeral,
            }
        )

    def _cluster_info(self, service: Service, name: str) -> dict[str, Any]:
        """ClusterInfo: the v1 cluster JSON under `clusterName`, with `hosts` left null."""
        shown = cluster_json(self.service, service, name)
        return {
            "clusterName": name,
            "healthChecker": shown["healthChecker"],
            "metadata": shown["metadata"],
            "hosts": None,
        }

    async def list_services(self, call: Call) -> Response:
        count, names = self.v1.service_page(call.params, default_size=20, cap=500)
        return http.result({"count": count, "services": names})

    async def metrics(self, call: Call) -> Response:
        if p.to_boolean(call.params.get("onlyStatus"), True):
            return http.result({"status": "UP"})
        body = self.v1.metrics_body()
        del body["responsibleInstanceCount"]
        return http.result(body)

    async def switches(self, call: Call) -> Response:
        return http.result(self.v1.switches_body())
