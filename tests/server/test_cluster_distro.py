"""Naming replication's bookkeeping (cluster/distro.py) in one process: stamps, snapshots, letting go, what is
sent. The peers are a recorder; the 3-node behaviour is tests/integration/test_cluster_naming.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from pynacos.server.cluster import distro
from pynacos.server.cluster.distro import SERVICE_PATH, Distro
from pynacos.server.cluster.members import DOWN, MemberList
from pynacos.server.errors import BadRequest
from pynacos.server.http import Call, Params
from pynacos.server.naming.models import Instance, ServiceKey
from pynacos.server.naming.service import Beat, NamingService
from pynacos.server.routing import Handler
from pynacos.server.settings import Settings
from pynacos.server.storage.engine import open_engine
from pynacos.server.storage.naming import NamingStore

A, B, C = "127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"
KEY = ServiceKey("public", "DEFAULT_GROUP", "web")


@dataclass
class Recorder:
    """Stands in for Peers: what would have been sent."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    problems: Any = None

    def send(self, path: str, data: dict[str, Any], key: str | None = None, retry: bool = True) -> None:
        self.sent.append((path, dict(data)))

    async def post(self, member: Any, path: str, data: dict[str, Any] | None = None, body: Any = None) -> None:
        self.sent.append((path, {"to": member.address, **(data or {})}))


@dataclass
class FakeCluster:
    members: MemberList
    peers: Recorder
    routes: dict[str, Handler] = field(default_factory=dict)

    def internal_route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[tuple[Distro, NamingService, Recorder]]:
    engine = await open_engine(Settings(home=str(tmp_path)))
    naming = NamingService(NamingStore(engine))
    members = MemberList(Settings(port=9001, member_ip="127.0.0.1"), [A, B, C])
    peers = Recorder()
    yield Distro(naming, FakeCluster(members, peers)), naming, peers  # type: ignore[arg-type]
    await engine.dispose()


def wire(ip: str, port: int = 80, weight: float = 1.0) -> dict[str, Any]:
    return distro.wire(Instance(ip, port, weight=weight, instance_id=f"{ip}#{port}"))


def service_call(origin: str, seq: int, instances: list[dict[str, Any]], epoch: int = 1) -> Call:
    form = {"origin": origin, "epoch": str(epoch), "seq": str(seq), "namespaceId": KEY.namespace}
    form |= {"groupName": KEY.group, "serviceName": KEY.name, "instances": json.dumps(instances)}
    return Call(None, "POST", SERVICE_PATH, Params(form.items()), "127.0.0.1")


def snapshot_call(origin: str, seq: int, services: list[dict[str, Any]]) -> Call:
    body = json.dumps({"origin": origin, "epoch": "1", "seq": str(seq), "services": services}).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}, receive)
    return Call(request, "POST", distro.SNAPSHOT_PATH, Params([]), "127.0.0.1")


def shown(naming: NamingService, key: ServiceKey = KEY) -> dict[str, tuple[str | None, float]]:
    service = naming.services.get(key)
    return {} if service is None else {f"{i.ip}:{i.port}": (i.owner, i.weight) for i in service.instances.values()}


async def test_a_late_message_does_not_overwrite_a_newer_one(node: tuple[Distro, NamingService, Recorder]) -> None:
    replicas, naming, _ = node
    await replicas.receive_service(service_call(B, 2, [wire("10.0.0.1", weight=2.0)]))
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.1", weight=1.0)]))
    assert shown(naming) == {"10.0.0.1:80": ("node:" + B, 2.0)}
    await replicas.receive_service(service_call(B, 1, [], epoch=2))  # B restarted: its new data counts
    assert shown(naming) == {}
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.3")], epoch=0))  # again, clock set back
    assert shown(naming) == {"10.0.0.3:80": ("node:" + B, 1.0)}


async def test_a_snapshot_replaces_everything_its_origin_sent(node: tuple[Distro, NamingService, Recorder]) -> None:
    replicas, naming, _ = node
    other = ServiceKey("public", "DEFAULT_GROUP", "api")
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.1")]))
    snapshot = [
        {"namespaceId": "public", "groupName": "DEFAULT_GROUP", "serviceName": "api", "instances": [wire("10.0.0.2")]}
    ]
    await replicas.receive_snapshot(snapshot_call(B, 2, snapshot))
    assert shown(naming) == {} and shown(naming, other) == {"10.0.0.2:80": ("node:" + B, 1.0)}


async def test_a_member_down_loses_its_instances_and_another_claim_takes_the_address(
    node: tuple[Distro, NamingService, Recorder],
) -> None:
    replicas, naming, _ = node
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.1")]))
    await replicas.receive_service(service_call(C, 1, [wire("10.0.0.1"), wire("10.0.0.3")]))
    assert shown(naming) == {"10.0.0.1:80": ("node:" + B, 1.0), "10.0.0.3:80": ("node:" + C, 1.0)}
    member = replicas.members.get(B)
    assert member is not None
    replicas.members.failed(member, refused=True)
    assert member.state == DOWN
    assert shown(naming) == {"10.0.0.3:80": ("node:" + C, 1.0)}
    while replicas._tasks:  # the address goes to C's claim in the background
        await next(iter(replicas._tasks))
    assert shown(naming) == {"10.0.0.1:80": ("node:" + C, 1.0), "10.0.0.3:80": ("node:" + C, 1.0)}


