"""Users, roles and permissions: the in-memory directory, resource matching, and account changes.

Matching (auth.md §8.5, minus Nacos's leaks): `ROLE_ADMIN` passes everything; other roles never
reach `console/...` or other fixed admin resources; a permission's resource is matched field by
field (namespace, group, kind, name; see resources.py), `*` being the only wildcard and never
crossing from one field into the next, every other character matching itself (Nacos compiled the
joined string as a regex, so `.` matched anything, `(` broke every check of that user, and `*`
ran across `:` so that group `G` also granted group `G:prod`); the public namespace is both `""`
and `public`. Actions: a stored `rw` covers `r` and `w`.

Changes are written to the database first, then mirrored here, so a check right after an
acknowledged change sees it (Nacos's caches lag up to 15 s). Password, role and deletion changes
also revoke the user's older tokens (see tokens.py). After each committed change the `on_change`
callbacks run (cluster mode tells the other nodes to reload from the database at once).
"""

from __future__ import annotations

import asyncio
import functools
import re
import unicodedata
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from pynacos.server.auth import passwords
from pynacos.server.auth.resources import resource_matches
from pynacos.server.auth.tokens import TokenService
from pynacos.server.characters import is_visible
from pynacos.server.errors import BadRequest
from pynacos.server.storage.users import AuthStore, Duplicate

ADMIN_ROLE = "ROLE_ADMIN"
DEFAULT_ADMIN = "nacos"
ACTIONS = ("r", "w", "rw")
MIN_PASSWORD = 8
_USERNAME = re.compile(r"[^\s\x00-\x1f\x7f]{1,50}")
MAX_ROLE = 50
MAX_RESOURCE = 128
#: control, format (zero-width), surrogate, private-use, unassigned and separator characters
DEFAULT_ADMIN_TEXT = (
    "User `nacos` is default admin user. Please use `/nacos/v1/auth/users/admin` API to init `nacos` users. "
    "Detail see `https://nacos.io/docs/latest/manual/admin/auth/#31-%E8%AE%BE%E7%BD%AE%E7%AE%A1%E7%90%86%E5%91%98%E5%AF%86%E7%A0%81`"
)


class DefaultAdminReserved(Exception):
    """`POST /users` with username `nacos` (answered as HTTP 200 with code 409, as Nacos 2.4+)."""


@dataclass(frozen=True)
class Permission:
    role: str
    resource: str
    action: str


def action_covers(stored: str, wanted: str) -> bool:
    return stored == wanted or stored == "rw"


class Directory:
    """The users, role bindings and permissions, mirrored in memory.

    `bindings` and `permissions` keep creation order (the list APIs page them); assigning either
    rebuilds the per-user and per-role indexes, so the check on every request reads dicts, not lists.
    """

    def __init__(self) -> None:
        self.users: dict[str, str] = {}
        self._bindings: list[tuple[str, str]] = []  # (username, role)
        self._permissions: list[Permission] = []
        self._roles_by_user: dict[str, list[str]] = {}
        self._permissions_by_role: dict[str, list[Permission]] = {}

    @property
    def bindings(self) -> list[tuple[str, str]]:
        return self._bindings

    @bindings.setter
    def bindings(self, rows: list[tuple[str, str]]) -> None:
        self._bindings = rows
        self._roles_by_user = {}
        for user, role in rows:
            self._roles_by_user.setdefault(user, []).append(role)

    @property
    def permissions(self) -> list[Permission]:
        return self._permissions

    @permissions.setter
    def permissions(self, rows: list[Permission]) -> None:
        self._permissions = rows
        self._permissions_by_role = {}
        for permission in rows:
            self._permissions_by_role.setdefault(permission.role, []).append(permission)

    def roles_of(self, username: str) -> list[str]:
        return self._roles_by_user.get(username, [])

    def is_admin(self, username: str) -> bool:
        return ADMIN_ROLE in self.roles_of(username)

    def has_admin(self) -> bool:
        return any(ADMIN_ROLE in roles and user in self.users for user, roles in self._roles_by_user.items())

    def known_role(self, role: str) -> bool:
        return any(role in roles for roles in self._roles_by_user.values())

    def allows(self, username: str, resource: str, action: str) -> bool:
        roles = self.roles_of(username)
        if ADMIN_ROLE in roles:
            return True
        if resource.startswith("console/") or not roles:
            return False
        return any(
            action_covers(p.action, action) and resource_matches(p.resource, resource)
            for role in roles
            for p in self._permissions_by_role.get(role, ())
        )


