"""Nacos's `nacos_monitor{module,name}` gauges on /actuator/prometheus (protocol B.5, docs/metrics.md)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from pynacos.server.metrics import Metrics, MonitorSources, NacosMonitor, SinceMidnight
from pynacos.server.naming.push import PushCounters
from pynacos.server.settings import Settings
from tests.server.naming.test_push_udp import JAVA, Receiver
from tests.server.support import CFG, GROUP, delete, publish

NS = "/v1/ns"
ACK_TIMEOUT_MS = 100
LINE = re.compile(r'^nacos_monitor\{module="(\w+)",name="(\w+)"\} (\S+)$', re.M)
ABSENT = ("emptyPush", "maxPushCost", "avgPushCost", "leaderStatus")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=str(tmp_path), naming_push_ack_timeout_ms=ACK_TIMEOUT_MS)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Receiver, local_addr=("127.0.0.1", 0)
    )
    yield protocol
    transport.close()


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/actuator/prometheus")
    assert response.status_code == 200
    return response.text


def figures(text: str, module: str) -> dict[str, str]:
    return {name: value for mod, name, value in LINE.findall(text) if mod == module}


def line(module: str, name: str, value: float) -> str:
    return f'nacos_monitor{{module="{module}",name="{name}"}} {value}'


async def test_config_reads_publishes_and_counts_follow_nacos(client: httpx.AsyncClient) -> None:
    assert await publish(client, "a.yaml") == "200 true"
    assert await publish(client, "b.yaml") == "200 true"
    v2 = await client.post("/v2/cs/config", data={"dataId": "c.yaml", "group": GROUP, "content": "x"})
    assert v2.status_code == 200
    assert (await client.get(CFG, params={"dataId": "a.yaml", "group": GROUP})).status_code == 200
    assert (await client.get(CFG, params={"dataId": "missing", "group": GROUP})).status_code == 404
    assert (await client.get("/v2/cs/config", params={"dataId": "c.yaml", "group": GROUP})).status_code == 200
    assert (await client.get(CFG, params={"group": GROUP})).status_code == 400  # refused before the read
    assert (await client.head(CFG, params={"dataId": "a.yaml", "group": GROUP})).status_code == 200
    blur = {"search": "blur", "dataId": "*", "group": "", "pageNo": "1", "pageSize": "10"}
    assert (await client.get(CFG, params=blur)).json()["totalCount"] == 3
    assert await delete(client, "b.yaml") == "200 true"

    lines = (await scrape(client)).splitlines()
    # reads: 2 v1 + 1 v2, the blur search (same route as a read) and the delete (Nacos counts it as a read)
    assert line("config", "getConfig", 5.0) in lines
    assert line("config", "publish", 3.0) in lines
    assert line("config", "configCount", 2.0) in lines
    assert line("config", "longPolling", 0.0) in lines
    assert line("config", "fuzzySearch", 1.0) in lines
    for queue in ("notifyTask", "notifyClientTask", "dumpTask"):
        assert line("config", queue, 0.0) in lines


async def test_naming_counts_services_instances_and_no_health_checks(client: httpx.AsyncClient) -> None:
    for service, ip in (("demo", "10.0.0.5"), ("demo", "10.0.0.6"), ("other", "10.0.0.7")):
        response = await client.post(f"{NS}/instance", params={"serviceName": service, "ip": ip, "port": "80"})
        assert response.text == "ok"
    persistent = {"serviceName": "stored", "ip": "10.0.0.8", "port": "80", "ephemeral": "false"}
    assert (await client.post(f"{NS}/instance", params=persistent)).text == "ok"

    assert figures(await scrape(client), "naming") == {
        "mysqlHealthCheck": "0.0",
        "httpHealthCheck": "0.0",
        "tcpHealthCheck": "0.0",
        "serviceCount": "3.0",
        "ipCount": "4.0",
        "subscriberCount": "0.0",
        "totalPush": "0.0",
        "failedPush": "0.0",
    }


async def test_absent_figures_are_not_made_up(client: httpx.AsyncClient) -> None:
    text = await scrape(client)
    names = {name for _, name, _ in LINE.findall(text)}
    assert names.isdisjoint(ABSENT)
    assert "pynacos_config_count 0.0" in text  # pynacos's own series stay as they were


async def test_udp_pushes_count_acked_and_failed_ones(client: httpx.AsyncClient, receiver: Receiver) -> None:
    for clusters in ("DEFAULT", ""):  # two views of one service: two subscribers on one socket
        params = {"serviceName": "demo", "udpPort": str(receiver.port), "clusters": clusters}
        assert (await client.get(f"{NS}/instance/list", params=params, headers=JAVA)).status_code == 200
    first, addr = await receiver.next(timeout=1.5)
    receiver.ack(first, addr)  # the other push is never acked: resent once, then given up

    naming = await naming_when(client, "failedPush", "1.0", within=3.0)
    assert (naming["subscriberCount"], naming["totalPush"], naming["failedPush"]) == ("2.0", "2.0", "1.0")


async def naming_when(client: httpx.AsyncClient, name: str, value: str, within: float) -> dict[str, str]:
    """The naming figures once `name` reads `value` (or at the deadline): pushes settle on their own clock."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        naming = figures(await scrape(client), "naming")
        if naming[name] == value or asyncio.get_running_loop().time() > deadline:
            return naming
        await asyncio.sleep(0.05)


