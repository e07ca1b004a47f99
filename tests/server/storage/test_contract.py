"""The same behaviour on every storage backend: SQLite always, MariaDB and PostgreSQL when reachable
(.ci/run starts both). Each test gets a fresh database."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from pynacos.server.app import NacosApp
from pynacos.server.config.models import ConfigKey
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.storage.conftest import raw_engine


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


async def test_ids_of_deleted_rows_are_never_reused(backend: Settings) -> None:
    """Deleting the newest row must not hand its id to the next insert (SQLite needs AUTOINCREMENT)."""
    app = await started(backend)
    try:
        async with asgi_client(app) as client:
            await assert_config_ids_grow(app, client)
            await assert_history_nids_grow(app, client)
            assert await namespace_ids_grow(client, backend)
    finally:
        await app.stop()


async def publish(client: httpx.AsyncClient, data_id: str) -> int:
    assert (await client.post("/v1/cs/configs", data={"dataId": data_id, "group": "G", "content": "v"})).text == "true"
    shown = await client.get("/v1/cs/configs", params={"dataId": data_id, "group": "G", "show": "all"})
    return int(shown.json()["id"])


async def assert_config_ids_grow(app: NacosApp, client: httpx.AsyncClient) -> None:
    await publish(client, "a")
    highest = await publish(client, "b")
    await client.delete("/v1/cs/configs", params={"dataId": "b", "group": "G"})
    assert await publish(client, "c") > highest


async def assert_history_nids_grow(app: NacosApp, client: httpx.AsyncClient) -> None:
    _, rows = await app.configs.history_page(ConfigKey("", "G", "c"), 1, 10)
    highest = rows[0].nid
    assert await app.configs.store.purge_history(datetime.now() + timedelta(days=1)) > 0
    await publish(client, "d")
    _, rows = await app.configs.history_page(ConfigKey("", "G", "d"), 1, 10)
    assert rows[0].nid > highest


async def namespace_ids_grow(client: httpx.AsyncClient, settings: Settings) -> bool:
    for ns in ("x", "y"):
        await client.post("/v1/console/namespaces", data={"customNamespaceId": ns, "namespaceName": ns})
    await client.delete("/v1/console/namespaces", params={"namespaceId": "y"})
    await client.post("/v1/console/namespaces", data={"customNamespaceId": "z", "namespaceName": "z"})
    engine = raw_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT tenant_id, id FROM tenant_info"))).all()
    finally:
        await engine.dispose()
    ids = {str(row[0]): int(row[1]) for row in rows}
    return set(ids) == {"x", "z"} and ids["z"] > ids["x"] + 1


async def test_new_tables_have_nacos_defaults_indexes_and_capacity_tables(backend: Settings) -> None:
    """What a Nacos node writing to a database pynacos created relies on: it leaves
    his_config_info.gmt_create to the database default."""
    app = await started(backend)
    await app.stop()
    engine = raw_engine(backend)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO his_config_info (id, data_id, group_id, tenant_id, app_name, content, md5, src_ip, "
                    "src_user, gmt_modified, op_type, encrypted_data_key, publish_type, gray_name, ext_info) VALUES "
                    "(0, 'n.yaml', 'G', '', '', 'x', 'm', '10.0.0.1', 'nacos', :now, 'I', '', 'formal', '', '{}')"
                ),
                {"now": datetime.now().replace(microsecond=0)},
            )
            found = await conn.run_sync(schema_facts)
    finally:
        await engine.dispose()
    assert found["his_config_info"] >= {("gmt_create",), ("gmt_modified",), ("data_id",)}
    assert ("tenant_id",) in found["tenant_info"]
    assert found["group_capacity"] == found["tenant_capacity"] == set()
    again = await started(backend)
    try:
        _, rows = await again.configs.history_page(ConfigKey("", "G", "n.yaml"), 1, 10)
        assert rows[0].created is not None
    finally:
        await again.stop()


def schema_facts(conn: Connection) -> dict[str, set[tuple[str | None, ...]]]:
    """Non-unique indexes per table, as column tuples."""
    inspector = inspect(conn)
    tables = ("his_config_info", "tenant_info", "group_capacity", "tenant_capacity")
    return {t: {tuple(i["column_names"]) for i in inspector.get_indexes(t) if not i["unique"]} for t in tables}


async def test_content_larger_than_mysql_text_is_kept(backend: Settings) -> None:
    """Nacos's content columns are longtext; MySQL's TEXT would refuse (or cut) anything over 64 KiB."""
    content = "0123456789abcdef" * 20000
    app = await started(backend)
    try:
        async with asgi_client(app) as client:
            form = {"dataId": "big", "group": "G", "content": content}
            assert (await client.post("/v1/cs/configs", data=form)).text == "true"
    finally:
        await app.stop()
    again = await started(backend)
    try:
        async with asgi_client(again) as client:
            assert (await client.get("/v1/cs/configs", params={"dataId": "big", "group": "G"})).text == content
    finally:
        await again.stop()


# One answer per value on every backend (characters.py): NUL, other control characters, characters outside
# the BMP, and values at and just past their column's width. PostgreSQL refused NUL with a 500 that SQLite
# stored; SQLite kept any length that PostgreSQL and MariaDB refused.
CONTROL = "a\x01\x1b[31m\x7fb\r\n\tc\u2028"
NON_BMP = "emoji 😀 𝄞 𠜎"
CFG = "/v1/cs/configs"
INSTANCE = "/v1/ns/instance"


def config(data_id: str = "v.yaml", **extra: str) -> dict[str, str]:
    return {"dataId": data_id, "group": "G", "content": "v", **extra}


def persistent(service: str, **extra: str) -> dict[str, str]:
    return {"serviceName": service, "ip": "10.0.0.8", "port": "80", "ephemeral": "false", **extra}


EDGE_WRITES: list[tuple[str, str, str, dict[str, str], int]] = [
    ("NUL in content", "POST", CFG, config(content="x\x00y"), 400),
    ("NUL in desc", "POST", CFG, config(desc="d\x00"), 400),
    ("NUL in a tag", "POST", CFG, config(config_tags="t\x00"), 400),
    ("NUL in a dataId", "POST", CFG, config("a\x00b"), 400),
    ("control characters in content", "POST", CFG, config("control.txt", content=CONTROL), 200),
    (
        "non-BMP content, desc and appName",
        "POST",
        CFG,
        config("emoji.txt", content=NON_BMP, desc="😀", appName="😀"),
        200,
    ),
    ("dataId of 255", "POST", CFG, config("d" * 255), 200),
    ("dataId of 256 (Nacos's filter allows it; the column is 255)", "POST", CFG, config("d" * 256), 400),
    ("appName of 128", "POST", CFG, config("app.txt", appName="😀" * 128), 200),
    ("appName of 129", "POST", CFG, config(appName="a" * 129), 400),
    ("src_user of 257", "POST", CFG, config(src_user="u" * 257), 400),
    ("encryptedDataKey of 1025", "POST", CFG, config(encryptedDataKey="k" * 1025), 400),
    ("content of 1 MiB, non-BMP", "POST", CFG, config("large.txt", content="😀" * 262144), 200),
    (
        "NUL in a namespace name",
        "POST",
        "/v1/console/namespaces",
        {"customNamespaceId": "n1", "namespaceName": "\x00"},
        400,
    ),
    (
        "non-BMP namespace name of 128",
        "POST",
        "/v1/console/namespaces",
        {"customNamespaceId": "n2", "namespaceName": "😀" * 128},
        200,
    ),
    ("NUL in a service name", "POST", INSTANCE, persistent("a\x00b"), 400),
    ("U+202E in a service name", "POST", INSTANCE, persistent("evil\u202egpj"), 400),
    ("control character in a service name", "POST", INSTANCE, persistent("bell\x07"), 400),
    ("non-BMP service name of 512", "POST", INSTANCE, persistent("😀" * 512), 200),
    ("service name of 513", "POST", INSTANCE, persistent("s" * 513), 400),
    ("NUL in metadata JSON", "POST", INSTANCE, persistent("meta-nul", metadata='{"k":"\\u0000"}'), 400),
    ("control and non-BMP metadata", "POST", INSTANCE, persistent("meta", metadata=json.dumps({"k😀": CONTROL})), 200),
    (
        "a switch number written with 300 leading zeros (stored as parsed)",
        "PUT",
        "/v1/ns/operator/switches",
        {"entry": "clientBeatInterval", "value": "0" * 300 + "7000"},
        200,
    ),
    ("NUL in a username", "POST", "/v1/auth/users", {"username": "u\x00", "password": "Passw0rd-long"}, 400),
    ("non-BMP username of 50", "POST", "/v1/auth/users", {"username": "😀" * 50, "password": "Passw0rd-long"}, 200),
    ("username of 51", "POST", "/v1/auth/users", {"username": "u" * 51, "password": "Passw0rd-long"}, 400),
    ("non-BMP role of 50", "POST", "/v1/auth/roles", {"role": "😀" * 50, "username": "😀" * 50}, 200),
    ("role of 51", "POST", "/v1/auth/roles", {"role": "r" * 51, "username": "😀" * 50}, 400),
    (
        "resource of 128",
        "POST",
        "/v1/auth/permissions",
        {"role": "😀" * 50, "resource": "😀" * 128, "action": "r"},
        200,
    ),
    ("resource of 129", "POST", "/v1/auth/permissions", {"role": "😀" * 50, "resource": "r" * 129, "action": "r"}, 400),
]


async def test_edge_values_get_one_answer_on_every_backend_and_what_is_stored_comes_back(backend: Settings) -> None:
    app = await started(backend.replace(auth_admin_enabled=False, auth_console_enabled=False))  # accounts open too
    try:
        async with asgi_client(app) as client:
            answers = {
                what: (await client.request(m, path, data=form)).status_code for what, m, path, form, _ in EDGE_WRITES
            }
    finally:
        await app.stop()
    assert answers == {what: status for what, _, _, _, status in EDGE_WRITES}
    again = await started(backend)
    try:
        async with asgi_client(again) as client:
            await assert_stored_values_come_back(again, client)
    finally:
        await again.stop()


async def assert_stored_values_come_back(app: NacosApp, client: httpx.AsyncClient) -> None:
    async def content(data_id: str) -> str:
        return (await client.get(CFG, params={"dataId": data_id, "group": "G"})).text

    assert await content("control.txt") == CONTROL
    assert await content("emoji.txt") == NON_BMP
    assert await content("large.txt") == "😀" * 262144
    assert await content("d" * 255) == "v"
    shown = (await client.get(CFG, params={"dataId": "emoji.txt", "group": "G", "show": "all"})).json()
    assert (shown["desc"], shown["appName"]) == ("😀", "😀")
    assert app.configs.get(ConfigKey("", "G", "app.txt")).app_name == "😀" * 128  # type: ignore[union-attr]
    assert app.namespaces.get("n2").name == "😀" * 128
    hosts = (await client.get(INSTANCE + "/list", params={"serviceName": "😀" * 512})).json()["hosts"]
    assert [h["ip"] for h in hosts] == ["10.0.0.8"]
    meta = (await client.get(INSTANCE + "/list", params={"serviceName": "meta"})).json()["hosts"]
    assert meta[0]["metadata"] == {"k😀": CONTROL}
    assert "😀" * 50 in app.auth.accounts.directory.users
    assert app.naming.switches.client_beat_interval == 7000
    assert [(p.role, p.resource) for p in app.auth.accounts.directory.permissions] == [("😀" * 50, "😀" * 128)]
