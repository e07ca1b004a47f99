"""Nacos 3.x config and auth APIs (protocol-v3 G.2, G.5, G.6) and the 3.x auth scopes (G.8.1), in process.

Three servers: `open_client` with every auth scope off (the API's behaviour), `default_client` with 3.x's
defaults (core auth off, admin and console scopes on: `/v3/admin/**` needs a login, the rest does not),
and `auth_client` with auth on everywhere and a user `u1` who may read and write namespace `dev` only.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from pynacos.cli import main
from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, USER_PASSWORD
from tests.server.support import CFG, GROUP, create_namespace, publish

ADMIN = "/v3/admin/cs"
CONFIG = f"{ADMIN}/config"
CLIENT = "/v3/client/cs/config"
AUTH = "/v3/auth"
KEY_V3 = {"dataId": "a.yaml", "groupName": GROUP}
OK = {"code": 0, "message": "success"}
BASIC_FIELDS = ["id", "namespaceId", "groupName", "dataId", "md5", "type", "appName", "createTime", "modifyTime"]
CONFIG_DETAIL_FIELDS = [*BASIC_FIELDS, "content", "desc", "encryptedDataKey", "createUser", "createIp", "configTags"]
USER_NOT_FOUND = "Code: 401, Message: User not found! Please check user exist or password is right!."


def ok(data: Any) -> dict[str, Any]:
    return {**OK, "data": data}


def missing(name: str) -> dict[str, Any]:
    return {
        "code": 10000,
        "message": "parameter missing",
        "data": f"Required parameter '{name}' type String is not present",
    }


async def client_for(settings: Settings, admin: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    app = await started(settings)
    if admin:
        await app.auth.accounts.create_admin(ADMIN_PASSWORD)
    try:
        async with asgi_client(app) as http_client:
            http_client.app = app  # type: ignore[attr-defined]
            yield http_client
    finally:
        await app.stop()


@pytest.fixture
async def open_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(home=str(tmp_path), auth_admin_enabled=False, auth_console_enabled=False)
    async for http_client in client_for(settings):
        yield http_client


@pytest.fixture
async def default_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for http_client in client_for(Settings(home=str(tmp_path), token_secret_key=KEY), admin=True):
        yield http_client


@pytest.fixture
async def auth_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY)
    async for http_client in client_for(settings, admin=True):
        app: NacosApp = http_client.app  # type: ignore[attr-defined]
        await app.namespaces.create("dev", "dev", None)
        await app.auth.accounts.create_user("u1", USER_PASSWORD)
        await app.auth.accounts.add_role("dev-rw", "u1")
        await app.auth.accounts.add_permission("dev-rw", "dev:*:*", "rw")
        yield http_client


async def token(client: httpx.AsyncClient, username: str = "nacos", password: str = ADMIN_PASSWORD) -> str:
    response = await client.post(f"{AUTH}/user/login", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    value: str = response.json()["accessToken"]
    return value


async def publish_v3(client: httpx.AsyncClient, content: str = "k: v", headers: Any = None, **extra: str) -> Any:
    response = await client.post(CONFIG, data={**KEY_V3, "content": content, **extra}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def export_of(*entries: tuple[str, str, str]) -> bytes:
    """A 3.x export: `<group>/<dataId>` entries and `.metadata.yml` naming each (group, dataId, type)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        meta = ["metadata:"]
        for group, data_id, content in entries:
            archive.writestr(f"{group}/{data_id}", content)
            meta += [f"- dataId: {data_id}", f"  group: {group}", "  type: yaml"]
        archive.writestr(".metadata.yml", "\n".join(meta) + "\n")
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- config: basics


