"""Service registry over HTTP v2 (`/v2/ns/...`): v1 semantics in the `{code,message,data}` envelope."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import AUTHENTICATED, PUBLIC, Secured
from pynacos.server.http import Call, Params
from pynacos.server.naming import params as p
from pynacos.server.naming.http import (
    NAMING_READ,
    NAMING_WRITE,
    SWITCHES_WRITE,
    V2_CLUSTER,
    NamingRoutes,
)
from pynacos.server.naming.models import Instance, MissingParam, NamingError, Service, ServiceKey, ServiceMissing
from pynacos.server.naming.views import cluster_json, cluster_names, instance_json
from pynacos.server.routing import PATH_VARIABLE, Route, route

#: `<group>@@<service>` as a path segment (security.md §3's variable rule on each side of the `@@`)
STATUS_KEY = f"{PATH_VARIABLE}@@{PATH_VARIABLE}"


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
            route(f"{base}/instance/metadata/batch", "PUT", self.add_metadata, NAMING_WRITE, "v2"),
            route(f"{base}/instance/metadata/batch", "DELETE", self.remove_metadata, NAMING_WRITE, "v2"),
            route(f"{base}/health/instance", "PUT", self.set_health, NAMING_WRITE, "v2"),
            route(f"{base}/health", "PUT", self.set_health, NAMING_WRITE, "v2"),
            route(f"{base}/service", "POST", self.create_service, NAMING_WRITE, "v2"),
            route(f"{base}/service", "DELETE", self.delete_service, NAMING_WRITE, "v2"),
            route(f"{base}/service", "PUT", self.update_service, NAMING_WRITE, "v2"),
            route(f"{base}/service", "GET", self.get_service, NAMING_READ, "v2"),
            route(f"{base}/service/list", "GET", self.list_services, NAMING_READ, "v2"),
            # not a Nacos `@NacosApi` controller: its errors are v1 text, only success is enveloped
            route(f"{base}/catalog/instances", "GET", self.catalog_instances, NAMING_READ),
            # any method and no envelope, as Nacos; the key `<group>@@<service>` is the last path segment
            # (the namespace, which needs `##`, comes as `namespaceId`); open in Nacos, READ here
            route(
                f"{base}/instance/statuses/{{key}}",
                "GET,POST,PUT,DELETE",
                self.v1.statuses,
                Secured("r", p.status_resources),
                variable=STATUS_KEY,
            ),
        ]
        for ops in ("operator", "ops"):
            routes.append(route(f"{base}/{ops}/metrics", "GET", self.metrics, PUBLIC, "v2"))
            routes.append(route(f"{base}/{ops}/switches", "GET", self.switches, AUTHENTICATED, "v2"))
            routes.append(route(f"{base}/{ops}/switches", "PUT", self.update_switch, SWITCHES_WRITE, "v2"))
        return routes

    async def register(self, call: Call) -> Response:
        key = self.v1._writable(p.service_key(call.params))
        await self.service.register(key, self.v1.instance_of(call.params, v2=True))
        return http.result("ok")

    async def deregister(self, call: Call) -> Response:
        key = p.service_key(call.params)
        instance = self.v1.instance_of(call.params, v2=True)
        await self.service.deregister(key, instance.ip, instance.port, instance.ephemeral)
        return http.result("ok")

    async def update(self, call: Call) -> Response:
        key = p.service_key(call.params)
        await self.service.set_override(key, self.v1.instance_of(call.params, v2=True))
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

    async def _batch(self, params: Params, remove: bool) -> Response:
        for name in ("serviceName", "metadata"):  # the form's own check, before anything is parsed
            if not params.get(name, "").strip():
                raise MissingParam(f"Required parameter '{name}' type String is not present")
        return http.result({"updated": await self.v1.metadata_batch(params, remove)})

    async def add_metadata(self, call: Call) -> Response:
        return await self._batch(call.params, remove=False)

    async def remove_metadata(self, call: Call) -> Response:
        return await self._batch(call.params, remove=True)

    async def set_health(self, call: Call) -> Response:
        await self.v1.set_health(call)
        return http.result("ok")

    async def create_service(self, call: Call) -> Response:
        params = call.params
        key = self.v1._writable(p.service_key(params))
        service = Service(
            key,
            ephemeral=p.to_boolean(params.get("ephemeral"), False),
            protect_threshold=p.threshold_of(params.get("protectThreshold")),
            metadata=p.metadata_of(params.get("metadata")),
            selector=p.selector_of(params.get("selector")),
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
            p.threshold_of(params.get("protectThreshold")),
            p.metadata_of(params.get("metadata")),
            p.selector_of(params.get("selector")),
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
        count, names = self.v1.service_page(call, default_size=20, cap=500)
        return http.result({"count": count, "services": names})

    async def metrics(self, call: Call) -> Response:
        if p.to_boolean(call.params.get("onlyStatus"), True):
            return http.result({"status": "UP"})
        body = await self.v1.metrics_body(call)
        del body["responsibleInstanceCount"]
        return http.result(body)

    async def switches(self, call: Call) -> Response:
        return http.result(self.v1.switches_body())

    async def update_switch(self, call: Call) -> Response:
        await self.v1.update_switch(call)
        return http.result("ok")

    async def catalog_instances(self, call: Call) -> Response:
        """Every instance (disabled ones too) as clients see it, filtered by health and enabled, then paged.

        Nacos pages with bounds taken from the unfiltered list, which throws once a filter drops
        instances; here the filtered list is paged. `instances` is left out when the page is empty.
        """
        params = call.params
        if not params.get("serviceName", "").strip():
            raise NamingError("Parameter 'serviceName' is missing")
        key = p.service_key(params)
        healthy, enabled = p.optional_flag(params, "healthyOnly"), p.optional_flag(params, "enabledOnly")
        page_no, page_size = self.v1.page(params)
        shown = [i for i in self._all_instances(key) if _matches(i, healthy, enabled)]
        page = shown[(page_no - 1) * page_size : page_no * page_size]
        body: dict[str, Any] = {"instances": [instance_json(key, i) for i in page]} if page else {}
        return http.result({**body, "count": len(shown)})

    def _all_instances(self, key: ServiceKey) -> list[Instance]:
        service = self.service.services.get(key)
        return [self.service.effective(service, i) for i in service.instances.values()] if service else []


def _matches(instance: Instance, healthy: bool | None, enabled: bool | None) -> bool:
    """Nacos's optional exact-match filters: None lets every instance through."""
    return (healthy is None or instance.healthy == healthy) and (enabled is None or instance.enabled == enabled)
