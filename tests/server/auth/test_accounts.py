"""Users, roles and permissions APIs (auth.md §6, §7) with Nacos's texts."""

from __future__ import annotations

import asyncio

import httpx

from pynacos.server.app import NacosApp
from tests.conftest import asgi_client, started

OK = 200


async def call(client: httpx.AsyncClient, method: str, path: str, token: str, **params: str) -> httpx.Response:
    return await client.request(method, path, params={**params, "accessToken": token})


async def test_user_lifecycle_texts(client: httpx.AsyncClient, admin_token: str) -> None:
    created = await call(client, "POST", "/v1/auth/users", admin_token, username="alice", password="Alice-pass1")
    assert created.json() == {"code": 200, "message": None, "data": "create user ok!"}
    again = await call(client, "POST", "/v1/auth/users", admin_token, username="alice", password="Alice-pass1")
    assert (again.status_code, again.text) == (400, "caused: user 'alice' already exist!;")
    updated = await call(client, "PUT", "/v1/auth/users", admin_token, username="alice", newPassword="Alice-pass2")
    assert updated.json()["data"] == "update user ok!"
    missing = await call(client, "PUT", "/v1/auth/users", admin_token, username="bob", newPassword="Bobs-pass22")
    assert (missing.status_code, missing.text) == (400, "caused: user bob not exist!;")
    deleted = await call(client, "DELETE", "/v1/auth/users", admin_token, username="alice")
    assert deleted.json()["data"] == "delete user ok!"