async def test_publish_then_get_answers_config_detail_info(open_client: httpx.AsyncClient) -> None:
    assert await publish_v3(open_client, type="yaml", desc="d", configTags="t1,t2", appName="app") == ok(True)
    response = await open_client.get(CONFIG, params=KEY_V3)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["code", "message", "data"] and body["code"] == 0
    data = body["data"]
    assert list(data) == CONFIG_DETAIL_FIELDS
    assert isinstance(data["id"], str) and data["id"].isdigit()
    assert (data["namespaceId"], data["groupName"], data["dataId"], data["type"]) == ("public", GROUP, "a.yaml", "yaml")
    assert (data["content"], data["desc"], data["configTags"], data["appName"]) == ("k: v", "d", "t1,t2", "app")
    assert isinstance(data["createTime"], int) and data["createTime"] > 0
    assert data["createIp"] == "127.0.0.1"


async def test_missing_and_blank_names_are_400_parameter_missing(open_client: httpx.AsyncClient) -> None:
    no_group = await open_client.get(CONFIG, params={"dataId": "a.yaml", "group": GROUP})
    assert (no_group.status_code, no_group.json()) == (400, missing("groupName"))
    blank_id = await open_client.get(CONFIG, params={"dataId": " ", "groupName": GROUP})
    assert (blank_id.status_code, blank_id.json()) == (400, missing("dataId"))
    no_content = await open_client.post(CONFIG, data=KEY_V3)
    assert (no_content.status_code, no_content.json()) == (400, missing("content"))


async def test_absent_config_is_404_resource_not_found(open_client: httpx.AsyncClient) -> None:
    response = await open_client.get(CONFIG, params=KEY_V3)
    assert response.status_code == 404
    assert response.json() == {
        "code": 20004,
        "message": "resource not found",
        "data": "Config not exist, please publish Config first.",
    }


async def test_illegal_characters_meet_the_parameter_checker_as_plain_text(open_client: httpx.AsyncClient) -> None:
    response = await open_client.get(CONFIG, params={"dataId": "a b", "groupName": GROUP})
    assert response.status_code == 400
    assert response.text.startswith("Param 'dataId' is illegal")


async def test_blank_namespace_is_public_and_shared_with_v1_and_v2(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client, content="from v3", namespaceId="")
    assert (await open_client.get(CFG, params={"dataId": "a.yaml", "group": GROUP})).text == "from v3"
    v2 = await open_client.get("/v2/cs/config", params={"dataId": "a.yaml", "group": GROUP, "namespaceId": "public"})
    assert v2.json()["data"] == "from v3"
    assert await publish(open_client, content="from v1") == "200 true"
    response = await open_client.get(CONFIG, params={**KEY_V3, "namespaceId": "public"})
    assert response.json()["data"]["content"] == "from v1"


async def test_delete_answers_true_even_when_absent(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client)
    assert (await open_client.delete(CONFIG, params=KEY_V3)).json() == ok(True)
    assert (await open_client.get(CONFIG, params=KEY_V3)).status_code == 404
    assert (await open_client.delete(CONFIG, params=KEY_V3)).json() == ok(True)


async def test_cas_conflict_is_500_resource_conflict(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client)
    response = await open_client.post(CONFIG, data={**KEY_V3, "content": "x"}, headers={"casMd5": "0" * 32})
    assert response.status_code == 500
    assert response.json() == {
        "code": 20005,
        "message": "resource conflict",
        "data": "Cas publish fail, server md5 may have changed.",
    }


async def test_batch_delete_by_ids_skips_unknown_ids(open_client: httpx.AsyncClient) -> None:
    await create_namespace(open_client, "dev")
    await publish_v3(open_client)
    await publish_v3(open_client, namespaceId="dev")
    ids = [
        (await open_client.get(CONFIG, params={**KEY_V3, "namespaceId": ns})).json()["data"]["id"] for ns in ("", "dev")
    ]
    response = await open_client.delete(f"{CONFIG}/batch", params={"ids": ",".join([*ids, "999"])})
    assert response.json() == ok(True)
    for ns in ("", "dev"):
        assert (await open_client.get(CONFIG, params={**KEY_V3, "namespaceId": ns})).status_code == 404


