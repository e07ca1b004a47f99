"""Naming clients over HTTP: `/v2/ns/client/*` (protocol.md C, 2.5.1 shapes) and `/v3/admin/ns/client/*`
(protocol-v3 G.3, 3.x models), both read from naming/clients.py's ClientIndex.

Auth: v2's routes need an admin (Nacos's `nacos/admin` resource). Of v3's, the per-service lists carry
the naming READ policy of the service they name; the lists that span every namespace (all clients, one
client's detail, what one client publishes or subscribes to) need an admin, where Nacos checks READ on
the public namespace's naming resource only.

Where 2.5.1 is not followed: its `/service/publisher/list` keeps only the entries whose ip *and* port equal
the parameters (so it is empty without them); here an absent ip or port matches every entry, as the
subscriber list does. v3's client detail names the address of an `ip:port` client (3.0.3 leaves
`clientIp` null and `clientPort` 0 there).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import Secured
from pynacos.server.errors import NotFound
from pynacos.server.http import Call, Params
from pynacos.server.naming import params as p
from pynacos.server.naming.clients import Client, ClientIndex, Subscribed
from pynacos.server.naming.http import NAMING_READ
from pynacos.server.naming.http_v3 import service_key_of
from pynacos.server.naming.models import Instance, ServiceKey
from pynacos.server.routing import Route, route

NACOS_ADMIN = Secured("r", resource="nacos/admin")
V3_CLIENTS = Secured("r", resource="/v3/admin/ns/client")


def published_v2(key: ServiceKey, instance: Instance) -> dict[str, Any]:
    return {
        "namespace": key.namespace,
        "group": key.group,
        "serviceName": key.name,
        "registeredInstance": {"ip": instance.ip, "port": instance.port, "cluster": instance.cluster},
    }


def subscribed_v2(subscription: Subscribed) -> dict[str, Any]:
    key = subscription.service
    return {
        "namespace": key.namespace,
        "group": key.group,
        "serviceName": key.name,
        "subscriberInfo": {"app": subscription.app, "agent": subscription.agent, "addr": subscription.address},
    }


def publisher_info(client_id: str | None, instance: Instance) -> dict[str, Any]:
    """ClientPublisherInfo (G.3.2); `clientId` is null inside a client's own publish list."""
    return {"clientId": client_id, "ip": instance.ip, "port": instance.port, "clusterName": instance.cluster}


def subscriber_info(client_id: str | None, subscription: Subscribed) -> dict[str, Any]:
    """ClientSubscriberInfo (G.3.2)."""
    return {
        "clientId": client_id,
        "appName": subscription.app,
        "agent": subscription.agent,
        "address": subscription.address,
    }


def service_info(
    key: ServiceKey, publisher: dict[str, Any] | None, subscriber: dict[str, Any] | None
) -> dict[str, Any]:
    """ClientServiceInfo (G.3.2)."""
    return {
        "namespaceId": key.namespace,
        "groupName": key.group,
        "serviceName": key.name,
        "publisherInfo": publisher,
        "subscriberInfo": subscriber,
    }


def summary_v3(client: Client) -> dict[str, Any]:
    """ClientSummaryInfo (G.3.2)."""
    connection = client.connection
    return {
        "clientId": client.id,
        "ephemeral": client.ephemeral,
        "lastUpdatedTime": client.updated_ms,
        "clientType": client.kind,
        "connectType": "GRPC" if connection is not None else None,
        "appName": connection.app_name if connection is not None else None,
        "version": connection.version if connection is not None else None,
        "clientIp": client.ip,
        "clientPort": client.port,
    }


def summary_v2(client: Client) -> dict[str, Any]:
    """2.5.1's client detail: `clientPort` is a string; the connection fields only for gRPC clients."""
    shown: dict[str, Any] = {
        "clientId": client.id,
        "ephemeral": client.ephemeral,
        "lastUpdatedTime": client.updated_ms,
        "clientType": client.kind,
    }
    connection = client.connection
    if connection is not None:
        shown.update(connectType="GRPC", appName=connection.app_name, version=connection.version)
    return {**shown, "clientIp": client.ip, "clientPort": str(client.port)}


