"""The same behaviour on every storage backend: SQLite always, MariaDB and PostgreSQL when reachable
(.ci/run starts both). Each test gets a fresh database."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started

DB = "pynacos_contract"


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def fresh_mysql() -> None:
    import asyncmy

    conn = await asyncmy.connect(host="127.0.0.1", port=3306, user="root", password="")
    async with conn.cursor() as cursor:
        await cursor.execute(f"DROP DATABASE IF EXISTS {DB}")
        await cursor.execute(f"CREATE DATABASE {DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    conn.close()


async def fresh_postgresql() -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    await conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {DB}")
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


@pytest.fixture(params=["sqlite", "mysql", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    kind = request.param
    if kind == "mysql":
        if not reachable(3306):
            pytest.skip("MariaDB not running on 127.0.0.1:3306")
        await fresh_mysql()
    if kind == "postgresql":
        if not reachable(5432):
            pytest.skip("PostgreSQL not running on 127.0.0.1:5432")
        await fresh_postgresql()
    yield backend_settings(kind, tmp_path)


async def test_configs_history_and_restart(backend: Settings) -> None:
    app = await started(backend)
    try:
        async with asgi_client(app) as client:
            await roundtrip(client)
    finally:
        await app.stop()
    again = await started(backend)
    try:
        async with asgi_client(again) as client:
            response = await client.get("/v1/cs/configs", params={"dataId": "a.yaml", "group": "G", "tenant": "dev"})
            assert response.text == "第二 v2"
            history = await client.get(
                "/v1/cs/history", params={"search": "accurate", "dataId": "a.yaml", "group": "G", "tenant": "dev"}
            )
            assert [i["opType"] for i in history.json()["pageItems"]] == ["U", "I"]
            assert (await client.get("/v1/console/namespaces")).json()["data"][1]["namespace"] == "dev"
    finally:
        await again.stop()


async def roundtrip(client: httpx.AsyncClient) -> None:
    created = await client.post("/v1/console/namespaces", data={"customNamespaceId": "dev", "namespaceName": "Dev"})
    assert created.text == "true"
    form = {"dataId": "a.yaml", "group": "G", "tenant": "dev", "content": "第一 v1", "config_tags": "x,y"}
    assert (await client.post("/v1/cs/configs", data=form)).text == "true"
    assert (await client.post("/v1/cs/configs", data={**form, "content": "第二 v2"})).text == "true"
    for gone in ("b", "c"):
        await client.post("/v1/cs/configs", data={**form, "dataId": gone})
        await client.delete("/v1/cs/configs", params={"dataId": gone, "group": "G", "tenant": "dev"})
    shown = (
        await client.get("/v1/cs/configs", params={"dataId": "a.yaml", "group": "G", "tenant": "dev", "show": "all"})
    ).json()
    assert shown["configTags"] == "x,y"


async def test_users_roles_permissions_and_revocation_state(backend: Settings) -> None:
    app = await started(backend)
    try:
        accounts = app.auth.accounts
        assert await accounts.create_admin("Admin-Passw0rd!")
        await accounts.create_user("alice", "Alice-pass1")
        await accounts.add_role("dev", "alice")
        await accounts.add_permission("dev", "dev:*:*", "rw")
        await accounts.set_password("alice", "Alice-pass2")
    finally:
        await app.stop()
    again = await started(backend)
    try:
        directory = again.auth.accounts.directory
        assert set(directory.users) == {"nacos", "alice"}
        assert directory.allows("alice", "dev:g:config/a", "w")
        assert "alice" in again.auth.tokens.not_before_ms
        assert not await again.auth.accounts.create_admin("Other-pass1")
    finally:
        await again.stop()


async def test_naming_services_and_persistent_instances_survive_restart(backend: Settings) -> None:
    app = await started(backend)
    try:
        async with asgi_client(app) as client:
            for ephemeral in ("true", "false"):
                params = {"serviceName": f"svc-{ephemeral}", "ip": "10.0.0.7", "port": "80", "ephemeral": ephemeral}
                assert (await client.post("/v1/ns/instance", params=params)).text == "ok"
            created = await client.post("/v1/ns/service", params={"serviceName": "s" * 500, "protectThreshold": "0.5"})
            assert created.text == "ok"
    finally:
        await app.stop()
    again = await started(backend)
    try:
        async with asgi_client(again) as client:
            kept = (await client.get("/v1/ns/instance/list", params={"serviceName": "svc-false"})).json()
            assert [h["ip"] for h in kept["hosts"]] == ["10.0.0.7"]
            gone = (await client.get("/v1/ns/instance/list", params={"serviceName": "svc-true"})).json()
            assert gone["hosts"] == []
            service = (await client.get("/v1/ns/service", params={"serviceName": "s" * 500})).json()
            assert service["protectThreshold"] == 0.5
    finally:
        await again.stop()