async def test_metadata_changes_tags_and_description_only(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client, desc="old", configTags="a")
    before = (await open_client.get(CONFIG, params=KEY_V3)).json()["data"]
    response = await open_client.put(f"{CONFIG}/metadata", data={**KEY_V3, "desc": "new", "configTags": "b,c"})
    assert response.json() == ok(True)
    after = (await open_client.get(CONFIG, params=KEY_V3)).json()["data"]
    assert (after["desc"], after["configTags"], after["md5"], after["content"]) == ("new", "b,c", before["md5"], "k: v")
    absent = await open_client.put(f"{CONFIG}/metadata", data={"dataId": "none", "groupName": GROUP, "desc": "x"})
    assert (absent.status_code, absent.json()["code"]) == (404, 20004)


# --------------------------------------------------------------------------------------------- config: list


async def test_list_is_a_blur_page_of_config_basic_info(open_client: httpx.AsyncClient) -> None:
    for name, content in (("a.yaml", "alpha"), ("ab.yaml", "beta"), ("b.yaml", "alpha")):
        await publish_v3(open_client, content=content, dataId=name)
    response = await open_client.get(f"{CONFIG}/list", params={"dataId": "a*", "pageNo": 1, "pageSize": 10})
    page = response.json()["data"]
    assert list(page) == ["totalCount", "pageNumber", "pagesAvailable", "pageItems"]
    assert (page["totalCount"], [i["dataId"] for i in page["pageItems"]]) == (2, ["a.yaml", "ab.yaml"])
    assert list(page["pageItems"][0]) == BASIC_FIELDS
    exact = await open_client.get(f"{CONFIG}/list", params={"dataId": "a", "search": "blur"})
    assert exact.json()["data"]["totalCount"] == 0  # no implicit wildcard
    accurate = await open_client.get(f"{CONFIG}/list", params={"dataId": "b.yaml", "search": "accurate"})
    assert accurate.json()["data"]["totalCount"] == 1
    content = await open_client.get(f"{CONFIG}/list", params={"configDetail": "alpha"})
    assert content.json()["data"]["totalCount"] == 2


async def test_list_refuses_a_page_below_one(open_client: httpx.AsyncClient) -> None:
    response = await open_client.get(f"{CONFIG}/list", params={"pageNo": 0})
    assert response.status_code == 400
    assert response.json() == {
        "code": 20002,
        "message": "parameter validate error",
        "data": "Required parameter 'pageNo' should be positive integer, current is 0",
    }


# --------------------------------------------------------------------------------------------- config: gray


async def test_beta_publish_read_by_client_ip_and_stop(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client, content="formal")
    await publish_v3(open_client, content="beta", headers={"betaIps": "127.0.0.1"})
    beta = (await open_client.get(f"{CONFIG}/beta", params=KEY_V3)).json()["data"]
    assert (beta["grayName"], beta["content"], beta["namespaceId"]) == ("beta", "beta", "public")
    assert '"expr":"127.0.0.1"' in beta["grayRule"]
    assert (await open_client.get(CONFIG, params=KEY_V3)).json()["data"]["content"] == "formal"
    served = (await open_client.get(CLIENT, params=KEY_V3)).json()["data"]
    assert (served["content"], served["beta"], served["tag"]) == ("beta", True, None)
    assert (await open_client.delete(f"{CONFIG}/beta", params=KEY_V3)).json() == ok(True)
    gone = await open_client.get(f"{CONFIG}/beta", params=KEY_V3)
    assert (gone.status_code, gone.json()["data"]) == (404, "Config is not in beta.")
    assert (await open_client.get(CLIENT, params=KEY_V3)).json()["data"]["content"] == "formal"


async def test_delete_with_a_tag_stops_that_tag_version_only(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client, content="formal")
    await publish_v3(open_client, content="tagged", tag="t1")
    app: NacosApp = open_client.app  # type: ignore[attr-defined]
    assert app.configs.gray_named(app_key(), "tag_t1") is not None
    assert (await open_client.delete(CONFIG, params={**KEY_V3, "tag": "t1"})).json() == ok(True)
    assert app.configs.gray_named(app_key(), "tag_t1") is None
    assert (await open_client.get(CONFIG, params=KEY_V3)).json()["data"]["content"] == "formal"


