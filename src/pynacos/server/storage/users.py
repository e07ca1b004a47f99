"""SQL for users, roles, permissions and the revocation state; each change is one transaction."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pynacos.server.storage.tables import permissions, revoked_tokens, roles, user_state, users


class Duplicate(Exception):
    """A unique key already holds this row."""


class AuthStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load_users(self) -> dict[str, str]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(users.c.username, users.c.password))).all()
        return {r[0]: r[1] for r in rows}

    async def load_roles(self) -> list[tuple[str, str]]:
        """(username, role) rows."""
        async with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in (await conn.execute(select(roles.c.username, roles.c.role))).all()]

    async def load_permissions(self) -> list[tuple[str, str, str]]:
        """(role, resource, action) rows."""
        query = select(permissions.c.role, permissions.c.resource, permissions.c.action)
        async with self.engine.connect() as conn:
            return [(r[0], r[1], r[2]) for r in (await conn.execute(query)).all()]

    async def load_not_before(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(user_state.c.username, user_state.c.not_before_ms))).all()
        return {r[0]: int(r[1]) for r in rows}

    async def load_revoked(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(revoked_tokens.c.digest, revoked_tokens.c.exp))).all()
        return {r[0]: int(r[1]) for r in rows}

    async def add_user(self, username: str, password_hash: str, role: str | None = None) -> None:
        """Insert a user (and optionally one role) atomically; Duplicate if the name is taken."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(users).values(username=username, password=password_hash, enabled=True))
                if role is not None:
                    await conn.execute(insert(roles).values(username=username, role=role))
        except IntegrityError:
            raise Duplicate(username) from None

    async def delete_user(self, username: str, not_before_ms: int) -> None:
        """The user and its role bindings go together (Nacos leaves orphan roles behind)."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(users).where(users.c.username == username))
            await conn.execute(delete(roles).where(roles.c.username == username))
            await self._set_not_before(conn, username, not_before_ms)

    async def set_password(self, username: str, password_hash: str, not_before_ms: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(users).where(users.c.username == username).values(password=password_hash))
            await self._set_not_before(conn, username, not_before_ms)

    async def add_role(self, username: str, role: str, not_before_ms: int) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(roles).values(username=username, role=role))
                await self._set_not_before(conn, username, not_before_ms)
        except IntegrityError:
            raise Duplicate(f"{username}/{role}") from None

    async def delete_role(self, role: str, username: str | None, revoked: dict[str, int]) -> None:
        """Remove a role from one user, or from everyone; `revoked` maps each affected user to its instant."""
        where = roles.c.role == role if username is None else (roles.c.role == role) & (roles.c.username == username)
        async with self.engine.begin() as conn:
            await conn.execute(delete(roles).where(where))
            for name, instant in revoked.items():
                await self._set_not_before(conn, name, instant)

    async def add_permission(self, role: str, resource: str, action: str) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(permissions).values(role=role, resource=resource, action=action))
        except IntegrityError:
            raise Duplicate(f"{role}/{resource}/{action}") from None

    async def delete_permission(self, role: str, resource: str, action: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(permissions).where(
                    permissions.c.role == role, permissions.c.resource == resource, permissions.c.action == action
                )
            )

    async def add_revoked(self, digest: str, exp: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(revoked_tokens).values(digest=digest, exp=exp))

    async def purge_revoked(self, now_s: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(revoked_tokens).where(revoked_tokens.c.exp < now_s))

    async def _set_not_before(self, conn: AsyncConnection, username: str, instant: int) -> None:
        result = await conn.execute(
            update(user_state).where(user_state.c.username == username).values(not_before_ms=instant)
        )
        if result.rowcount == 0:
            await conn.execute(insert(user_state).values(username=username, not_before_ms=instant))
