"""A real server with Nacos 3.x's default auth switches: the v3 APIs and the v1/v2 APIs share one store.

One server for the module: each test works on its own names."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.server_process import ServerProcess

KEY = base64.b64encode(bytes(range(90, 130))).decode()
ADMIN_PASSWORD = "Admin-Passw0rd!"
USER_PASSWORD = "User-Passw0rd!"
V3_CONFIG = "/v3/admin/cs/config"
CONSOLE = "/v3/console"
SUCCESS = {"code": 0, "message": "success"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("v3") / "home"
    process = ServerProcess(home, {"nacos.core.auth.plugin.nacos.token.secret.key": KEY})
    process.start()
    try:
        with httpx.Client(base_url=process.base, timeout=10) as http:
            assert http.post("/v3/auth/user/admin", data={"password": ADMIN_PASSWORD}).json()["code"] == 0
        yield process
    finally:
        process.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=10) as client:
        yield client


@pytest.fixture
def admin(http: httpx.Client) -> dict[str, str]:
    login = http.post("/v3/auth/user/login", data={"username": "nacos", "password": ADMIN_PASSWORD})
    return {"accessToken": login.json()["accessToken"]}


def test_v3_and_the_older_apis_see_the_same_configs_and_users(http: httpx.Client, admin: dict[str, str]) -> None:
    """Core auth off and the admin scope on (3.x's defaults): v3 admin and the account routes need the admin's
    token, the v1/v2 config routes and the v3 client read do not."""
    key_v3 = {"dataId": "app.yaml", "groupName": "DEFAULT_GROUP"}
    key_v1 = {"dataId": "app.yaml", "group": "DEFAULT_GROUP"}

    assert http.post(V3_CONFIG, data={**key_v3, "content": "a: 1"}).status_code == 403
    published = http.post(V3_CONFIG, params=admin, data={**key_v3, "content": "a: 1", "type": "yaml"})
    assert published.json() == {"code": 0, "message": "success", "data": True}
    assert http.get("/v1/cs/configs", params=key_v1).text == "a: 1"
    assert http.get("/v2/cs/config", params=key_v1).json()["data"] == "a: 1"
    assert http.get("/v3/client/cs/config", params=key_v3).json()["data"]["content"] == "a: 1"

    assert http.post("/v1/cs/configs", data={**key_v1, "content": "a: 2"}).text == "true"
    detail = http.get(V3_CONFIG, params={**key_v3, **admin}).json()["data"]
    assert (detail["content"], detail["namespaceId"]) == ("a: 2", "public")
    history = http.get("/v3/admin/cs/history/list", params={**key_v3, **admin}).json()["data"]
    assert [item["opType"] for item in history["pageItems"]] == ["U", "I"]

    user = {"username": "alice", "password": USER_PASSWORD}
    assert http.post("/v3/auth/user", data=user).status_code == 403  # accounts: guarded with the scope
    assert http.post("/v3/auth/user", params=admin, data=user).json()["data"] == "create user ok!"
    logged_in = http.post("/v1/auth/login", data={"username": "alice", "password": USER_PASSWORD})
    assert (logged_in.status_code, logged_in.json()["username"]) == (200, "alice")
    page: dict[str, str | int] = {"search": "accurate", "pageNo": 1, "pageSize": 10, **admin}
    listed = http.get("/v1/auth/users", params=page)
    assert sorted(u["username"] for u in listed.json()["pageItems"]) == ["alice", "nacos"]


def test_the_console_api_and_the_older_apis_share_configs_namespaces_and_instances(
    http: httpx.Client, admin: dict[str, str]
) -> None:
    """The console scope is on by default (its writes need the admin's token, sent as the UI sends it: the
    `accessToken` header); what it writes, v1 and the admin API read."""
    token = {"accessToken": admin["accessToken"]}
    key_v3 = {"dataId": "console.yaml", "groupName": "DEFAULT_GROUP"}
    form = {**key_v3, "content": "from: console", "type": "yaml"}
    assert http.post(f"{CONSOLE}/cs/config", data=form).status_code == 403
    assert http.post(f"{CONSOLE}/cs/config", data=form, headers=token).json() == {**SUCCESS, "data": True}
    v1 = http.get("/v1/cs/configs", params={"dataId": "console.yaml", "group": "DEFAULT_GROUP"})
    assert (v1.status_code, v1.text) == (200, "from: console")
    detail = http.get(V3_CONFIG, params=key_v3, headers=token).json()["data"]
    assert (detail["content"], detail["type"]) == ("from: console", "yaml")

    namespace = {"customNamespaceId": "console-ns", "namespaceName": "From console", "namespaceDesc": "d"}
    assert http.post(f"{CONSOLE}/core/namespace", data=namespace, headers=token).json()["data"] is True
    listed = http.get("/v1/console/namespaces").json()["data"]
    assert {"namespace": "console-ns", "namespaceShowName": "From console"}.items() <= listed[-1].items()

    instance = {"serviceName": "console-svc", "ip": "10.1.1.1", "port": "8080", "ephemeral": "false"}
    assert http.post("/v1/ns/instance", data=instance).text == "ok"
    update = {**instance, "weight": "3", "metadata": '{"edited":"console"}'}
    del update["ephemeral"]  # the console's default: persistent
    assert http.put(f"{CONSOLE}/ns/instance", data=update, headers=token).json() == {**SUCCESS, "data": "ok"}
    hosts = http.get("/v1/ns/instance/list", params={"serviceName": "console-svc"}).json()["hosts"]
    assert [(h["weight"], h["metadata"]) for h in hosts] == [(3.0, {"edited": "console"})]
    page = http.get(f"{CONSOLE}/ns/instance/list", params={"serviceName": "console-svc"}, headers=token).json()
    assert page["data"]["totalCount"] == 1
    state = http.get(f"{CONSOLE}/server/state").json()
    assert (state["auth_enabled"], state["login_page_enabled"], state["auth_admin_request"]) == (
        "true",
        "true",
        "false",
    )
