"""Nacos 3.x console API `/v3/console/**` (protocol-v3 G.7), in process: every route's envelope, codes, field
names and types, the error documents of missing and bad parameters, and auth with the console scope on (3.x's
default: a login and a permission, whatever `nacos.core.auth.enabled` says) and off.

Servers: `client` with every scope off (the API's behaviour), `guarded` with 3.x's defaults, an admin and a
user `u1` who may only read namespace `dev`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, USER_PASSWORD, login
from tests.server.support import read_zip
from tests.server.test_v3_config_auth import BASIC_FIELDS, CONFIG_DETAIL_FIELDS, USER_NOT_FOUND, export_of
from tests.server.test_v3_naming_core import (
    INSTANCE_ERROR,
    INSTANCE_KEYS,
    INVALID,
    MEMBER_KEYS,
    MISSING,
    NAMESPACE_EXISTS,
    NAMESPACE_MISSING,
    NOT_FOUND,
    NOT_FOUND_30000,
    SERVICE_MISSING,
    SERVICE_NOT_EMPTY,
    WEIGHT,
    failed,
    ok,
    refused,
)

CONSOLE = "/v3/console"
CONFIG = f"{CONSOLE}/cs/config"
HISTORY = f"{CONSOLE}/cs/history"
NAMESPACE = f"{CONSOLE}/core/namespace"
SERVICE = f"{CONSOLE}/ns/service"
INSTANCE = f"{CONSOLE}/ns/instance"
KEY_V3 = {"dataId": "a.yaml", "groupName": "DEFAULT_GROUP"}
GRAY_FIELDS = [*CONFIG_DETAIL_FIELDS, "grayName", "grayRule"]
HISTORY_FIELDS = [*BASIC_FIELDS, "srcIp", "srcUser", "opType", "publishType"]
NAMESPACE_FIELDS = ["namespace", "namespaceShowName", "namespaceDesc", "quota", "configCount", "type"]
PAGE_FIELDS = ["totalCount", "pageNumber", "pagesAvailable", "pageItems"]
PERMISSION_DENIED = "Code: 403, Message: authorization failed!."


def missing_param(name: str, kind: str = "String") -> str:
    """Spring's text for an absent `@RequestParam` (G.1.3)."""
    return f"Required request parameter '{name}' for method parameter type {kind} is not present"


def form_missing(name: str, kind: str = "String") -> str:
    """The 3.x forms' own text for a blank required field."""
    return f"Required parameter '{name}' type {kind} is not present"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=str(tmp_path), auth_admin_enabled=False, auth_console_enabled=False)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[NacosApp]:
    server = await started(settings)
    yield server
    await server.stop()


@pytest.fixture
async def client(app: NacosApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as http_client:
        yield http_client


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], dict[str, str]]]:
    """3.x's default switches (core auth off, console scope on); (client, admin token, u1 token) params."""
    server = await started(Settings(home=str(tmp_path), token_secret_key=KEY))
    await server.auth.accounts.create_admin(ADMIN_PASSWORD)
    await server.namespaces.create("dev", "dev", None)
    await server.auth.accounts.create_user("u1", USER_PASSWORD)
    await server.auth.accounts.add_role("dev-r", "u1")
    await server.auth.accounts.add_permission("dev-r", "dev:*:*", "r")
    try:
        async with asgi_client(server) as http_client:
            admin = {"accessToken": await login(http_client, "nacos", ADMIN_PASSWORD)}
            user = {"accessToken": await login(http_client, "u1", USER_PASSWORD)}
            yield http_client, admin, user
    finally:
        await server.stop()


async def publish(client: httpx.AsyncClient, content: str = "k: v", **extra: str) -> None:
    assert ok(await client.post(CONFIG, data={**KEY_V3, "content": content, **extra})) is True


async def config_id(client: httpx.AsyncClient, **extra: str) -> str:
    value: str = ok(await client.get(CONFIG, params={**KEY_V3, **extra}))["id"]
    return value


# -- server state, texts, health (G.7.2) ------------------------------------------------------------


