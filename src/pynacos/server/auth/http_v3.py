"""Nacos 3.x auth API (`/v3/auth/*`, protocol-v3 G.6): users, roles, permissions and the first admin.

The business rules are the v1 routes' (auth.md §5–§8, the same `Accounts` store and the same handler
helpers); the wire is 3.x's: parameter names as in 3.x, success in the `Result` envelope
(`{"code":0,"message":"success","data":...}`), and the console port's refusals, because that is where
the 3.x console calls these routes: a rejected value is HTTP 400 `caused: <reason>;`, a refused caller
the auth filter's error document. `/user/login` is served with the v1 login routes (auth/http.py).

Scope: these routes are Nacos's OPEN_API, so `nacos.core.auth.enabled` governs them (open while it is
off, as on Nacos's port 8848); every one but `/user/admin` needs ROLE_ADMIN once it is on, except a
password change, which a user may make for themself.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.http import (
    PASSWORD_W,
    PERMS_R,
    PERMS_W,
    ROLES_R,
    ROLES_W,
    USERS_R,
    USERS_W,
    AuthRoutes,
    contains,
    page_of,
)
from pynacos.server.auth.policy import PUBLIC
from pynacos.server.auth.rbac import DEFAULT_ADMIN
from pynacos.server.errors import AuthFailed, BadRequest
from pynacos.server.http import Call, Params
from pynacos.server.routing import Route, route

BASE = "/v3/auth"
RESERVED_TEXT = (
    f"user '{DEFAULT_ADMIN}' is the first admin's name: create it with POST /nacos/v3/auth/user/admin "
    "or `pynacos user init-admin`"
)


def blur(params: Params) -> bool:
    """3.x `search`: `blur` in any case is a blur search; anything else (default `accurate`) is not."""
    return params.text("search", "accurate").lower() == "blur"


def nonblank(params: Params, name: str) -> str:
    """A required value 3.x also refuses when blank (`username is blank`)."""
    value = params.required(name)
    if not value.strip():
        raise BadRequest(f"{name} is blank")
    return value


class HandlerRefused(AuthFailed):
    """A refusal 3.x's handler writes itself (`sendError(403, "authorization failed!")`): the bare reason,
    not the filter's `Code: 403, Message: ...` form."""

    def nacos3_text(self) -> str:
        return self.detail


def conflict(message: str) -> Response:
    """3.x's in-band failures: HTTP 200 with the code in the envelope."""
    return http.json({"code": 409, "message": message, "data": None})


class AuthRoutesV3:
    """`/v3/auth/*` over the v1 routes' helpers (first admin, password change, listings)."""

    def __init__(self, v1: AuthRoutes) -> None:
        self.v1 = v1
        self.accounts = v1.accounts

    def routes(self) -> list[Route]:
        return [
            route(f"{BASE}/user/admin", "POST", self.init_admin, PUBLIC),
            route(f"{BASE}/user", "POST", self.create_user, USERS_W),
            route(f"{BASE}/user", "DELETE", self.delete_user, USERS_W),
            route(f"{BASE}/user", "PUT", self.update_password, PASSWORD_W),
            route(f"{BASE}/user/list", "GET", self.list_users, USERS_R),
            route(f"{BASE}/user/search", "GET", self.search_users, USERS_W),
            route(f"{BASE}/role", "POST", self.add_role, ROLES_W),
            route(f"{BASE}/role", "DELETE", self.delete_role, ROLES_W),
            route(f"{BASE}/role/list", "GET", self.list_roles, ROLES_R),
            route(f"{BASE}/role/search", "GET", self.search_roles, ROLES_R),
            route(f"{BASE}/permission", "POST", self.add_permission, PERMS_W),
            route(f"{BASE}/permission", "DELETE", self.delete_permission, PERMS_W),
            route(f"{BASE}/permission", "GET", self.permission_exists, PERMS_R),
            route(f"{BASE}/permission/list", "GET", self.list_permissions, PERMS_R),
        ]

    async def init_admin(self, call: Call) -> Response:
        """`{"username":"nacos","password":...}`; an admin exists: HTTP 200 code 409 (3.x's own words)."""
        password = await self.v1.first_admin(call)
        if password is None:
            return conflict("have admin user cannot use it.")
        return http.json(
            {"code": 0, "message": "success", "data": {"username": DEFAULT_ADMIN, "password": password}},
            headers={"Cache-Control": "no-store"},
        )

    async def create_user(self, call: Call) -> Response:
        username, password = nonblank(call.params, "username"), nonblank(call.params, "password")
        if username == DEFAULT_ADMIN:
            raise BadRequest(RESERVED_TEXT)
        await self.accounts.create_user(username, password)
        return http.result("create user ok!")

    async def delete_user(self, call: Call) -> Response:
        await self.accounts.delete_user(call.params.required("username"))
        return http.result("delete user ok!")

    async def update_password(self, call: Call) -> Response:
        try:
            await self.v1.change_password(call)
        except AuthFailed as exc:
            raise HandlerRefused(exc.detail) from None
        return http.result("update user ok!")

    async def list_users(self, call: Call) -> Response:
        return http.result(page_of(call.params, self.v1.user_rows(call.params, blur(call.params))))

    async def search_users(self, call: Call) -> Response:
        return http.result(contains(self.accounts.directory.users, call.params.required("username")))

    async def add_role(self, call: Call) -> Response:
        await self.accounts.add_role(call.params.required("role"), call.params.required("username"))
        return http.result("add role ok!")

    async def delete_role(self, call: Call) -> Response:
        username = call.params.text("username")
        await self.accounts.delete_role(call.params.required("role"), username if username.strip() else None)
        return http.result(f"delete role of user {username} ok!")

    async def list_roles(self, call: Call) -> Response:
        return http.result(page_of(call.params, self.v1.role_rows(call.params, blur(call.params))))

    async def search_roles(self, call: Call) -> Response:
        roles = [role for _, role in self.accounts.directory.bindings]
        return http.result(contains(roles, call.params.required("role")))

    async def add_permission(self, call: Call) -> Response:
        p = call.params
        await self.accounts.add_permission(p.required("role"), p.required("resource"), p.required("action"))
        return http.result("add permission ok!")

    async def delete_permission(self, call: Call) -> Response:
        p = call.params
        await self.accounts.delete_permission(p.required("role"), p.required("resource"), p.required("action"))
        return http.result("delete permission ok!")

    async def permission_exists(self, call: Call) -> Response:
        return http.result(self.v1.permission_exists(call.params))

    async def list_permissions(self, call: Call) -> Response:
        rows: list[dict[str, Any]] = self.v1.permission_rows(call.params, blur(call.params))
        return http.result(page_of(call.params, rows))