class Day:
    """An injected local calendar: tests move midnight instead of waiting for it."""

    def __init__(self) -> None:
        self.today = date(2024, 3, 1)

    def __call__(self) -> date:
        return self.today

    def next(self) -> None:
        self.today = date.fromordinal(self.today.toordinal() + 1)


def test_since_midnight_restarts_at_a_new_day_without_losing_the_last_evening() -> None:
    day, key = Day(), ("config", "getConfig")
    daily = SinceMidnight(day)
    assert daily.read({key: 3.0}) == {key: 3.0}
    assert daily.read({key: 5.0}) == {key: 5.0}  # same day: everything since start-up
    day.next()
    # 7 happened after the last read (5): the 2 between it and midnight count in the new day
    assert daily.read({key: 7.0}) == {key: 2.0}
    assert daily.read({key: 9.0}) == {key: 4.0}
    day.next()
    day.next()  # a day without any read: its counts fall into the next read's day
    assert daily.read({key: 10.0}) == {key: 1.0}


def test_a_clock_set_back_starts_a_new_day_too() -> None:
    day, key = Day(), ("naming", "totalPush")
    daily = SinceMidnight(day)
    assert daily.read({key: 4.0}) == {key: 4.0}
    day.today = date(2024, 2, 29)
    assert daily.read({key: 4.0}) == {key: 0.0}


def test_daily_figures_reset_at_midnight_and_current_ones_do_not() -> None:
    day, metrics, pushes = Day(), Metrics(), PushCounters()
    sources = MonitorSources(lambda: 2, lambda: 1, lambda: 1, lambda: 3, lambda: 1, lambda: pushes)
    monitor = NacosMonitor(metrics, sources, today=day)
    metrics.registry.register(monitor)
    for _ in range(3):
        metrics.observe("GET", "/v2/cs/config", 200, 0.001)
    metrics.health_checks.labels("TCP", "ok").inc()
    metrics.health_checks.labels("TCP", "fail_now").inc()
    metrics.health_checks.labels("HTTP", "fail").inc()
    pushes.acked, pushes.gave_up, pushes.sent = 4, 1, 6
    before = monitor.values()
    assert [before["config", n] for n in ("getConfig", "publish", "configCount", "longPolling")] == [3, 0, 2, 1]
    naming = ("tcpHealthCheck", "httpHealthCheck", "mysqlHealthCheck", "totalPush", "failedPush", "ipCount")
    assert [before["naming", n] for n in naming] == [2, 1, 0, 5, 1, 3]

    day.next()
    metrics.observe("GET", "/v1/cs/configs", 404, 0.001)
    metrics.observe("HEAD", "/v1/cs/configs", 200, 0.001)  # a HEAD runs no read
    after = monitor.values()
    assert [after["config", n] for n in ("getConfig", "publish", "configCount", "longPolling")] == [1, 0, 2, 1]
    assert [after["naming", n] for n in naming] == [0, 0, 0, 0, 0, 3]
    assert line("config", "getConfig", 1.0) in metrics.render().decode().splitlines()
