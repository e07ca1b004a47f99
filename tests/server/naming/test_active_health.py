"""Active checks of persistent instances (protocol.md C.4) against real listeners on loopback.

The server runs in-process; every check is a real TCP connection or HTTP request to a socket this
test opened. Loopback is a guarded range, so these servers list 127.0.0.1/32 explicitly, which is
also how the allow-list is tested.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.naming.health import (
    CHECK_TIMES,
    ActiveHealthChecks,
    CheckState,
    Outcome,
    Pacing,
    Result,
    TargetPolicy,
)
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started

NS = "/v1/ns"
LOOPBACK_ALLOWED = ("127.0.0.1/32",)  # the tests dial nothing but their own listeners


# -- target policy and verdicts (pure) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "permitted"),
    [
        ("10.1.2.3", True),
        ("2001:db8::1", True),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("fe80::1", False),
        ("::1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::ffff:10.1.2.3", True),
        ("100.100.100.200", False),  # Alibaba Cloud metadata
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::ffff:0:127.0.0.1", False),  # SIIT
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::a01:203", True),  # NAT64 of 10.1.2.3
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ],
)
def test_default_targets_guard_loopback_link_local_and_multicast(address: str, permitted: bool) -> None:
    assert TargetPolicy(("0.0.0.0/0", "::/0")).permits(ipaddress.ip_address(address)) is permitted


def test_a_listed_block_inside_a_guarded_range_opens_just_that_block() -> None:
    policy = TargetPolicy(LOOPBACK_ALLOWED)
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.2"))
    assert not policy.permits(ipaddress.ip_address("169.254.169.254"))


def test_targets_restrict_checks_to_the_listed_blocks() -> None:
    policy = TargetPolicy(("10.0.0.0/8",))
    assert policy.permits(ipaddress.ip_address("10.9.9.9"))
    assert not policy.permits(ipaddress.ip_address("192.168.1.1"))
    assert not policy.permits(ipaddress.ip_address("2001:db8::1"))


def test_health_flips_after_three_results_or_at_once_when_refused() -> None:
    state = CheckState(delay_ms=1000, due_ms=0)
    assert [state.verdict(Outcome.FAIL, True) for _ in range(CHECK_TIMES)] == [None, None, False]
    assert [state.verdict(Outcome.OK, False) for _ in range(CHECK_TIMES)] == [None, None, True]
    assert state.verdict(Outcome.FAIL, True) is None
    assert state.verdict(Outcome.OK, True) is None  # an OK breaks the streak of failures
    assert state.verdict(Outcome.FAIL, True) is None
    assert state.verdict(Outcome.FAIL_NOW, True) is False


def test_the_delay_follows_response_times_within_the_bounds() -> None:
    pacing = Pacing(1000, 5000, 0.75)
    state = CheckState(delay_ms=4000, due_ms=0)
    for _ in range(20):
        state.pace(Result(Outcome.OK, 2.0, "tcp:ok"), pacing)
    assert state.delay_ms == 1000
    state.pace(Result(Outcome.FAIL, None, "tcp:timeout"), pacing)
    assert state.delay_ms == pytest.approx(0.75 * 1000 + 0.25 * 2000)
    state.pace(Result(Outcome.FAIL_NOW, None, "tcp:refused"), pacing)
    assert state.delay_ms == pytest.approx(0.75 * 1250 + 0.25 * 5000)


# -- against real sockets -------------------------------------------------------------------------


async def checking_app(tmp_path: Path, targets: tuple[str, ...] = LOOPBACK_ALLOWED) -> NacosApp:
    settings = Settings(home=str(tmp_path), naming_active_checks=True, naming_check_targets=targets)
    app = await started(settings)
    return app


@pytest.fixture
async def checked(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, httpx.AsyncClient]]:
    app = await checking_app(tmp_path)
    async with asgi_client(app) as client:
        yield app, client
    await app.stop()


class Listener:
    """A loopback TCP or HTTP server that can be stopped and started again on the same port."""

    def __init__(self, handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]) -> None:
        self.handler = handler
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handler, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def accept_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


def http_answering(status: list[int], seen: list[bytes]) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        writer.write(f"HTTP/1.1 {status[0]} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    return handle


async def register_persistent(client: httpx.AsyncClient, port: int, ip: str = "127.0.0.1", **extra: str) -> None:
    params = {"serviceName": "db", "ip": ip, "port": str(port), "ephemeral": "false", **extra}
    assert (await client.post(f"{NS}/instance", params=params)).text == "ok"


async def health_of(client: httpx.AsyncClient, ip: str = "127.0.0.1") -> bool:
    hosts = (await client.get(f"{NS}/instance/list", params={"serviceName": "db"})).json()["hosts"]
    return bool(next(h["healthy"] for h in hosts if h["ip"] == ip))


async def wait_for_health(client: httpx.AsyncClient, healthy: bool, within: float, ip: str = "127.0.0.1") -> float:
    """Seconds until the listed health is `healthy`; fails after `within` seconds."""
    loop = asyncio.get_running_loop()
    started_at = loop.time()
    while loop.time() - started_at < within:
        if await health_of(client, ip) is healthy:
            return loop.time() - started_at
        await asyncio.sleep(0.1)
    raise AssertionError(f"health never became {healthy} within {within} s")


FIRST_CHECK_WITHIN = 8.0  # the first check comes 2000 + rand(0, rand(0, 5000)) ms after an instance is seen
NEXT_CHECK_WITHIN = 10.0  # checks are at most 5 s apart; the rest is slack for a loaded CI machine
THREE_CHECKS_WITHIN = 25.0


async def eventually(condition: Callable[[], bool], within: float = FIRST_CHECK_WITHIN + 2) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_tcp_check_marks_a_closed_port_unhealthy_and_an_open_one_healthy_again(
    checked: tuple[NacosApp, httpx.AsyncClient],
) -> None:
    app, client = checked
    listener = Listener(accept_and_close)
    await listener.start()
    await register_persistent(client, listener.port)
    await listener.stop()
    await wait_for_health(client, False, within=FIRST_CHECK_WITHIN + 2)  # refused: flips at the first check
    await listener.start()
    await wait_for_health(client, True, within=THREE_CHECKS_WITHIN)  # three OKs in a row, 5 s apart at most
    await listener.stop()
    metrics = (await client.get("/actuator/prometheus")).text
    assert 'pynacos_naming_health_checks_total{outcome="fail_now",type="TCP"}' in metrics


async def test_http_check_uses_path_headers_and_expected_code(checked: tuple[NacosApp, httpx.AsyncClient]) -> None:
    app, client = checked
    status, seen = [204], list[bytes]()
    listener = Listener(http_answering(status, seen))
    await listener.start()
    await register_persistent(client, listener.port)
    checker = '{"type":"HTTP","path":"/health?deep=1","headers":"X-Probe:nacos|bad","expectedResponseCode":204}'
    answer = await client.put(
        f"{NS}/cluster",
        params={
            "serviceName": "db",
            "clusterName": "DEFAULT",
            "checkPort": "80",
            "useInstancePort4Check": "true",
            "healthChecker": checker,
        },
    )
    assert answer.text == "ok"
    await eventually(lambda: bool(seen))
    assert seen[-1].startswith(b"GET /health?deep=1 HTTP/1.1\r\n")
    assert b"\r\nX-Probe: nacos\r\n" in seen[-1] or b"\r\nx-probe: nacos\r\n" in seen[-1]
    assert await health_of(client) is True
    status[0] = 500  # an unexpected status fails at once
    await wait_for_health(client, False, within=NEXT_CHECK_WITHIN)
    status[0] = 204
    await wait_for_health(client, True, within=THREE_CHECKS_WITHIN)
    await listener.stop()


async def test_check_port_is_used_when_the_instance_port_is_not(checked: tuple[NacosApp, httpx.AsyncClient]) -> None:
    app, client = checked
    hits: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(1)
        writer.close()

    listener = Listener(count)
    await listener.start()
    await register_persistent(client, 1)  # nothing listens on port 1
    params = {"serviceName": "db", "clusterName": "DEFAULT", "healthChecker": '{"type":"TCP"}'}
    await client.put(f"{NS}/cluster", params={**params, "checkPort": str(listener.port), "useInstancePort4Check": "f"})
    await eventually(lambda: bool(hits))
    assert await health_of(client) is True
    await listener.stop()
    await wait_for_health(client, False, within=NEXT_CHECK_WITHIN)


async def test_mysql_checker_is_shown_without_its_password_and_not_run(
    checked: tuple[NacosApp, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    app, client = checked
    await register_persistent(client, 1)  # nothing listens there: a TCP check would fail it
    checker = '{"type":"MYSQL","user":"root","pwd":"secret-pw","cmd":"select 1"}'
    params = {"serviceName": "db", "clusterName": "DEFAULT", "checkPort": "80", "useInstancePort4Check": "true"}
    assert (await client.put(f"{NS}/cluster", params={**params, "healthChecker": checker})).text == "ok"
    shown = (await client.get(f"{NS}/service", params={"serviceName": "db"})).json()["clusters"]
    assert shown[0]["healthChecker"] == {"type": "MYSQL", "user": "root", "cmd": "select 1"}
    await eventually(lambda: "has a MYSQL checker" in caplog.text, within=5)
    assert await health_of(client) is True
    assert "has a MYSQL checker, which pynacos does not run" in caplog.text
    assert "secret-pw" not in caplog.text


async def test_guarded_addresses_are_never_dialled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Default targets: loopback and link-local instances keep their health and get no connection."""
    app = await checking_app(tmp_path, targets=("0.0.0.0/0", "::/0"))
    listener_hits: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        listener_hits.append(1)
        writer.close()

    listener = Listener(count)
    await listener.start()
    try:
        async with asgi_client(app) as client:
            await register_persistent(client, listener.port)
            await register_persistent(client, 80, ip="169.254.169.254")
            await eventually(lambda: "not checking 169.254.169.254" in caplog.text)
            await eventually(lambda: "not checking 127.0.0.1" in caplog.text)
            assert await health_of(client) is True
            assert await health_of(client, "169.254.169.254") is True
    finally:
        await listener.stop()
        await app.stop()
    assert listener_hits == []