def app_key() -> Any:
    from pynacos.server.config.models import ConfigKey

    return ConfigKey("", GROUP, "a.yaml")


# --------------------------------------------------------------------------------------------- config: history


async def test_history_list_detail_previous_and_configs(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client, content="v1")
    await publish_v3(open_client, content="v2")
    page = (await open_client.get(f"{ADMIN}/history/list", params=KEY_V3)).json()["data"]
    items = page["pageItems"]
    assert (page["totalCount"], [i["opType"] for i in items]) == (2, ["U", "I"])
    assert set(items[0]) >= {"id", "namespaceId", "groupName", "srcIp", "srcUser", "opType", "publishType"}
    assert (items[0]["md5"], items[0]["publishType"], items[0]["namespaceId"]) == (None, "formal", "public")
    nid = items[0]["id"]
    detail = (await open_client.get(f"{ADMIN}/history", params={**KEY_V3, "nid": nid})).json()["data"]
    assert (detail["id"], detail["content"], detail["opType"]) == (nid, "v1", "U")
    config_id = (await open_client.get(CONFIG, params=KEY_V3)).json()["data"]["id"]
    previous = await open_client.get(f"{ADMIN}/history/previous", params={**KEY_V3, "id": config_id})
    assert previous.json()["data"]["content"] == "v1"
    configs = (await open_client.get(f"{ADMIN}/history/configs", params={"namespaceId": ""})).json()["data"]
    assert [(c["dataId"], c["namespaceId"]) for c in configs] == [("a.yaml", "public")]


async def test_history_refusals(open_client: httpx.AsyncClient) -> None:
    absent = await open_client.get(f"{ADMIN}/history", params={**KEY_V3, "nid": 99})
    assert (absent.status_code, absent.json()) == (
        404,
        {"code": 20004, "message": "resource not found", "data": "certain config history for nid = 99 not exist"},
    )
    no_nid = await open_client.get(f"{ADMIN}/history", params=KEY_V3)
    assert (no_nid.status_code, no_nid.json()["code"]) == (400, 10000)
    assert no_nid.json()["data"] == "Required request parameter 'nid' for method parameter type Long is not present"
    no_ns = await open_client.get(f"{ADMIN}/history/configs")
    assert (no_ns.status_code, no_ns.json()["code"]) == (400, 10000)


# --------------------------------------------------------------------------------------------- config: transfer


async def test_export_import_and_clone(open_client: httpx.AsyncClient) -> None:
    await create_namespace(open_client, "dev")
    await publish_v3(open_client, type="yaml")
    exported = await open_client.get(f"{CONFIG}/export", params={"groupName": GROUP})
    assert exported.headers["content-type"] == "application/zip"
    assert exported.headers["content-disposition"].startswith("attachment;filename=nacos_config_export_")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert sorted(archive.namelist()) == [".metadata.yml", f"{GROUP}/a.yaml"]
    upload = {"file": ("c.zip", exported.content, "application/zip")}
    in_form = await open_client.post(f"{CONFIG}/import", data={"namespaceId": "dev"}, files=upload)
    assert (in_form.status_code, in_form.json()["code"]) == (400, 20002)  # never imported where it was not checked
    imported = await open_client.post(f"{CONFIG}/import", params={"namespaceId": "dev"}, files=upload)
    assert imported.json() == ok({"succCount": 1, "skipCount": 0})
    config_id = (await open_client.get(CONFIG, params=KEY_V3)).json()["data"]["id"]
    body = [{"configId": int(config_id), "targetGroupName": "G2", "targetDataId": "b.yaml"}]
    cloned = await open_client.post(f"{CONFIG}/clone", params={"namespaceId": "dev"}, json=body)
    assert cloned.json() == ok({"succCount": 1, "skipCount": 0})
    copy = await open_client.get(CONFIG, params={"dataId": "b.yaml", "groupName": "G2", "namespaceId": "dev"})
    assert copy.json()["data"]["content"] == "k: v"


