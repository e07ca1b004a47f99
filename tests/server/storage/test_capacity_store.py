"""Config capacity rows on every backend (SQLite always, MariaDB and PostgreSQL when reachable): `usage` is a
reserved word in MySQL, and the rows must survive a restart with Nacos's column values."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.storage.conftest import raw_engine


async def test_capacity_rows_are_written_in_nacos_columns_and_read_back(backend: Settings) -> None:
    settings = replace(backend, auth_admin_enabled=False)
    app = await started(settings)
    try:
        async with asgi_client(app) as client:
            form = {"dataId": "a", "group": "G", "content": "x"}
            assert (await client.post("/v1/cs/configs", data=form)).text == "true"
            saved = await client.post("/v3/admin/cs/capacity", data={"groupName": "G", "quota": "9", "maxSize": "5"})
            assert saved.json()["data"] is True
            saved = await client.post("/v3/admin/cs/capacity", data={"namespaceId": "public", "maxAggrSize": "3"})
            assert saved.json()["data"] is True
            assert (
                await client.post("/v3/admin/cs/capacity", data={"groupName": "G", "maxSize": "6"})
            ).status_code == 200
    finally:
        await app.stop()
    engine = raw_engine(settings)
    try:
        async with engine.connect() as conn:
            group = (await conn.execute(text("SELECT quota, max_size, max_aggr_count FROM group_capacity"))).all()
            tenant = (await conn.execute(text("SELECT tenant_id, quota, max_aggr_size FROM tenant_capacity"))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in group] == [(9, 6, 0)]
    assert [tuple(row) for row in tenant] == [("public", 0, 3)]
    again = await started(settings)
    try:
        async with asgi_client(again) as client:
            shown = (await client.get("/v3/admin/cs/capacity", params={"groupName": "G"})).json()["data"]
            assert (shown["quota"], shown["usage"], shown["maxSize"], shown["maxAggrCount"]) == (9, 1, 6, 10000)
    finally:
        await again.stop()
