"""A real server loses its MariaDB / PostgreSQL while clients publish (a TCP proxy between them is cut
and restored; the shared database services keep running): every failed write is answered
`storage error, nothing was changed`, reads keep coming from memory, the log says what happened in a
few lines, writes work again soon after the database is back, and nothing acknowledged is lost.
Start-up waits a bounded time for a database that is not up yet, and names it when it gives up."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.integration.server_process import ServerProcess, free_port
from tests.integration.tcp_proxy import TcpProxy
from tests.server.storage.conftest import fresh_mysql, fresh_postgresql, require

pytestmark = pytest.mark.integration

PORTS = {"mysql": 3306, "postgresql": 5432}
USERS = {"mysql": "root", "postgresql": "postgres"}
STORAGE_ERROR = "storage error, nothing was changed"
OUTAGE = 4.0  # seconds the database is away
RECOVERY_DEADLINE = 30.0


def properties(kind: str, port: int, name: str, wait: int = 0) -> dict[str, str]:
    return {
        "spring.sql.init.platform": kind,
        "db.url.0": f"jdbc:{kind}://127.0.0.1:{port}/{name}",
        "db.user.0": USERS[kind],
        "pynacos.db.startup.wait.seconds": str(wait),
    }


async def recreate(kind: str, name: str, create: bool = True) -> None:
    await (fresh_mysql if kind == "mysql" else fresh_postgresql)(name, create)


@pytest.fixture(params=["mysql", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(kind, name) of a fresh database of its own, dropped afterwards."""
    kind = request.param
    require(kind)
    name = f"pynacos_outage_{os.getpid()}"
    asyncio.run(recreate(kind, name))
    yield kind, name
    asyncio.run(recreate(kind, name, create=False))


@dataclass
class Publisher:
    """Publishes `k<i>` = `v<i>` in a loop on its own thread, keeping every answer."""

    base: str
    acked: dict[str, str] = field(default_factory=dict)
    refused: list[tuple[int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=15) as client:
            for i in range(1_000_000):
                if self.stop.is_set():
                    return
                key, content = f"k{i}", f"v{i}"
                answer = client.post("/v1/cs/configs", data={"dataId": key, "group": "G", "content": content})
                if answer.status_code == 200 and answer.text == "true":
                    self.acked[key] = content
                else:
                    self.refused.append((answer.status_code, answer.text))
                time.sleep(0.002)

    def wait_for_acks(self, count: int, deadline: float) -> None:
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"{len(self.acked)} publishes acknowledged, {self.refused[-3:]}"
            time.sleep(0.02)


def log_since(server: ServerProcess, offset: int) -> list[str]:
    return server.log_path.read_bytes()[offset:].decode(errors="replace").splitlines()


def test_a_database_outage_is_a_clear_storage_error_and_loses_nothing(
    tmp_path: Path, database: tuple[str, str]
) -> None:
    kind, name = database
    with TcpProxy(PORTS[kind]) as proxy:
        server = ServerProcess(tmp_path / "home", properties(kind, proxy.port, name))
        server.start()
        publisher = Publisher(server.base)
        thread = threading.Thread(target=publisher.run, daemon=True)
        thread.start()
        try:
            with httpx.Client(base_url=server.base, timeout=15) as client:
                publisher.wait_for_acks(5, time.monotonic() + 20)
                before_cut = server.log_path.stat().st_size
                proxy.cut()
                during = outage(client, publisher)
                outage_log = log_since(server, before_cut)
                proxy.restore()
                recovered_in = wait_for_a_write(publisher)
        finally:
            publisher.stop.set()
            thread.join(20)
            assert server.stop() == 0
        assert during > 0, "no publish failed while the database was away"
        assert {status for status, _ in publisher.refused} == {500}
        assert all(STORAGE_ERROR in text for _, text in publisher.refused), publisher.refused[:3]
        assert 1 <= len(outage_log) <= 5, outage_log
        assert not any("Traceback" in line for line in outage_log)
        assert any(f"127.0.0.1:{proxy.port}" in line and name in line for line in outage_log), outage_log
        assert recovered_in < RECOVERY_DEADLINE
        assert "storage works again" in server.log()
        assert_all_readable(tmp_path / "again", properties(kind, PORTS[kind], name), publisher.acked)


def outage(client: httpx.Client, publisher: Publisher) -> int:
    """While the database is away: reads answer from memory, v1 and v2 writes get the storage error.
    Returns how many of the publisher's writes failed meanwhile."""
    refused_before = len(publisher.refused)
    key, content = next(iter(publisher.acked.items()))
    ends = time.monotonic() + OUTAGE
    while time.monotonic() < ends:
        read = client.get("/v1/cs/configs", params={"dataId": key, "group": "G"})
        assert (read.status_code, read.text) == (200, content)
        time.sleep(0.1)
    v2 = client.post("/v2/cs/config", data={"dataId": "v2", "group": "G", "content": "x"})
    assert v2.status_code == 500 and STORAGE_ERROR in v2.json()["data"], v2.text
    return len(publisher.refused) - refused_before


def wait_for_a_write(publisher: Publisher) -> float:
    """Seconds until the publisher's next write is acknowledged."""
    started = time.monotonic()
    acked = len(publisher.acked)
    while len(publisher.acked) == acked and time.monotonic() - started < RECOVERY_DEADLINE:
        time.sleep(0.05)
    return time.monotonic() - started


def assert_all_readable(home: Path, props: dict[str, str], acked: dict[str, str]) -> None:
    """A fresh server on the same database (straight, no proxy) serves every acknowledged publish."""
    server = ServerProcess(home, props)
    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=15) as client:
            lost = [
                k
                for k, v in acked.items()
                if client.get("/v1/cs/configs", params={"dataId": k, "group": "G"}).text != v
            ]
    finally:
        server.stop()
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged publishes lost: {lost[:5]}"


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_start_up_gives_up_on_a_closed_port_naming_the_database(tmp_path: Path, kind: str) -> None:
    port = free_port()
    server = ServerProcess(tmp_path / "home", properties(kind, port, "nacos_orders", wait=1))
    with pytest.raises(RuntimeError, match="server exited with 3") as caught:
        server.start()
    expected = f"start-up failed: Cannot reach the {kind} database nacos_orders at 127.0.0.1:{port}"
    assert expected in str(caught.value)
    assert "check that the database is running" in str(caught.value)
    assert "Traceback" not in server.log()


def test_start_up_waits_for_a_database_that_comes_up(tmp_path: Path, database: tuple[str, str]) -> None:
    kind, name = database
    with TcpProxy(PORTS[kind]) as proxy:
        proxy.cut()
        server = ServerProcess(tmp_path / "home", properties(kind, proxy.port, name, wait=30))
        opener = threading.Thread(target=restore_when_waiting, args=(server, proxy), daemon=True)
        opener.start()
        try:
            server.start(timeout=40)
        finally:
            opener.join(30)
            assert server.stop() == 0
    log = server.log()
    assert f"cannot reach the {kind} database {name} at 127.0.0.1:{proxy.port}" in log
    assert f"reached the {kind} database {name}" in log


def restore_when_waiting(server: ServerProcess, proxy: TcpProxy) -> None:
    deadline = time.monotonic() + 30
    while "trying again" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    proxy.restore()