async def test_server_state_is_the_bare_string_map_with_the_console_scope(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{CONSOLE}/server/state")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    state = response.json()
    assert "code" not in state and all(v is None or isinstance(v, str) for v in state.values())
    assert {"version", "startup_mode", "server_port", "auth_system_type", "maxContent"} <= set(state)
    v1_state = (await client.get("/v1/console/server/state")).json()
    assert state == v1_state  # every scope off: the console's auth keys agree with the v1 map
    assert (state["auth_enabled"], state["login_page_enabled"], state["auth_admin_request"]) == ("false",) * 3


async def test_server_state_says_whether_the_console_needs_a_login(tmp_path: Path) -> None:
    """3.x defaults with core auth off: the console needs a login (v1's map says auth is off), and with no
    admin yet the console's first screen is the admin password page."""
    server = await started(Settings(home=str(tmp_path), token_secret_key=KEY))
    try:
        async with asgi_client(server) as client:
            state = (await client.get(f"{CONSOLE}/server/state")).json()
            assert (state["auth_enabled"], state["login_page_enabled"], state["auth_admin_request"]) == ("true",) * 3
            assert (await client.get("/v1/console/server/state")).json()["auth_enabled"] == "false"
            await server.auth.accounts.create_admin(ADMIN_PASSWORD)
            assert (await client.get(f"{CONSOLE}/server/state")).json()["auth_admin_request"] == "false"
    finally:
        await server.stop()


async def test_announcement_and_guide_read_the_two_shipped_languages_only(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    announcement, guide = f"{CONSOLE}/server/announcement", f"{CONSOLE}/server/guide"
    assert ok(await client.get(announcement)) is None
    assert ok(await client.get(guide)) is None
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "announcement_zh-CN.conf").write_text("公告", "utf-8")
    (conf / "announcement_en-US.conf").write_text("notice", "utf-8")
    (conf / "console-guide.conf").write_text("guide", "utf-8")
    (conf / "announcement_fr.conf").write_text("never read", "utf-8")
    assert ok(await client.get(announcement)) == "公告"  # zh-CN by default
    assert ok(await client.get(announcement, params={"language": "en-US"})) == "notice"
    assert ok(await client.get(guide)) == "guide"
    for language in ("fr", "../application.properties", "en-us"):
        response = await client.get(announcement, params={"language": language})
        assert response.status_code == 200
        assert response.json() == {"code": 30000, "message": f"Unsupported language: {language}", "data": None}


async def test_liveness_readiness_and_no_ai_routes(client: httpx.AsyncClient) -> None:
    assert ok(await client.get(f"{CONSOLE}/health/liveness")) == "ok"
    assert ok(await client.get(f"{CONSOLE}/health/readiness")) == "ok"
    assert (await client.get(f"{CONSOLE}/ai/mcp/list")).status_code == 404


async def test_readiness_is_a_failure_document_while_data_loads(tmp_path: Path) -> None:
    server = NacosApp(Settings(home=str(tmp_path), auth_admin_enabled=False, auth_console_enabled=False))
    await server.start()
    server.ready.clear()  # the background load may already be done: show the not-ready answer
    try:
        async with asgi_client(server) as client:
            response = await client.get(f"{CONSOLE}/health/readiness")
            assert response.status_code == 503
            assert response.json()["code"] == 30000
            assert (await client.get(f"{CONSOLE}/health/liveness")).status_code == 200
            assert (await client.get(f"{CONSOLE}/server/state")).status_code == 200
    finally:
        await server.stop()


# -- namespaces and cluster (G.4 shapes) ------------------------------------------------------------


async def test_namespace_lifecycle_with_the_console_names(client: httpx.AsyncClient) -> None:
    created = {"customNamespaceId": "dev", "namespaceName": "Dev", "namespaceDesc": "d"}
    assert ok(await client.post(NAMESPACE, data=created)) is True
    listed = ok(await client.get(f"{NAMESPACE}/list"))
    assert [n["namespace"] for n in listed] == ["public", "dev"]
    assert all(list(n) == NAMESPACE_FIELDS for n in listed)
    dev = ok(await client.get(NAMESPACE, params={"namespaceId": "dev"}))
    assert (dev["namespaceShowName"], dev["namespaceDesc"], dev["type"], dev["configCount"]) == ("Dev", "d", 1, 0)
    assert ok(await client.put(NAMESPACE, data={"namespaceId": "dev", "namespaceName": "Dev2"})) is True
    assert ok(await client.get(NAMESPACE, params={"namespaceId": "dev"}))["namespaceShowName"] == "Dev2"
    exist = f"{NAMESPACE}/exist"
    for custom, expected in (("dev", True), ("public", True), ("nope", False), ("", False), ("  ", False)):
        assert ok(await client.get(exist, params={"customNamespaceId": custom})) is expected, custom
    assert ok(await client.delete(NAMESPACE, params={"namespaceId": "dev"})) is True
    assert ok(await client.get(exist, params={"customNamespaceId": "dev"})) is False
    assert ok(await client.post(NAMESPACE, data={"customNamespaceId": " ", "namespaceName": "generated"})) is True
    generated = ok(await client.get(f"{NAMESPACE}/list"))[1]
    assert (len(generated["namespace"]), generated["namespaceShowName"]) == (36, "generated")  # a UUID
    assert ok(await client.post(NAMESPACE, data={"customNamespaceId": " trimmed ", "namespaceName": "t"})) is True
    assert ok(await client.get(exist, params={"customNamespaceId": "trimmed"})) is True


async def test_namespace_refusals(client: httpx.AsyncClient) -> None:
    await client.post(NAMESPACE, data={"customNamespaceId": "dev", "namespaceName": "Dev"})
    failed(
        await client.post(NAMESPACE, data={"customNamespaceId": "x"}),
        MISSING,
        "required parameter 'namespaceName' is missing",
    )
    failed(
        await client.post(NAMESPACE, data={"customNamespaceId": "dev", "namespaceName": "again"}),
        NAMESPACE_EXISTS,
        "namespaceId [dev] already exist.",
    )
    failed(
        await client.post(NAMESPACE, data={"customNamespaceId": "public", "namespaceName": "p"}),
        NAMESPACE_EXISTS,
        "namespaceId [public] is default namespace id and already exist.",
    )
    illegal = await client.post(NAMESPACE, data={"customNamespaceId": "a/b", "namespaceName": "x"})
    assert (illegal.status_code, illegal.headers["content-type"]) == (400, "text/plain;charset=UTF-8")
    failed(await client.get(f"{NAMESPACE}/exist"), MISSING, missing_param("customNamespaceId"))
    failed(await client.get(NAMESPACE), MISSING, missing_param("namespaceId"))
    failed(
        await client.get(NAMESPACE, params={"namespaceId": "nope"}), NAMESPACE_MISSING, "namespaceId [ nope ] not exist"
    )
    failed(
        await client.put(NAMESPACE, data={"namespaceId": "dev"}),
        MISSING,
        "required parameter 'namespaceName' is missing",
    )
    assert len(ok(await client.get(f"{NAMESPACE}/list"))) == 2  # nothing refused was created


async def test_cluster_nodes_filter_by_address_prefix(client: httpx.AsyncClient) -> None:
    nodes = f"{CONSOLE}/core/cluster/nodes"
    members = ok(await client.get(nodes))
    assert len(members) == 1 and list(members[0]) == MEMBER_KEYS
    address = members[0]["address"]
    assert ok(await client.get(nodes, params={"keyword": address.split(".")[0]})) == members
    assert ok(await client.get(nodes, params={"keyword": "no-such-host"})) == []


# -- configs (G.2 shapes) ---------------------------------------------------------------------------


async def test_config_publish_get_delete_and_their_errors(client: httpx.AsyncClient) -> None:
    await publish(client, type="yaml", desc="d", configTags="t1", appName="app")
    detail = ok(await client.get(CONFIG, params=KEY_V3))
    assert list(detail) == CONFIG_DETAIL_FIELDS
    assert (detail["content"], detail["namespaceId"], detail["type"], detail["configTags"]) == (
        "k: v",
        "public",
        "yaml",
        "t1",
    )
    assert isinstance(detail["id"], str) and isinstance(detail["modifyTime"], int)
    assert (await client.get("/v1/cs/configs", params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})).text == "k: v"
    failed(await client.get(CONFIG, params={"dataId": "a.yaml"}), MISSING, form_missing("groupName"))
    failed(await client.post(CONFIG, data=KEY_V3), MISSING, form_missing("content"))
    failed(
        await client.get(CONFIG, params={**KEY_V3, "dataId": "b"}),
        NOT_FOUND,
        "Config not exist, please publish Config first.",
    )
    illegal = await client.get(CONFIG, params={**KEY_V3, "dataId": "a b"})
    assert (illegal.status_code, illegal.headers["content-type"]) == (400, "text/plain;charset=UTF-8")
    assert ok(await client.delete(CONFIG, params=KEY_V3)) is True
    assert ok(await client.delete(CONFIG, params=KEY_V3)) is True  # absent: still true
    failed(await client.get(CONFIG, params=KEY_V3), NOT_FOUND, "Config not exist, please publish Config first.")


