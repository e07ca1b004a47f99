"""A real server process on a database Nacos 2.4 wrote (its SQLite twin): it becomes ready, serves
the data, and publish and history work without touching the old tables' columns."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from pynacos.server.settings import Settings
from tests.integration.server_process import ServerProcess
from tests.server.storage.conftest import raw_engine
from tests.server.storage.nacos_layouts import APP_V0, APP_V1, build

pytestmark = pytest.mark.integration

APP = {"dataId": "app.yaml", "group": "DEFAULT_GROUP"}


async def nacos_24_sqlite(home: Path) -> Path:
    settings = Settings(home=str(home))
    engine = raw_engine(settings)
    try:
        await build(engine, "2.4", "sqlite")
    finally:
        await engine.dispose()
    return settings.data_path / "pynacos.db"


def history_columns(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute("PRAGMA table_info(his_config_info)")]


def test_a_server_process_serves_a_nacos_24_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = asyncio.run(nacos_24_sqlite(home))
    before = history_columns(path)
    server = ServerProcess(home)
    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=10) as client:
            assert client.get("/v1/cs/configs", params=APP).text == APP_V1
            published = client.post("/v1/cs/configs", data={**APP, "content": "v2", "type": "yaml"})
            assert published.text == "true"
            history = client.get("/v1/cs/history", params={**APP, "search": "accurate"}).json()["pageItems"]
            assert [h["opType"] for h in history] == ["U", "U", "I"]
            oldest = client.get("/v1/cs/history", params={**APP, "nid": history[-1]["id"]}).json()
            assert oldest["content"] == APP_V0
    finally:
        assert server.stop() == 0
    assert "his_config_info has no publish_type/gray_name/ext_info" in server.log()
    assert history_columns(path) == before