class ClientRoutes:
    def __init__(self, clients: ClientIndex, self_address: str) -> None:
        self.clients = clients
        #: this node's `ip:port`: every client's responsible server (standalone)
        self.self_address = self_address

    def routes(self) -> list[Route]:
        v2, v3 = "/v2/ns/client", "/v3/admin/ns/client"
        return [
            route(f"{v2}/list", "GET", self.client_list, NACOS_ADMIN, "v2"),
            route(v2, "GET", self.detail_v2, NACOS_ADMIN, "v2"),
            route(f"{v2}/publish/list", "GET", self.published_v2, NACOS_ADMIN, "v2"),
            route(f"{v2}/subscribe/list", "GET", self.subscribed_v2, NACOS_ADMIN, "v2"),
            route(f"{v2}/service/publisher/list", "GET", self.publishers_v2, NACOS_ADMIN, "v2"),
            route(f"{v2}/service/subscriber/list", "GET", self.subscribers_v2, NACOS_ADMIN, "v2"),
            route(f"{v3}/list", "GET", self.client_list, V3_CLIENTS, "v2"),
            route(v3, "GET", self.detail_v3, V3_CLIENTS, "v2"),
            route(f"{v3}/publish/list", "GET", self.published_v3, V3_CLIENTS, "v2"),
            route(f"{v3}/subscribe/list", "GET", self.subscribed_v3, V3_CLIENTS, "v2"),
            route(f"{v3}/service/publisher/list", "GET", self.publishers_v3, NAMING_READ, "v2"),
            route(f"{v3}/service/subscriber/list", "GET", self.subscribers_v3, NAMING_READ, "v2"),
            route(f"{v3}/distro", "GET", self.distro, V3_CLIENTS, "v2"),
        ]

    def _client(self, params: Params) -> Client:
        client_id = params.required("clientId")
        client = self.clients.get(client_id)
        if client is None:
            raise NotFound(f"clientId [ {client_id} ] not exist")
        return client

    def _address_filter(self, params: Params) -> tuple[str | None, int | None]:
        """The optional `ip` and `port` of the per-service lists (checked as everywhere else)."""
        ip = params.get("ip", "").strip()
        port = params.get("port", "").strip()
        return (p.check_ip(ip) if ip else None), (p.port_of(port) if port else None)

    def _publishers(self, params: Params, key: ServiceKey) -> list[tuple[str, Instance]]:
        ip, port = self._address_filter(params)
        return [
            (client_id, i)
            for client_id, i in self.clients.publishers(key)
            if (ip is None or i.ip == ip) and (port is None or i.port == port)
        ]

    def _subscribers(self, params: Params, key: ServiceKey) -> list[tuple[str, Subscribed]]:
        ip, port = self._address_filter(params)
        return [
            (client_id, s)
            for client_id, s in self.clients.subscribers(key)
            if (ip is None or s.ip == ip) and (port is None or s.port == port)
        ]

    async def client_list(self, call: Call) -> Response:
        return http.result(list(self.clients.clients()))

    # -- v2 ----------------------------------------------------------------------------------------

    async def detail_v2(self, call: Call) -> Response:
        return http.result(summary_v2(self._client(call.params)))

    async def published_v2(self, call: Call) -> Response:
        return http.result([published_v2(k, i) for k, i in self._client(call.params).published])

    async def subscribed_v2(self, call: Call) -> Response:
        return http.result([subscribed_v2(s) for s in self._client(call.params).subscribed.values()])

    def _v2_key(self, params: Params) -> ServiceKey:
        """`serviceName` is a required `@RequestParam` here (Spring's text when absent); `ephemeral` is read
        by Nacos and selects nothing (a service is one kind)."""
        params.required("serviceName")
        return p.service_key(params)

    async def publishers_v2(self, call: Call) -> Response:
        found = self._publishers(call.params, self._v2_key(call.params))
        shown = [{"ip": i.ip, "port": i.port, "cluster": i.cluster, "clientId": c} for c, i in found]
        return http.result(shown)

    async def subscribers_v2(self, call: Call) -> Response:
        found = self._subscribers(call.params, self._v2_key(call.params))
        return http.result([{"clientId": c, "ip": s.ip, "port": s.port} for c, s in found])

    # -- v3 ----------------------------------------------------------------------------------------

    async def detail_v3(self, call: Call) -> Response:
        return http.result(summary_v3(self._client(call.params)))

    async def published_v3(self, call: Call) -> Response:
        client = self._client(call.params)
        return http.result([service_info(k, publisher_info(None, i), None) for k, i in client.published])

    async def subscribed_v3(self, call: Call) -> Response:
        client = self._client(call.params)
        shown = [service_info(s.service, None, subscriber_info(None, s)) for s in client.subscribed.values()]
        return http.result(shown)

    async def publishers_v3(self, call: Call) -> Response:
        found = self._publishers(call.params, service_key_of(call.params))
        return http.result([publisher_info(c, i) for c, i in found])

    async def subscribers_v3(self, call: Call) -> Response:
        found = self._subscribers(call.params, service_key_of(call.params))
        return http.result([subscriber_info(c, s) for c, s in found])

    async def distro(self, call: Call) -> Response:
        """The node responsible for the client at `ip:port`: this one (standalone)."""
        call.params.required("ip")  # plain `@RequestParam`s: Spring's text when absent
        call.params.required("port")
        return http.result({"responsibleServer": self.self_address})