async def test_batch_delete_by_ids(client: httpx.AsyncClient) -> None:
    await publish(client)
    await publish(client, dataId="b.yaml")
    ids = [await config_id(client), await config_id(client, dataId="b.yaml")]
    failed(await client.delete(f"{CONFIG}/batchDelete"), MISSING, missing_param("ids", "List"))
    assert ok(await client.delete(f"{CONFIG}/batchDelete", params={"ids": f"{ids[0]},{ids[1]},999"})) is True
    assert ok(await client.get(f"{CONFIG}/list"))["totalCount"] == 0


async def test_list_is_always_blur_and_search_detail_filters_content(client: httpx.AsyncClient) -> None:
    await publish(client, content="needle")
    await publish(client, dataId="ab.yaml", content="hay")
    await publish(client, dataId="x.yaml", groupName="G2", content="needle too")
    page = ok(await client.get(f"{CONFIG}/list", params={"dataId": "a*", "search": "accurate", "configDetail": "hay"}))
    assert list(page) == PAGE_FIELDS
    assert sorted(c["dataId"] for c in page["pageItems"]) == ["a.yaml", "ab.yaml"]  # blur; no content filter
    assert all(list(c) == BASIC_FIELDS for c in page["pageItems"])
    exact = ok(await client.get(f"{CONFIG}/list", params={"dataId": "a"}))  # no implicit wildcard
    assert exact["totalCount"] == 0
    one = ok(await client.get(f"{CONFIG}/list", params={"pageNo": 2, "pageSize": 1}))
    assert (one["totalCount"], one["pageNumber"], one["pagesAvailable"], len(one["pageItems"])) == (3, 2, 3, 1)
    failed(
        await client.get(f"{CONFIG}/list", params={"pageNo": 0}),
        INVALID,
        "Required parameter 'pageNo' should be positive integer, current is 0",
    )
    detail = f"{CONFIG}/searchDetail"
    found = ok(await client.get(detail, params={"configDetail": "*needle*"}))
    assert sorted(c["dataId"] for c in found["pageItems"]) == ["a.yaml", "x.yaml"]
    accurate = ok(await client.get(detail, params={"dataId": "a.yaml", "search": "accurate"}))
    assert [c["dataId"] for c in accurate["pageItems"]] == ["a.yaml"]
    assert ok(await client.get(detail, params={"dataId": "a", "search": "accurate"}))["totalCount"] == 0
    groups = ok(await client.get(detail, params={"groupName": "G2"}))
    assert [c["dataId"] for c in groups["pageItems"]] == ["x.yaml"]