P = ParamSpec("P")
R = TypeVar("R")


def _announced(
    change: Callable[Concatenate[Accounts, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Accounts, P], Coroutine[Any, Any, R]]:
    """Run the `on_change` callbacks after the change committed (not when it was refused)."""

    @functools.wraps(change)
    async def announce(accounts: Accounts, /, *args: P.args, **kwargs: P.kwargs) -> R:
        result = await change(accounts, *args, **kwargs)
        accounts.changed()
        return result

    return announce


class Accounts:
    """Account changes with Nacos's messages; every one revokes what it must."""

    def __init__(self, store: AuthStore, tokens: TokenService) -> None:
        self.store = store
        self.tokens = tokens
        self.directory = Directory()
        self._lock = asyncio.Lock()
        #: called after every committed change (and by a logout); must not block
        self.on_change: list[Callable[[], None]] = []

    def changed(self) -> None:
        for callback in self.on_change:
            callback()

    async def load(self) -> None:
        """Read everything from the database (at start, then every 15 s to pick up offline changes)."""
        async with self._lock:
            self.directory.users = await self.store.load_users()
            self.directory.bindings = await self.store.load_roles()
            self.directory.permissions = [Permission(*row) for row in await self.store.load_permissions()]
            for user, instant in (await self.store.load_not_before()).items():
                self.tokens.not_before_ms[user] = max(instant, self.tokens.not_before_ms.get(user, 0))
            self.tokens.revoked.update(await self.store.load_revoked())

    @_announced
    async def create_user(self, username: str, password: str) -> None:
        if username == DEFAULT_ADMIN:
            raise DefaultAdminReserved(DEFAULT_ADMIN_TEXT)
        check_new_credentials(username, password)
        async with self._lock:
            if username in self.directory.users:
                raise BadRequest(f"user '{username}' already exist!")
            check_distinct_name(username, [*self.directory.users, DEFAULT_ADMIN])
            hashed = await asyncio.to_thread(passwords.hash_password, password)
            await self.store.add_user(username, hashed)
            self.directory.users[username] = hashed

    @_announced
    async def create_admin(self, password: str) -> bool:
        """The first admin, atomically: False when an admin already exists."""
        check_new_credentials(DEFAULT_ADMIN, password)
        async with self._lock:
            if self.directory.has_admin():
                return False
            hashed = await asyncio.to_thread(passwords.hash_password, password)
            try:
                await self.store.add_user(DEFAULT_ADMIN, hashed, ADMIN_ROLE)
            except Duplicate:
                raise BadRequest(f"user '{DEFAULT_ADMIN}' exists without {ADMIN_ROLE}") from None
            self.directory.users[DEFAULT_ADMIN] = hashed
            self.directory.bindings = [*self.directory.bindings, (DEFAULT_ADMIN, ADMIN_ROLE)]
        return True

    @_announced
    async def delete_user(self, username: str) -> None:
        async with self._lock:
            if self.directory.is_admin(username):
                raise BadRequest(f"cannot delete admin: {username}")
            instant = self.tokens.revoke_user(username)
            await self.store.delete_user(username, instant)
            self.directory.users.pop(username, None)
            self.directory.bindings = [b for b in self.directory.bindings if b[0] != username]

    @_announced
    async def set_password(self, username: str, password: str) -> None:
        check_new_credentials(username, password)
        async with self._lock:
            if username not in self.directory.users:
                raise BadRequest(f"user {username} not exist!")
            hashed = await asyncio.to_thread(passwords.hash_password, password)
            await self.store.set_password(username, hashed, self.tokens.revoke_user(username))
            self.directory.users[username] = hashed

    @_announced
    async def add_role(self, role: str, username: str) -> None:
        if role == ADMIN_ROLE:
            raise BadRequest(f"role '{ADMIN_ROLE}' is not permitted to create!")
        check_width("role", role, MAX_ROLE)
        async with self._lock:
            if username not in self.directory.users:
                raise BadRequest(f"user '{username}' not found!")
            if (username, role) in self.directory.bindings:
                raise BadRequest(f"user '{username}' already bound to the role '{role}'!")
            await self.store.add_role(username, role, self.tokens.revoke_user(username))
            self.directory.bindings = [*self.directory.bindings, (username, role)]

    @_announced
    async def delete_role(self, role: str, username: str | None) -> None:
        if role == ADMIN_ROLE:
            raise BadRequest(f"role '{ADMIN_ROLE}' is not permitted to delete!")
        async with self._lock:
            affected = [u for u, r in self.directory.bindings if r == role and username in (None, u)]
            revoked = {user: self.tokens.revoke_user(user) for user in affected}
            await self.store.delete_role(role, username, revoked)
            self.directory.bindings = [b for b in self.directory.bindings if not (b[1] == role and b[0] in affected)]

    @_announced
    async def add_permission(self, role: str, resource: str, action: str) -> None:
        if action not in ACTIONS:
            raise BadRequest(f"invalid action '{action}', expected r, w or rw")
        check_width("resource", resource, MAX_RESOURCE)
        async with self._lock:
            if not self.directory.known_role(role):
                raise BadRequest(f"role {role} not found!")
            try:
                await self.store.add_permission(role, resource, action)
            except Duplicate:
                raise BadRequest("permission already exist!") from None
            self.directory.permissions = [*self.directory.permissions, Permission(role, resource, action)]

    @_announced
    async def delete_permission(self, role: str, resource: str, action: str) -> None:
        async with self._lock:
            await self.store.delete_permission(role, resource, action)
            gone = Permission(role, resource, action)
            self.directory.permissions = [p for p in self.directory.permissions if p != gone]


def look(name: str) -> str:
    """What a name looks like to a reader: NFKC casefold, so `NACOS`, `ｎａｃｏｓ` and `nacos` agree."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def check_distinct_name(username: str, existing: Iterable[str]) -> None:
    """A new name must not pass for another one in a user list or an audit log: it is in NFKC form, has
    no invisible, format or space characters, and differs from every existing name beyond case and
    compatibility forms. Only new names are checked: stored ones keep working."""
    if unicodedata.normalize("NFKC", username) != username:
        raise BadRequest("username must be in Unicode NFKC form (no fullwidth or other compatibility characters)")
    if not is_visible(username):
        raise BadRequest("username must not contain invisible, format, separator or unassigned characters")
    wanted = look(username)
    clash = next((name for name in existing if look(name) == wanted), None)
    if clash is not None:
        raise BadRequest(f"username '{username}' is too similar to the existing or reserved name '{clash}'")


def check_width(label: str, value: str, limit: int) -> None:
    """A role or permission resource fits its column (roles.role, permissions.resource) on every backend:
    SQLite alone would store a longer one (server/characters.py)."""
    if len(value) > limit:
        raise BadRequest(f"too long {label}, over {limit}")


def check_new_credentials(username: str, password: str) -> None:
    if not _USERNAME.fullmatch(username):
        raise BadRequest("username must be 1 to 50 characters without spaces or control characters")
    try:
        passwords.check_length(password)
    except passwords.PasswordTooLong as exc:
        raise BadRequest(str(exc)) from None
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password must be at least {MIN_PASSWORD} characters")