async def test_manual_health_needs_a_none_checker_and_survives_a_restart(tmp_path: Path) -> None:
    app = await checking_app(tmp_path)
    async with asgi_client(app) as client:
        await register_persistent(client, 9, ip="10.0.0.9")
        manual = {"serviceName": "db", "ip": "10.0.0.9", "port": "9", "healthy": "false"}
        refused = await client.put(f"{NS}/health/instance", params=manual)
        assert refused.status_code == 400
        assert refused.text == "health check is still working, service: DEFAULT_GROUP@@db, cluster: DEFAULT"
        none = {"checkPort": "80", "useInstancePort4Check": "true", "healthChecker": '{"type":"NONE"}'}
        params = {"serviceName": "db", "clusterName": "DEFAULT", **none}
        assert (await client.put(f"{NS}/cluster", params=params)).text == "ok"
        assert (await client.put(f"{NS}/health/instance", params=manual)).text == "ok"
        assert await health_of(client, "10.0.0.9") is False
    await app.stop()
    app = await checking_app(tmp_path)
    async with asgi_client(app) as client:
        assert await health_of(client, "10.0.0.9") is False
        service = (await client.get(f"{NS}/service", params={"serviceName": "db"})).json()
        assert service["clusters"] == [{"name": "DEFAULT", "healthChecker": {"type": "NONE"}, "metadata": {}}]
    await app.stop()


