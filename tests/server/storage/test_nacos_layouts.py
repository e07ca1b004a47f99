"""Databases written by Nacos 2.0, 2.4 and 3.x are served as they are, on every backend: their data
loads, publish/delete/history work with the columns they have, nothing is ALTERed, and 3.x's
`tenant_id='public'` rows are the public namespace (spec F.3.5)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.sql import Executable

from pynacos.server.settings import Settings
from pynacos.server.storage.engine import open_engine
from pynacos.server.storage.schema import SchemaError
from tests.conftest import asgi_client
from tests.server.storage.conftest import columns, raw_engine, start
from tests.server.storage.nacos_layouts import APP_V0, APP_V1, NacosWriter, build

APP = {"dataId": "app.yaml", "group": "DEFAULT_GROUP"}
DB_PROPS = {"dataId": "db.properties", "group": "G", "tenant": "dev"}
APP_V2 = "server:\n  port: 7070\n"


async def build_nacos(settings: Settings, version: str, extra: Sequence[Executable] = ()) -> None:
    engine = raw_engine(settings)
    try:
        await build(engine, version, settings.storage, extra)
    finally:
        await engine.dispose()


async def raw_rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    engine = raw_engine(settings)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("version", ["2.0", "2.4", "3.0"])
async def test_a_nacos_database_is_served_and_written_as_it_is(
    backend: Settings, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    await build_nacos(backend, version)
    before = {table: await columns(backend, table) for table in ("config_info", "his_config_info")}
    caplog.set_level(logging.INFO, "pynacos.storage")
    app = await start(backend)
    try:
        async with asgi_client(app) as client:
            await check_nacos_data_is_served(client)
            await check_publish_delete_and_history(client)
        if version == "2.0":
            assert "nacos" in app.auth.accounts.directory.users
    finally:
        await app.stop()
    check_start_up_log(caplog.text, version)
    again = await start(backend)
    try:
        async with asgi_client(again) as client:
            await check_writes_survived(client)
    finally:
        await again.stop()
    assert {table: await columns(backend, table) for table in before} == before, "pynacos altered a table"


async def check_nacos_data_is_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/cs/configs", params=APP)).text == APP_V1
    assert (await client.get("/v1/cs/configs", params={**APP, "tenant": "public"})).text == APP_V1
    assert (await client.get("/v1/cs/configs", params=DB_PROPS)).text == "url=jdbc:x"
    shown = (await client.get("/v1/cs/configs", params={**APP, "show": "all"})).json()
    assert (shown["configTags"], shown["type"], shown["tenant"]) == ("web", "yaml", "")
    namespaces = (await client.get("/v1/console/namespaces")).json()["data"]
    assert [n["namespace"] for n in namespaces] == ["", "dev"]
    history = (await client.get("/v1/cs/history", params={**APP, "search": "accurate"})).json()["pageItems"]
    assert [(h["opType"], h["publishType"], h["tenant"]) for h in history] == [("U", "formal", ""), ("I", "formal", "")]
    detail = (await client.get("/v1/cs/history", params={**APP, "nid": "2"})).json()
    assert detail["content"] == APP_V0
    previous = (await client.get("/v1/cs/history/previous", params={**APP, "id": "1"})).json()
    assert previous["id"] == "2"


async def check_publish_delete_and_history(client: httpx.AsyncClient) -> None:
    published = await client.post("/v1/cs/configs", data={**APP, "content": APP_V2, "type": "yaml"})
    assert published.text == "true"
    history = (await client.get("/v1/cs/history", params={**APP, "search": "accurate"})).json()["pageItems"]
    assert [h["opType"] for h in history] == ["U", "U", "I"]
    detail = (await client.get("/v1/cs/history", params={**APP, "nid": history[0]["id"]})).json()
    assert (detail["content"], detail["publishType"], detail["srcIp"]) == (APP_V1, "formal", "127.0.0.1")
    created = await client.post("/v1/cs/configs", data={"dataId": "new.txt", "group": "G", "content": "n"})
    assert created.text == "true"
    assert (await client.delete("/v1/cs/configs", params=DB_PROPS)).text == "true"
    history = (await client.get("/v1/cs/history", params={**DB_PROPS, "search": "accurate"})).json()["pageItems"]
    assert [h["opType"] for h in history] == ["D", "I"]


def check_start_up_log(log: str, version: str) -> None:
    if version == "2.0":
        assert "Nacos 2.0 (or older) schema" in log
        assert "config_info has no encrypted_data_key" in log
        assert "his_config_info has no encrypted_data_key/publish_type/gray_name/ext_info" in log
    elif version == "2.4":
        assert "Nacos 2.1-2.4 schema" in log
        assert not re.search(r"\bconfig_info has no", log)
        assert "his_config_info has no publish_type/gray_name/ext_info: history is kept without them" in log
    else:
        assert "has no" not in log
    created = "config_info_gray, pynacos_" if version != "3.0" else "pynacos_"
    assert f"existing Nacos database: created the missing tables {created}" in log


async def check_writes_survived(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/cs/configs", params=APP)).text == APP_V2
    assert (await client.get("/v1/cs/configs", params={"dataId": "new.txt", "group": "G"})).text == "n"
    assert (await client.get("/v1/cs/configs", params=DB_PROPS)).status_code == 404


async def test_a_nacos_3_database_serves_its_public_rows_as_the_public_namespace(
    backend: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """3.x writes public as 'public'; its compatibility mode also leaves '' copies: '' wins, with a warning."""
    nacos = NacosWriter("3.0")
    twins = [
        nacos.config(3, "twin.yaml", "DEFAULT_GROUP", "", "from the '' row"),
        nacos.config(4, "twin.yaml", "DEFAULT_GROUP", "public", "from the 'public' row"),
        nacos.history(4, 4, "U", "twin.yaml", "DEFAULT_GROUP", "public", "older"),
        text(
            "INSERT INTO tenant_info (id, kp, tenant_id, tenant_name, gmt_create, gmt_modified) "
            "VALUES (2, '1', 'public', 'public', 0, 0)"
        ),
    ]
    await build_nacos(backend, "3.0", twins)
    caplog.set_level(logging.INFO, "pynacos.storage")
    app = await start(backend)
    try:
        async with asgi_client(app) as client:
            await check_public_twins_and_writes(client)
    finally:
        await app.stop()
    assert "stored both under tenant_id '' and 'public'" in caplog.text
    assert "DEFAULT_GROUP/twin.yaml" in caplog.text
    rows = await raw_rows(backend, "SELECT data_id, tenant_id FROM config_info ORDER BY id")
    assert rows == [("app.yaml", "public"), ("new.yaml", "")], "an update keeps 3.x's row; new rows use ''"
    again = await start(backend)
    try:
        async with asgi_client(again) as client:
            twin = await client.get("/v1/cs/configs", params={**APP, "dataId": "twin.yaml"})
            assert twin.status_code == 404, "the 'public' twin of a deleted config came back"
            assert (await client.get("/v1/cs/configs", params=APP)).text == APP_V2
    finally:
        await again.stop()


async def check_public_twins_and_writes(client: httpx.AsyncClient) -> None:
    twin = {**APP, "dataId": "twin.yaml"}
    assert (await client.get("/v1/cs/configs", params=twin)).text == "from the '' row"
    history = (await client.get("/v1/cs/history", params={**twin, "search": "accurate"})).json()["pageItems"]
    assert [(h["opType"], h["tenant"]) for h in history] == [("U", "")]
    namespaces = (await client.get("/v1/console/namespaces")).json()["data"]
    assert [(n["namespace"], n["type"]) for n in namespaces] == [("", 0), ("dev", 2)]
    assert (await client.post("/v1/cs/configs", data={**APP, "content": APP_V2})).text == "true"
    assert (await client.post("/v1/cs/configs", data={**APP, "dataId": "new.yaml", "content": "x"})).text == "true"
    assert (await client.delete("/v1/cs/configs", params=twin)).text == "true"
    assert (await client.delete("/v1/cs/configs", params=DB_PROPS)).text == "true"


async def test_gray_versions_nacos_wrote_are_served(backend: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Beta and tag rows of a 3.x database (public tenant 'public'); a rule type pynacos does not know is skipped."""
    nacos = NacosWriter("3.0")
    grays = [
        nacos.gray(
            1, "app.yaml", "beta", '{"type":"beta","version":"1.0.0","expr":"10.0.0.7","priority":2147483647}', "b"
        ),
        nacos.gray(
            2, "app.yaml", "tag_blue", '{"type":"tag","version":"1.0.0","expr":"blue","priority":2147483646}', "t"
        ),
        nacos.gray(3, "app.yaml", "canary", '{"type":"label","version":"2.0.0","expr":"x","priority":1}', "c"),
    ]
    await build_nacos(backend, "3.0", grays)
    app = await start(backend)
    try:
        async with asgi_client(app, "10.0.0.7") as beta, asgi_client(app) as other:
            assert (await beta.get("/v1/cs/configs", params=APP)).text == "b"
            assert (await other.get("/v1/cs/configs", params=APP)).text == APP_V1
            assert (await other.get("/v1/cs/configs", params={**APP, "tag": "blue"})).text == "t"
            stopped = await other.delete("/v1/cs/configs", params={**APP, "beta": "true"})
            assert stopped.json()["data"] is True
            assert (await beta.get("/v1/cs/configs", params=APP)).text == APP_V1
    finally:
        await app.stop()
    assert "has a rule this server does not know" in caplog.text
    rows = await raw_rows(backend, "SELECT gray_name FROM config_info_gray ORDER BY id")
    assert rows == [("tag_blue",), ("canary",)]