async def test_import_and_clone_failures_are_http_200_with_3x_codes(open_client: httpx.AsyncClient) -> None:
    no_file = await open_client.post(f"{CONFIG}/import", data={"namespaceId": ""})
    assert (no_file.status_code, no_file.json()["code"], no_file.json()["message"]) == (
        200,
        100005,
        "Imported file data is empty",
    )
    zipped = export_of((GROUP, "a.yaml", "k: v"))
    unknown = await open_client.post(
        f"{CONFIG}/import", params={"namespaceId": "nope"}, files={"file": ("c.zip", zipped, "application/zip")}
    )
    assert (unknown.status_code, unknown.json()) == (
        200,
        {"code": 22001, "message": "namespace not exist", "data": {"succCount": 0}},
    )
    empty = await open_client.post(f"{CONFIG}/clone", params={"namespaceId": ""}, json=[])
    assert (empty.status_code, empty.json()["code"]) == (200, 100006)
    bad_policy = await open_client.post(f"{CONFIG}/clone", params={"namespaceId": "", "policy": "MERGE"}, json=[])
    assert (bad_policy.status_code, bad_policy.json()["code"]) == (400, 20002)


# --------------------------------------------------------------------------------------------- config: listeners


async def test_listeners_of_a_config_and_of_an_ip(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client, content="x")
    md5 = (await open_client.get(CONFIG, params=KEY_V3)).json()["data"]["md5"]
    poll = asyncio.create_task(
        open_client.post(
            "/v1/cs/configs/listener",
            data={"Listening-Configs": f"a.yaml\x02{GROUP}\x02{md5}\x01"},
            headers={"Long-Pulling-Timeout": "30000"},
        )
    )
    app: NacosApp = open_client.app  # type: ignore[attr-defined]
    while not app.hub.held:
        await asyncio.sleep(0.01)
    by_config = await open_client.get(f"{CONFIG}/listener", params=KEY_V3)
    assert by_config.json() == ok({"queryType": "config", "listenersStatus": {"127.0.0.1": md5}})
    by_ip = await open_client.get(f"{ADMIN}/listener", params={"ip": "127.0.0.1"})
    assert by_ip.json() == ok({"queryType": "ip", "listenersStatus": {f"a.yaml+{GROUP}": md5}})
    other = await open_client.get(f"{ADMIN}/listener", params={"ip": "10.0.0.1"})
    assert other.json()["data"]["listenersStatus"] == {}
    await publish_v3(open_client, content="y")  # releases the poll
    assert (await poll).status_code == 200


# --------------------------------------------------------------------------------------------- client read


async def test_client_read_answers_a_config_query_response(open_client: httpx.AsyncClient) -> None:
    await publish_v3(open_client, type="json", content="{}")
    response = await open_client.get(CLIENT, params=KEY_V3)
    data = response.json()["data"]
    assert response.json()["code"] == 0
    assert (data["content"], data["contentType"], data["beta"], data["tag"], data["success"]) == (
        "{}",
        "json",
        False,
        None,
        True,
    )
    assert (data["resultCode"], data["errorCode"], len(data["md5"])) == (200, 0, 32)
    assert isinstance(data["lastModified"], int)


async def test_client_read_failures(open_client: httpx.AsyncClient) -> None:
    absent = await open_client.get(CLIENT, params=KEY_V3)
    assert (absent.status_code, absent.json()) == (200, {"code": 20004, "message": "resource not found", "data": None})
    no_group = await open_client.get(CLIENT, params={"dataId": "a.yaml"})
    assert (no_group.status_code, no_group.text) == (
        400,
        "caused: Required parameter 'groupName' type String is not present;",
    )


# --------------------------------------------------------------------------------------------- 3.x auth scopes


