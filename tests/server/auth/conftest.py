"""Fixtures for auth tests: a server with auth on, an admin, and helpers to log in."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started

KEY = base64.b64encode(bytes(range(1, 41))).decode()  # 40 bytes -> HS256
ADMIN_PASSWORD = "Admin-Passw0rd!"
USER_PASSWORD = "User-Passw0rd!"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[NacosApp]:
    server = await started(settings)
    await server.auth.accounts.create_admin(ADMIN_PASSWORD)
    yield server
    await server.stop()


async def login(client: httpx.AsyncClient, username: str, password: str) -> str:
    response = await client.post("/v1/auth/login", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


@pytest.fixture
async def admin_token(client: httpx.AsyncClient) -> str:
    return await login(client, "nacos", ADMIN_PASSWORD)


@pytest.fixture
async def dev_user(app: NacosApp) -> str:
    """User `u1` with read/write on namespace `dev` only (namespaces `dev` and `prod` exist)."""
    await app.namespaces.create("dev", "dev", None)
    await app.namespaces.create("prod", "prod", None)
    accounts = app.auth.accounts
    await accounts.create_user("u1", USER_PASSWORD)
    await accounts.add_role("dev-rw", "u1")
    await accounts.add_permission("dev-rw", "dev:*:*", "rw")
    return "u1"


@pytest.fixture
async def user_token(client: httpx.AsyncClient, dev_user: str) -> str:
    return await login(client, dev_user, USER_PASSWORD)


def other_client(app: NacosApp, ip: str) -> httpx.AsyncClient:
    return asgi_client(app, ip)
