"""`pynacos db upgrade --home DIR`: create or complete the schema in the configured database, and say what it did.

It does what the server does at start-up (storage/engine.py `open_engine`): create the tables that are
missing, never alter or drop an existing one (a database a Nacos 2.x/3.x cluster used works as it is), then
name the optional columns an older layout lacks and what that costs. Run it once before starting a cluster
on a new database, or let the first node do it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from pynacos.server.settings import Settings


def upgrade(home: str) -> list[str]:
    """Lines to print; SettingsError (with the fix) when the database cannot be opened."""
    from pynacos.server import settings as settings_module

    settings = settings_module.load(Path(home))
    return asyncio.run(_upgrade(settings))


async def _upgrade(settings: Settings) -> list[str]:
    from pynacos.server.storage.engine import database_url, open_engine
    from pynacos.server.storage.schema import inspect_schema

    url = database_url(settings)
    fresh_sqlite = url.get_backend_name() == "sqlite" and not (settings.data_path / "pynacos.db").exists()
    before = set() if fresh_sqlite else await _tables(create_async_engine(url))
    engine = await open_engine(settings)
    try:
        after = await _tables(engine, dispose=False)
        degraded = (await inspect_schema(engine)).describe()
    finally:
        await engine.dispose()
    where = url.render_as_string(hide_password=True)
    created = sorted(after - before)
    lines = [
        f"created {len(created)} tables in {where}: {', '.join(created)}" if created else f"{where}: every table exists"
    ]
    lines.append(degraded or "schema complete: nothing to change (existing tables are never altered)")
    return lines


async def _tables(engine: AsyncEngine, dispose: bool = True) -> set[str]:
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        if dispose:
            await engine.dispose()