async def test_admin_scope_needs_a_login_while_core_auth_is_off(default_client: httpx.AsyncClient) -> None:
    refused = await default_client.get(CONFIG, params=KEY_V3)
    assert refused.status_code == 403
    body = refused.json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert (body["status"], body["error"], body["message"], body["path"]) == (
        403,
        "Forbidden",
        USER_NOT_FOUND,
        "/nacos/v3/admin/cs/config",
    )
    bad = await default_client.get(CONFIG, params={**KEY_V3, "accessToken": "abc"})
    assert bad.json()["message"] == "Code: 401, Message: token invalid!."
    admin = await token(default_client)
    allowed = await default_client.get(CONFIG, params={**KEY_V3, "accessToken": admin})
    assert allowed.status_code == 404  # reached the handler
    # the client read and the v1 config routes follow nacos.core.auth.enabled (off)
    assert (await default_client.get(CLIENT, params=KEY_V3)).json()["code"] == 20004
    assert (await default_client.get(CFG, params={"dataId": "a.yaml", "group": GROUP})).status_code == 404


async def test_accounts_are_guarded_while_a_3x_scope_is_on(default_client: httpx.AsyncClient) -> None:
    """3.x leaves `/v3/auth/**` open on its main port while core auth is off: anyone could grant themself a
    permission (or, over v1, set the admin's password) and use the admin scope. Here they need the admin."""
    page = {"pageNo": 1, "pageSize": 5}
    listed = await default_client.get(f"{AUTH}/user/list", params=page)
    assert (listed.status_code, listed.json()["message"]) == (403, USER_NOT_FOUND)
    takeover = await default_client.put("/v1/auth/users", data={"username": "nacos", "newPassword": "Mine-Passw0rd!"})
    assert takeover.status_code == 403
    granted = await default_client.post(f"{AUTH}/permission", data={"role": "r", "resource": "*", "action": "rw"})
    assert granted.status_code == 403
    admin = await token(default_client)
    assert (await default_client.get(f"{AUTH}/user/list", params={**page, "accessToken": admin})).status_code == 200
    app: NacosApp = default_client.app  # type: ignore[attr-defined]
    app.auth.reload(app.settings.replace(auth_admin_enabled=False, auth_console_enabled=False))
    assert (await default_client.get(f"{AUTH}/user/list", params=page)).status_code == 200


async def test_scope_switches_are_read_again_on_reload(default_client: httpx.AsyncClient) -> None:
    app: NacosApp = default_client.app  # type: ignore[attr-defined]
    app.auth.reload(app.settings.replace(auth_admin_enabled=False))
    assert (await default_client.get(CONFIG, params=KEY_V3)).status_code == 404
    app.auth.reload(app.settings.replace(auth_admin_enabled=True))
    assert (await default_client.get(CONFIG, params=KEY_V3)).status_code == 403


async def test_permissions_decide_per_namespace_with_auth_on(auth_client: httpx.AsyncClient) -> None:
    user = await token(auth_client, "u1", USER_PASSWORD)
    form = {**KEY_V3, "content": "x", "accessToken": user}
    assert (await auth_client.post(CONFIG, data={**form, "namespaceId": "dev"})).json() == ok(True)
    denied = await auth_client.post(CONFIG, data=form)
    assert (denied.status_code, denied.json()["message"]) == (403, "Code: 403, Message: authorization failed!.")
    admin = await token(auth_client)
    await publish_v3(auth_client, accessToken=admin)
    listed = await auth_client.get(f"{CONFIG}/list", params={"namespaceId": "dev", "accessToken": user})
    assert listed.json()["data"]["totalCount"] == 1
    client_read = await auth_client.get(CLIENT, params={**KEY_V3, "namespaceId": "dev", "accessToken": user})
    assert client_read.json()["data"]["content"] == "x"
    anonymous = await auth_client.get(CLIENT, params=KEY_V3)
    assert (anonymous.status_code, anonymous.json()["message"]) == (403, USER_NOT_FOUND)
    users = await auth_client.get(f"{AUTH}/user/list", params={"pageNo": 1, "pageSize": 5, "accessToken": user})
    assert users.status_code == 403


async def test_batch_delete_needs_write_on_every_config_it_names(auth_client: httpx.AsyncClient) -> None:
    admin, user = await token(auth_client), await token(auth_client, "u1", USER_PASSWORD)
    await publish_v3(auth_client, accessToken=admin)
    config_id = (await auth_client.get(CONFIG, params={**KEY_V3, "accessToken": admin})).json()["data"]["id"]
    refused = await auth_client.delete(
        f"{CONFIG}/batch", params={"ids": config_id, "namespaceId": "dev", "accessToken": user}
    )
    assert refused.status_code == 403
    assert (await auth_client.get(CONFIG, params={**KEY_V3, "accessToken": admin})).status_code == 200


