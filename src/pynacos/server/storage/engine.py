"""Opening the database: one engine per dialect, chosen by name.

SQLite (standalone default) runs in WAL mode with `synchronous=FULL`, so a write acknowledged to a
client has been fsynced and survives `kill -9` and power loss. MySQL/PostgreSQL drivers are imported
lazily by SQLAlchemy; a missing one names the package to install.

Opening creates the tables that are missing and never changes existing ones: a database Nacos wrote
is used as it is, and `schema.inspect_schema` finds (and the log names) what an older layout lacks.

An external database that cannot be reached yet (a container started beside its database) is tried
again, with a line at most every few seconds, for `pynacos.db.startup.wait.seconds`; then start-up
stops with one sentence naming the database, its address and the settings that give it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pynacos.server.settings import Settings, SettingsError
from pynacos.server.storage.files import private_sqlite
from pynacos.server.storage.outage import Database, health_of, is_storage_error, is_unreachable
from pynacos.server.storage.schema import inspect_schema
from pynacos.server.storage.tables import metadata

log = logging.getLogger("pynacos.storage")

DRIVERS = {"mysql": ("mysql+asyncmy", "asyncmy"), "postgresql": ("postgresql+asyncpg", "asyncpg")}
#: seconds a driver may take to open one connection (asyncmy's default; asyncpg's is 60)
CONNECT_TIMEOUT = 10
_CONNECT_TIMEOUT_ARG = {"mysql": "connect_timeout", "postgresql": "timeout"}
_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)
_RETRY_LOG_EVERY = 5.0
_CREATE_ATTEMPTS = 5
_JDBC = re.compile(r"^jdbc:(?P<kind>mysql|mariadb|postgresql)://(?P<host>[^/?]+)/(?P<db>[^?]*)")


def database_url(settings: Settings) -> URL:
    """The SQLAlchemy URL for the configured platform (JDBC URLs as Nacos writes them are accepted)."""
    if settings.storage == "sqlite":
        path = settings.data_path / "pynacos.db"
        return URL.create("sqlite+aiosqlite", database=str(path.resolve()))
    if not settings.db_url:
        raise SettingsError(f"Setting db.url.0 is empty; it is required when the platform is {settings.storage}.")
    drivername, _ = DRIVERS[settings.storage]
    match = _JDBC.match(settings.db_url)
    if match:
        host, _, port = match["host"].partition(":")
        return URL.create(
            drivername,
            username=settings.db_user or None,
            password=settings.db_password or None,
            host=host,
            port=int(port) if port else None,
            database=match["db"],
        )
    return make_url(settings.db_url).set(drivername=drivername)


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return on_connect


async def open_engine(settings: Settings) -> AsyncEngine:
    """Create the engine and the tables that are missing (Nacos's own DDL may already exist)."""
    url = database_url(settings)
    if url.get_backend_name() == "sqlite":
        private_sqlite(settings.data_path / "pynacos.db")
        if settings.sqlite_synchronous == "normal":
            log.warning("pynacos.storage.synchronous=normal: a power loss may undo acknowledged writes")
    elif settings.db_num != 1:
        log.warning("db.num=%d: pynacos uses db.url.0 only", settings.db_num)
    try:
        engine = create_async_engine(url, **_pool_options(settings, url))
    except ModuleNotFoundError as exc:
        driver = DRIVERS.get(settings.storage, ("", str(exc.name)))[1]
        raise SettingsError(
            f"The {settings.storage} driver ({driver}) is not installed: pip install 'pynacos[{settings.storage}]'."
        ) from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_synchronous))
    health_of(engine)
    wait = settings.db_startup_wait_seconds if url.get_backend_name() != "sqlite" else 0
    try:
        await _prepare_within(engine, max(wait, 0))
    except BaseException:
        await engine.dispose()
        raise
    return engine


class DatabaseUnreachable(SettingsError):
    """The external database could not be opened at start-up; the message says which one and the fix."""


async def _prepare_within(engine: AsyncEngine, wait: float) -> None:
    """Prepare the database, trying again while it cannot be reached, for up to `wait` seconds."""
    database = Database.of(engine.url)
    started = time.monotonic()
    noted: float | None = None
    for attempt in itertools.count():
        try:
            await _prepare(engine)
            break
        except Exception as exc:
            waited = time.monotonic() - started
            if not is_storage_error(exc):
                raise
            if not is_unreachable(exc) or waited >= wait:
                raise _start_up_error(database, exc, waited) from None
            noted = _note_retry(database, exc, wait - waited, noted)
            await asyncio.sleep(min(_RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)], wait - waited))
    if attempt:
        log.info("reached the %s after %.1f s", database, time.monotonic() - started)


def _note_retry(database: Database, exc: BaseException, left: float, noted: float | None) -> float | None:
    """One line for the first failed attempt, then at most one every few seconds; when the last was."""
    now = time.monotonic()
    if noted is not None and now - noted < _RETRY_LOG_EVERY:
        return noted
    log.warning("%s; trying again for up to %.0f s more", database.cause(exc), left)
    return now


def _start_up_error(database: Database, exc: BaseException, waited: float) -> DatabaseUnreachable:
    """One sentence: which database, what went wrong, and what to check."""
    if database.backend == "sqlite":
        fix = "check that pynacos.data.dir (or nacos.home) is a writable directory on a disk with free space"
    elif not is_unreachable(exc):
        fix = "check db.url.0, db.user.0 and db.password.0 (or MYSQL_SERVICE_*) and the user's rights"
    else:
        tried = f" after trying for {waited:.0f} s" if waited >= 1 else ""
        return DatabaseUnreachable(
            f"Cannot reach the {database}{tried} ({database.message(exc)}); check that the database is running "
            "and that db.url.0 (or MYSQL_SERVICE_HOST and MYSQL_SERVICE_PORT) gives its address, or wait longer "
            "with pynacos.db.startup.wait.seconds."
        )
    return DatabaseUnreachable(f"Cannot open the {database} ({database.message(exc)}); {fix}.")


async def _prepare(engine: AsyncEngine) -> None:
    await _create_tables(engine)
    degraded = (await inspect_schema(engine)).describe()
    if degraded:
        log.warning("%s", degraded)


async def _create_tables(engine: AsyncEngine) -> None:
    """Cluster nodes started together on an empty database race to create the same tables: the loser's
    CREATE fails ("already exists", or a duplicate type on PostgreSQL) and, tried again, finds them there."""
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_create_missing_tables)
            return
        except Exception as exc:
            if attempt + 1 == _CREATE_ATTEMPTS or not is_storage_error(exc) or is_unreachable(exc):
                raise
            await asyncio.sleep(0.2 * (attempt + 1))


def _pool_options(settings: Settings, url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        return {}
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_timeout": settings.db_connection_timeout_ms / 1000}
    timeout_arg = _CONNECT_TIMEOUT_ARG.get(url.get_backend_name())
    if timeout_arg and timeout_arg not in url.query:
        options["connect_args"] = {timeout_arg: CONNECT_TIMEOUT}
    return options


def _create_missing_tables(conn: Connection) -> None:
    """create_all skips existing tables (their columns and indexes stay as they are); on a database
    that already held Nacos's tables, say which ones pynacos added."""
    before = set(inspect(conn).get_table_names())
    metadata.create_all(conn)
    added = sorted(set(inspect(conn).get_table_names()) - before)
    if "config_info" in before and added:
        log.info("existing Nacos database: created the missing tables %s", ", ".join(added))
