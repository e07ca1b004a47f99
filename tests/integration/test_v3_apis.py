"""A real server with Nacos 3.x's default auth switches: the v3 APIs and the v1/v2 APIs share one store."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from tests.integration.server_process import ServerProcess

KEY = base64.b64encode(bytes(range(90, 130))).decode()
ADMIN_PASSWORD = "Admin-Passw0rd!"
USER_PASSWORD = "User-Passw0rd!"
V3_CONFIG = "/v3/admin/cs/config"


def test_v3_and_the_older_apis_see_the_same_configs_and_users(tmp_path: Path) -> None:
    """Core auth off and the admin scope on (3.x's defaults): v3 admin and the account routes need the admin's
    token, the v1/v2 config routes and the v3 client read do not."""
    server = ServerProcess(tmp_path / "home", {"nacos.core.auth.plugin.nacos.token.secret.key": KEY})
    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=10) as http:
            assert http.post("/v3/auth/user/admin", data={"password": ADMIN_PASSWORD}).json()["code"] == 0
            login = http.post("/v3/auth/user/login", data={"username": "nacos", "password": ADMIN_PASSWORD})
            admin = {"accessToken": login.json()["accessToken"]}
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
            page = {"search": "accurate", "pageNo": 1, "pageSize": 10, **admin}
            listed = http.get("/v1/auth/users", params=page)
            assert sorted(u["username"] for u in listed.json()["pageItems"]) == ["alice", "nacos"]
    finally:
        server.stop()
