"""Offline admin bootstrap: create the first admin straight in the server's database."""

from __future__ import annotations

from pathlib import Path

from pynacos.server import settings as settings_module
from pynacos.server.auth import passwords
from pynacos.server.auth.rbac import Accounts
from pynacos.server.auth.tokens import TokenService
from pynacos.server.storage.engine import open_engine
from pynacos.server.storage.users import AuthStore


async def create_first_admin(home: Path, password: str | None) -> str | None:
    """The password of the new admin `nacos`, or None if an admin already exists."""
    chosen = password or passwords.generate()
    engine = await open_engine(settings_module.load(home))
    try:
        accounts = Accounts(AuthStore(engine), TokenService(None, 0))
        await accounts.load()
        return chosen if await accounts.create_admin(chosen) else None
    finally:
        await engine.dispose()
