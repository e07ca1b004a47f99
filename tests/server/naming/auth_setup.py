"""A server with auth on, its admin (`nacos` / ADMIN_PASSWORD) and user `u1` holding one permission."""

from __future__ import annotations

from pathlib import Path

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, USER_PASSWORD


async def app_with_user(tmp_path: Path, resource: str = "", action: str = "r") -> NacosApp:
    """Namespace `dev` exists; `u1` gets `resource`/`action` through role `u1-role` (none when blank)."""
    server = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY))
    await server.auth.accounts.create_admin(ADMIN_PASSWORD)
    await server.namespaces.create("dev", "dev", None)
    accounts = server.auth.accounts
    await accounts.create_user("u1", USER_PASSWORD)
    if resource:
        await accounts.add_role("u1-role", "u1")
        await accounts.add_permission("u1-role", resource, action)
    return server
