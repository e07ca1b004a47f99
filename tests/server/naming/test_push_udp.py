"""UDP push end to end in-process: HTTP list calls through the app, packets to a real UDP socket (C.5)."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.auth.policy import Secured
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started

NS = "/v1/ns"
JAVA = {"User-Agent": "Nacos-Java-Client:v1.4.8"}
ACK_TIMEOUT_MS = 400
QUIET = 0.3


class Receiver(asyncio.DatagramProtocol):
    """The client's push socket: collects packets, acks on request."""

    def __init__(self) -> None:
        self.packets: asyncio.Queue[tuple[bytes, tuple[Any, ...]]] = asyncio.Queue()
        self.transport: Any = None  # asyncio's UDP transport does not subclass DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.packets.put_nowait((data, addr))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    async def next(self, timeout: float) -> tuple[dict[str, Any], tuple[Any, ...]]:
        data, addr = await asyncio.wait_for(self.packets.get(), timeout)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        message: dict[str, Any] = json.loads(data)
        return message, addr

    async def nothing_for(self, seconds: float) -> bool:
        await asyncio.sleep(seconds)
        return self.packets.empty()

    def ack(self, message: dict[str, Any], addr: tuple[Any, ...]) -> None:
        assert self.transport is not None
        reply = {"type": "push-ack", "lastRefTime": str(message["lastRefTime"]), "data": ""}
        self.transport.sendto(json.dumps(reply).encode(), addr)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=str(tmp_path), naming_push_ack_timeout_ms=ACK_TIMEOUT_MS)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Receiver, local_addr=("127.0.0.1", 0))
    yield protocol
    transport.close()


async def subscribe(client: httpx.AsyncClient, receiver: Receiver, headers: dict[str, str], **extra: str) -> None:
    params = {"serviceName": "demo", "udpPort": str(receiver.port), "clusters": "DEFAULT", **extra}
    response = await client.get(f"{NS}/instance/list", params=params, headers=headers)
    assert response.status_code == 200, response.text