async def test_manual_health_is_judged_by_the_instance_s_own_cluster(tmp_path: Path) -> None:
    """Naming another cluster in the request does not get past the checker of the instance's cluster."""
    app = await checking_app(tmp_path)
    async with asgi_client(app) as client:
        await register_persistent(client, 9, ip="10.0.0.9")  # cluster DEFAULT: TCP, checked
        none = {"checkPort": "80", "useInstancePort4Check": "true", "healthChecker": '{"type":"NONE"}'}
        assert (
            await client.put(f"{NS}/cluster", params={"serviceName": "db", "clusterName": "c1", **none})
        ).text == "ok"
        manual = {"serviceName": "db", "ip": "10.0.0.9", "port": "9", "healthy": "false", "clusterName": "c1"}
        refused = await client.put(f"{NS}/health/instance", params=manual)
        assert (refused.status_code, refused.text) == (
            400,
            "health check is still working, service: DEFAULT_GROUP@@db, cluster: DEFAULT",
        )
        assert await health_of(client, "10.0.0.9") is True
    await app.stop()


# -- the routes ------------------------------------------------------------------------------------


async def test_checkers_route_lists_every_type(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{NS}/health/checkers")).json() == {
        "TCP": {"type": "TCP"},
        "HTTP": {"type": "HTTP", "path": "", "headers": "", "expectedResponseCode": 200},
        "MYSQL": {"type": "MYSQL"},
        "NONE": {"type": "NONE"},
    }


