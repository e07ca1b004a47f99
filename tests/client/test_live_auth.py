"""The auth session against real servers with auth on: TTL refresh, key rotation, password change,
single-flight login, and the log of a client with a wrong password.

The two long runs (90 s of calls with a 20 s token, 60 s with a wrong password) share one server:
the 90 s run starts in a background thread when the module's first test starts, and the other
tests run meanwhile, so the module takes about 95 s.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynacos.client import AsyncConfigClient, AuthError, ClientSettings, ConfigClient, Unauthenticated
from tests.client.servers import KEY, NEW_KEY, Admin, auth_properties, logins, requests_counted, start_auth_server
from tests.integration.server_process import ServerProcess

PASSWORD = "User-Passw0rd!"
TTL_SECONDS = 90.0
THIRD_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2"


def user_settings(server: ServerProcess, username: str, password: str = PASSWORD) -> ClientSettings:
    return ClientSettings(server.address, username=username, password=password)


def pynacos_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pynacos.client" and text in r.getMessage()]


class CallLoop:
    """Calls `client.get` every `interval` seconds in a thread, recording every failure."""

    def __init__(self, client: ConfigClient, data_id: str, expected: str, interval: float) -> None:
        self.client, self.data_id, self.expected, self.interval = client, data_id, expected, interval
        self.calls = 0
        self.failures: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                assert self.client.get(self.data_id) == self.expected
            except BaseException as exc:
                self.failures.append(exc)
            self.calls += 1
            self.stop.wait(self.interval)

    def run_for(self, seconds: float) -> None:
        self.thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        self.thread.join(10)


@pytest.fixture(scope="module")
def ttl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("ttl") / "home"
    server, admin = start_auth_server(home, **{"nacos.core.auth.plugin.nacos.token.expire.seconds": "20"})
    admin.add_user("ttl-user", PASSWORD)
    admin.add_user("wrong-pw-user", PASSWORD)
    with ConfigClient(user_settings(server, "ttl-user")) as client:
        client.publish("ttl.txt", "DEFAULT_GROUP", "v0")
    yield server
    server.stop()


class TtlRun:
    """90 s of calls every second with a 20 s token, and the logins it took, in a background thread."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.logins = 0
        self.client = ConfigClient(user_settings(server, "ttl-user"))
        self.loop = CallLoop(self.client, "ttl.txt", "v0", interval=1.0)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        before = logins(self.server)
        self.loop.run_for(TTL_SECONDS)
        self.logins = logins(self.server) - before
        self.client.close()


@pytest.fixture(scope="module", autouse=True)
def ttl_run(ttl_server: ServerProcess) -> Iterator[TtlRun]:
    run = TtlRun(ttl_server)
    run.thread.start()
    yield run
    run.loop.stop.set()
    run.thread.join(15)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Admin]]:
    server, admin = start_auth_server(tmp_path_factory.mktemp("auth") / "home")
    admin.add_user("writer", PASSWORD)
    with ConfigClient(user_settings(server, "writer")) as client:
        client.publish("shared.txt", "DEFAULT_GROUP", "hello")
    yield server, admin
    server.stop()


