"""Nacos's naming *clients* (what its client API lists), derived from what pynacos already keeps.

Nacos 2.x/3.x keeps a table of clients, each publishing instances and holding subscriptions. pynacos
has the same facts in three places, and this module reads them as Nacos's clients:

- a gRPC connection set up with the label `module=naming`: client id = the connection id; it publishes
  the ephemeral instances it owns (`Instance.owner`) and holds its gRPC subscriptions (naming/grpc.py);
- `<ip>:<port>#true` / `<ip>:<port>#false`: the instances registered over HTTP (and persistent ones over
  gRPC) at that address, ephemeral or persistent (Nacos's IpPortBasedClient, keyed by the instance's
  address, so one client may publish into several services);
- `<ip>:<udpPort>#true`: a UDP push subscriber (naming/push.py); it shares its id with an instance
  registered at that address, as in Nacos.

There is no client table to keep in step: every call walks the registry, the connections and the
subscriptions (O(instances + subscriptions)), so the lists cannot drift from what is served. Admin routes
only; nothing here is on a client's path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pynacos.server.naming.models import Instance, ServiceKey
from pynacos.server.naming.push import Subscriber
from pynacos.server.naming.service import NamingService

if TYPE_CHECKING:
    from pynacos.server.grpc.connections import Connection

NAMING_MODULE = "naming"


class GrpcSubscription(Protocol):
    """What is read of a gRPC subscription (naming/grpc.py's `Subscription`)."""

    @property
    def service(self) -> ServiceKey: ...


@dataclass(frozen=True)
class Subscribed:
    """One subscription of a client: Nacos's Subscriber (gRPC ones have port 0 and the bare IP as address)."""

    service: ServiceKey
    ip: str
    port: int
    agent: str
    app: str
    address: str


@dataclass
class Client:
    id: str
    ephemeral: bool
    #: epoch milliseconds of the last beat, poll, registration or request
    updated_ms: int
    ip: str
    port: int
    connection: Connection | None = None
    published: list[tuple[ServiceKey, Instance]] = field(default_factory=list)
    subscribed: dict[ServiceKey, Subscribed] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """Nacos's `clientType`."""
        return "connection" if self.connection is not None else "ipPort"


def address_id(ip: str, port: int, ephemeral: bool) -> str:
    return f"{ip}:{port}#{'true' if ephemeral else 'false'}"


class ClientIndex:
    def __init__(
        self,
        naming: NamingService,
        connections: Callable[[], Iterable[Connection]],
        grpc_subscriptions: Mapping[str, Iterable[GrpcSubscription]],
        udp_subscribers: Callable[[], list[tuple[Subscriber, float]]],
    ) -> None:
        self.naming = naming
        self.connections = connections
        self.grpc_subscriptions = grpc_subscriptions
        self.udp_subscribers = udp_subscribers

    def clients(self) -> dict[str, Client]:
        """Every client, by id, in id order."""
        wall_ms = time.time() * 1000
        found: dict[str, Client] = {}
        for connection in self.connections():
            if connection.module == NAMING_MODULE:
                found[connection.id] = _connection_client(connection, wall_ms)
        self._add_instances(found, wall_ms)
        self._add_grpc_subscriptions(found)
        for subscriber, age_ms in self.udp_subscribers():
            key = subscriber.key
            client = _by_address(found, key.ip, key.port, True)
            address = f"{key.ip}:{key.port}"
            client.subscribed.setdefault(
                key.service, Subscribed(key.service, key.ip, key.port, subscriber.agent, subscriber.app, address)
            )
            client.updated_ms = max(client.updated_ms, int(wall_ms - age_ms))
        return dict(sorted(found.items()))

    def _add_instances(self, found: dict[str, Client], wall_ms: float) -> None:
        naming_now = self.naming.clock()
        for service in list(self.naming.services.values()):
            for instance in list(service.instances.values()):
                if instance.owner is not None:
                    owner = found.get(instance.owner)
                    if owner is not None:  # else its connection is ending: the instance goes with it
                        owner.published.append((service.key, instance))
                    continue
                client = _by_address(found, instance.ip, instance.port, instance.ephemeral)
                client.published.append((service.key, instance))
                client.updated_ms = max(client.updated_ms, int(wall_ms - (naming_now - instance.last_beat)))

    def _add_grpc_subscriptions(self, found: dict[str, Client]) -> None:
        for connection_id, subscriptions in list(self.grpc_subscriptions.items()):
            client = found.get(connection_id)
            if client is None or client.connection is None:
                continue
            agent, app = client.connection.version, client.connection.app_name
            for subscription in subscriptions:
                service = subscription.service
                client.subscribed.setdefault(service, Subscribed(service, client.ip, 0, agent, app, client.ip))

    def get(self, client_id: str) -> Client | None:
        return self.clients().get(client_id)

    def publishers(self, key: ServiceKey) -> list[tuple[str, Instance]]:
        """(client id, instance) of every instance of the service, by client."""
        return [(c.id, i) for c in self.clients().values() for k, i in c.published if k == key]

    def subscribers(self, key: ServiceKey) -> list[tuple[str, Subscribed]]:
        """(client id, subscription) of every subscriber of the service, by client."""
        return [(c.id, c.subscribed[key]) for c in self.clients().values() if key in c.subscribed]

    def counts(self) -> dict[str, int]:
        """The client figures of Nacos's naming metrics (every client is this node's own)."""
        clients = list(self.clients().values())
        connected = sum(1 for c in clients if c.connection is not None)
        persistent = sum(1 for c in clients if c.connection is None and not c.ephemeral)
        return {
            "subscribeCount": sum(len(c.subscribed) for c in clients),
            "clientCount": len(clients),
            "connectionBasedClientCount": connected,
            "ephemeralIpPortClientCount": len(clients) - connected - persistent,
            "persistentIpPortClientCount": persistent,
            "responsibleClientCount": len(clients),
        }


def _connection_client(connection: Connection, wall_ms: float) -> Client:
    """The connection id is `<epochMillis>_<ip>_<port>` (grpc/connections.py): its port is the client's."""
    _, _, port = connection.id.rpartition("_")
    idle_ms = (time.monotonic() - connection.last_active) * 1000
    ip = connection.client_ip or connection.remote_ip
    return Client(connection.id, True, int(wall_ms - idle_ms), ip, int(port) if port.isdigit() else 0, connection)


def _by_address(found: dict[str, Client], ip: str, port: int, ephemeral: bool) -> Client:
    client_id = address_id(ip, port, ephemeral)
    client = found.get(client_id)
    if client is None:
        client = found[client_id] = Client(client_id, ephemeral, 0, ip, port)
    return client