async def subscribers(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(f"{NS}/service/subscribers", params={"serviceName": "demo"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def hosts_of(message: dict[str, Any]) -> list[str]:
    return sorted(f"{h['ip']}:{h['port']}" for h in json.loads(message["data"])["hosts"])


async def test_a_change_is_pushed_within_a_second_and_the_ack_stops_the_resend(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, receiver, JAVA, clientIP="192.0.2.77", app="shop")
    first, addr = await receiver.next(timeout=1.5)  # the new subscription's own push, 500 ms later
    assert first["type"] == "dom" and hosts_of(first) == []
    receiver.ack(first, addr)

    loop = asyncio.get_running_loop()
    changed_at = loop.time()
    await client.post(f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"})
    pushed, addr = await receiver.next(timeout=1.5)
    assert loop.time() - changed_at < 1.0
    info = json.loads(pushed["data"])
    assert (info["name"], info["clusters"], info["reachProtectionThreshold"]) == (
        "DEFAULT_GROUP@@demo",
        "DEFAULT",
        False,
    )
    assert "groupName" not in info and info["cacheMillis"] == 10000
    assert hosts_of(pushed) == ["10.0.0.5:8080"]
    assert pushed["lastRefTime"] > first["lastRefTime"]
    receiver.ack(pushed, addr)
    assert await receiver.nothing_for(ACK_TIMEOUT_MS * 2.5 / 1000), "an acked push is not resent"

    await client.delete(f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"})
    removed, addr = await receiver.next(timeout=1.5)
    assert hosts_of(removed) == []
    receiver.ack(removed, addr)


async def test_without_an_ack_the_push_is_resent_exactly_once(client: httpx.AsyncClient, receiver: Receiver) -> None:
    loop = asyncio.get_running_loop()
    await subscribe(client, receiver, JAVA)
    first, _ = await receiver.next(timeout=1.5)
    sent_at = loop.time()
    again, _ = await receiver.next(timeout=ACK_TIMEOUT_MS / 1000 + 1.0)
    assert loop.time() - sent_at >= ACK_TIMEOUT_MS / 1000 - 0.05
    assert again == first, "the same packet, same lastRefTime"
    assert await receiver.nothing_for(ACK_TIMEOUT_MS * 2.5 / 1000), "no second resend"


async def test_changes_in_a_burst_arrive_as_one_push(client: httpx.AsyncClient, receiver: Receiver) -> None:
    await subscribe(client, receiver, JAVA)
    first, addr = await receiver.next(timeout=1.5)
    receiver.ack(first, addr)
    for port in ("1", "2", "3"):
        await client.post(f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.5", "port": port})
    pushed, addr = await receiver.next(timeout=1.5)
    receiver.ack(pushed, addr)
    assert hosts_of(pushed) == ["10.0.0.5:1", "10.0.0.5:2", "10.0.0.5:3"]
    assert await receiver.nothing_for(QUIET + 0.5)


async def test_the_push_goes_to_the_request_source_never_to_client_ip(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, receiver, JAVA, clientIP="192.0.2.77", app="shop")
    message, addr = await receiver.next(timeout=1.5)
    receiver.ack(message, addr)
    body = await subscribers(client)
    assert body == {
        "subscribers": [
            {
                "addrStr": f"127.0.0.1:{receiver.port}",
                "agent": "Nacos-Java-Client:v1.4.8",
                "app": "shop",
                "ip": "127.0.0.1",
                "port": receiver.port,
                "namespaceId": "public",
                "serviceName": "DEFAULT_GROUP@@demo",
                "cluster": "DEFAULT",
            }
        ],
        "count": 1,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Nacos-Python-Client:v0.1.16"},
        {"User-Agent": "python-httpx/0.27"},
        {"User-Agent": "Nacos-Java-Client:v0.0.1"},
    ],
)
async def test_agents_that_cannot_take_pushes_get_none(
    client: httpx.AsyncClient, receiver: Receiver, headers: dict[str, str]
) -> None:
    await subscribe(client, receiver, headers)
    await client.post(f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"})
    assert await receiver.nothing_for(1.2)
    assert await subscribers(client) == {"subscribers": [], "count": 0}


async def test_client_version_is_read_when_user_agent_is_absent(app: NacosApp, receiver: Receiver) -> None:
    async with asgi_client(app) as client:
        client.headers.pop("User-Agent", None)
        await subscribe(client, receiver, {"Client-Version": "Nacos-Java-Client:v1.4.8"})
    message, _ = await receiver.next(timeout=1.5)
    assert message["type"] == "dom"


async def test_v2_list_subscribes_with_port_and_ignores_ip(client: httpx.AsyncClient, receiver: Receiver) -> None:
    params = {"serviceName": "demo", "port": str(receiver.port), "ip": "192.0.2.77", "clusterName": "DEFAULT"}
    assert (await client.get("/v2/ns/instance/list", params=params, headers=JAVA)).json()["code"] == 0
    message, addr = await receiver.next(timeout=1.5)
    receiver.ack(message, addr)
    assert json.loads(message["data"])["clusters"] == "DEFAULT"
    assert (await subscribers(client))["subscribers"][0]["ip"] == "127.0.0.1"


async def test_a_bad_udp_port_is_refused_with_nacos_text(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{NS}/instance/list", params={"serviceName": "demo", "udpPort": "x1"}, headers=JAVA)
    assert (response.status_code, response.text) == (400, 'For input string: "x1"')


async def test_subscribers_route_needs_a_service_and_reads_it_with_the_read_policy(
    app: NacosApp, client: httpx.AsyncClient
) -> None:
    missing = await client.get(f"{NS}/service/subscribers")
    assert (missing.status_code, missing.text) == (400, "Param 'serviceName' is required.")
    assert app.router is not None
    [entry] = [r for r in app.router.routes() if r.path == f"{NS}/service/subscribers"]
    assert isinstance(entry.policy, Secured) and entry.policy.action == "r" and entry.policy.resources is not None


async def test_a_trusted_proxy_names_the_target_but_only_as_an_ip_literal(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path), trusted_proxies=("127.0.0.1",)))
    try:
        async with asgi_client(app) as client:
            params = {"serviceName": "demo", "udpPort": "5000"}
            for forwarded in ("10.1.2.3", "evil.example"):
                headers = {**JAVA, "X-Forwarded-For": forwarded}
                await client.get(f"{NS}/instance/list", params=params, headers=headers)
            # a forwarded name is no address: the client is then the proxy itself, never the name
            assert [s["ip"] for s in (await subscribers(client))["subscribers"]] == ["10.1.2.3", "127.0.0.1"]
    finally:
        await app.stop()


async def test_push_can_be_turned_off(tmp_path: Path, receiver: Receiver) -> None:
    app = await started(Settings(home=str(tmp_path), naming_push_enabled=False))
    try:
        async with asgi_client(app) as client:
            await subscribe(client, receiver, JAVA)
            assert (await client.get(f"{NS}/operator/switches")).json()["pushEnabled"] is False
            assert await receiver.nothing_for(1.0)
            assert await subscribers(client) == {"subscribers": [], "count": 0}
    finally:
        await app.stop()


async def test_switches_and_metrics_show_push(client: httpx.AsyncClient, receiver: Receiver) -> None:
    assert (await client.get(f"{NS}/operator/switches")).json()["pushEnabled"] is True
    await subscribe(client, receiver, JAVA)
    metrics = (await client.get(f"{NS}/operator/metrics", params={"onlyStatus": "false"})).json()
    assert metrics["subscribeCount"] == 1


def test_the_ack_timeout_defaults_to_10_s() -> None:
    assert Settings().naming_push_ack_timeout_ms == 10_000


async def test_every_change_a_subscriber_can_see_schedules_a_push_and_a_plain_beat_does_not(
    app: NacosApp, client: httpx.AsyncClient
) -> None:
    changed: list[str] = []
    app.naming.on_change.append(lambda key: changed.append(key.name))
    clock = [0.0]
    app.naming.clock = lambda: clock[0]
    instance = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    await client.post(f"{NS}/instance", params=instance)
    assert changed == ["demo"]
    await client.put(f"{NS}/instance/beat", params=instance)
    assert changed == ["demo"], "a beat of a healthy instance changes nothing a client sees"
    clock[0] = 16_000.0
    app.naming.expire()
    assert changed == ["demo"] * 2, "turned unhealthy"
    await client.put(f"{NS}/instance/beat", params=instance)
    assert changed == ["demo"] * 3, "healthy again"
    await client.put(f"{NS}/instance", params={**instance, "weight": "2"})
    await client.patch(f"{NS}/instance", params={**instance, "enabled": "false"})
    assert changed == ["demo"] * 5
    persistent = {"serviceName": "db", "ip": "10.0.0.6", "port": "3306", "ephemeral": "false"}
    await client.post(f"{NS}/instance", params=persistent)
    await client.put(f"{NS}/health/instance", params={**persistent, "healthy": "false"})
    await client.put(f"{NS}/health/instance", params={**persistent, "healthy": "false"})
    assert changed[5:] == ["db", "db"], "register and one health flip; the repeated flip is no change"
    await client.put(f"{NS}/service", params={"serviceName": "db", "protectThreshold": "0.5"})
    clock[0] = 100_000.0
    app.naming.expire()
    await client.delete(f"{NS}/instance", params=persistent)
    assert changed[7:] == ["db", "demo", "db"], "threshold change, expiry, deregistration"


async def test_push_paused_by_the_switch_holds_changes_and_sends_them_on_resume(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await subscribe(client, receiver, JAVA)
    first, addr = await receiver.next(timeout=1.5)
    receiver.ack(first, addr)
    switch = f"{NS}/operator/switches"
    assert (await client.put(switch, params={"entry": "pushEnabled", "value": "false"})).text == "ok"
    await client.post(f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"})
    assert await receiver.nothing_for(1.2), "nothing is pushed while the switch is off"
    assert (await client.put(switch, params={"entry": "pushEnabled", "value": "true"})).text == "ok"
    held, addr = await receiver.next(timeout=1.5)
    assert hosts_of(held) == ["10.0.0.5:8080"]
    receiver.ack(held, addr)


async def test_push_state_counts_acked_and_given_up_pushes_and_resets(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    state = f"{NS}/operator/push/state"
    assert (await client.get(state)).json() == {"succeed": 0, "total": 0, "ratio": 0, "reset": False}
    await subscribe(client, receiver, JAVA)
    first, addr = await receiver.next(timeout=1.5)
    receiver.ack(first, addr)
    await client.post(f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"})
    await receiver.next(timeout=1.5)  # not acked: resent once, then given up
    await receiver.next(timeout=ACK_TIMEOUT_MS / 1000 + 1.0)
    await asyncio.sleep(ACK_TIMEOUT_MS * 2.5 / 1000)
    counted = await client.get(state, params={"reset": "true"})
    assert counted.json() == {"succeed": 1, "total": 2, "ratio": 0.5, "reset": True}
    assert (await client.get(state)).json() == {"succeed": 0, "total": 0, "ratio": 0, "reset": False}