def test_fifty_threads_starting_at_once_log_in_once(auth_server: tuple[ServerProcess, Admin]) -> None:
    server, admin = auth_server
    admin.add_user("many", PASSWORD)
    before = logins(server)
    barrier = threading.Barrier(50)
    results: list[str | None] = []
    with ConfigClient(user_settings(server, "many")) as client:

        def call() -> None:
            barrier.wait()
            results.append(client.get("shared.txt"))

        threads = [threading.Thread(target=call) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert results == ["hello"] * 50
    assert logins(server) - before == 1


async def test_fifty_tasks_starting_at_once_log_in_once(auth_server: tuple[ServerProcess, Admin]) -> None:
    server, admin = auth_server
    admin.add_user("many-async", PASSWORD)
    before = logins(server)
    async with AsyncConfigClient(user_settings(server, "many-async")) as client:
        results = await asyncio.gather(*(client.get("shared.txt") for _ in range(50)))
    assert results == ["hello"] * 50
    assert logins(server) - before == 1


def test_changed_password_gives_one_clear_error_then_new_credentials_work(
    auth_server: tuple[ServerProcess, Admin], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pynacos.client")
    server, admin = auth_server
    admin.add_user("alice", "Old-Passw0rd!")
    with ConfigClient(user_settings(server, "alice", "Old-Passw0rd!")) as client:
        assert client.get("shared.txt") == "hello"
        admin.set_password("alice", "New-Passw0rd!")
        with pytest.raises(Unauthenticated) as caught:
            client.get("shared.txt")
        assert "login as 'alice' refused: user not found!" in str(caught.value)
        assert "check username/password" in str(caught.value)
        refused_logins = logins(server, 403)
        for _ in range(5):  # fails fast with the same error: no login storm
            with pytest.raises(Unauthenticated, match="check username/password"):
                client.get("shared.txt")
        assert logins(server, 403) == refused_logins
        client.set_credentials("alice", "New-Passw0rd!")
        assert client.get("shared.txt") == "hello"
    lines = pynacos_lines(caplog, "alice")
    assert len(lines) == 2, lines
    assert "works again" in lines[1]


def test_secret_key_rotation_by_restart_fails_no_call(tmp_path: Path) -> None:
    """Restart with a new key and the old one as previous: old tokens work. Then a new key without
    the previous one: the client logs in again once and retries. No call fails either way."""
    home = tmp_path / "home"
    server, admin = start_auth_server(home)
    admin.add_user("rotating", PASSWORD)
    client = ConfigClient(user_settings(server, "rotating"))
    client.publish("rot.txt", "DEFAULT_GROUP", "r")
    loop = CallLoop(client, "rot.txt", "r", interval=0.1)
    loop.thread.start()
    try:
        time.sleep(1)
        server.stop()
        rotated = {"pynacos.auth.token.previous.secret.key": KEY}
        server = ServerProcess(home, auth_properties(NEW_KEY, **rotated), port=server.port)
        server.start()
        time.sleep(1.5)
        assert logins(server) == 0  # the token signed with the old key is still accepted
        server.stop()
        server = ServerProcess(home, auth_properties(THIRD_KEY), port=server.port)
        server.start()
        time.sleep(1.5)
        assert logins(server) == 1  # `Invalid signature` -> one new login, call retried
        assert requests_counted(server, "/v1/cs/configs", 403, "GET") == 1
    finally:
        loop.stop.set()
        loop.thread.join(10)
        client.close()
        server.stop()
    assert loop.failures == []
    assert loop.calls > 15  # every 0.1 s, minus the two restarts (each ~2 s) the calls rode out


def test_wrong_password_running_60s_logs_at_most_two_lines(
    ttl_server: ServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pynacos.client")
    attempts_before = logins(ttl_server, 403)
    errors: list[AuthError] = []
    with ConfigClient(user_settings(ttl_server, "wrong-pw-user", "not-the-password")) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                client.get("ttl.txt")
            except AuthError as exc:
                errors.append(exc)
            time.sleep(1)
    lines = pynacos_lines(caplog, "wrong-pw-user")
    assert 1 <= len(lines) <= 2, lines
    assert "check username/password" in lines[0] and "the server answers the same for both" in lines[0]
    assert "not-the-password" not in caplog.text
    assert len(errors) >= 55 and all("check username/password" in str(e) for e in errors)
    assert logins(ttl_server, 403) - attempts_before <= 8  # backoff 1, 2, 4 ... s, not one login per call


def test_token_ttl_20s_over_90s_of_calls_zero_failures_about_five_logins(
    ttl_run: TtlRun, ttl_server: ServerProcess
) -> None:
    ttl_run.thread.join(TTL_SECONDS + 30)
    assert ttl_run.loop.failures == []
    assert ttl_run.loop.calls >= 80
    assert 4 <= ttl_run.logins <= 8, ttl_run.logins
    # refreshed before expiry, never refused: the only refused reads on this server are the wrong-password
    # client's probes without a token, one after each of its refused logins
    assert requests_counted(ttl_server, "/v1/cs/configs", 403, "GET") <= logins(ttl_server, 403)


def test_explicit_login_gives_the_token_and_its_ttl(auth_server: tuple[ServerProcess, Admin]) -> None:
    server, _ = auth_server
    with ConfigClient(user_settings(server, "writer")) as client:
        reply = client.login()
        assert reply is not None and reply.token_ttl == 18000 and not reply.global_admin
        assert reply.access_token.count(".") == 2  # a JWT
        before = logins(server)
        assert client.get("shared.txt") == "hello"  # uses that token: no second login
        assert logins(server) == before
    with ConfigClient(user_settings(server, "writer", "wrong")) as client, pytest.raises(Unauthenticated):
        client.login()
    with ConfigClient(server.address) as client, pytest.raises(ValueError, match="no username"):
        client.login()


async def test_async_explicit_login(auth_server: tuple[ServerProcess, Admin]) -> None:
    server, _ = auth_server
    async with AsyncConfigClient(user_settings(server, "writer")) as client:
        reply = await client.login()
        assert reply is not None and reply.token_ttl == 18000
