"""The sync and async drivers over httpx.MockTransport: auth retry, failover, snapshots, close, beats."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from pynacos.client import (
    AsyncConfigClient,
    AsyncNamingClient,
    ClientClosed,
    ClientSettings,
    ConfigClient,
    NamingClient,
    ServerUnavailable,
    Timeout,
    Unauthenticated,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeNacos:
    """Just enough of a Nacos server: login, config GET, beats; counts what it saw."""

    def __init__(self, ttl: int = 18000) -> None:
        self.ttl = ttl
        self.logins = 0
        self.valid: set[str] = set()
        self.seen: list[httpx.Request] = []
        self.beats = 0
        self.registers = 0
        self.lost = False
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.seen.append(request)
        path = request.url.path
        if path.endswith("/v1/auth/login"):
            return self.login(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            message = "user not found!" if not token else "token invalid!"
            return httpx.Response(403, json={"status": 403, "message": message})
        if path.endswith("/v1/cs/configs"):
            return httpx.Response(200, text="value", headers={"Content-MD5": "m"})
        if path.endswith("/v1/ns/instance/beat"):
            self.beats += 1
            return httpx.Response(200, json={"clientBeatInterval": 200, "code": 20404 if self.lost else 10200})
        if path.endswith("/v1/ns/instance"):
            self.registers += 1
            self.lost = False
            return httpx.Response(200, text="ok")
        return httpx.Response(404)

    def login(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if form.get("password") != ["right"]:
            return httpx.Response(403, text="user not found!")
        with self.lock:
            self.logins += 1
            token = f"tok-{self.logins}"
        self.valid.add(token)
        return httpx.Response(200, json={"accessToken": token, "tokenTtl": self.ttl, "username": "u1"})

    def revoke_all(self) -> None:
        self.valid.clear()


def settings(**extra: object) -> ClientSettings:
    values: dict[str, object] = {"server_addresses": "fake:8848", "username": "u1", "password": "right", "timeout": 2.0}
    values.update(extra)
    return ClientSettings(**values)  # type: ignore[arg-type]


def test_first_call_logs_in_and_sends_the_token() -> None:
    fake = FakeNacos()
    with ConfigClient(settings(), transport=httpx.MockTransport(fake)) as client:
        assert client.get("a") == "value"
        assert client.get("a") == "value"
    assert fake.logins == 1
    login, *calls = fake.seen
    assert login.content == b"username=u1&password=right" and "Authorization" not in login.headers
    assert "password" not in str(login.url)
    assert [c.headers["Authorization"] for c in calls] == ["Bearer tok-1", "Bearer tok-1"]


def test_a_revoked_token_causes_one_login_and_one_retry() -> None:
    fake = FakeNacos()
    with ConfigClient(settings(), transport=httpx.MockTransport(fake)) as client:
        client.get("a")
        fake.revoke_all()
        assert client.get("a") == "value"
    assert fake.logins == 2
    assert [r.headers.get("Authorization") for r in fake.seen[-2:]] == [None, "Bearer tok-2"]


def test_many_threads_refused_together_log_in_once() -> None:
    fake = FakeNacos()
    with ConfigClient(settings(), transport=httpx.MockTransport(fake)) as client:
        client.get("a")
        fake.revoke_all()
        barrier = threading.Barrier(20)
        results: list[str | None] = []

        def call() -> None:
            barrier.wait()
            results.append(client.get("a"))

        threads = [threading.Thread(target=call) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == ["value"] * 20
    assert fake.logins == 2


def test_wrong_password_fails_fast_during_backoff() -> None:
    fake = FakeNacos()
    with ConfigClient(settings(password="wrong"), transport=httpx.MockTransport(fake)) as client:
        for _ in range(5):
            with pytest.raises(Unauthenticated, match="check username/password"):
                client.get("a")
        assert [r.url.path for r in fake.seen] == ["/nacos/v1/auth/login", "/nacos/v1/cs/configs"]  # one probe
        client.set_credentials("u1", "right")
        assert client.get("a") == "value"


def test_login_404_means_no_auth_and_no_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/login"):
            return httpx.Response(404, json={"status": 404, "message": "No message available"})
        return httpx.Response(200, text="v")

    with ConfigClient(settings(), transport=httpx.MockTransport(handler)) as client:
        assert client.get("a") == "v" and client.get("a") == "v"
    assert [r.url.path for r in seen] == ["/nacos/v1/auth/login", "/nacos/v1/cs/configs", "/nacos/v1/cs/configs"]
    assert all("Authorization" not in r.headers for r in seen)


def failing_first(server: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == server:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text=f"from {request.url.host}")

    return handler


def test_a_dead_server_is_skipped_and_then_avoided() -> None:
    hosts: list[str] = []
    inner = failing_first("dead")

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return inner(request)

    config = ClientSettings(["dead:1", "live:2"], timeout=2)
    with ConfigClient(config, transport=httpx.MockTransport(handler)) as client:
        client._transport.servers._start = 0  # deterministic: the dead one first
        assert client.get("a") == "from live"
        assert client.get("a") == "from live"
    assert hosts == ["dead", "live", "live"]


def test_snapshot_is_served_only_when_no_server_answers(tmp_path: Path) -> None:
    up = True

    def handler(request: httpx.Request) -> httpx.Response:
        if not up:
            raise httpx.ConnectError("refused", request=request)
        if "gone" in str(request.url):
            return httpx.Response(404, text="config data not exist\n")
        return httpx.Response(200, text="live value")

    config = ClientSettings("s:1", timeout=0.3, snapshot_dir=tmp_path)
    with ConfigClient(config, transport=httpx.MockTransport(handler)) as client:
        assert client.get("a") == "live value"
        assert (tmp_path / "public" / "DEFAULT_GROUP" / "a").read_text() == "live value"
        (tmp_path / "public" / "DEFAULT_GROUP" / "gone").write_text("stale")
        assert client.get("gone") is None
        assert not (tmp_path / "public" / "DEFAULT_GROUP" / "gone").exists()
        up = False
        assert client.get("a") == "live value"
        with pytest.raises(ServerUnavailable):
            client.get("never-read")


def test_snapshot_names_cannot_escape_the_directory(tmp_path: Path) -> None:
    from pynacos.client._snapshot import path_of

    path = path_of(tmp_path, "..", "..", "../x")
    assert path.resolve().is_relative_to(tmp_path)
    assert path.parent.name == "%2E."


def test_a_server_that_never_answers_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with ConfigClient(ClientSettings("s:1", timeout=0.5), transport=httpx.MockTransport(handler)) as client:
        started = time.monotonic()
        with pytest.raises(Timeout):
            client.get("a")
        assert time.monotonic() - started < 1


def test_calls_after_close_are_a_programming_error() -> None:
    client = ConfigClient(ClientSettings("s:1"), transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    client.close()
    client.close()
    with pytest.raises(ClientClosed):
        client.get("a")


def test_a_lost_instance_is_registered_again_by_the_heartbeat() -> None:
    fake = FakeNacos()
    with NamingClient(settings(), transport=httpx.MockTransport(fake)) as client:
        client.register_instance("demo", "10.0.0.5", 8080, metadata={"preserved.heart.beat.interval": "100"})
        fake.lost = True
        deadline = time.monotonic() + 3
        while fake.registers < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.registers == 2
        beats_before = fake.beats
        time.sleep(0.5)
        assert fake.beats > beats_before  # beats go on at the server's 200 ms interval
    beats_after_close = fake.beats
    time.sleep(0.5)
    assert fake.beats == beats_after_close


def test_naming_close_stops_the_background_thread() -> None:
    fake = FakeNacos()
    client = NamingClient(settings(), transport=httpx.MockTransport(fake))
    client.register_instance("demo", "10.0.0.5", 8080)
    assert any(t.name == "pynacos-naming" for t in threading.enumerate())
    client.close()
    assert not any(t.name == "pynacos-naming" and t.is_alive() for t in threading.enumerate())


async def test_async_revoked_token_causes_one_login_and_one_retry() -> None:
    fake = FakeNacos()
    async with AsyncConfigClient(settings(), transport=httpx.MockTransport(fake)) as client:
        assert await client.get("a") == "value"
        fake.revoke_all()
        results = await asyncio.gather(*(client.get("a") for _ in range(20)))
    assert results == ["value"] * 20
    assert fake.logins == 2


async def test_async_many_tasks_at_start_log_in_once() -> None:
    fake = FakeNacos()
    async with AsyncConfigClient(settings(), transport=httpx.MockTransport(fake)) as client:
        await asyncio.gather(*(client.get("a") for _ in range(50)))
    assert fake.logins == 1


async def test_async_wrong_password_fails_fast_then_recovers() -> None:
    fake = FakeNacos()
    async with AsyncConfigClient(settings(password="wrong"), transport=httpx.MockTransport(fake)) as client:
        for _ in range(3):
            with pytest.raises(Unauthenticated):
                await client.get("a")
        assert len(fake.seen) == 2  # the login and one probe without a token
        client.set_credentials("u1", "right")
        assert await client.get("a") == "value"


async def test_async_snapshot_and_failover(tmp_path: Path) -> None:
    state = {"up": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if not state["up"]:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text="v")

    config = ClientSettings("s:1", timeout=0.3, snapshot_dir=tmp_path)
    async with AsyncConfigClient(config, transport=httpx.MockTransport(handler)) as client:
        assert await client.get("a") == "v"
        state["up"] = False
        assert await client.get("a") == "v"
        with pytest.raises(ServerUnavailable):
            await client.get("b")


async def test_async_lost_instance_is_registered_again() -> None:
    fake = FakeNacos()
    async with AsyncNamingClient(settings(), transport=httpx.MockTransport(fake)) as client:
        await client.register_instance("demo", "10.0.0.5", 8080, metadata={"preserved.heart.beat.interval": "100"})
        fake.lost = True
        for _ in range(60):
            if fake.registers >= 2:
                break
            await asyncio.sleep(0.05)
        assert fake.registers == 2


async def test_async_calls_after_aclose_fail() -> None:
    client = AsyncConfigClient(ClientSettings("s:1"), transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    await client.aclose()
    with pytest.raises(ClientClosed):
        await client.get("a")


def test_beat_requests_carry_the_beat_json() -> None:
    fake = FakeNacos()
    with NamingClient(settings(), transport=httpx.MockTransport(fake)) as client:
        client.register_instance("demo", "10.0.0.5", 8080, metadata={"preserved.heart.beat.interval": "100"})
        deadline = time.monotonic() + 3
        while fake.beats == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    beat = next(r for r in fake.seen if r.url.path.endswith("/beat"))
    info = json.loads(parse_qs(beat.content.decode())["beat"][0])
    assert info["serviceName"] == "DEFAULT_GROUP@@demo" and info["ip"] == "10.0.0.5" and info["port"] == 8080


def test_close_deregisters_ephemeral_instances_it_registered() -> None:
    fake = FakeNacos()
    client = NamingClient(settings(), transport=httpx.MockTransport(fake))
    client.register_instance("demo", "10.0.0.5", 8080, cluster="c1", group="G")
    client.register_instance("kept", "10.0.0.6", 8080, ephemeral=False)
    client.close()
    [goodbye] = [r for r in fake.seen if r.method == "DELETE"]
    assert (goodbye.url.params["serviceName"], goodbye.url.params["groupName"]) == ("demo", "G")
    assert (goodbye.url.params["ip"], goodbye.url.params["clusterName"]) == ("10.0.0.5", "c1")
    assert goodbye.url.params["ephemeral"] == "true"


def test_close_with_every_server_down_ends_within_the_timeout_without_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeNacos()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            raise httpx.ConnectError("connection refused")
        return fake(request)

    client = NamingClient(settings(timeout=1.0), transport=httpx.MockTransport(handler))
    for port in range(8080, 8085):
        client.register_instance("demo", "10.0.0.5", port)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.5
    assert len([r for r in caplog.records if "deregister on close failed" in r.getMessage()]) == 1


async def test_async_close_deregisters_ephemeral_instances_it_registered() -> None:
    fake = FakeNacos()
    client = AsyncNamingClient(settings(), transport=httpx.MockTransport(fake))
    await client.register_instance("demo", "10.0.0.5", 8080)
    await client.aclose()
    assert [r.url.params["serviceName"] for r in fake.seen if r.method == "DELETE"] == ["demo"]
    await client.aclose()  # idempotent: no second goodbye
    assert len([r for r in fake.seen if r.method == "DELETE"]) == 1
