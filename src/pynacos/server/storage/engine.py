"""Opening the database: one engine per dialect, chosen by name.

SQLite (standalone default) runs in WAL mode with `synchronous=FULL`, so a write acknowledged to a
client has been fsynced and survives `kill -9` and power loss. MySQL/PostgreSQL drivers are imported
lazily by SQLAlchemy; a missing one names the package to install.

Opening creates the tables that are missing and never changes existing ones: a database Nacos wrote
is used as it is, and `schema.inspect_schema` finds (and the log names) what an older layout lacks.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pynacos.server.settings import Settings, SettingsError
from pynacos.server.storage.schema import inspect_schema
from pynacos.server.storage.tables import metadata

log = logging.getLogger("pynacos.storage")

DRIVERS = {"mysql": ("mysql+asyncmy", "asyncmy"), "postgresql": ("postgresql+asyncpg", "asyncpg")}
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
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        if settings.sqlite_synchronous == "normal":
            log.warning("pynacos.storage.synchronous=normal: a power loss may undo acknowledged writes")
    elif settings.db_num != 1:
        log.warning("db.num=%d: pynacos uses db.url.0 only", settings.db_num)
    try:
        engine = create_async_engine(url, **_pool_options(settings, url))
    except ModuleNotFoundError as exc:
        driver = DRIVERS.get(settings.storage, ("", str(exc.name)))[1]
        raise SettingsError(f"The {settings.storage} driver is not installed; pip install {driver}.") from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_synchronous))
    try:
        await _prepare(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def _prepare(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_create_missing_tables)
    degraded = (await inspect_schema(engine)).describe()
    if degraded:
        log.warning("%s", degraded)


def _pool_options(settings: Settings, url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        return {}
    return {"pool_pre_ping": True, "pool_timeout": settings.db_connection_timeout_ms / 1000}


def _create_missing_tables(conn: Connection) -> None:
    """create_all skips existing tables (their columns and indexes stay as they are); on a database
    that already held Nacos's tables, say which ones pynacos added."""
    before = set(inspect(conn).get_table_names())
    metadata.create_all(conn)
    added = sorted(set(inspect(conn).get_table_names()) - before)
    if "config_info" in before and added:
        log.info("existing Nacos database: created the missing tables %s", ", ".join(added))
