"""Naming over gRPC (protocol.md E.5): instances, queries, service lists, subscriptions and their pushes.

Each handler calls what the HTTP naming routes call, under their policies: a request's `namespace`,
`groupName` and `serviceName` are read as the HTTP parameters `namespaceId`, `groupName` and
`serviceName` (so `naming_resources` names the same resource and `service_key` the same service), every
instance goes through the HTTP registration's `instance_of`, and answers and pushes render the HTTP
list's ServiceInfo (views.py) with the bare service name.

Ownership:
- Ephemeral instances registered over gRPC belong to their connection (`Instance.owner`): no beats,
  never expired by the beat check. An InstanceRequest or BatchInstanceRequest replaces the
  connection's whole set in that service (a deregister empties it, whatever instance it names, as in
  Nacos); the end of the connection removes all of them at once (`NamingService.release`).
- Persistent instances (PersistentInstanceRequest) are HTTP's: keyed by ip:port, stored, they outlive
  the connection.
- Only a connection set up with `labels.module == "naming"` (what every naming SDK sends) may register
  ephemeral instances; others get Nacos's -401. Subscribing works on any registered connection: Nacos
  answers success there without subscribing, which leaves a client waiting for pushes that never come.

Pushes (invariants):
- A subscription is (connection id, service, clusters text). The clusters text is part of the key, as
  for UDP push (push.py): the pushed ServiceInfo depends on it and clients cache by name and clusters.
- A change of a service schedules one push to all its subscribers PUSH_DELAY after the first change, so
  changes within it merge; a new subscription schedules its own first push the same way.
- A subscription has at most one delivery running. It renders the ServiceInfo when it sends, waits for
  the ack, retries a failure after RETRY_DELAY up to PUSH_ATTEMPTS sends, and sends once more when a
  change came in meanwhile, so the last push a client acks carries the current state.
- A closed connection drops its subscriptions and cancels their deliveries before its instances go
  (whose removal is pushed to the remaining subscribers).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NamedTuple

import orjson

from pynacos.server.characters import is_visible
from pynacos.server.errors import BadRequest
from pynacos.server.grpc.connections import Connection, Connections
from pynacos.server.grpc.payload import flag, text
from pynacos.server.grpc.server import GrpcFailure, GrpcHandler, ok
from pynacos.server.http import Call, Params
from pynacos.server.naming import params as p
from pynacos.server.naming.http import NAMING_READ, NAMING_WRITE, NamingRoutes
from pynacos.server.naming.models import Instance, ServiceKey
from pynacos.server.naming.views import grpc_info, grpc_service_info

log = logging.getLogger("pynacos.naming.grpc")
REGISTER = "registerInstance"
DEREGISTER = "deregisterInstance"
BATCH_REGISTER = "batchRegisterInstance"
NOTIFY = "NotifySubscriberRequest"
PUSH_DELAY = 0.5
PUSH_TIMEOUT = 5.0
RETRY_DELAY = 1.0
PUSH_ATTEMPTS = 4
#: subscriptions one connection may hold (each is a push per change of its service)
MAX_SUBSCRIPTIONS = 10_000
#: the stored column's width (storage/tables.py), so a persistent instance's id fits on every backend
MAX_INSTANCE_ID = 1024
#: Instance JSON fields read as the HTTP registration's parameters of the same name
INSTANCE_FIELDS = ("ip", "port", "clusterName", "weight", "healthy", "enabled")


class Subscription(NamedTuple):
    connection: str
    service: ServiceKey
    clusters: str


def key_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("namespaceId", text(body.get("namespace"))),
        ("groupName", text(body.get("groupName"))),
        ("serviceName", text(body.get("serviceName"))),
    ]


def query_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    """`cluster` is the list route's `clusters`; only `healthyOnly` counts (Python's `healthOnly`: not, as in Nacos)."""
    healthy_only = "true" if flag(body.get("healthyOnly"), False) else "false"
    return [*key_params(body), ("clusters", text(body.get("cluster"))), ("healthyOnly", healthy_only)]


def subscribe_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [*key_params(body), ("clusters", text(body.get("clusters")))]


def list_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("namespaceId", text(body.get("namespace"))),
        ("groupName", text(body.get("groupName"))),
        ("pageNo", text(body.get("pageNo"))),
        ("pageSize", text(body.get("pageSize"))),
    ]


def instance_of(raw: Any, ephemeral: bool) -> Instance:
    """An Instance JSON (E.5) read by the HTTP registration's own `instance_of`: one set of checks (ip,
    port, cluster, weight, metadata size and NUL, beat timings) whatever the transport. The four derived
    keys are ignored; `ephemeral` is the request type's."""
    if not isinstance(raw, dict):
        raise BadRequest("instance must be a JSON object")
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("instance metadata must be a JSON object")
    fields = [(name, text(raw[name])) for name in INSTANCE_FIELDS if raw.get(name) is not None]
    if metadata:
        fields.append(("metadata", orjson.dumps({k: v for k, v in metadata.items() if v is not None}).decode()))
    fields.append(("ephemeral", "true" if ephemeral else "false"))
    instance = p.instance_of(Params(fields), enable_alias=False, cluster_names=("clusterName",))
    instance.instance_id = _instance_id(raw.get("instanceId"))
    return instance