async def test_listeners_of_a_config_and_of_an_ip(client: httpx.AsyncClient) -> None:
    listener = ok(await client.get(f"{CONFIG}/listener", params=KEY_V3))
    assert listener == {"queryType": "config", "listenersStatus": {}}
    failed(await client.get(f"{CONFIG}/listener", params={"dataId": "a"}), MISSING, form_missing("groupName"))
    by_ip = ok(await client.get(f"{CONFIG}/listener/ip", params={"ip": "10.0.0.1", "all": "true"}))
    assert by_ip == {"queryType": "ip", "listenersStatus": {}}
    failed(await client.get(f"{CONFIG}/listener/ip"), MISSING, missing_param("ip"))


async def test_beta_read_and_stop(client: httpx.AsyncClient, app: NacosApp) -> None:
    await publish(client)
    beta_publish = await client.post(CONFIG, data={**KEY_V3, "content": "beta"}, headers={"betaIps": "10.0.0.9"})
    assert ok(beta_publish) is True
    beta = ok(await client.get(f"{CONFIG}/beta", params=KEY_V3))
    assert list(beta) == GRAY_FIELDS
    assert (beta["grayName"], beta["content"], beta["namespaceId"]) == ("beta", "beta", "public")
    assert "10.0.0.9" in beta["grayRule"]
    assert ok(await client.delete(f"{CONFIG}/beta", params=KEY_V3)) is True
    failed(await client.get(f"{CONFIG}/beta", params=KEY_V3), NOT_FOUND, "Config is not in beta.")
    failed(await client.delete(f"{CONFIG}/beta", params={"dataId": "a"}), MISSING, form_missing("groupName"))


