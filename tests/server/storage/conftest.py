"""Backends for the storage contract tests: SQLite always, MariaDB and PostgreSQL when reachable
(.ci/run starts both). Each test gets a fresh, empty database.

The database name carries this process's id (`DB`): pytest-xdist runs test modules in several worker
processes at once, and other people's pytest runs share the same MariaDB and PostgreSQL, so one fixed name
would let one test drop the database another is using. Each process drops its own at the end of the session.

A database that is not running skips its tests on a developer's machine; under CI (`CI=true`) it
fails them, so a green run cannot hide tests that never ran."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from pynacos.server.storage.engine import database_url

DB = f"pynacos_contract_{os.getpid()}"
CLEANUP_TIMEOUT = 30.0


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def missing(what: str) -> NoReturn:
    """Skip the test for want of a database, or fail it under CI (see the module docstring)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}, and CI=true: the suite must run against every database", pytrace=False)
    pytest.skip(what)


def require(kind: str) -> None:
    """Go on only if the database of `kind` (mysql or postgresql) is listening (see `missing`)."""
    port, name = (3306, "MariaDB") if kind == "mysql" else (5432, "PostgreSQL")
    if not reachable(port):
        missing(f"{name} not running on 127.0.0.1:{port}")


async def fresh_mysql(name: str = DB, create: bool = True) -> None:
    import asyncmy

    conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root", password="")
    async with conn.cursor() as cursor:
        await cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        if create:
            await cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    conn.close()


async def fresh_postgresql(name: str = DB, create: bool = True) -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if create:
        await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()


def backend_settings(kind: str, home: Path) -> Settings:
    if kind == "mysql":
        url = f"jdbc:mysql://127.0.0.1:3306/{DB}?characterEncoding=utf8"
        return Settings(home=str(home), storage="mysql", db_url=url, db_user="root")
    if kind == "postgresql":
        return Settings(
            home=str(home), storage="postgresql", db_url=f"jdbc:postgresql://127.0.0.1:5432/{DB}", db_user="postgres"
        )
    return Settings(home=str(home))


async def fresh(kind: str) -> None:
    """Empty the database of `kind`, or skip the test when its server is not running."""
    if kind == "mysql":
        require(kind)
        await fresh_mysql()
    if kind == "postgresql":
        require(kind)
        await fresh_postgresql()


async def drop_own_databases() -> None:
    """Drop this process's `DB` wherever its server is listening (best effort: leftovers are only disk)."""
    for kind, drop in (("mysql", fresh_mysql), ("postgresql", fresh_postgresql)):
        if reachable(3306 if kind == "mysql" else 5432):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(drop(DB, create=False), CLEANUP_TIMEOUT)


@pytest.fixture(scope="session", autouse=True)
def own_databases_dropped() -> Iterator[None]:
    yield
    asyncio.run(drop_own_databases())


@pytest.fixture(params=["sqlite", "mysql", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    await fresh(request.param)
    yield backend_settings(request.param, tmp_path)


def raw_engine(settings: Settings) -> AsyncEngine:
    """An engine on the backend's database that bypasses pynacos (no create_all, no probing)."""
    url = database_url(settings)
    if url.get_backend_name() == "sqlite":
        settings.data_path.mkdir(parents=True, exist_ok=True)
    return create_async_engine(url)


async def columns(settings: Settings, table: str) -> set[str]:
    engine = raw_engine(settings)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda c: inspect(c).get_columns(table))
    finally:
        await engine.dispose()
    return {column["name"] for column in found}


async def start(settings: Settings) -> NacosApp:
    """Started and ready, or a failure (a load error leaves the server not-ready for ever)."""
    app = NacosApp(settings)
    await app.start()
    try:
        await asyncio.wait_for(app.ready.wait(), 30)
    except TimeoutError:
        await app.stop()
        raise AssertionError("the server never became ready: loading the data failed") from None
    return app