async def test_without_active_checks_clusters_show_none_and_manual_health_works(client: httpx.AsyncClient) -> None:
    await register_persistent(client, 9, ip="10.0.0.9")
    service = (await client.get(f"{NS}/service", params={"serviceName": "db"})).json()
    assert service["clusters"][0]["healthChecker"] == {"type": "NONE"}
    manual = {"serviceName": "db", "ip": "10.0.0.9", "port": "9", "healthy": "false"}
    assert (await client.put(f"{NS}/health/instance", params=manual)).text == "ok"
    assert await health_of(client, "10.0.0.9") is False
    tcp = {"checkPort": "80", "useInstancePort4Check": "true", "healthChecker": '{"type":"TCP"}'}
    assert (
        await client.put(f"{NS}/cluster", params={"serviceName": "db", "clusterName": "DEFAULT", **tcp})
    ).text == "ok"
    # a TCP checker nobody runs must not lock the health: with active checks off, manual health still works
    assert (await client.put(f"{NS}/health/instance", params={**manual, "healthy": "true"})).text == "ok"
    assert await health_of(client, "10.0.0.9") is True


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"clusterName": ""}, 400, "Param 'clusterName' is required."),
        ({"serviceName": "nope"}, 400, "service not found:DEFAULT_GROUP@@nope"),
        ({"checkPort": ""}, 400, "Param 'checkPort' is required."),
        ({"useInstancePort4Check": ""}, 400, "Param 'useInstancePort4Check' is required."),
        ({"healthChecker": "{"}, 400, "healthChecker is not a JSON object: {"),
        ({"healthChecker": '{"type":"HTTPS"}'}, 400, "healthChecker type must be one of TCP, HTTP, MYSQL, NONE"),
        ({"healthChecker": "{}"}, 400, "healthChecker type must be one of TCP, HTTP, MYSQL, NONE"),
        (
            {"healthChecker": '{"type":"HTTP","path":"http://169.254.169.254/"}'},
            400,
            "healthChecker path must start with a single '/' and hold no spaces: http://169.254.169.254/",
        ),
        ({"healthChecker": '{"type":"HTTP","path":"//evil/x"}'}, 400, None),
        ({"healthChecker": '{"type":"HTTP","headers":"a:b\\r\\nc:d"}'}, 400, None),
        ({"healthChecker": '{"type":"HTTP","expectedResponseCode":99}'}, 400, None),
        ({"checkPort": "70000"}, 400, None),
    ],
)
async def test_cluster_update_refuses_bad_input_and_changes_nothing(
    client: httpx.AsyncClient, change: dict[str, str], status: int, text: str | None
) -> None:
    await register_persistent(client, 9, ip="10.0.0.9")
    params = {
        "serviceName": "db",
        "clusterName": "DEFAULT",
        "checkPort": "80",
        "useInstancePort4Check": "true",
        "healthChecker": '{"type":"TCP"}',
        **change,
    }
    answer = await client.put(f"{NS}/cluster", params=params)
    assert answer.status_code == status
    if text is not None:
        assert answer.text == text
    service = (await client.get(f"{NS}/service", params={"serviceName": "db"})).json()
    assert service["clusters"][0]["healthChecker"] == {"type": "NONE"}


async def test_cluster_config_shows_in_service_catalog_and_v2(client: httpx.AsyncClient) -> None:
    await register_persistent(client, 9, ip="10.0.0.9")
    checker = '{"type":"HTTP","path":"/ok","headers":"","unknownField":1}'
    params = {"serviceName": "db", "clusterName": "DEFAULT", "checkPort": "81", "useInstancePort4Check": "false"}
    answer = await client.put(f"{NS}/cluster", params={**params, "healthChecker": checker, "metadata": "k=v"})
    assert answer.text == "ok"
    expected_checker = {"type": "HTTP", "path": "/ok", "headers": "", "expectedResponseCode": 200}
    cluster = {"name": "DEFAULT", "healthChecker": expected_checker, "metadata": {"k": "v"}}
    assert (await client.get(f"{NS}/service", params={"serviceName": "db"})).json()["clusters"] == [cluster]
    assert (await client.get(f"{NS}/catalog/service", params={"serviceName": "db"})).json()["clusters"] == [cluster]
    v2 = (await client.get("/v2/ns/service", params={"serviceName": "db"})).json()["data"]
    assert v2["clusterMap"]["DEFAULT"] == {
        "clusterName": "DEFAULT",
        "healthChecker": expected_checker,
        "metadata": {"k": "v"},
        "hosts": None,
    }


async def test_a_member_checks_only_the_services_it_is_responsible_for(tmp_path: Path) -> None:
    """Cluster mode: each service is checked by one member (MemberList.responsible_for), not by all of them."""
    app = await checking_app(tmp_path)
    try:
        async with asgi_client(app) as client:
            await register_persistent(client, 9)
        policy = TargetPolicy(LOOPBACK_ALLOWED)
        mine = ActiveHealthChecks(app.naming, policy, responsible=lambda key: True)
        others = ActiveHealthChecks(app.naming, policy, responsible=lambda key: False)
        for checks in (mine, others):
            checks.start_due_checks()
        assert (len(mine.states), len(others.states)) == (1, 0)
        for task in list(mine._running):
            task.cancel()
        await mine.probes.close()
    finally:
        await app.stop()