@pytest.mark.parametrize("version", ["2.0", "2.4"])
async def test_beta_and_tag_versions_of_nacos_2_4_are_copied_into_config_info_gray(
    backend: Settings, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    nacos = NacosWriter(version)
    legacy = [
        nacos.legacy_gray("config_info_beta", "app.yaml", "b", beta_ips="10.0.0.7,10.0.0.8"),
        nacos.legacy_gray("config_info_tag", "app.yaml", "t", tag_id="blue"),
    ]
    await build_nacos(backend, version, legacy)
    caplog.set_level(logging.INFO, "pynacos.storage")
    app = await start(backend)
    try:
        async with asgi_client(app, "10.0.0.8") as beta, asgi_client(app) as other:
            assert (await beta.get("/v1/cs/configs", params=APP)).text == "b"
            assert (await other.get("/v1/cs/configs", params=APP)).text == APP_V1
            assert (await other.get("/v1/cs/configs", params={**APP, "tag": "blue"})).text == "t"
            published = await other.post(
                "/v1/cs/configs", data={**APP, "content": "b2"}, headers={"betaIps": "10.0.0.8"}
            )
            assert published.text == "true"
            assert (await other.delete("/v1/cs/configs", params={**APP, "tag": "blue"})).text == "true"
    finally:
        await app.stop()
    assert "copied 2 beta/tag versions" in caplog.text
    again = await start(backend)  # the newer gray row wins over the legacy one; the stopped tag stays stopped
    try:
        async with asgi_client(again, "10.0.0.8") as beta, asgi_client(again) as other:
            assert (await beta.get("/v1/cs/configs", params=APP)).text == "b2"
            assert (await other.get("/v1/cs/configs", params={**APP, "tag": "blue"})).status_code == 404
    finally:
        await again.stop()
    rows = await raw_rows(backend, "SELECT gray_name, src_user FROM config_info_gray ORDER BY gray_name")
    assert rows == [("beta", None)]
    assert await raw_rows(backend, "SELECT tag_id FROM config_info_tag") == []


async def test_tables_pynacos_cannot_read_stop_start_up_with_a_sentence(tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path))
    engine = raw_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE config_info (id INTEGER PRIMARY KEY, data_id TEXT NOT NULL)"))
    finally:
        await engine.dispose()
    with pytest.raises(SchemaError, match="Table config_info has no column .*content"):
        await open_engine(settings)
