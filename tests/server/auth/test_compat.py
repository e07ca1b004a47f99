"""Compatibility details: Nacos-made hashes, key rotation over HTTP, third-party plugins, storage errors."""

from __future__ import annotations

import base64
from importlib.metadata import EntryPoint
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.auth import passwords, plugins
from pynacos.server.auth.principal import Principal
from pynacos.server.errors import AuthFailed
from pynacos.server.http import Call
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, login

NACOS_HASH_OF_NACOS = "$2a$10$EuWPZHzz32dJN7jexM34MOeYirDdFAZm2kuWj7VEOJhhZkDrxfvUu"


def test_hash_written_by_nacos_verifies() -> None:
    assert passwords.verify("nacos", NACOS_HASH_OF_NACOS)
    assert not passwords.verify("nacos2", NACOS_HASH_OF_NACOS)


def test_new_hashes_look_like_nacos_ones() -> None:
    hashed = passwords.hash_password("Some-passw0rd")
    assert hashed.startswith("$2a$10$") and len(hashed) == 60


async def test_rotated_key_keeps_old_tokens_working(app: NacosApp, client: httpx.AsyncClient, tmp_path: Path) -> None:
    old_token = await login(client, "nacos", ADMIN_PASSWORD)
    await app.stop()
    new_key = base64.b64encode(bytes(range(150, 190))).decode()
    rotated = await started(app.settings.replace(token_secret_key=new_key, token_previous_secret_key=KEY))
    try:
        async with asgi_client(rotated) as second:
            params = {"pageNo": "1", "pageSize": "5"}
            assert (await second.get("/v1/auth/users", params={**params, "accessToken": old_token})).status_code == 200
            new_token = await login(second, "nacos", ADMIN_PASSWORD)
            assert new_token != old_token
    finally:
        await rotated.stop()
    without_previous = await started(app.settings.replace(token_secret_key=new_key))
    try:
        async with asgi_client(without_previous) as third:
            response = await third.get(
                "/v1/auth/users", params={"pageNo": "1", "pageSize": "5", "accessToken": old_token}
            )
            assert response.json()["message"] == "Invalid signature"
    finally:
        await without_previous.stop()


class HeaderPlugin:
    """A toy third-party plugin: header `X-User: admin` is an admin, nothing else passes."""

    login_page_enabled = False

    def __init__(self, context: plugins.PluginContext) -> None:
        self.context = context

    async def authenticate(self, call: Call) -> Principal:
        if call.headers.get("X-User") == "admin":
            return Principal("admin", "header", is_admin=True)
        raise AuthFailed("user not found!")

    def authorize(self, principal: Principal, resources: list[str], action: str) -> None:
        if not principal.is_admin:
            raise AuthFailed("authorization failed!")


async def test_third_party_plugin_is_chosen_by_system_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = EntryPoint(name="header", value=f"{__name__}:HeaderPlugin", group=plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [entry] if group == plugins.ENTRY_POINT_GROUP else [])
    settings = Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY, auth_system_type="header")
    app = await started(settings)
    try:
        async with asgi_client(app) as client:
            query = {"dataId": "a", "group": "g"}
            assert (await client.get("/v1/cs/configs", params=query)).status_code == 403
            assert (await client.get("/v1/cs/configs", params=query, headers={"X-User": "admin"})).status_code == 404
            state = (await client.get("/v1/console/server/state")).json()
            assert (state["auth_system_type"], state["login_page_enabled"]) == ("header", "false")
    finally:
        await app.stop()


async def test_storage_failure_is_a_clear_500_and_counted(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path)))
    try:
        async with asgi_client(app) as client:
            assert app.engine is not None
            async with app.engine.begin() as conn:
                from sqlalchemy import text

                await conn.execute(text("DROP TABLE his_config_info"))
            response = await client.post("/v1/cs/configs", data={"dataId": "a", "group": "g", "content": "x"})
            assert response.status_code == 500
            assert "storage error" in response.text
            assert (await client.get("/v1/cs/configs", params={"dataId": "a", "group": "g"})).status_code == 404
            metrics = (await client.get("/actuator/prometheus")).text
            assert 'pynacos_errors_total{kind="storage"} 1.0' in metrics
    finally:
        await app.stop()
