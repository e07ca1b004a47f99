"""NamingClient and AsyncNamingClient against a real server over sockets."""

from __future__ import annotations

import asyncio
import queue
import time

import pytest

from pynacos.client import (
    AsyncNamingClient,
    ClientSettings,
    InstanceEvent,
    NamingClient,
    NotFound,
)
from tests.integration.server_process import ServerProcess

# beats every 300 ms; unhealthy after 1 s and gone after 1.5 s without them (server checks every 300 ms)
FAST_BEATS = {
    "preserved.heart.beat.interval": "300",
    "preserved.heart.beat.timeout": "1000",
    "preserved.ip.delete.timeout": "1500",
}


def wait_for(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_register_list_select_deregister(plain_server: ServerProcess) -> None:
    with NamingClient(plain_server.address) as client:
        assert client.list_instances("orders") == []
        assert client.register_instance("orders", "10.0.0.1", 8080, weight=2.0, metadata={"zone": "a"})
        assert client.register_instance("orders", "10.0.0.2", 8080, cluster="c2")
        hosts = sorted(client.list_instances("orders"), key=lambda i: i.ip)
        assert [(h.ip, h.weight, h.cluster_name, h.metadata) for h in hosts] == [
            ("10.0.0.1", 2.0, "DEFAULT", {"zone": "a"}),
            ("10.0.0.2", 1.0, "c2", {}),
        ]
        assert hosts[0].instance_id == "10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders"
        assert [h.ip for h in client.list_instances("orders", clusters="c2")] == ["10.0.0.2"]
        service = client.get_service_instances("orders")
        assert service.name == "DEFAULT_GROUP@@orders" and len(service.hosts) == 2
        assert client.select_one_healthy("orders").ip in {"10.0.0.1", "10.0.0.2"}
        assert client.deregister_instance("orders", "10.0.0.1", 8080)
        assert client.deregister_instance("orders", "10.0.0.2", 8080, cluster="c2")
        assert client.list_instances("orders") == []
        with pytest.raises(NotFound, match="no healthy instance"):
            client.select_one_healthy("orders")


def test_groups_and_persistent_instances(plain_server: ServerProcess) -> None:
    with NamingClient(plain_server.address) as client:
        client.register_instance("billing", "10.0.1.1", 9000, ephemeral=False, group="PAY")
        assert client.list_instances("billing") == []
        [instance] = client.list_instances("billing", group="PAY")
        assert instance.ephemeral is False and instance.service_name == "PAY@@billing"
        client.deregister_instance("billing", "10.0.1.1", 9000, ephemeral=False, group="PAY")


def test_heartbeats_keep_an_instance_alive_until_close(plain_server: ServerProcess) -> None:
    with NamingClient(plain_server.address) as observer:
        client = NamingClient(plain_server.address)
        client.register_instance("beating", "10.0.2.1", 7000, metadata=FAST_BEATS)
        time.sleep(3)  # two delete timeouts: it would be gone without beats
        [instance] = observer.list_instances("beating")
        assert instance.healthy
        client.close()
        assert wait_for(lambda: observer.list_instances("beating") == [], timeout=5)


def test_deregistered_instance_is_no_longer_beaten(plain_server: ServerProcess) -> None:
    with NamingClient(plain_server.address) as client:
        client.register_instance("quiet", "10.0.2.2", 7000, metadata=FAST_BEATS)
        client.deregister_instance("quiet", "10.0.2.2", 7000)
        time.sleep(1)  # a beat would re-register it
        assert client.list_instances("quiet") == []


def test_subscribe_reports_added_modified_removed(plain_server: ServerProcess) -> None:
    events: queue.Queue[InstanceEvent] = queue.Queue()
    fast = ClientSettings(plain_server.address, subscribe_interval=0.2)
    with NamingClient(fast) as watcher, NamingClient(plain_server.address) as other:
        other.register_instance("watched", "10.0.3.1", 8000)
        watcher.subscribe("watched", events.put)
        added = events.get(timeout=3)
        assert (added.kind, added.instance.ip, added.service, added.group) == (
            "ADDED",
            "10.0.3.1",
            "watched",
            "DEFAULT_GROUP",
        )
        other.register_instance("watched", "10.0.3.1", 8000, weight=5.0)
        modified = events.get(timeout=3)
        assert (modified.kind, modified.instance.weight) == ("MODIFIED", 5.0)
        other.deregister_instance("watched", "10.0.3.1", 8000)
        assert events.get(timeout=3).kind == "REMOVED"
        watcher.unsubscribe("watched", events.put)
        other.register_instance("watched", "10.0.3.9", 8000)
        time.sleep(0.6)
        assert events.empty()


async def test_async_register_list_subscribe_deregister(plain_server: ServerProcess) -> None:
    events: asyncio.Queue[InstanceEvent] = asyncio.Queue()
    fast = ClientSettings(plain_server.address, subscribe_interval=0.2)
    async with AsyncNamingClient(fast) as client:
        await client.subscribe("a-orders", events.put)
        assert await client.register_instance("a-orders", "10.0.4.1", 8080, metadata=FAST_BEATS)
        event = await asyncio.wait_for(events.get(), 3)
        assert (event.kind, event.instance.ip) == ("ADDED", "10.0.4.1")
        await asyncio.sleep(2)  # alive thanks to beats
        [instance] = await client.list_instances("a-orders", healthy_only=True)
        assert (await client.select_one_healthy("a-orders")) == instance
        assert (await client.get_service_instances("a-orders")).group_name == "DEFAULT_GROUP"
        assert await client.deregister_instance("a-orders", "10.0.4.1", 8080)
        assert (await asyncio.wait_for(events.get(), 3)).kind == "REMOVED"
        client.unsubscribe("a-orders")
        with pytest.raises(NotFound):
            await client.select_one_healthy("a-orders")


def test_close_deregisters_at_once_instead_of_waiting_for_expiry(plain_server: ServerProcess) -> None:
    """Default beats: the server would keep the instance 15-30 s; closing the client removes it now."""
    with NamingClient(plain_server.address) as observer:
        client = NamingClient(plain_server.address)
        client.register_instance("leaving", "10.0.5.1", 7000)
        client.register_instance("leaving", "10.0.5.2", 7000)
        client.register_instance("staying", "10.0.5.9", 7000, ephemeral=False)
        assert len(observer.list_instances("leaving")) == 2
        client.close()
        assert observer.list_instances("leaving") == []
        assert [i.ip for i in observer.list_instances("staying")] == ["10.0.5.9"]  # persistent: not this client's
        observer.deregister_instance("staying", "10.0.5.9", 7000, ephemeral=False)


async def test_async_close_deregisters_at_once(plain_server: ServerProcess) -> None:
    async with AsyncNamingClient(plain_server.address) as observer:
        client = AsyncNamingClient(plain_server.address)
        await client.register_instance("a-leaving", "10.0.5.3", 7000)
        assert len(await observer.list_instances("a-leaving")) == 1
        await client.aclose()
        assert await observer.list_instances("a-leaving") == []
