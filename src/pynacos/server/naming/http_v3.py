"""Naming over Nacos 3.x HTTP (protocol-v3 G.3, G.5): the admin API `/v3/admin/ns/*` and the client API
`/v3/client/ns/instance*`, in the `Result` envelope.

Every handler reads its parameters with the v1/v2 readers and calls what v1 and v2 call (most delegate to
the v2 handler of the same operation), so a rule has one implementation whichever version a client
speaks. What is 3.x's own here: a missing form field is `Required parameter '<name>' type <T> is not
present` (checked before the shared readers run), pages are `PageForm`s (1/100, below 1 is a 400), and
the 3.x models: ServiceDetailInfo (`namespaceId`, ClusterInfo map), a Page of ServiceView, SubscriberInfo,
MetricsInfo, and bare arrays of Instance.

Auth: the admin routes carry v1/v2's naming policies (a permission on the resource the service names),
the switches and metrics an admin's (a fixed resource, as in Nacos); the client routes (Nacos's OPEN_API)
the same naming policies. The naming client lists (`/v3/admin/ns/client/*`) are in http_clients.py.

Where 3.0.3 is not followed (protocol-v3 G.3):
- `GET /instance` and `GET /health/checkers` need READ, not WRITE (both only read; `/instance/list`
  shows the same instances to a reader);
- a bad switch value is a 400 (Nacos: 500, which tells a client the server failed);
- instances registered here get the instance id v1 and gRPC registrations get (Nacos leaves it out);
- the `selector` JSON is read once, not URL-decoded a second time (which turns `+` into a space).
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import Secured
from pynacos.server.errors import BadRequest
from pynacos.server.http import Call, Params
from pynacos.server.naming import params as p
from pynacos.server.naming.clients import ClientIndex, Subscribed
from pynacos.server.naming.http import NAMING_READ, NAMING_WRITE, V2_CLUSTER
from pynacos.server.naming.http_v2 import NamingRoutesV2
from pynacos.server.naming.models import MissingParam, NamingError, Service, ServiceKey, ServiceMissing
from pynacos.server.naming.service import Beat
from pynacos.server.naming.views import all_checkers, checker_json, cluster_names, instance_json
from pynacos.server.routing import Route, route

ADMIN_BASE = "/v3/admin/ns"
CLIENT_BASE = "/v3/client/ns"
OPS_READ = Secured("r", resource=f"{ADMIN_BASE}/ops")
OPS_WRITE = Secured("w", resource=f"{ADMIN_BASE}/ops")
SERVICE_FORM = (("serviceName", "String"),)
INSTANCE_FORM = (("serviceName", "String"), ("ip", "String"), ("port", "Integer"))
HEALTH_FORM = (("healthy", "Boolean"), *INSTANCE_FORM)
CLUSTER_FORM = (
    ("serviceName", "String"),
    ("clusterName", "String"),
    ("checkPort", "Integer"),
    ("useInstancePort4Check", "Boolean"),
    ("healthChecker", "String"),
)
SWITCH_FORM = (("entry", "String"), ("value", "String"))
#: `heartBeat=true` for an instance the server does not know: HTTP 200 with this body (G.5)
INSTANCE_NOT_FOUND = {"code": 21003, "message": "instance not found", "data": None}
#: MetricsInfo has none of v1's `responsibleInstanceCount`, `cpu`, `load`, `mem`
METRICS_FIELDS = (
    "status",
    "serviceCount",
    "instanceCount",
    "subscribeCount",
    "clientCount",
    "connectionBasedClientCount",
    "ephemeralIpPortClientCount",
    "persistentIpPortClientCount",
    "responsibleClientCount",
)


class NotFoundV3(NamingError):
    """Nacos's plain NacosException(404): HTTP 404, code 30000 (the admin instance list)."""

    http_status: ClassVar[int] = 404
    code: ClassVar[int] = 30000
    title: ClassVar[str] = "server error"


