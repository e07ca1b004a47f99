"""Naming over gRPC (protocol.md E.5) against a real server on a real port (tests/server/grpc_support.py's client)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.grpc import payload
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login
from tests.server.grpc_support import GrpcTestClient
from tests.server.naming.auth_setup import app_with_user

NOTIFY = "NotifySubscriberRequest"


class Naming:
    """A naming connection (label `module=naming`): requests of the naming module, pushes read in order."""

    def __init__(self, client: GrpcTestClient) -> None:
        self.client = client
        self.read = 0

    async def ask(self, kind: str, **body: Any) -> payload.Incoming:
        return await self.client.request(kind, {"module": "naming", **body})

    async def next_push(self, timeout: float = 2.0) -> dict[str, Any]:
        """The ServiceInfo of the first NotifySubscriberRequest not read yet."""
        push = await self.client.wait_push(NOTIFY, timeout, after=self.read)
        self.read = next(i for i, seen in enumerate(self.client.pushes) if seen is push) + 1
        info: dict[str, Any] = push.body["serviceInfo"]
        return info


@contextlib.asynccontextmanager
async def connected(port: int, module: str = "naming", token: str | None = None) -> AsyncIterator[Naming]:
    client = GrpcTestClient(port, module, token)
    await client.connect()
    try:
        yield Naming(client)
    finally:
        await client.close()


def instance(ip: str = "10.0.0.5", port: int = 8080, **extra: Any) -> dict[str, Any]:
    """What the Java client sends (the derived keys included; the server ignores them)."""
    return {
        "ip": ip,
        "port": port,
        "weight": 1.0,
        "healthy": True,
        "enabled": True,
        "ephemeral": True,
        "clusterName": "DEFAULT",
        "metadata": {},
        "instanceHeartBeatInterval": 5000,
        **extra,
    }


def register(ip: str = "10.0.0.5", port: int = 8080, service: str = "svc", **extra: Any) -> dict[str, Any]:
    return {
        "namespace": "public",
        "serviceName": service,
        "groupName": "DEFAULT_GROUP",
        "type": "registerInstance",
        "instance": instance(ip, port, **extra),
    }


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, int]]:
    app = await started(Settings(home=str(tmp_path)))
    port = await app.start_grpc(port=0)
    yield app, port
    await app.stop()


@pytest.fixture
async def http(server: tuple[NacosApp, int]) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(server[0]) as client:
        yield client


async def hosts(http: httpx.AsyncClient, service: str = "svc") -> list[dict[str, Any]]:
    answer = await http.get("/v1/ns/instance/list", params={"serviceName": service})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["hosts"]
    return found


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 2.0) -> float:
    """Seconds until `check` held; fails after `within`."""
    start = time.monotonic()
    while not await check():
        assert time.monotonic() - start < within, "not within the time allowed"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_register_and_deregister_show_in_the_http_views(
    server: tuple[NacosApp, int], http: httpx.AsyncClient
) -> None:
    async with connected(server[1]) as client:
        answer = await client.ask("InstanceRequest", **register(metadata={"version": "1"}))
        assert answer.type == "InstanceResponse"
        assert answer.body == {"resultCode": 200, "errorCode": 0, "type": "registerInstance", "success": True}
        [host] = await hosts(http)
        assert host["instanceId"] == "10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@svc"
        assert (host["metadata"], host["ephemeral"], host["healthy"]) == ({"version": "1"}, True, True)
        detail = await http.get("/v1/ns/instance", params={"serviceName": "svc", "ip": "10.0.0.5", "port": "8080"})
        assert detail.json()["ip"] == "10.0.0.5"
        catalog = await http.get(
            "/v1/ns/catalog/instances", params={"serviceName": "svc", "pageNo": "1", "pageSize": "10"}
        )
        assert catalog.json()["count"] == 1
        gone = await client.ask("InstanceRequest", **{**register(), "type": "deregisterInstance"})
        assert gone.body["type"] == "deregisterInstance" and gone.body["success"] is True
        assert await hosts(http) == []


async def test_unknown_instance_request_type_is_a_400(server: tuple[NacosApp, int]) -> None:
    async with connected(server[1]) as client:
        answer = await client.ask("InstanceRequest", **{**register(), "type": "registerinstance"})
    assert (answer.body["errorCode"], answer.body["message"]) == (400, "Unsupported request type registerinstance")


async def test_batch_register_replaces_the_connections_instances(
    server: tuple[NacosApp, int], http: httpx.AsyncClient
) -> None:
    base = {"namespace": "public", "serviceName": "svc", "groupName": "DEFAULT_GROUP", "type": "batchRegisterInstance"}
    async with connected(server[1]) as client:
        first = await client.ask("BatchInstanceRequest", **base, instances=[instance("10.0.0.1"), instance("10.0.0.2")])
        assert (first.type, first.body["type"]) == ("BatchInstanceResponse", "batchRegisterInstance")
        assert sorted(h["ip"] for h in await hosts(http)) == ["10.0.0.1", "10.0.0.2"]
        await client.ask("BatchInstanceRequest", **base, instances=[instance("10.0.0.2"), instance("10.0.0.3")])
        assert sorted(h["ip"] for h in await hosts(http)) == ["10.0.0.2", "10.0.0.3"]
        await client.ask("BatchInstanceRequest", **base, instances=[])
        assert await hosts(http) == []


async def test_persistent_instance_survives_its_connection(
    server: tuple[NacosApp, int], http: httpx.AsyncClient
) -> None:
    async with connected(server[1]) as client:
        answer = await client.ask("PersistentInstanceRequest", **register(ephemeral=False))
        assert (answer.type, answer.body["type"]) == ("InstanceResponse", "registerInstance")
    await asyncio.sleep(0.3)
    [host] = await hosts(http)
    assert host["ephemeral"] is False
    async with connected(server[1]) as client:
        await client.ask("PersistentInstanceRequest", **{**register(), "type": "deregisterInstance"})
    assert await hosts(http) == []


async def test_instances_go_when_the_connection_closes_and_not_before(
    server: tuple[NacosApp, int], http: httpx.AsyncClient
) -> None:
    app = server[0]
    client = GrpcTestClient(server[1], "naming")
    await client.connect()
    await Naming(client).ask("InstanceRequest", **register())
    await http.post("/v1/ns/instance", params={"serviceName": "svc", "ip": "10.0.0.9", "port": "80"})
    real_clock = app.naming.clock
    app.naming.clock = lambda: real_clock() + 3_600_000  # an hour without beats
    app.naming.expire()
    assert [h["ip"] for h in await hosts(http)] == ["10.0.0.5"]  # the HTTP one expired, the owned one stays
    await client.close()

    async def gone() -> bool:
        return await hosts(http) == []

    assert await eventually(gone) < 2.0


async def test_subscriber_is_pushed_changes_made_over_http_and_grpc(
    server: tuple[NacosApp, int], http: httpx.AsyncClient
) -> None:
    subscribe = {"namespace": "public", "serviceName": "svc", "groupName": "DEFAULT_GROUP", "clusters": ""}
    async with connected(server[1]) as watcher, connected(server[1]) as publisher:
        answer = await watcher.ask("SubscribeServiceRequest", **subscribe, subscribe=True)
        assert (answer.type, answer.body["message"], answer.body["serviceInfo"]["hosts"]) == (
            "SubscribeServiceResponse",
            "success",
            [],
        )
        assert (await watcher.next_push())["hosts"] == []  # the push that follows a subscription
        await http.post("/v1/ns/instance", params={"serviceName": "svc", "ip": "10.0.0.9", "port": "80"})
        info = await watcher.next_push()
        assert [h["ip"] for h in info["hosts"]] == ["10.0.0.9"]
        await publisher.ask("InstanceRequest", **register())
        info = await watcher.next_push()
    assert sorted(h["ip"] for h in info["hosts"]) == ["10.0.0.5", "10.0.0.9"]
    assert {k: v for k, v in info.items() if k not in ("hosts", "lastRefTime")} == {
        "name": "svc",
        "groupName": "DEFAULT_GROUP",
        "clusters": "",
        "cacheMillis": 10000,
        "checksum": "",
        "allIPs": False,
        "allIps": False,
        "reachProtectionThreshold": False,
        "valid": True,
    }
    host = next(h for h in info["hosts"] if h["ip"] == "10.0.0.5")
    assert host == {
        "instanceId": "10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@svc",
        "ip": "10.0.0.5",
        "port": 8080,
        "weight": 1.0,
        "healthy": True,
        "enabled": True,
        "ephemeral": True,
        "clusterName": "DEFAULT",
        "serviceName": "DEFAULT_GROUP@@svc",
        "metadata": {},
        "instanceHeartBeatInterval": 5000,
        "instanceHeartBeatTimeOut": 15000,
        "ipDeleteTimeout": 30000,
        "instanceIdGenerator": "simple",
    }


async def test_a_refused_push_is_sent_again(server: tuple[NacosApp, int], http: httpx.AsyncClient) -> None:
    subscribe = {"namespace": "public", "serviceName": "svc", "groupName": "DEFAULT_GROUP", "clusters": ""}
    async with connected(server[1]) as watcher:
        await watcher.ask("SubscribeServiceRequest", **subscribe, subscribe=True)
        await watcher.next_push()
        watcher.client.ack_code = 500
        await http.post("/v1/ns/instance", params={"serviceName": "svc", "ip": "10.0.0.9", "port": "80"})
        refused = await watcher.next_push()
        watcher.client.ack_code = 200
        again = await watcher.next_push()
    assert [h["ip"] for h in refused["hosts"]] == [h["ip"] for h in again["hosts"]] == ["10.0.0.9"]


async def test_query_and_list_services(server: tuple[NacosApp, int]) -> None:
    async with connected(server[1]) as client:
        await client.ask("InstanceRequest", **register())
        await client.ask("InstanceRequest", **register(service="other"))
        query = await client.ask(
            "ServiceQueryRequest", namespace="public", serviceName="svc", groupName="DEFAULT_GROUP", cluster="DEFAULT"
        )
        listed = await client.ask(
            "ServiceListRequest", namespace="public", groupName="DEFAULT_GROUP", pageNo=1, pageSize=1
        )
    assert query.type == "QueryServiceResponse"
    assert (query.body["serviceInfo"]["name"], query.body["serviceInfo"]["clusters"]) == ("svc", "DEFAULT")
    assert len(query.body["serviceInfo"]["hosts"]) == 1
    assert listed.type == "ServiceListResponse"
    assert (listed.body["count"], listed.body["serviceNames"]) == (2, ["other"])


async def test_metadata_over_the_limit_is_a_400(server: tuple[NacosApp, int]) -> None:
    async with connected(server[1]) as client:
        answer = await client.ask("InstanceRequest", **register(metadata={"k": "v" * 1024}))
    assert answer.type == "InstanceResponse"
    assert answer.body["errorCode"] == 400
    assert answer.body["message"] == (
        "Param check invalid:Param 'Metadata' is illegal, the param length should not exceed 1024."
    )


async def test_connection_without_a_naming_label_cannot_register(server: tuple[NacosApp, int]) -> None:
    async with connected(server[1], module="config") as client:
        answer = await client.ask("InstanceRequest", **register())
    assert answer.body["errorCode"] == -401
    assert answer.body["message"].endswith("connection already disconnect, can't register ephemeral instance. ")


async def test_auth_refuses_without_token_and_outside_the_permission(tmp_path: Path) -> None:
    app = await app_with_user(tmp_path, "public:OTHER:naming/*", "rw")
    try:
        port = await app.start_grpc(port=0)
        async with asgi_client(app) as http:
            admin, user = await login(http, "nacos", ADMIN_PASSWORD), await login(http, "u1", USER_PASSWORD)
        async with connected(port) as anonymous:
            refused = await anonymous.ask("InstanceRequest", **register())
            listed = await anonymous.ask("ServiceListRequest", namespace="public", groupName="DEFAULT_GROUP")
        async with connected(port, token=user) as client:
            outside = await client.ask("InstanceRequest", **register())
            inside = await client.ask("InstanceRequest", **{**register(), "groupName": "OTHER"})
        async with connected(port, token=admin) as client:
            allowed = await client.ask("InstanceRequest", **register())
    finally:
        await app.stop()
    assert (refused.type, refused.body["errorCode"], refused.body["success"]) == ("InstanceResponse", 403, False)
    assert (listed.type, listed.body["errorCode"], listed.body["count"], listed.body["serviceNames"]) == (
        "ServiceListResponse",
        403,
        0,
        [],
    )
    assert (outside.type, outside.body["errorCode"]) == ("InstanceResponse", 403)
    assert inside.body["success"] is True
    assert allowed.body["success"] is True


async def test_pushes_keep_to_the_subscribed_clusters(server: tuple[NacosApp, int], http: httpx.AsyncClient) -> None:
    subscribe = {"namespace": "public", "serviceName": "svc", "groupName": "DEFAULT_GROUP", "clusters": "A"}
    async with connected(server[1]) as watcher:
        await watcher.ask("SubscribeServiceRequest", **subscribe, subscribe=True)
        await watcher.next_push()
        for ip, cluster in (("10.0.0.1", "A"), ("10.0.0.2", "B")):
            params = {"serviceName": "svc", "ip": ip, "port": "80", "clusterName": cluster}
            assert (await http.post("/v1/ns/instance", params=params)).text == "ok"
        info = await watcher.next_push()  # whether one push or two: only cluster A's host is shown
    assert (info["clusters"], [h["ip"] for h in info["hosts"]]) == ("A", ["10.0.0.1"])


async def test_ephemeral_registration_into_a_persistent_service_is_refused(
    server: tuple[NacosApp, int], http: httpx.AsyncClient
) -> None:
    assert (await http.post("/v1/ns/service", params={"serviceName": "svc"})).text == "ok"  # persistent
    async with connected(server[1]) as client:
        answer = await client.ask("InstanceRequest", **register())
    assert answer.body["errorCode"] == 400
    assert answer.body["message"] == (
        "errCode: 400, errMsg: Current service DEFAULT_GROUP@@svc is persistent service, "
        "can't register ephemeral instance. "
    )