async def test_clone_is_checked_unlike_3x(auth_client: httpx.AsyncClient) -> None:
    """3.0.3 tags clone CONSOLE_API, so its server port never checks it; here it is an admin-scope write."""
    admin, user = await token(auth_client), await token(auth_client, "u1", USER_PASSWORD)
    await publish_v3(auth_client, content="secret", accessToken=admin)
    config_id = (await auth_client.get(CONFIG, params={**KEY_V3, "accessToken": admin})).json()["data"]["id"]
    anonymous = await auth_client.post(f"{CONFIG}/clone", params={"namespaceId": "dev"}, json=[{"configId": config_id}])
    assert anonymous.status_code == 403
    by_user = await auth_client.post(
        f"{CONFIG}/clone", params={"namespaceId": "dev", "accessToken": user}, json=[{"configId": config_id}]
    )
    assert (by_user.status_code, by_user.json()["code"]) == (200, 100005)  # the public source is not readable


# --------------------------------------------------------------------------------------------- auth API


async def test_users_roles_and_permissions_over_v3(open_client: httpx.AsyncClient) -> None:
    created = await open_client.post(f"{AUTH}/user", data={"username": "alice", "password": USER_PASSWORD})
    assert created.json() == ok("create user ok!")
    twice = await open_client.post(f"{AUTH}/user", data={"username": "alice", "password": USER_PASSWORD})
    assert (twice.status_code, twice.text) == (400, "caused: user 'alice' already exist!;")
    blank = await open_client.post(f"{AUTH}/user", data={"username": " ", "password": USER_PASSWORD})
    assert (blank.status_code, blank.text) == (400, "caused: username is blank;")
    page = await open_client.get(f"{AUTH}/user/list", params={"pageNo": 1, "pageSize": 10, "username": "ali*"})
    assert page.json()["data"]["totalCount"] == 0  # accurate by default
    blur = await open_client.get(
        f"{AUTH}/user/list", params={"pageNo": 1, "pageSize": 10, "username": "ali*", "search": "BLUR"}
    )
    assert blur.json()["data"]["pageItems"] == [{"username": "alice", "password": ""}]
    assert (await open_client.get(f"{AUTH}/user/search", params={"username": "lic"})).json() == ok(["alice"])
    no_page = await open_client.get(f"{AUTH}/user/list")
    assert no_page.status_code == 400
    assert (await open_client.post(f"{AUTH}/role", data={"role": "dev", "username": "alice"})).json() == ok(
        "add role ok!"
    )
    roles = await open_client.get(f"{AUTH}/role/list", params={"pageNo": 1, "pageSize": 10, "role": "dev"})
    assert roles.json()["data"]["pageItems"] == [{"role": "dev", "username": "alice"}]
    assert (await open_client.get(f"{AUTH}/role/search", params={"role": "de"})).json() == ok(["dev"])
    permission = {"role": "dev", "resource": "dev:*:*", "action": "rw"}
    assert (await open_client.post(f"{AUTH}/permission", data=permission)).json() == ok("add permission ok!")
    covered = {**permission, "action": "r"}
    assert (await open_client.get(f"{AUTH}/permission", params=covered)).json() == ok(True)
    perms = await open_client.get(f"{AUTH}/permission/list", params={"pageNo": 1, "pageSize": 10})
    assert perms.json()["data"]["pageItems"] == [permission]
    assert (await open_client.delete(f"{AUTH}/permission", params=permission)).json() == ok("delete permission ok!")
    assert (await open_client.delete(f"{AUTH}/role", params={"role": "dev"})).json() == ok("delete role of user  ok!")
    changed = await open_client.put(f"{AUTH}/user", data={"username": "alice", "newPassword": "Other-Passw0rd!"})
    assert changed.json() == ok("update user ok!")
    login = await open_client.post("/v1/auth/login", data={"username": "alice", "password": "Other-Passw0rd!"})
    assert login.status_code == 200
    old = await open_client.post("/v1/auth/login", data={"username": "alice", "password": USER_PASSWORD})
    assert old.status_code == 403
    assert (await open_client.delete(f"{AUTH}/user", params={"username": "alice"})).json() == ok("delete user ok!")