async def test_beta_stop_that_fails_in_storage_is_the_console_failure_document(
    client: httpx.AsyncClient, app: NacosApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def storage_down(*args: Any) -> bool:
        raise OperationalError("DELETE FROM config_info_gray", {}, Exception("database is locked"))

    monkeypatch.setattr(app.configs, "remove_gray", storage_down)
    response = await client.delete(f"{CONFIG}/beta", params=KEY_V3)
    assert response.status_code == 200
    assert response.json() == {"code": 500, "message": "Internal Server Error", "data": False}


async def test_publish_with_a_beta_header_is_the_publish_helper(client: httpx.AsyncClient) -> None:
    """The console publishes through the admin handler: its CAS and gray rules hold."""
    await publish(client)
    md5 = ok(await client.get(CONFIG, params=KEY_V3))["md5"]
    stale = await client.post(CONFIG, data={**KEY_V3, "content": "x"}, headers={"casMd5": "0" * 32})
    failed(stale, (500, 20005, "resource conflict"), "Cas publish fail, server md5 may have changed.")
    fresh = await client.post(CONFIG, data={**KEY_V3, "content": "x"}, headers={"casMd5": md5})
    assert ok(fresh) is True


async def test_history_list_detail_previous_and_configs(client: httpx.AsyncClient) -> None:
    await publish(client, content="one")
    await publish(client, content="two")
    page = ok(await client.get(f"{HISTORY}/list", params=KEY_V3))
    items = page["pageItems"]
    assert [h["opType"] for h in items] == ["U", "I"] and all(list(h) == HISTORY_FIELDS for h in items)
    newest = items[0]["id"]
    detail = ok(await client.get(HISTORY, params={**KEY_V3, "nid": newest}))
    assert (detail["content"], detail["publishType"]) == ("one", "formal")
    assert {"content", "encryptedDataKey", "grayName", "extInfo"} <= set(detail)
    previous = ok(await client.get(f"{HISTORY}/previous", params={**KEY_V3, "id": await config_id(client)}))
    assert (previous["id"], previous["content"]) == (newest, "one")
    failed(await client.get(f"{HISTORY}/previous", params=KEY_V3), MISSING, missing_param("id", "Long"))
    failed(await client.get(HISTORY, params=KEY_V3), MISSING, missing_param("nid", "Long"))
    failed(
        await client.get(HISTORY, params={**KEY_V3, "nid": "999"}),
        NOT_FOUND,
        "certain config history for nid = 999 not exist",
    )
    configs = ok(await client.get(f"{HISTORY}/configs", params={"namespaceId": "public"}))
    assert [(c["dataId"], list(c)) for c in configs] == [("a.yaml", BASIC_FIELDS)]
    failed(await client.get(f"{HISTORY}/configs"), MISSING, missing_param("namespaceId"))


async def test_export_import_and_clone_with_the_console_names(client: httpx.AsyncClient) -> None:
    await client.post(NAMESPACE, data={"customNamespaceId": "dev", "namespaceName": "dev"})
    await publish(client, type="yaml")
    source_id = await config_id(client)
    exported = await client.get(f"{CONFIG}/export2", params={"ids": source_id})
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    assert exported.headers["content-disposition"].startswith("attachment;filename=nacos_config_export_")
    assert read_zip(exported.content)["DEFAULT_GROUP/a.yaml"] == "k: v"

    archive = export_of(("G1", "i.yaml", "imported"))
    imported = await client.post(
        f"{CONFIG}/import",
        params={"namespaceId": "dev", "srcUser": "importer"},
        files={"file": ("c.zip", archive, "application/zip")},
    )
    assert ok(imported) == {"succCount": 1, "skipCount": 0}
    history = ok(
        await client.get(f"{HISTORY}/list", params={"dataId": "i.yaml", "groupName": "G1", "namespaceId": "dev"})
    )
    assert history["pageItems"][0]["srcUser"] == "importer"
    no_file = await client.post(f"{CONFIG}/import", params={"namespaceId": "dev"})
    assert (no_file.status_code, no_file.json()["code"]) == (200, 100005)

    body = [{"cfgId": source_id, "dataId": "b.yaml", "group": "G2"}]
    cloned = await client.post(f"{CONFIG}/clone", params={"targetNamespaceId": "dev", "srcUser": "cloner"}, json=body)
    assert ok(cloned) == {"succCount": 1, "skipCount": 0}
    copy = ok(await client.get(CONFIG, params={"dataId": "b.yaml", "groupName": "G2", "namespaceId": "dev"}))
    assert (copy["content"], copy["type"], copy["createUser"]) == ("k: v", "yaml", "cloner")
    kept_names = await client.post(f"{CONFIG}/clone", params={"targetNamespaceId": "dev"}, json=[{"cfgId": source_id}])
    assert ok(kept_names)["succCount"] == 1
    assert ok(await client.get(CONFIG, params={**KEY_V3, "namespaceId": "dev"}))["content"] == "k: v"
    failed(await client.post(f"{CONFIG}/clone", json=body), MISSING, missing_param("targetNamespaceId"))
    empty = await client.post(f"{CONFIG}/clone", params={"targetNamespaceId": "dev"}, json=[])
    assert (empty.status_code, empty.json()["code"], empty.json()["message"]) == (
        200,
        100006,
        "No configuration selected",
    )
    unknown = await client.post(f"{CONFIG}/clone", params={"targetNamespaceId": "nope"}, json=body)
    assert (unknown.status_code, unknown.json()["code"]) == (200, 22001)
    bad_policy = await client.post(f"{CONFIG}/clone", params={"targetNamespaceId": "dev", "policy": "x"}, json=body)
    assert (bad_policy.status_code, bad_policy.json()["code"]) == (400, 20002)


# -- naming (G.3 shapes) ----------------------------------------------------------------------------


async def test_service_lifecycle_list_subscribers_selectors_and_cluster(client: httpx.AsyncClient) -> None:
    svc = {"serviceName": "svc"}
    assert ok(await client.post(SERVICE, data={**svc, "protectThreshold": "0.5", "metadata": '{"a":"b"}'})) == "ok"
    detail = ok(await client.get(SERVICE, params=svc))
    assert list(detail)[:3] == ["namespaceId", "serviceName", "groupName"]
    assert (detail["ephemeral"], detail["protectThreshold"], detail["metadata"]) == (False, 0.5, {"a": "b"})
    assert ok(await client.put(SERVICE, data={**svc, "protectThreshold": "0.7"})) == "ok"
    page = ok(await client.get(f"{SERVICE}/list"))
    assert list(page) == PAGE_FIELDS and [s["name"] for s in page["pageItems"]] == ["svc"]
    subscribers = ok(await client.get(f"{SERVICE}/subscribers", params=svc))
    assert subscribers == {"totalCount": 0, "pageNumber": 1, "pagesAvailable": 0, "pageItems": []}
    assert ok(await client.get(f"{SERVICE}/selector/types")) == ["label", "none"]
    cluster = {**svc, "clusterName": "DEFAULT", "checkPort": "80", "useInstancePort4Check": "true"}
    assert ok(await client.put(f"{SERVICE}/cluster", data={**cluster, "healthChecker": '{"type":"NONE"}'})) == "ok"
    failed(await client.put(f"{SERVICE}/cluster", data=cluster), MISSING, form_missing("healthChecker"))
    failed(await client.get(SERVICE), MISSING, form_missing("serviceName"))
    failed(
        await client.get(SERVICE, params={"serviceName": "nope"}),
        SERVICE_MISSING,
        "service not found, namespace: public, serviceName: DEFAULT_GROUP@@nope",
    )
    await client.post("/v1/ns/instance", data={**svc, "ip": "10.0.0.1", "port": "80", "ephemeral": "false"})
    failed(
        await client.delete(SERVICE, params=svc),
        SERVICE_NOT_EMPTY,
        "Service DEFAULT_GROUP@@svc is not empty, can't be delete. Please unregister instance first",
    )
    failed(
        await client.delete(SERVICE, params={"serviceName": "other"}),
        SERVICE_MISSING,
        "service DEFAULT_GROUP@@other not found!",
    )
    assert ok(await client.post(SERVICE, data={"serviceName": "other"})) == "ok"
    assert ok(await client.delete(SERVICE, params={"serviceName": "other"})) == "ok"


async def test_instance_list_is_a_page_and_update_defaults_to_persistent(client: httpx.AsyncClient) -> None:
    svc = {"serviceName": "svc"}
    await client.post(SERVICE, data=svc)
    for port in ("80", "81"):
        form = {**svc, "ip": "10.0.0.1", "port": port, "ephemeral": "false"}
        assert (await client.post("/v1/ns/instance", data=form)).text == "ok"
    page = ok(await client.get(f"{INSTANCE}/list", params={**svc, "pageSize": 1, "pageNo": 2}))
    assert list(page) == PAGE_FIELDS
    assert (page["totalCount"], page["pageNumber"], page["pagesAvailable"]) == (2, 2, 2)
    (item,) = page["pageItems"]
    assert set(item) <= set(INSTANCE_KEYS) and (item["serviceName"], item["ephemeral"]) == ("DEFAULT_GROUP@@svc", False)
    assert ok(await client.post(f"{INSTANCE}/list", data=svc))["totalCount"] == 2  # any method lists

    update = {**svc, "ip": "10.0.0.1", "port": "80", "weight": "5", "enabled": "false", "metadata": '{"k":"v"}'}
    assert ok(await client.put(INSTANCE, data=update)) == "ok"
    shown = ok(await client.get(f"{INSTANCE}/list", params=svc))["pageItems"]
    changed = next(i for i in shown if i["port"] == 80)
    assert (changed["weight"], changed["enabled"], changed["metadata"]) == (5.0, False, {"k": "v"})
    v1_list = (await client.get("/v1/ns/instance/list", params=svc)).json()
    assert [h["port"] for h in v1_list["hosts"]] == [81]  # the disabled one is hidden from clients

    absent = {**update, "serviceName": "ghost"}
    failed(
        await client.put(INSTANCE, data=absent),
        INSTANCE_ERROR,
        "service not found, namespace: public, service: Service{namespace='public', group='DEFAULT_GROUP', "
        "name='ghost', ephemeral=false, revision=0}",
    )
    failed(
        await client.put(INSTANCE, data={**update, "weight": "10001"}),
        WEIGHT,
        "instance format invalid: The weights range from 0.0 to 10000.0",
    )
    failed(await client.put(INSTANCE, data=svc), MISSING, form_missing("ip"))
    failed(
        await client.get(f"{INSTANCE}/list", params={**svc, "pageNo": "0"}),
        INVALID,
        "Required parameter 'pageNo' should be positive integer, current is 0",
    )
    failed(
        await client.get(f"{INSTANCE}/list", params={"serviceName": "ghost"}),
        NOT_FOUND_30000,
        "service DEFAULT_GROUP@@ghost is not found!",
    )
    failed(
        await client.get(f"{INSTANCE}/list", params={**svc, "clusterName": "C2"}),
        NOT_FOUND_30000,
        "cluster C2 is not found!",
    )


# -- auth ---------------------------------------------------------------------------------------------


async def test_console_scope_needs_a_login_while_core_auth_is_off(guarded: Any) -> None:
    client, admin, user = guarded
    for path in (f"{CONFIG}/list", f"{NAMESPACE}/list", f"{SERVICE}/selector/types", f"{CONSOLE}/core/cluster/nodes"):
        response = await client.get(path)
        refused(response, path, USER_NOT_FOUND)
        assert response.json()["message"] == USER_NOT_FOUND
    bad_token = await client.get(f"{CONFIG}/list", params={"accessToken": "a.b.c"})
    assert bad_token.status_code == 403
    for path in ("/server/state", "/server/announcement", "/server/guide", "/health/liveness", "/health/readiness"):
        assert (await client.get(CONSOLE + path)).status_code == 200, path
    assert (await client.get("/v1/cs/configs", params={"dataId": "a", "group": "G"})).status_code == 404  # core: open


async def test_a_read_only_user_reads_but_may_not_write(guarded: Any) -> None:
    client, admin, user = guarded
    in_dev = {**KEY_V3, "namespaceId": "dev"}
    assert ok(await client.post(CONFIG, data={**in_dev, "content": "v"}, params=admin)) is True
    assert ok(await client.get(CONFIG, params={**in_dev, **user}))["content"] == "v"
    refused(await client.post(CONFIG, data={**in_dev, "content": "w"}, params=user), CONFIG, PERMISSION_DENIED)
    refused(await client.delete(CONFIG, params={**in_dev, **user}), CONFIG, PERMISSION_DENIED)
    refused(await client.get(CONFIG, params={**KEY_V3, **user}), CONFIG, PERMISSION_DENIED)  # public: no grant
    listed = ok(await client.get(f"{CONFIG}/list", params={"namespaceId": "dev", **user}))
    assert [c["dataId"] for c in listed["pageItems"]] == ["a.yaml"]
    config_id_dev = ok(await client.get(CONFIG, params={**in_dev, **admin}))["id"]
    clone = f"{CONFIG}/clone"
    body = [{"cfgId": config_id_dev, "dataId": "copy"}]
    refused(await client.post(clone, params={"targetNamespaceId": "dev", **user}, json=body), clone, PERMISSION_DENIED)
    assert ok(await client.post(clone, params={"targetNamespaceId": "dev", **admin}, json=body))["succCount"] == 1
    # identity only: any login
    assert [n["namespace"] for n in ok(await client.get(f"{NAMESPACE}/list", params=user))] == ["public", "dev"]
    assert ok(await client.get(f"{NAMESPACE}/exist", params={"customNamespaceId": "dev", **user})) is True
    assert ok(await client.get(f"{SERVICE}/selector/types", params=user)) == ["label", "none"]
    # fixed resources: admins only
    created = {"customNamespaceId": "qa", "namespaceName": "qa"}
    refused(await client.post(NAMESPACE, data={**created, **user}), NAMESPACE, PERMISSION_DENIED)
    refused(await client.get(NAMESPACE, params={"namespaceId": "dev", **user}), NAMESPACE, PERMISSION_DENIED)
    assert ok(await client.post(NAMESPACE, data={**created, **admin})) is True
    for path, params in (
        (f"{CONSOLE}/core/cluster/nodes", {}),
        (f"{CONFIG}/listener/ip", {"ip": "10.0.0.1"}),
    ):
        refused(await client.get(path, params={**params, **user}), path, PERMISSION_DENIED)
        assert ok(await client.get(path, params={**params, **admin})) is not None
    # naming: the parsed resource
    svc_dev = {"serviceName": "svc", "namespaceId": "dev"}
    refused(await client.post(SERVICE, data={**svc_dev, **user}), SERVICE, PERMISSION_DENIED)
    assert ok(await client.post(SERVICE, data={**svc_dev, **admin})) == "ok"
    assert ok(await client.get(SERVICE, params={**svc_dev, **user}))["serviceName"] == "svc"
    instance = {**svc_dev, "ip": "10.0.0.1", "port": "80", **user}
    refused(await client.put(INSTANCE, data=instance), INSTANCE, PERMISSION_DENIED)


async def test_console_scope_off_needs_no_login(tmp_path: Path) -> None:
    """`nacos.core.auth.console.enabled=false`: the console API is open, the admin API still is not."""
    server = await started(Settings(home=str(tmp_path), token_secret_key=KEY, auth_console_enabled=False))
    await server.auth.accounts.create_admin(ADMIN_PASSWORD)
    try:
        async with asgi_client(server) as client:
            await publish(client)
            assert ok(await client.get(CONFIG, params=KEY_V3))["content"] == "k: v"
            assert ok(await client.post(NAMESPACE, data={"customNamespaceId": "qa", "namespaceName": "qa"})) is True
            assert len(ok(await client.get(f"{CONSOLE}/core/cluster/nodes"))) == 1
            refused(await client.get("/v3/admin/cs/config", params=KEY_V3), "/v3/admin/cs/config", USER_NOT_FOUND)
            state = (await client.get(f"{CONSOLE}/server/state")).json()
            assert (state["auth_enabled"], state["login_page_enabled"]) == ("false", "false")
    finally:
        await server.stop()
