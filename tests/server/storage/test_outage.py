"""Which exceptions are storage errors, and what the log says while they last (storage/outage.py);
start-up against a database that is not there; the CI rule for missing databases."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from pynacos.server.settings import Settings
from pynacos.server.storage.engine import DatabaseUnreachable, open_engine
from pynacos.server.storage.outage import Database, StorageHealth, is_storage_error, is_unreachable
from tests.server.storage.conftest import missing

PG = Database.of(make_url("postgresql+asyncpg://nacos:s3cret-pw@db.internal:5433/orders"))


def raised_in(module: str, exc: BaseException) -> BaseException:
    """`exc` as if raised by code of `module` (its frame is on the traceback, as a driver's would be)."""
    scope: dict[str, object] = {"__name__": module, "exc": exc}
    try:
        exec("raise exc", scope)
    except BaseException as raised:
        return raised
    raise AssertionError("not raised")


def driver_error(module: str, name: str, *args: object) -> BaseException:
    return type(name, (Exception,), {"__module__": module})(*args)


def test_driver_connect_errors_are_storage_errors_and_unreachable() -> None:
    refused = raised_in("asyncpg.connect_utils", ConnectionRefusedError(111, "Connect call failed"))
    timeout = raised_in("asyncmy.connection", TimeoutError())
    starting = driver_error("asyncpg.exceptions", "CannotConnectNowError", "the database system is starting up")
    for exc in (refused, timeout, starting):
        assert is_storage_error(exc) and is_unreachable(exc)


def test_wrapped_driver_errors_tell_outages_from_refused_statements() -> None:
    gone = driver_error("asyncmy.errors", "OperationalError", 2006, "MySQL server has gone away")
    duplicate = driver_error("asyncmy.errors", "IntegrityError", 1062, "Duplicate entry")
    assert is_unreachable(OperationalError("INSERT", {}, gone))
    assert not is_unreachable(IntegrityError("INSERT", {}, duplicate))
    assert is_storage_error(IntegrityError("INSERT", {}, duplicate))


def test_an_os_error_from_elsewhere_is_not_a_storage_error() -> None:
    assert not is_storage_error(raised_in("pynacos.server.naming.udp", ConnectionRefusedError(111, "refused")))
    assert not is_storage_error(ValueError("bad"))


def test_the_cause_names_the_database_and_never_its_credentials() -> None:
    orig = driver_error("asyncpg.exceptions", "InvalidPasswordError", "password s3cret-pw for postgres://nacos:x@db/")
    cause = PG.cause(OperationalError("SELECT content FROM config_info WHERE x = %s", {"x": "secret"}, orig))
    assert cause.startswith("error from the postgresql database orders at db.internal:5433 (InvalidPasswordError:")
    assert "s3cret-pw" not in cause and "nacos:x@" not in cause and "config_info" not in cause
    assert "s3cret-pw" not in repr(PG)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pynacos.storage"]


def test_an_outage_logs_its_cause_once_then_a_count_a_minute_then_its_end(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pynacos.storage")
    clock = Clock()
    health = StorageHealth(PG, clock=clock)
    refused = raised_in("asyncpg.connect_utils", ConnectionRefusedError(111, "Connect call failed"))
    for _ in range(1000):
        health.failed(refused, "POST /v1/cs/configs")
        clock.now += 0.05  # 1000 failures over 50 s: still the one line
    assert len(lines(caplog)) == 1
    assert "POST /v1/cs/configs" in lines(caplog)[0]
    assert "cannot reach the postgresql database orders at db.internal:5433" in lines(caplog)[0]
    clock.now += 10.5
    health.failed(refused, "POST /v1/cs/configs")
    assert "storage still failing: 1000 more failures in the last 60 s; last: cannot reach" in lines(caplog)[1]
    health.succeeded()
    health.succeeded()
    assert len(lines(caplog)) == 3
    assert "storage works again" in lines(caplog)[2] and "1001 operations failed" in lines(caplog)[2]


def test_failures_between_successes_cannot_flood_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pynacos.storage")
    clock = Clock()
    health = StorageHealth(PG, clock=clock)
    duplicate = IntegrityError("INSERT", {}, driver_error("asyncmy.errors", "IntegrityError", 1062, "Duplicate"))
    for _ in range(100):
        health.failed(duplicate, "POST /v1/cs/configs")
        health.succeeded()
        clock.now += 0.1
    assert len(lines(caplog)) == 2  # the first episode and its end; the 99 others within the minute are counted
    clock.now += 60
    health.failed(duplicate, "POST /v1/cs/configs")
    assert "(99 earlier failures not logged)" in lines(caplog)[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("storage", ["mysql", "postgresql"])
async def test_start_up_names_the_database_it_cannot_reach_and_the_fix(tmp_path: Path, storage: str) -> None:
    port = free_port()
    url = f"jdbc:{storage}://127.0.0.1:{port}/nacos_orders"
    settings = Settings(
        home=str(tmp_path), storage=storage, db_url=url, db_password="pw-123", db_startup_wait_seconds=0
    )
    with pytest.raises(DatabaseUnreachable) as caught:
        await open_engine(settings)
    message = str(caught.value)
    assert message.startswith(f"Cannot reach the {storage} database nacos_orders at 127.0.0.1:{port} (")
    assert "check that the database is running" in message and "db.url.0" in message
    assert "pw-123" not in message and "\n" not in message


def test_a_missing_database_skips_here_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        missing("MariaDB not running on 127.0.0.1:3306")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="MariaDB not running on 127.0.0.1:3306, and CI=true"):
        missing("MariaDB not running on 127.0.0.1:3306")