async def test_an_origin_silent_for_twenty_seconds_is_let_go(
    node: tuple[Distro, NamingService, Recorder],
) -> None:
    replicas, naming, _ = node
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.1")]))
    replicas.release_silent()
    assert shown(naming)
    later = replicas.clock() + distro.SILENCE_LIMIT + 1
    replicas.clock = lambda: later
    replicas.release_silent()
    assert shown(naming) == {}


async def test_only_what_this_node_keeps_alive_is_sent(node: tuple[Distro, NamingService, Recorder]) -> None:
    replicas, naming, peers = node
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.1")]))
    await naming.register(KEY, Instance("10.0.0.9", 80))
    replicas.flush()
    [(path, form)] = peers.sent
    assert path == SERVICE_PATH and form["origin"] == A
    assert [i["ip"] for i in json.loads(form["instances"])] == ["10.0.0.9"]
    await replicas.receive_service(service_call(B, 2, [wire("10.0.0.2")]))
    replicas.flush()
    assert len(peers.sent) == 1  # a change made by another node's data is not sent on


async def test_bad_input_is_refused_and_changes_nothing(node: tuple[Distro, NamingService, Recorder]) -> None:
    replicas, naming, _ = node
    with pytest.raises(BadRequest, match="not another member"):
        await replicas.receive_service(service_call("10.9.9.9:8848", 1, [wire("10.0.0.1")]))
    with pytest.raises(BadRequest, match="not another member"):
        await replicas.receive_service(service_call(A, 1, [wire("10.0.0.1")]))  # itself
    with pytest.raises(BadRequest, match="'port'"):
        await replicas.receive_service(service_call(B, 1, [wire("10.0.0.1"), {**wire("10.0.0.2"), "port": "80"}]))
    assert shown(naming) == {}


async def test_a_deregistration_reaches_every_node_and_drops_only_what_each_keeps_alive(
    node: tuple[Distro, NamingService, Recorder],
) -> None:
    replicas, naming, peers = node
    await naming.deregister(KEY, "10.0.0.7", 80, ephemeral=True)  # unknown here: still announced
    [(path, form)] = peers.sent
    assert path == distro.DEREGISTER_PATH and (form["ip"], form["port"], form["origin"]) == ("10.0.0.7", "80", A)
    await naming.register(KEY, Instance("10.0.0.7", 80))
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.8")]))
    for ip in ("10.0.0.7", "10.0.0.8"):
        form = {"origin": C, "namespaceId": KEY.namespace, "groupName": KEY.group, "serviceName": KEY.name}
        form |= {"ip": ip, "port": "80"}
        await replicas.receive_deregister(Call(None, "POST", distro.DEREGISTER_PATH, Params(form.items()), "x"))
    assert shown(naming) == {"10.0.0.8:80": ("node:" + B, 1.0)}  # B's copy waits for B
    assert len(peers.sent) == 1  # an announcement is not announced again


async def test_a_beat_on_a_copy_goes_to_its_origin_and_counts_there(
    node: tuple[Distro, NamingService, Recorder],
) -> None:
    replicas, naming, peers = node
    await replicas.receive_service(service_call(B, 1, [wire("10.0.0.1")]))
    beat = Beat("10.0.0.1", 80, "DEFAULT", None)
    assert await naming.beat(KEY, beat, lambda: Instance("x", 1)) == 10200
    while replicas._tasks:
        await next(iter(replicas._tasks))
    [(path, form)] = peers.sent
    assert path == distro.BEAT_PATH and (form["to"], form["origin"], form["ip"], form["port"]) == (
        B,
        A,
        "10.0.0.1",
        "80",
    )
    await naming.register(KEY, Instance("10.0.0.9", 80, healthy=False))
    form = {"origin": C, "namespaceId": KEY.namespace, "groupName": KEY.group, "serviceName": KEY.name}
    form |= {"ip": "10.0.0.9", "port": "80"}
    answer = await replicas.receive_beat(Call(None, "POST", distro.BEAT_PATH, Params(form.items()), "x"))
    assert answer.body == b"true" and naming.services[KEY].instances[("10.0.0.9", 80, True)].healthy


async def test_an_origin_let_go_while_its_snapshot_is_applied_leaves_nothing_behind(
    node: tuple[Distro, NamingService, Recorder],
) -> None:
    replicas, naming, _ = node
    replicate = naming.replicate

    async def dies_meanwhile(key: ServiceKey, owner: str, instances: list[Instance]) -> bool:
        replicas.release(B, "it died")  # B's report failed while its snapshot was being applied
        return await replicate(key, owner, instances)

    naming.replicate = dies_meanwhile  # type: ignore[method-assign]
    services = [
        {"namespaceId": "public", "groupName": "DEFAULT_GROUP", "serviceName": name, "instances": [wire("10.0.0.1")]}
        for name in ("web", "api")
    ]
    await replicas.receive_snapshot(snapshot_call(B, 1, services))
    assert naming.owned_services("node:" + B) == set()
    assert all(not service.instances for service in naming.services.values())