def _instance_id(value: Any) -> str | None:
    """A client's own instanceId is kept (Nacos's custom instance id); blank: the server makes the simple one."""
    chosen = text(value).strip()
    if not chosen:
        return None
    if len(chosen) > MAX_INSTANCE_ID or not is_visible(chosen):
        raise BadRequest(f"instanceId must be visible text of at most {MAX_INSTANCE_ID} characters")
    return chosen


def _kind(body: dict[str, Any], *known: str) -> str:
    kind = text(body.get("type"))
    if kind not in known:
        raise GrpcFailure(400, f"Unsupported request type {kind}")
    return kind


def _disconnected(connection: Connection) -> GrpcFailure:
    """Nacos's CLIENT_DISCONNECT for a connection without a naming client (the trailing space is Nacos's)."""
    message = f"Client [{connection.id}] connection already disconnect, can't register ephemeral instance. "
    return GrpcFailure(-401, f"errCode: -401, errMsg: {message}")


class NamingGrpc:
    def __init__(self, v1: NamingRoutes, connections: Connections) -> None:
        self.v1 = v1
        self.naming = v1.service
        self.connections = connections
        self.subscribers: dict[ServiceKey, dict[Subscription, None]] = {}
        self.subscribed: dict[str, set[Subscription]] = {}
        #: services with a push scheduled, and to whom (None: every subscriber)
        self._due: dict[ServiceKey, set[Subscription] | None] = {}
        self._deliveries: dict[Subscription, asyncio.Task[None]] = {}
        #: subscriptions whose running delivery must send once more (a change came in meanwhile)
        self._again: set[Subscription] = set()
        connections.on_close.append(self.release)

    def handlers(self) -> list[GrpcHandler]:
        # Python and Rust require both keys, in failures too
        list_fields: tuple[tuple[str, Any], ...] = (("count", 0), ("serviceNames", []))
        return [
            GrpcHandler("InstanceRequest", "InstanceResponse", NAMING_WRITE, self.instance, key_params),
            GrpcHandler("BatchInstanceRequest", "BatchInstanceResponse", NAMING_WRITE, self.batch, key_params),
            GrpcHandler("PersistentInstanceRequest", "InstanceResponse", NAMING_WRITE, self.persistent, key_params),
            GrpcHandler("ServiceQueryRequest", "QueryServiceResponse", NAMING_READ, self.query, query_params),
            GrpcHandler(
                "ServiceListRequest", "ServiceListResponse", NAMING_READ, self.list_services, list_params, list_fields
            ),
            GrpcHandler(
                "SubscribeServiceRequest", "SubscribeServiceResponse", NAMING_READ, self.subscribe, subscribe_params
            ),
        ]

    # -- instances -------------------------------------------------------------------------------

    async def instance(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        kind = _kind(body, REGISTER, DEREGISTER)
        key = p.service_key(call.params)
        instance = instance_of(body.get("instance"), ephemeral=True)
        await self._publish(key, connection, [instance] if kind == REGISTER else [])
        return ok(type=kind)

    async def batch(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        kind = _kind(body, BATCH_REGISTER)
        key = p.service_key(call.params)
        raw = body.get("instances")
        if not isinstance(raw, list):
            raise BadRequest("instances must be a JSON array")
        await self._publish(key, connection, [instance_of(item, ephemeral=True) for item in raw])
        return ok(type=kind)

    async def _publish(self, key: ServiceKey, connection: Connection, instances: list[Instance]) -> None:
        """The connection's instances in the service become `instances`; an empty list removes them."""
        if instances:
            if connection.module != "naming":
                raise _disconnected(connection)
            key = self.v1._writable(key)
        await self.naming.publish(key, connection.id, instances)
        if connection.closed.is_set():  # it ended while this request waited: what it published goes too
            self.naming.release(connection.id)

    async def persistent(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        kind = _kind(body, REGISTER, DEREGISTER)
        key = p.service_key(call.params)
        instance = instance_of(body.get("instance"), ephemeral=False)
        if kind == REGISTER:
            await self.naming.register(self.v1._writable(key), instance)
        else:
            await self.naming.deregister(key, instance.ip, instance.port, ephemeral=False)
        return ok(type=kind)

    # -- reading ---------------------------------------------------------------------------------

    async def query(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        key = p.service_key(call.params)
        return ok(serviceInfo=grpc_info(key, self.v1.list_body(call.params, "clusters")))

    async def list_services(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        """The HTTP service list's page: readable services of one group only, counted as shown. No size cap:
        Spring Cloud asks for `Integer.MAX_VALUE` names at once."""
        count, names = self.v1.service_page(call, default_size=10)
        return ok(count=count, serviceNames=names)

    # -- subscriptions ---------------------------------------------------------------------------

    async def subscribe(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        """Subscribe or unsubscribe; either way the answer carries the current ServiceInfo."""
        key = p.service_key(call.params)
        info = grpc_info(key, self.v1.list_body(call.params, "clusters"))  # checks the clusters too
        subscription = Subscription(connection.id, key, call.params.get("clusters", ""))
        if not flag(body.get("subscribe"), False):
            self._unsubscribe(subscription)
        elif not connection.closed.is_set():
            self._subscribe(subscription)
        return ok(message="success", serviceInfo=info)

    def _subscribe(self, subscription: Subscription) -> None:
        mine = self.subscribed.setdefault(subscription.connection, set())
        if subscription not in mine and len(mine) >= MAX_SUBSCRIPTIONS:
            raise GrpcFailure(400, f"a connection may hold at most {MAX_SUBSCRIPTIONS} subscriptions")
        mine.add(subscription)
        self.subscribers.setdefault(subscription.service, {})[subscription] = None
        self._schedule(subscription.service, subscription)

    def _unsubscribe(self, subscription: Subscription) -> None:
        mine = self.subscribed.get(subscription.connection)
        if mine is not None:
            mine.discard(subscription)
            if not mine:
                del self.subscribed[subscription.connection]
        same_service = self.subscribers.get(subscription.service)
        if same_service is not None:
            same_service.pop(subscription, None)
            if not same_service:
                del self.subscribers[subscription.service]

    def release(self, connection: Connection) -> None:
        """`Connections.on_close`: its subscriptions and deliveries end, then its instances go."""
        for subscription in self.subscribed.pop(connection.id, set()):
            self._unsubscribe(subscription)
            self._again.discard(subscription)
            delivery = self._deliveries.pop(subscription, None)
            if delivery is not None:
                delivery.cancel()
        self.naming.release(connection.id)

    # -- pushes ----------------------------------------------------------------------------------

    def changed(self, key: ServiceKey) -> None:
        """`NamingService.on_change`: a merged push to the service's subscribers, if it has any."""
        if key in self.subscribers:
            self._schedule(key, None)

    def _schedule(self, key: ServiceKey, only: Subscription | None) -> None:
        """A push PUSH_DELAY after the first request for one; later requests join it."""
        if key in self._due:
            targets = self._due[key]
            if only is None:
                self._due[key] = None
            elif targets is not None:
                targets.add(only)
            return
        self._due[key] = None if only is None else {only}
        asyncio.get_running_loop().call_later(PUSH_DELAY, self._fire, key)

    def _fire(self, key: ServiceKey) -> None:
        only = self._due.pop(key, set())
        current = self.subscribers.get(key, {})
        views: dict[str, dict[str, Any]] = {}  # one rendering per clusters text
        for subscription in [s for s in (current if only is None else only) if s in current]:
            if subscription.clusters not in views:
                views[subscription.clusters] = grpc_service_info(self.naming, key, subscription.clusters)
            self._deliver(subscription, views[subscription.clusters])

    def _deliver(self, subscription: Subscription, info: dict[str, Any]) -> None:
        if subscription in self._deliveries:
            self._again.add(subscription)
            return
        delivery = asyncio.get_running_loop().create_task(self._delivery(subscription, info))
        self._deliveries[subscription] = delivery

    async def _delivery(self, subscription: Subscription, info: dict[str, Any] | None) -> None:
        failures = 0
        try:
            while failures < PUSH_ATTEMPTS:
                self._again.discard(subscription)
                acked = await self._push(subscription, info)
                info = None  # a later send renders the state of its own time
                if acked is None or (acked and subscription not in self._again):
                    return
                failures = 0 if acked else failures + 1
                if not acked and failures < PUSH_ATTEMPTS:
                    await asyncio.sleep(RETRY_DELAY)
            log.info(
                "push of %s to %s not acknowledged; giving up", subscription.service.grouped, subscription.connection
            )
        finally:
            if self._deliveries.get(subscription) is asyncio.current_task():
                del self._deliveries[subscription]

    async def _push(self, subscription: Subscription, info: dict[str, Any] | None) -> bool | None:
        """True when acked, False when not, None when the subscription or its connection is gone."""
        connection = self.connections.registered.get(subscription.connection)
        if connection is None or subscription not in self.subscribers.get(subscription.service, {}):
            return None
        if info is None:
            info = grpc_service_info(self.naming, subscription.service, subscription.clusters)
        body = {"serviceInfo": info, "module": "naming"}
        return await self.connections.push(connection, NOTIFY, body, PUSH_TIMEOUT)
