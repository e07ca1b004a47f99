"""Login endpoints (auth.md §5): paths, parameter sources, response shape, refusals."""

from __future__ import annotations

import httpx
import pytest

from pynacos.server.app import NacosApp
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, login

LOGIN_PATHS = ["/v1/auth/login", "/v1/auth/users/login", "/v3/auth/user/login"]


@pytest.mark.parametrize("path", LOGIN_PATHS)
async def test_login_answers_the_four_fields_in_order_and_the_bearer_header(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(path, data={"username": "nacos", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["accessToken", "tokenTtl", "globalAdmin", "username"]
    assert body["tokenTtl"] == 18000
    assert body["globalAdmin"] is True
    assert body["username"] == "nacos"
    assert response.headers["Authorization"] == f"Bearer {body['accessToken']}"
    assert response.headers["Cache-Control"] == "no-store"


async def test_login_reads_query_parameters_like_the_python_sdk(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/login", params={"username": "nacos", "password": ADMIN_PASSWORD})
    assert response.status_code == 200


async def test_login_reads_username_in_query_and_password_in_form_like_java(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/users/login", params={"username": "nacos"}, data={"password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200


async def test_wrong_password_and_unknown_user_get_identical_answers(client: httpx.AsyncClient) -> None:
    wrong = await client.post("/v1/auth/login", data={"username": "nacos", "password": "nope-nope"})
    unknown = await client.post("/v1/auth/login", data={"username": "ghost", "password": "nope-nope"})
    assert (wrong.status_code, wrong.text) == (403, "user not found!")
    assert (unknown.status_code, unknown.text) == (wrong.status_code, wrong.text)
    assert wrong.headers["content-type"] == unknown.headers["content-type"]


async def test_login_with_a_valid_token_returns_it_unchanged(client: httpx.AsyncClient) -> None:
    token = await login(client, "nacos", ADMIN_PASSWORD)
    response = await client.post(
        "/v1/auth/login",
        data={"username": "nacos", "password": "ignored"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["accessToken"] == token


async def test_missing_password_is_a_client_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/login", data={"username": "nacos"})
    assert response.status_code == 400
    assert "'password'" in response.text


async def test_fresh_server_refuses_nacos_nacos(tmp_path: object) -> None:
    from pathlib import Path

    from pynacos.server.settings import Settings

    app = await started(Settings(home=str(Path(str(tmp_path))), auth_enabled=True, token_secret_key=KEY))
    try:
        async with asgi_client(app) as client:
            response = await client.post("/v1/auth/login", data={"username": "nacos", "password": "nacos"})
            assert (response.status_code, response.text) == (403, "user not found!")
    finally:
        await app.stop()


async def test_login_works_with_auth_off_and_no_key(tmp_path: object) -> None:
    from pynacos.server.settings import Settings

    app = await started(Settings(home=str(tmp_path)))
    try:
        await app.auth.accounts.create_admin(ADMIN_PASSWORD)
        async with asgi_client(app) as client:
            body = (await client.post("/v1/auth/login", data={"username": "nacos", "password": ADMIN_PASSWORD})).json()
            assert body["accessToken"] == "AUTH_DISABLED"
            assert body["tokenTtl"] == 18000
    finally:
        await app.stop()


async def test_tokens_stay_valid_across_a_restart_with_the_same_key(app: NacosApp, client: httpx.AsyncClient) -> None:
    token = await login(client, "nacos", ADMIN_PASSWORD)
    await app.stop()
    again = await started(app.settings)
    try:
        async with asgi_client(again) as second:
            response = await second.get("/v1/auth/users", params={"pageNo": 1, "pageSize": 10, "accessToken": token})
            assert response.status_code == 200
    finally:
        await again.stop()


async def test_logout_revokes_the_presented_token(client: httpx.AsyncClient) -> None:
    token = await login(client, "nacos", ADMIN_PASSWORD)
    response = await client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    response = await client.get("/v1/auth/users", params={"pageNo": 1, "pageSize": 10, "accessToken": token})
    assert response.status_code == 403


async def test_a_failed_login_is_logged_once_and_shown_on_the_auth_health_page(
    app: NacosApp, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The seed report: a client retrying a wrong password every 3 s. The server names it (client, user, reason)
    in one rate-limited line, and the console's auth health page counts every attempt; the password never shows."""
    caplog.set_level("WARNING", logger="pynacos.auth")
    for _ in range(3):
        refused = await client.post("/v1/auth/login", data={"username": "nacos", "password": "Wrong-Passw0rd!"})
        assert refused.status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.name == "pynacos.auth" and "auth refused" in r.getMessage()]
    assert len(lines) == 1 and "client 127.0.0.1" in lines[0] and "'nacos'" in lines[0]
    assert "Wrong-Passw0rd!" not in caplog.text
    groups = app.auth.guard.failures.recent.groups()
    assert [(g.reason, g.client, g.user, g.count) for g in groups] == [("user not found!", "127.0.0.1", "nacos", 3)]
    admin = await login(client, "nacos", ADMIN_PASSWORD)
    health = await client.get("/v3/console/auth/health", headers={"accessToken": admin})
    assert [f["count"] for f in health.json()["data"]["failures"] if f["user"] == "nacos"] == [3]