def require(params: Params, *fields: tuple[str, str]) -> None:
    """3.x form validation: a blank or absent field is 400 code 10000 with Nacos's text, before any reader."""
    for name, kind in fields:
        if not params.get(name, "").strip():
            raise MissingParam(f"Required parameter '{name}' type {kind} is not present")


def page_form(params: Params) -> tuple[int, int]:
    """Nacos's PageForm: `pageNo` 1 and `pageSize` 100 by default; below 1 is a 400 (code 20002)."""
    values = []
    for name, default in (("pageNo", 1), ("pageSize", 100)):
        value = params.integer(name, default)
        if value < 1:
            raise BadRequest(f"Required parameter '{name}' should be positive integer, current is {value}")
        values.append(value)
    return values[0], values[1]


def flag(params: Params, name: str, default: bool) -> bool:
    """A Spring `Boolean` form field (true/false/on/off/yes/no/1/0; other words are a 400)."""
    value = p.optional_flag(params, name)
    return default if value is None else value


def subscriber_info(subscription: Subscribed) -> dict[str, Any]:
    """SubscriberInfo (G.3.2): the bare service name."""
    key = subscription.service
    return {
        "namespaceId": key.namespace,
        "groupName": key.group,
        "serviceName": key.name,
        "ip": subscription.ip,
        "port": subscription.port,
        "agent": subscription.agent,
        "appName": subscription.app,
    }


def service_key_of(params: Params) -> ServiceKey:
    """The service a 3.x form names (its `serviceName` required first, with 3.x's text)."""
    require(params, *SERVICE_FORM)
    return p.service_key(params)