async def test_first_admin_over_v3(open_client: httpx.AsyncClient) -> None:
    created = await open_client.post(f"{AUTH}/user/admin", data={"password": ADMIN_PASSWORD})
    assert created.json() == ok({"username": "nacos", "password": ADMIN_PASSWORD})
    again = await open_client.post(f"{AUTH}/user/admin", data={"password": ADMIN_PASSWORD})
    assert (again.status_code, again.json()) == (
        200,
        {"code": 409, "message": "have admin user cannot use it.", "data": None},
    )
    reserved = await open_client.post(f"{AUTH}/user", data={"username": "nacos", "password": USER_PASSWORD})
    assert reserved.status_code == 400


async def test_a_user_created_over_v3_logs_in_over_v1(auth_client: httpx.AsyncClient) -> None:
    admin = await token(auth_client)
    form = {"username": "bob", "password": USER_PASSWORD, "accessToken": admin}
    assert (await auth_client.post(f"{AUTH}/user", data=form)).json() == ok("create user ok!")
    login = await auth_client.post("/v1/auth/login", data={"username": "bob", "password": USER_PASSWORD})
    assert (login.status_code, login.json()["username"]) == (200, "bob")


async def test_password_change_is_self_or_admin(auth_client: httpx.AsyncClient) -> None:
    user = await token(auth_client, "u1", USER_PASSWORD)
    other = await auth_client.put(
        f"{AUTH}/user", data={"username": "nacos", "newPassword": "x" * 12, "accessToken": user}
    )
    assert (other.status_code, other.json()["message"]) == (403, "authorization failed!")
    own = await auth_client.put(
        f"{AUTH}/user", data={"username": "u1", "newPassword": "New-Passw0rd!", "accessToken": user}
    )
    assert own.json() == ok("update user ok!")


async def test_v1_permissions_without_search(open_client: httpx.AsyncClient) -> None:
    """2.5.1: without `search` it is the duplicate check (role, resource, action required); a page request
    without them gets the page rather than a `false` about nothing."""
    await open_client.post(f"{AUTH}/user", data={"username": "alice", "password": USER_PASSWORD})
    await open_client.post(f"{AUTH}/role", data={"role": "dev", "username": "alice"})
    await open_client.post(f"{AUTH}/permission", data={"role": "dev", "resource": "dev:*:*", "action": "r"})
    page = await open_client.get("/v1/auth/permissions", params={"pageNo": 1, "pageSize": 10})
    assert page.json()["pageItems"] == [{"role": "dev", "resource": "dev:*:*", "action": "r"}]
    check = await open_client.get("/v1/auth/permissions", params={"role": "dev", "resource": "dev:*:*", "action": "r"})
    assert check.json() == ok(True)
    partial = await open_client.get("/v1/auth/permissions", params={"role": "dev"})
    assert partial.status_code == 400
    assert "'resource'" in partial.text


# --------------------------------------------------------------------------------------------- doctor


def test_doctor_warns_about_the_3x_scopes(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "application.properties").write_text("nacos.core.auth.admin.enabled=false\n")
    output = CliRunner().invoke(main, ["doctor", "--home", str(tmp_path)]).output
    assert "nacos.core.auth.admin.enabled=false: /v3/admin/**" in output
    assert "nacos.core.auth.console.enabled=false" not in output
    assert "no usable token secret key" in output  # the console scope is still on, and logins give no token
    (conf / "application.properties").write_text(f"nacos.core.auth.plugin.nacos.token.secret.key={KEY}\n")
    output = CliRunner().invoke(main, ["doctor", "--home", str(tmp_path)]).output
    assert "/v3/" not in output