async def test_admin_cannot_be_deleted(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await call(client, "DELETE", "/v1/auth/users", admin_token, username="nacos")
    assert (response.status_code, response.text) == (400, "caused: cannot delete admin: nacos;")


async def test_creating_user_nacos_points_to_the_admin_api(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await call(client, "POST", "/v1/auth/users", admin_token, username="nacos", password="Whatever-1")
    assert response.status_code == 200
    assert response.json()["code"] == 409
    assert "/nacos/v1/auth/users/admin" in response.json()["data"]


async def test_password_over_72_bytes_is_refused(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await call(client, "POST", "/v1/auth/users", admin_token, username="long", password="é" * 37)
    assert response.status_code == 400
    assert "72" in response.text


async def test_user_list_is_a_page_and_never_shows_hashes(client: httpx.AsyncClient, admin_token: str) -> None:
    await call(client, "POST", "/v1/auth/users", admin_token, username="alice", password="Alice-pass1")
    response = await call(client, "GET", "/v1/auth/users", admin_token, pageNo="1", pageSize="10", search="accurate")
    body = response.json()
    assert body["totalCount"] == 2
    assert all(item["password"] == "" for item in body["pageItems"])
    blur = await call(
        client, "GET", "/v1/auth/users", admin_token, pageNo="1", pageSize="10", search="blur", username="ali*"
    )
    assert [i["username"] for i in blur.json()["pageItems"]] == ["alice"]
    exact = await call(
        client, "GET", "/v1/auth/users", admin_token, pageNo="1", pageSize="10", search="blur", username="ali"
    )
    assert exact.json()["totalCount"] == 0
    bad = await call(client, "GET", "/v1/auth/users", admin_token, pageNo="0", pageSize="10")
    assert (bad.status_code, bad.text) == (400, "caused: pageNo and pageSize must be greater than zero;")


async def test_role_rules(client: httpx.AsyncClient, admin_token: str) -> None:
    await call(client, "POST", "/v1/auth/users", admin_token, username="alice", password="Alice-pass1")
    no_user = await call(client, "POST", "/v1/auth/roles", admin_token, role="dev", username="ghost")
    assert no_user.text == "caused: user 'ghost' not found!;"
    admin_role = await call(client, "POST", "/v1/auth/roles", admin_token, role="ROLE_ADMIN", username="alice")
    assert admin_role.text == "caused: role 'ROLE_ADMIN' is not permitted to create!;"
    assert (await call(client, "POST", "/v1/auth/roles", admin_token, role="dev", username="alice")).json()[
        "data"
    ] == "add role ok!"
    twice = await call(client, "POST", "/v1/auth/roles", admin_token, role="dev", username="alice")
    assert twice.text == "caused: user 'alice' already bound to the role 'dev'!;"
    search = await call(client, "GET", "/v1/auth/roles/search", admin_token, role="de")
    assert search.json() == ["dev"]
    drop_admin = await call(client, "DELETE", "/v1/auth/roles", admin_token, role="ROLE_ADMIN")
    assert drop_admin.text == "caused: role 'ROLE_ADMIN' is not permitted to delete!;"
    dropped = await call(client, "DELETE", "/v1/auth/roles", admin_token, role="dev")
    assert dropped.json()["data"] == "delete role of user  ok!"


async def test_permission_rules(client: httpx.AsyncClient, admin_token: str) -> None:
    unknown = await call(client, "POST", "/v1/auth/permissions", admin_token, role="dev", resource="a:*:*", action="r")
    assert unknown.text == "caused: role dev not found!;"
    await call(client, "POST", "/v1/auth/users", admin_token, username="alice", password="Alice-pass1")
    await call(client, "POST", "/v1/auth/roles", admin_token, role="dev", username="alice")
    bad_action = await call(
        client, "POST", "/v1/auth/permissions", admin_token, role="dev", resource="a:*:*", action="x"
    )
    assert bad_action.status_code == 400
    added = await call(client, "POST", "/v1/auth/permissions", admin_token, role="dev", resource="a:*:*", action="rw")
    assert added.json()["data"] == "add permission ok!"
    dup = await call(client, "POST", "/v1/auth/permissions", admin_token, role="dev", resource="a:*:*", action="rw")
    assert dup.text == "caused: permission already exist!;"
    check = await call(client, "GET", "/v1/auth/permissions", admin_token, role="dev", resource="a:*:*", action="r")
    assert check.json() == {"code": 0, "message": "success", "data": True}
    page = await call(client, "GET", "/v1/auth/permissions", admin_token, search="accurate", pageNo="1", pageSize="5")
    assert page.json()["pageItems"] == [{"role": "dev", "resource": "a:*:*", "action": "rw"}]
    gone = await call(client, "DELETE", "/v1/auth/permissions", admin_token, role="dev", resource="a:*:*", action="rw")
    assert gone.json()["data"] == "delete permission ok!"


async def test_deleting_a_user_removes_its_role_bindings(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str
) -> None:
    await call(client, "POST", "/v1/auth/users", admin_token, username="alice", password="Alice-pass1")
    await call(client, "POST", "/v1/auth/roles", admin_token, role="dev", username="alice")
    await call(client, "DELETE", "/v1/auth/users", admin_token, username="alice")
    await call(client, "POST", "/v1/auth/users", admin_token, username="alice", password="Alice-pass1")
    assert app.auth.accounts.directory.roles_of("alice") == []


async def test_first_admin_from_loopback_then_409(tmp_path: object) -> None:
    from pynacos.server.settings import Settings
    from tests.server.auth.conftest import KEY

    app = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY))
    try:
        async with asgi_client(app) as client:
            state = (await client.get("/v1/console/server/state")).json()
            assert state["auth_admin_request"] == "true"
            first = await client.post("/v1/auth/users/admin")
            assert first.status_code == 200
            assert first.json()["username"] == "nacos"
            assert len(first.json()["password"]) >= 16
            second = await client.post("/v1/auth/users/admin", data={"password": "Other-pass1"})
            assert second.json() == {"code": 409, "message": None, "data": "have admin user cannot use it"}
            state = (await client.get("/v1/console/server/state")).json()
            assert state["auth_admin_request"] == "false"
    finally:
        await app.stop()


async def test_first_admin_from_elsewhere_needs_the_bootstrap_token(tmp_path: object) -> None:
    from pynacos.server.settings import Settings
    from tests.server.auth.conftest import KEY

    app = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY))
    try:
        async with asgi_client(app, "10.1.2.3") as client:
            refused = await client.post("/v1/auth/users/admin")
            assert refused.status_code == 403
            assert not app.auth.accounts.directory.has_admin()
            token = app.auth.bootstrap_file.read_text().strip()
            assert oct(app.auth.bootstrap_file.stat().st_mode & 0o777) == "0o600"
            allowed = await client.post("/v1/auth/users/admin", headers={"X-Pynacos-Bootstrap": token})
            assert allowed.status_code == 200
    finally:
        await app.stop()


async def test_concurrent_first_admin_calls_create_one_admin(tmp_path: object) -> None:
    from pynacos.server.settings import Settings

    app = await started(Settings(home=str(tmp_path)))
    try:
        async with asgi_client(app) as client:
            answers = await asyncio.gather(*(client.post("/v1/auth/admin") for _ in range(5)))
        created = [a for a in answers if "password" in a.json()]
        assert len(created) == 1
        assert [b for b, r in app.auth.accounts.directory.bindings if r == "ROLE_ADMIN"] == ["nacos"]
    finally:
        await app.stop()


async def test_first_admin_through_a_local_reverse_proxy_needs_the_bootstrap_token(tmp_path: object) -> None:
    from pynacos.server.settings import Settings
    from tests.server.auth.conftest import KEY

    app = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY))
    try:
        async with asgi_client(app) as client:
            relayed = await client.post("/v1/auth/users/admin", headers={"X-Forwarded-For": "203.0.113.9"})
            assert relayed.status_code == 403
            assert not app.auth.accounts.directory.has_admin()
    finally:
        await app.stop()