class NamingRoutesV3:
    def __init__(self, v2: NamingRoutesV2, clients: ClientIndex) -> None:
        self.v2 = v2
        self.v1 = v2.v1
        self.service = v2.service
        self.clients = clients

    def routes(self) -> list[Route]:
        a, c = ADMIN_BASE, CLIENT_BASE
        return [
            route(f"{a}/service", "POST", self.create_service, NAMING_WRITE, "v2"),
            route(f"{a}/service", "DELETE", self.delete_service, NAMING_WRITE, "v2"),
            route(f"{a}/service", "PUT", self.update_service, NAMING_WRITE, "v2"),
            route(f"{a}/service", "GET", self.get_service, NAMING_READ, "v2"),
            route(f"{a}/service/list", "GET", self.list_services, NAMING_READ, "v2"),
            route(f"{a}/service/subscribers", "GET", self.subscribers, NAMING_READ, "v2"),
            route(f"{a}/service/selector/types", "GET", self.selector_types, NAMING_READ, "v2"),
            route(f"{a}/instance", "POST", self.register, NAMING_WRITE, "v2"),
            route(f"{a}/instance", "DELETE", self.deregister, NAMING_WRITE, "v2"),
            route(f"{a}/instance", "PUT", self.update, NAMING_WRITE, "v2"),
            route(f"{a}/instance", "GET", self.detail, NAMING_READ, "v2"),
            route(f"{a}/instance/partial", "PUT", self.patch, NAMING_WRITE, "v2"),
            route(f"{a}/instance/metadata/batch", "PUT", self.v2.add_metadata, NAMING_WRITE, "v2"),
            route(f"{a}/instance/metadata/batch", "DELETE", self.v2.remove_metadata, NAMING_WRITE, "v2"),
            route(f"{a}/instance/list", "GET", self.list_instances, NAMING_READ, "v2"),
            route(f"{a}/health/instance", "PUT", self.set_health, NAMING_WRITE, "v2"),
            route(f"{a}/health/checkers", "GET", self.checkers, NAMING_READ, "v2"),
            route(f"{a}/cluster", "PUT", self.update_cluster, NAMING_WRITE, "v2"),
            route(f"{a}/ops/switches", "GET", self.switches, OPS_READ, "v2"),
            route(f"{a}/ops/switches", "PUT", self.update_switch, OPS_WRITE, "v2"),
            route(f"{a}/ops/metrics", "GET", self.metrics, OPS_READ, "v2"),
            route(f"{c}/instance", "POST", self.client_register, NAMING_WRITE, "v2"),
            route(f"{c}/instance", "DELETE", self.deregister, NAMING_WRITE, "v2"),
            route(f"{c}/instance/list", "GET", self.client_list, NAMING_READ, "v2"),
        ]

    # -- services ----------------------------------------------------------------------------------

    async def create_service(self, call: Call) -> Response:
        """Persistent unless `ephemeral=true` (ServiceForm's default), as v2."""
        require(call.params, *SERVICE_FORM)
        return await self.v2.create_service(call)

    async def delete_service(self, call: Call) -> Response:
        require(call.params, *SERVICE_FORM)
        return await self.v2.delete_service(call)

    async def update_service(self, call: Call) -> Response:
        require(call.params, *SERVICE_FORM)
        return await self.v2.update_service(call)

    async def get_service(self, call: Call) -> Response:
        key = service_key_of(call.params)
        service = self.service.services.get(key)
        if service is None:
            raise ServiceMissing(f"service not found, namespace: {key.namespace}, serviceName: {key.grouped}")
        return http.result(self.service_detail(service, with_hosts=False))

    def service_detail(self, service: Service, with_hosts: bool) -> dict[str, Any]:
        """ServiceDetailInfo (G.3.2); `hosts` of each cluster only in a list `withInstances`."""
        key = service.key
        return {
            "namespaceId": key.namespace,
            "serviceName": key.name,
            "groupName": key.group,
            "clusterMap": {c: self.cluster_info(service, c, with_hosts) for c in cluster_names(service)},
            "metadata": service.metadata,
            "protectThreshold": service.protect_threshold,
            "selector": {**service.selector, "contextType": "NONE"},
            "ephemeral": service.ephemeral,
        }

    def cluster_info(self, service: Service, name: str, with_hosts: bool) -> dict[str, Any]:
        config = self.service.cluster_config(service, name)
        hosts = None
        if with_hosts:
            shown = [self.service.effective(service, i) for i in service.instances.values() if i.cluster == name]
            hosts = [instance_json(service.key, i) for i in shown]
        return {
            "clusterName": name,
            "healthChecker": checker_json(config.checker),
            "healthyCheckPort": config.check_port,
            "useInstancePortForCheck": config.use_instance_port,
            "metadata": config.metadata,
            "hosts": hosts,
        }

    async def list_services(self, call: Call) -> Response:
        """ServiceListForm: name and group substrings, `ignoreEmptyService`, `withInstances`; readable services
        only (a listing shows no service its caller may not read), sorted by group and name."""
        params = call.params
        namespace = p.namespace_of(params)
        name_part, group_part = params.get("serviceNameParam", ""), params.get("groupNameParam", "")
        non_empty, with_instances = flag(params, "ignoreEmptyService", False), flag(params, "withInstances", False)
        page_no, page_size = page_form(params)
        shown = [
            s
            for s in self.service.in_namespace(namespace)
            if name_part in s.key.name
            and group_part in s.key.group
            and (s.instances or not non_empty)
            and self.v1.readable(call, s.key)
        ]
        page = shown[(page_no - 1) * page_size : page_no * page_size]
        if with_instances:
            items = [self.service_detail(s, with_hosts=True) for s in page]
        else:
            items = [self.v1._catalog_row(s) for s in page]
        return http.result(http.page(len(shown), page_no, page_size, items))

    async def subscribers(self, call: Call) -> Response:
        """UDP and gRPC subscribers of the service (AggregationForm's `aggregation`: one node, nothing to add)."""
        params = call.params
        key = service_key_of(params)
        page_no, page_size = page_form(params)
        flag(params, "aggregation", True)
        found = self.clients.subscribers(key)
        page = [subscriber_info(s) for _, s in found[(page_no - 1) * page_size : page_no * page_size]]
        return http.result(http.page(len(found), page_no, page_size, page))

    async def selector_types(self, call: Call) -> Response:
        return http.result(["label", "none"])  # v1's order (Nacos's selector map)

    # -- instances ---------------------------------------------------------------------------------

    async def register(self, call: Call) -> Response:
        require(call.params, *INSTANCE_FORM)
        return await self.v2.register(call)

    async def deregister(self, call: Call) -> Response:
        """`ok` also when there is no such instance."""
        require(call.params, *INSTANCE_FORM)
        return await self.v2.deregister(call)

    async def update(self, call: Call) -> Response:
        require(call.params, *INSTANCE_FORM)
        return await self.v2.update(call)

    async def patch(self, call: Call) -> Response:
        """Only the given `metadata`, `weight` and `enabled` change (v1's PATCH)."""
        require(call.params, *INSTANCE_FORM)
        await self.v1.patch(call)
        return http.result("ok")

    async def detail(self, call: Call) -> Response:
        require(call.params, *INSTANCE_FORM)
        key, instance = self.v1.find_instance(call.params, V2_CLUSTER)
        return http.result(instance_json(key, instance))

    async def list_instances(self, call: Call) -> Response:
        return http.result(self.cluster_instances(call.params))

    def cluster_instances(self, params: Params) -> list[dict[str, Any]]:
        """Every instance of one cluster (`DEFAULT` unless given), disabled ones too; 404 code 30000 for an
        unknown service or a cluster without instances (Nacos's CatalogService). The console pages it."""
        key = service_key_of(params)
        cluster = p.cluster_of(params, "clusterName")
        healthy_only = flag(params, "healthyOnly", False)
        service = self.service.services.get(key)
        if service is None:
            raise NotFoundV3(f"service {key.grouped} is not found!")
        shown = [self.service.effective(service, i) for i in service.instances.values() if i.cluster == cluster]
        if not shown:
            raise NotFoundV3(f"cluster {cluster} is not found!")
        return [instance_json(key, i) for i in shown if i.healthy or not healthy_only]

    async def set_health(self, call: Call) -> Response:
        require(call.params, *HEALTH_FORM)
        return await self.v2.set_health(call)

    async def checkers(self, call: Call) -> Response:
        return http.result(all_checkers())

    async def update_cluster(self, call: Call) -> Response:
        require(call.params, *CLUSTER_FORM)
        await self.v1.update_cluster(call)
        return http.result("ok")

    # -- operator ----------------------------------------------------------------------------------

    async def switches(self, call: Call) -> Response:
        return http.result(self.v1.switches_body())

    async def update_switch(self, call: Call) -> Response:
        require(call.params, *SWITCH_FORM)
        return await self.v2.update_switch(call)

    async def metrics(self, call: Call) -> Response:
        if flag(call.params, "onlyStatus", True):
            return http.result({"status": "UP"})
        body = await self.v1.metrics_body(call)
        return http.result({name: body[name] for name in METRICS_FIELDS})

    # -- client API (G.5) --------------------------------------------------------------------------

    async def client_register(self, call: Call) -> Response:
        """Register, or with `heartBeat=true` renew the ephemeral instance the form names (a v1 beat
        without beat JSON: it never re-registers)."""
        params = call.params
        require(params, *INSTANCE_FORM)
        if not flag(params, "heartBeat", False):
            return await self.v2.register(call)
        key = p.service_key(params)
        beat = Beat(
            p.check_ip(params["ip"].strip()), p.port_of(params.get("port")), p.cluster_of(params, *V2_CLUSTER), None
        )
        code = await self.service.beat(key, beat, lambda: self.v1.instance_of(params, v2=True))
        return http.result("ok") if code == 10200 else http.json(INSTANCE_NOT_FOUND)

    async def client_list(self, call: Call) -> Response:
        """The instances a client sees (enabled, protect threshold applied) of one cluster, as a bare array;
        an unknown service is `[]`. `healthyOnly` is read but, as in Nacos, not applied."""
        params = call.params
        key = service_key_of(params)
        cluster = p.cluster_of(params, "clusterName")
        flag(params, "healthyOnly", False)
        hosts, _ = self.service.select(key, [cluster], healthy_only=False)
        return http.result([instance_json(key, i) for i in hosts])
