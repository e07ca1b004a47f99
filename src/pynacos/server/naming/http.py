"""Service registry over HTTP v1 (`/v1/ns/...`), with Nacos's bodies (C.2-C.3); v2 reuses the shapes.

A route's policy checks the service or group its parameters name. A listing of several services
(service list, service names, catalog) then shows only those the caller may read, asking the auth
guard per service (`Access.permits`), and counts only what it shows: a permission on one group must
not reveal the names of the others (Nacos lists every group of the namespace). Two routes have a
variant that needs more than the route's policy: the operator metrics with `onlyStatus=false` (open
in Nacos; the status alone stays open) and the push state with `reset=true` (any login could clear
the counters); those variants are checked by the guard as ADMIN routes (`Access.check`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import ADMIN, AUTHENTICATED, PUBLIC, Secured, namespaced
from pynacos.server.http import Call, Params
from pynacos.server.naming import params as p
from pynacos.server.naming.clients import ClientIndex
from pynacos.server.naming.models import (
    Instance,
    MissingParam,
    NamingError,
    NamingNotFound,
    Service,
    ServiceKey,
    ServiceMissing,
)
from pynacos.server.naming.push import Subscriber
from pynacos.server.naming.service import Beat, NamingService
from pynacos.server.naming.switches import SWITCH_DOMAIN
from pynacos.server.naming.udp import UdpPush
from pynacos.server.naming.views import all_checkers, cluster_json, cluster_names, instance_json, service_info
from pynacos.server.routing import Route, route

V2_CLUSTER = ("clusterName",)
NAMING_READ = Secured("r", p.naming_resources)
NAMING_WRITE = Secured("w", p.naming_resources)
SWITCHES_WRITE = Secured("w", resource="naming/switches")  # a fixed resource: admins only


_JSON_HEADERS = [(b"content-type", b"application/json")]


@functools.lru_cache(maxsize=64)
def _beat_answer(interval: int, code: int, light: bool) -> bytes:
    """Beats are the busiest route: their few possible answers are encoded once."""
    return orjson.dumps({"clientBeatInterval": interval, "code": code, "lightBeatEnabled": light})


def ok() -> Response:
    return http.text("ok")


def service_json(naming: NamingService, service: Service) -> dict[str, Any]:
    return {
        "namespaceId": service.key.namespace,
        "groupName": service.key.group,
        "name": service.key.name,
        "protectThreshold": service.protect_threshold,
        "metadata": service.metadata,
        "selector": {**service.selector, "contextType": "NONE"},
        "clusters": [cluster_json(naming, service, c) for c in cluster_names(service)],
    }


class Access(Protocol):
    """The auth guard (auth/guard.py), asked by handlers what their route's policy could not decide."""

    async def check(self, route: Route, call: Call) -> None:
        """The guard's check of `route`'s policy for this call (403 when it fails; nothing with auth off)."""

    def permits(self, call: Call, resources: list[str], action: str) -> bool:
        """May the caller do `action` on each of `resources`? (always with auth off)"""


class OpenAccess:
    """Auth off: every check passes (what the guard answers then)."""

    async def check(self, route: Route, call: Call) -> None:
        return None

    def permits(self, call: Call, resources: list[str], action: str) -> bool:
        return True


def subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    key = subscriber.key
    return {
        "addrStr": f"{key.ip}:{key.port}",
        "agent": subscriber.agent,
        "app": subscriber.app,
        "ip": key.ip,
        "port": key.port,
        "namespaceId": key.service.namespace,
        "serviceName": key.service.grouped,
        "cluster": key.clusters,
    }


class NamingRoutes:
    def __init__(
        self,
        service: NamingService,
        namespace_exists: Callable[[str], bool],
        push: UdpPush,
        port: int = 8848,
        access: Access | None = None,
    ) -> None:
        self.service = service
        self.namespace_exists = namespace_exists
        self.push = push
        self.access = access or OpenAccess()
        #: (total, failed) at the last `push/state?reset=true`
        self._push_base = (0, 0)
        #: the server's HTTP port, which `/health/server` reports
        self.port = port
        #: Nacos's naming clients (naming/clients.py); the app swaps in one that sees gRPC connections too
        self.clients = ClientIndex(service, lambda: (), {}, push.every_subscriber)

    def routes(self) -> list[Route]:
        base = "/v1/ns"
        routes = [
            route(f"{base}/instance", "POST", self.register, NAMING_WRITE),
            route(f"{base}/instance", "DELETE", self.deregister, NAMING_WRITE),
            route(f"{base}/instance", "PUT", self.update, NAMING_WRITE),
            route(f"{base}/instance", "PATCH", self.patch, NAMING_WRITE),
            route(f"{base}/instance", "GET", self.detail, NAMING_READ),
            route(f"{base}/instance/list", "GET", self.list_instances, NAMING_READ),
            route(f"{base}/instance/beat", "PUT", self.beat, NAMING_WRITE),
            route(f"{base}/instance/statuses", "GET", self.statuses, Secured("r", p.status_resources)),
            route(f"{base}/instance/metadata/batch", "PUT", self.add_metadata, NAMING_WRITE),
            route(f"{base}/instance/metadata/batch", "DELETE", self.remove_metadata, NAMING_WRITE),
            route(f"{base}/health/instance", "PUT", self.set_health, NAMING_WRITE),
            route(f"{base}/health", "PUT", self.set_health, NAMING_WRITE),
            route(f"{base}/health/checkers", "GET", self.checkers, PUBLIC),
            # open as in Nacos (a liveness line); test_guard keeps the list of open routes
            route(f"{base}/health/server", "GET", self.health_server, PUBLIC),
            route(f"{base}/cluster", "PUT", self.update_cluster, NAMING_WRITE),
            route(f"{base}/service", "POST", self.create_service, NAMING_WRITE),
            route(f"{base}/service", "DELETE", self.delete_service, NAMING_WRITE),
            route(f"{base}/service", "PUT", self.update_service, NAMING_WRITE),
            route(f"{base}/service", "GET", self.get_service, NAMING_READ),
            route(f"{base}/service/list", "GET", self.list_services, NAMING_READ),
            route(f"{base}/service/subscribers", "GET", self.subscribers, NAMING_READ),
            route(f"{base}/service/names", "GET", self.service_names, Secured("r", self.names_resources)),
            route(f"{base}/service/selector/types", "GET", self.selector_types, PUBLIC),  # a constant, open in Nacos
            route(f"{base}/catalog/services", "GET", self.catalog_services, NAMING_READ),
            route(f"{base}/catalog/instances", "GET", self.catalog_instances, NAMING_READ),
            route(f"{base}/catalog/service", "GET", self.catalog_service, NAMING_READ),
        ]
        for ops in ("operator", "ops"):
            routes.append(route(f"{base}/{ops}/metrics", "GET", self.metrics, PUBLIC))
            routes.append(route(f"{base}/{ops}/switches", "GET", self.switches, AUTHENTICATED))
            routes.append(route(f"{base}/{ops}/switches", "PUT", self.update_switch, SWITCHES_WRITE))
            routes.append(route(f"{base}/{ops}/push/state", "GET", self.push_state, AUTHENTICATED))
        return routes

    def instance_of(self, params: Params, v2: bool = False) -> Instance:
        """The request's instance; `ephemeral` left out means the `defaultInstanceEphemeral` switch."""
        default = self.service.switches.default_instance_ephemeral
        if v2:
            return p.instance_of(params, enable_alias=False, cluster_names=V2_CLUSTER, default_ephemeral=default)
        return p.instance_of(params, default_ephemeral=default)

    def _writable(self, key: ServiceKey) -> ServiceKey:
        if key.namespace != "public" and not self.namespace_exists(key.namespace):
            raise NamingError(f"namespace '{key.namespace}' does not exist; create it first")
        return key

    async def register(self, call: Call) -> Response:
        key = self._writable(p.service_key(call.params))
        await self.service.register(key, self.instance_of(call.params))
        return ok()

    async def deregister(self, call: Call) -> Response:
        key = p.service_key(call.params)
        instance = self.instance_of(call.params)
        await self.service.deregister(key, instance.ip, instance.port, instance.ephemeral)
        return ok()

    async def update(self, call: Call) -> Response:
        key = p.service_key(call.params)
        await self.service.set_override(key, self.instance_of(call.params))
        return ok()

    async def patch(self, call: Call) -> Response:
        """Only the fields given change; what they would make is checked as a `PUT /instance` would be."""
        params = call.params
        key = p.service_key(params)
        ip, port = p.check_ip(p.required(params, "ip")), p.port_of(params.get("port"))
        cluster = p.cluster_of(params, "clusterName", "cluster")
        changes: dict[str, Any] = {}
        if params.get("weight") is not None:
            changes["weight"] = p.weight_of(params.get("weight"))
        if params.get("enabled") is not None:
            changes["enabled"] = p.to_boolean(params.get("enabled"), True)
        if params.get("metadata") is not None:
            changes["metadata"] = p.metadata_of(params.get("metadata"))
        p.validate_instance(Instance(ip, port, cluster, **changes))
        await self.service.patch_override(key, ip, port, cluster, changes)
        return ok()

    def find_instance(self, params: Params, clusters: tuple[str, ...]) -> tuple[ServiceKey, Instance]:
        """The instance `GET /instance` names (v1, v2, v3), as clients see it; 404 when there is none."""
        key = p.service_key(params)
        ip, port = p.check_ip(p.required(params, "ip")), p.port_of(params.get("port"))
        cluster = p.cluster_of(params, *clusters)
        if key not in self.service.services or not self.service.services[key].instances:
            raise NamingNotFound(f"no ips found for cluster {cluster} in service {key.grouped}")
        instance = self.service.find(key, ip, port, cluster)
        if instance is None:
            raise NamingNotFound("no matched ip found!")
        return key, instance

    def _detail(self, params: Params, clusters: tuple[str, ...]) -> dict[str, Any]:
        key, instance = self.find_instance(params, clusters)
        return {
            "service": key.grouped,
            "ip": instance.ip,
            "port": instance.port,
            "clusterName": instance.cluster,
            "weight": instance.weight,
            "healthy": instance.healthy,
            "instanceId": instance.instance_id,
            "metadata": instance.metadata,
        }

    async def detail(self, call: Call) -> Response:
        return http.json(self._detail(call.params, ("clusterName",)))

    def list_body(self, params: Params, clusters_param: str) -> dict[str, Any]:
        key = p.service_key(params)
        clusters_text = params.get(clusters_param, "")
        for cluster in clusters_text.split(","):
            if cluster.strip():
                p.cluster_of(Params([("c", cluster.strip())]), "c")
        healthy_only = (params.get("healthyOnly") or params.get("healthOnly") or "").strip().lower() == "true"
        return service_info(self.service, key, clusters_text, healthy_only)

    def subscribe(self, call: Call, udp_param: str, clusters_param: str) -> None:
        """C.5: a list call with a UDP port subscribes its *source* address; `clientIP` is never a target."""
        udp_port = p.udp_port_of(call.params.get(udp_param))
        if udp_port <= 0:
            return
        agent = call.headers.get("user-agent", "").strip() or call.headers.get("client-version", "").strip()
        key = p.service_key(call.params)
        clusters = call.params.get(clusters_param, "")
        self.push.subscribe(key, call.client_ip, udp_port, clusters, agent, call.params.get("app", ""))

    async def list_instances(self, call: Call) -> Response:
        body = self.list_body(call.params, "clusters")
        self.subscribe(call, "udpPort", "clusters")
        return http.json(body)

    async def subscribers(self, call: Call) -> Response:
        """`/service/subscribers`: the UDP subscribers of exactly the service the READ check covered."""
        params = call.params
        found = self.push.subscribers(p.service_key(params))
        page_no, page_size = p.positive_int(params.get("pageNo"), 1), p.positive_int(params.get("pageSize"), 1000)
        page = found[(page_no - 1) * page_size : page_no * page_size]
        return http.json({"subscribers": [subscriber_json(s) for s in page], "count": len(found)})

    async def beat(self, call: Call) -> Response:
        body = await self.beat_body(call.params)
        answer = _beat_answer(body["clientBeatInterval"], body["code"], body["lightBeatEnabled"])
        return http.Prebuilt(answer, _JSON_HEADERS)

    async def beat_body(self, params: Params) -> dict[str, Any]:
        key = p.service_key(params)
        info = p.beat_info(params.get("beat"))
        ip = p.beat_ip(info, params)
        port_raw = str(info["port"]) if info and info.get("port") is not None else params.get("port", "0")
        port = p.port_of(port_raw or "0")
        cluster = p.cluster_of(params, "clusterName")
        if info and str(info.get("cluster") or "").strip():
            cluster = p.cluster_of(Params([("cluster", str(info["cluster"]))]), "cluster")
        beat = Beat(ip, port, cluster, info)
        code = await self.service.beat(self._writable(key) if info else key, beat, lambda: self._from_beat(beat))
        interval = self.service.beat_interval(key, ip, port)
        return {
            "clientBeatInterval": interval,
            "code": code,
            "lightBeatEnabled": self.service.switches.light_beat_enabled,
        }

    def _from_beat(self, beat: Beat) -> Instance:
        """The instance a beat re-registers, through the same validation as a register (metadata size
        included: a beat must not store what a register would refuse)."""
        if not beat.ip:
            raise MissingParam("Param 'ip' is required.")  # a beat re-registers only a whole instance
        info = beat.info or {}
        metadata = info.get("metadata") or {}
        instance = Instance(
            ip=beat.ip,
            port=beat.port,
            cluster=beat.cluster,
            weight=p.weight_of(str(info.get("weight") or 1.0)),
            ephemeral=True,
            metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
        )
        return p.validate_instance(instance)

    async def statuses(self, call: Call) -> Response:
        service = self.service.services.get(p.status_key(call.params))
        ips = [f"{i.ip}:{i.port}_{str(i.healthy).lower()}" for i in (service.instances.values() if service else [])]
        return http.json({"ips": ips})

    async def metadata_batch(self, params: Params, remove: bool) -> list[str]:
        """`/instance/metadata/batch`, shared by v1 and v2: the `updated` list of `ip:port:unknown:cluster:kind`.

        `consistencyType` is read by Nacos but selects nothing in 2.5.1 (a service holds one kind of
        instance), so it is ignored here too.
        """
        key = p.service_key(params)
        metadata = p.metadata_of(p.required(params, "metadata"))
        targets = p.batch_targets(params.get("instances"))
        if remove:
            return await self.service.remove_metadata(key, targets, metadata)
        return await self.service.add_metadata(key, targets, metadata)

    async def add_metadata(self, call: Call) -> Response:
        return http.json({"updated": await self.metadata_batch(call.params, remove=False)})

    async def remove_metadata(self, call: Call) -> Response:
        return http.json({"updated": await self.metadata_batch(call.params, remove=True)})

    async def set_health(self, call: Call) -> Response:
        params = call.params
        healthy_raw = params.get("healthy", "").strip() or params.get("valid", "").strip()
        if not healthy_raw:
            raise NamingError("Param 'healthy' is required.")
        healthy = p.strict_boolean("healthy", healthy_raw)
        key = p.service_key(params)
        ip, port = p.check_ip(p.required(params, "ip")), p.port_of(params.get("port"))
        cluster = p.cluster_of(params, "clusterName")
        await self.service.set_health(key, cluster, ip, port, healthy)
        return ok()

    async def checkers(self, call: Call) -> Response:
        return http.json(all_checkers())

    async def health_server(self, call: Call) -> Response:
        message = f"Hello! I am Nacos-Naming and healthy! total services: {len(self.service.services)}"
        return http.json({"msg": f"{message}, local port:{self.port}"})

    async def update_cluster(self, call: Call) -> Response:
        params = call.params
        p.required(params, "clusterName")  # Nacos asks for it before serviceName
        cluster = p.cluster_of(params, "clusterName")
        key = p.service_key(params)
        await self.service.update_cluster(key, cluster, p.cluster_config_of(params))
        return ok()

    async def create_service(self, call: Call) -> Response:
        params = call.params
        key = self._writable(p.service_key(params))
        service = Service(
            key,
            ephemeral=False,
            protect_threshold=p.threshold_of(params.get("protectThreshold")),
            metadata=p.metadata_of(params.get("metadata")),
            selector=p.selector_of(params.get("selector")),
        )
        await self.service.create_service(service)
        return ok()

    async def delete_service(self, call: Call) -> Response:
        await self.service.delete_service(p.service_key(call.params))
        return ok()

    async def update_service(self, call: Call) -> Response:
        params = call.params
        key = p.service_key(params)
        await self.service.update_service(
            key,
            p.threshold_of(params.get("protectThreshold"), required=True),
            p.metadata_of(params.get("metadata")),
            p.selector_of(params.get("selector")),
        )
        return ok()

    async def get_service(self, call: Call) -> Response:
        key = p.service_key(call.params)
        service = self.service.services.get(key)
        if service is None:
            raise ServiceMissing(f"service not found, namespace: {key.namespace}, serviceName: {key.grouped}")
        return http.json(service_json(self.service, service))

    def page(self, params: Params, default_size: int | None = None) -> tuple[int, int]:
        sizes = []
        for name, default in (("pageNo", 1 if default_size else None), ("pageSize", default_size)):
            raw = params.get(name, "").strip()
            if not raw:
                if default is None:
                    raise NamingError(f"Parameter '{name}' is missing")
                sizes.append(default)
                continue
            try:
                sizes.append(int(raw))
            except ValueError:
                raise NamingError(f'For input string: "{raw}"') from None
        if sizes[0] <= 0 or sizes[1] <= 0:
            raise NamingError("pageNo and pageSize must be greater than zero")
        return sizes[0], sizes[1]

    async def require_admin(self, call: Call) -> None:
        """The guard's check of this call as if its route's policy were ADMIN (same answers, same failure log)."""
        await self.access.check(route(call.path, "GET", self.metrics, ADMIN), call)

    def readable(self, call: Call, key: ServiceKey) -> bool:
        """May the caller read this service? (what a listing shows of the services it walks)"""
        return self.access.permits(call, [namespaced(key.namespace, key.group, "naming", key.name)], "r")

    def service_page(
        self, call: Call, default_size: int | None = None, cap: int | None = None
    ) -> tuple[int, list[str]]:
        """(count, names on the page) of the readable services of one group, sorted by name for stable paging."""
        params = call.params
        page_no, page_size = self.page(params, default_size)
        page_size = min(page_size, cap or page_size)
        namespace, group = p.namespace_of(params), params.get("groupName", "").strip() or "DEFAULT_GROUP"
        names = self.service.service_names(namespace, group)
        names = [name for name in names if self.readable(call, ServiceKey(namespace, group, name))]
        return len(names), names[(page_no - 1) * page_size : page_no * page_size]

    async def list_services(self, call: Call) -> Response:
        count, names = self.service_page(call)
        return http.json({"count": count, "doms": names})

    def names_resources(self, params: Params) -> list[str]:
        """`/service/names` without `namespaceId` lists every namespace, so it needs READ on each of them
        (Nacos checks only `public` and then shows all)."""
        if params.get("namespaceId", "").strip():
            return [namespaced(p.namespace_of(params), "", "naming", "")]
        return [namespaced(namespace, "", "naming", "") for namespace in self.service.namespaces()]

    async def service_names(self, call: Call) -> Response:
        """Grouped names containing `expr` as a literal substring (Nacos: a regex, so a ReDoS), per namespace."""
        params = call.params
        explicit = params.get("namespaceId", "").strip()
        namespaces = [p.namespace_of(params)] if explicit else self.service.namespaces()
        expr = params.get("expr", "")
        found = {
            ns: [
                s.key.grouped
                for s in self.service.in_namespace(ns)
                if expr in s.key.grouped and self.readable(call, s.key)
            ]
            for ns in namespaces
        }
        return http.json({"META-INF/services": found, "count": sum(len(names) for names in found.values())})

    async def selector_types(self, call: Call) -> Response:
        """Nacos lists its selector SPI map's keys; both types share a hash bucket, so file order: label, none."""
        return http.rest_result(["label", "none"])

    async def metrics(self, call: Call) -> Response:
        if p.to_boolean(call.params.get("onlyStatus"), True):
            return http.json({"status": "UP"})
        return http.json(await self.metrics_body(call))

    async def metrics_body(self, call: Call) -> dict[str, Any]:
        """The figures behind `onlyStatus=false`: an admin's when auth is on (the bare status is open)."""
        await self.require_admin(call)
        services, instances = len(self.service.services), self.service.instance_count()
        clients = self.clients.counts()
        return {
            "status": "UP",
            "serviceCount": services,
            "instanceCount": instances,
            "subscribeCount": clients["subscribeCount"],
            "responsibleInstanceCount": instances,
            "clientCount": clients["clientCount"],
            "connectionBasedClientCount": clients["connectionBasedClientCount"],
            "ephemeralIpPortClientCount": clients["ephemeralIpPortClientCount"],
            "persistentIpPortClientCount": clients["persistentIpPortClientCount"],
            "responsibleClientCount": clients["responsibleClientCount"],
            "cpu": 0.0,
            "load": 0.0,
            "mem": 0.0,
        }

    def switches_body(self) -> dict[str, Any]:
        switches = self.service.switches.as_json()
        return {**SWITCH_DOMAIN, **switches, "pushEnabled": switches["pushEnabled"] and self.push.active}

    async def push_state(self, call: Call) -> Response:
        """UDP push outcomes since start-up or the last `reset=true`: a push counts once acked or given up.

        Nacos counts since midnight and adds `detail` (push costs) on request; pynacos keeps no push
        costs, so `detail` is left out. The route needs a login here (Nacos: none), and `reset`, which
        clears the figures for everyone, an admin.
        """
        reset = p.to_boolean(call.params.get("reset"), False)
        if reset:
            await self.require_admin(call)
        counters = self.push.state.counters
        total = counters.acked + counters.gave_up - self._push_base[0]
        failed = counters.gave_up - self._push_base[1]
        if reset:
            self._push_base = (counters.acked + counters.gave_up, counters.gave_up)
        ratio = (total - failed) / total if total > 0 else 0
        return http.json({"succeed": total - failed, "total": total, "ratio": ratio, "reset": reset})

    async def update_switch(self, call: Call) -> Response:
        params = call.params
        entry, value = p.required(params, "entry"), p.required(params, "value")
        await self.service.update_switch(entry, value)
        return ok()

    async def switches(self, call: Call) -> Response:
        return http.json(self.switches_body())

    async def catalog_services(self, call: Call) -> Response:
        """The console's service list: name and group substrings, readable services only. A `groupName`
        (what the route's check read; Nacos ignores it here) keeps the list to that group."""
        params = call.params
        page_no, page_size = self.page(params)
        rows = [
            self._catalog_row(s) for s in self.service.in_namespace(p.namespace_of(params)) if self._listed(call, s)
        ]
        return http.json({"count": len(rows), "serviceList": rows[(page_no - 1) * page_size : page_no * page_size]})

    def _listed(self, call: Call, service: Service) -> bool:
        params, key = call.params, service.key
        group = params.get("groupName", "").strip()
        if params.get("serviceNameParam", "") not in key.name or params.get("groupNameParam", "") not in key.group:
            return False
        if (group and key.group != group) or (p.to_boolean(params.get("hasIpCount"), False) and not service.instances):
            return False
        return self.readable(call, key)

    def _catalog_row(self, service: Service) -> dict[str, Any]:
        instances = list(service.instances.values())
        healthy = sum(1 for i in instances if i.healthy)
        trigger = bool(instances) and healthy / len(instances) <= service.protect_threshold
        return {
            "name": service.key.name,
            "groupName": service.key.group,
            "clusterCount": len({i.cluster for i in instances}),
            "ipCount": len(instances),
            "healthyInstanceCount": healthy,
            "triggerFlag": str(trigger).lower(),
        }

    async def catalog_instances(self, call: Call) -> Response:
        params = call.params
        key = p.service_key(params)
        cluster = p.cluster_of(params, "clusterName")
        page_no, page_size = self.page(params)
        service = self.service.services.get(key)
        if service is None:
            raise NamingNotFound(f"service {key.grouped} is not found!")
        shown = [self.service.effective(service, i) for i in service.instances.values() if i.cluster == cluster]
        items = [instance_json(key, i) for i in shown][(page_no - 1) * page_size : page_no * page_size]
        return http.json({"list": items, "count": len(shown)})

    async def catalog_service(self, call: Call) -> Response:
        key = p.service_key(call.params)
        service = self.service.services.get(key)
        if service is None:
            raise NamingNotFound(f"service {key.grouped} is not found!")
        body = service_json(self.service, service)
        detail = {k: body[k] for k in ("name", "groupName", "protectThreshold", "selector", "metadata")}
        return http.json({"service": detail, "clusters": body["clusters"]})
