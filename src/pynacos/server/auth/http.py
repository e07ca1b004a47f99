"""Login, first admin, users, roles and permissions over HTTP, with Nacos's bodies (auth.md §5–§7)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth import passwords
from pynacos.server.auth.guard import FailureLog
from pynacos.server.auth.plugins import NacosPlugin, presented_token
from pynacos.server.auth.policy import AUTHENTICATED, PUBLIC, Secured
from pynacos.server.auth.rbac import Accounts, DefaultAdminReserved
from pynacos.server.auth.tokens import TokenService
from pynacos.server.errors import AuthFailed, BadRequest, Forbidden, NacosError
from pynacos.server.http import Call, Params
from pynacos.server.routing import Route, route
from pynacos.server.wildcards import wildcard

log = logging.getLogger("pynacos.auth")
USERS_R, USERS_W = Secured("r", resource="console/users"), Secured("w", resource="console/users")
ROLES_R, ROLES_W = Secured("r", resource="console/roles"), Secured("w", resource="console/roles")
PERMS_R, PERMS_W = Secured("r", resource="console/permissions"), Secured("w", resource="console/permissions")
PASSWORD_W = Secured("w", resource="console/user/password", self_service=True)
BOOTSTRAP_HEADER = "X-Pynacos-Bootstrap"
NO_STORE = {"Cache-Control": "no-store"}


class LoginRefused(Forbidden):
    """Nacos's auth controllers answer 403 with the bare message (`user not found!`)."""

    bare = True


class SessionExpired(NacosError):
    http_status = 401
    bare = True


def page_args(params: Params) -> tuple[int, int]:
    page_no, page_size = params.integer("pageNo"), params.integer("pageSize")
    if page_no <= 0 or page_size <= 0:
        raise BadRequest("pageNo and pageSize must be greater than zero")
    return page_no, page_size


def page_of(params: Params, rows: list[dict[str, Any]]) -> dict[str, Any]:
    page_no, page_size = page_args(params)
    return http.page(len(rows), page_no, page_size, rows[(page_no - 1) * page_size : page_no * page_size])


def paged(params: Params, rows: list[dict[str, Any]]) -> Response:
    return http.json(page_of(params, rows))


def matcher(params: Params, name: str, blur: bool | None = None) -> Callable[[str], bool]:
    """`search=accurate` is equality; `search=blur` a LIKE with `*` as the only wildcard (no implicit one)."""
    wanted = params.text(name).strip()
    if not wanted:
        return lambda _value: True
    if params.get("search") == "blur" if blur is None else blur:
        return wildcard(wanted)
    return lambda value: value == wanted


def contains(names: Iterable[str], fragment: str) -> list[str]:
    return [n for n in names if fragment in n]


class AuthRoutes:
    def __init__(
        self,
        accounts: Accounts,
        tokens: TokenService,
        plugin: NacosPlugin,
        is_enabled: Callable[[], bool],
        bootstrap_file: Path,
        failures: FailureLog,
    ) -> None:
        self.accounts = accounts
        self.tokens = tokens
        self.plugin = plugin
        #: failed logins go where the guard's refusals go: the rate-limited log and the auth health page
        self.failures = failures
        self.is_enabled = is_enabled
        self.bootstrap_file = bootstrap_file

    def routes(self) -> list[Route]:
        return [
            route("/v1/auth/login", "POST", self.login, PUBLIC),
            route("/v1/auth/users/login", "POST", self.login, PUBLIC),
            route("/v3/auth/user/login", "POST", self.login, PUBLIC),
            route("/v1/auth/logout", "POST", self.logout, AUTHENTICATED),
            # pynacos's own (3.x has no logout): the web console revokes its token here, also on a console port
            route("/v3/auth/user/logout", "POST", self.logout, AUTHENTICATED),
            route("/v1/auth/users/admin", "POST", self.init_admin, PUBLIC),
            route("/v1/auth/admin", "POST", self.init_admin, PUBLIC),
            route("/v1/auth/users", "POST", self.create_user, USERS_W),
            route("/v1/auth/users", "DELETE", self.delete_user, USERS_W),
            route("/v1/auth/users", "PUT", self.update_password, PASSWORD_W),
            route("/v1/auth/users", "GET", self.list_users, USERS_R),
            route("/v1/auth/users/search", "GET", self.search_users, USERS_W),
            route("/v1/auth/roles", "POST", self.add_role, ROLES_W),
            route("/v1/auth/roles", "DELETE", self.delete_role, ROLES_W),
            route("/v1/auth/roles", "GET", self.list_roles, ROLES_R),
            route("/v1/auth/roles/search", "GET", self.search_roles, ROLES_R),
            route("/v1/auth/permissions", "POST", self.add_permission, PERMS_W),
            route("/v1/auth/permissions", "DELETE", self.delete_permission, PERMS_W),
            route("/v1/auth/permissions", "GET", self.list_permissions, PERMS_R),
        ]

    async def login(self, call: Call) -> Response:
        """A presented valid token is returned unchanged; otherwise the password is checked."""
        p = call.params
        username, password = p.required("username"), p.required("password")
        token = presented_token(call)
        try:
            if token is not None:
                principal = self.plugin.principal_of_token(token)
                ttl = self.tokens.verify(token).exp - int(self.tokens.clock())
            else:
                if not username.strip() or not password:
                    raise AuthFailed("user not found!")
                principal = await self.plugin.check_password(username, password, call.client_ip)
                token, ttl = self.tokens.issue(principal.username)
        except AuthFailed as exc:
            self.failures.record(exc.detail, call.client_ip, username, call.path)
            raise LoginRefused(exc.detail) from None
        body = {
            "accessToken": token,
            "tokenTtl": ttl,
            "globalAdmin": principal.is_admin,
            "username": principal.username,
        }
        return http.json(body, headers={"Authorization": f"Bearer {token}", **NO_STORE})

    async def logout(self, call: Call) -> Response:
        token = presented_token(call)
        revoked = self.tokens.revoke_token(token) if token else None
        if revoked is not None:
            await self.accounts.store.add_revoked(*revoked)
            self.accounts.changed()
        return http.rest_result("logout ok!")

    async def init_admin(self, call: Call) -> Response:
        password = await self.first_admin(call)
        if password is None:
            return http.rest_result("have admin user cannot use it", 409)
        return http.json({"username": "nacos", "password": password}, headers=NO_STORE)

    async def first_admin(self, call: Call) -> str | None:
        """First admin: open only while no ROLE_ADMIN exists, and only locally or with the bootstrap token.
        Returns its password, or None when an admin exists already."""
        if self.accounts.directory.has_admin():
            return None
        if not self._bootstrap_allowed(call):
            raise LoginRefused(
                f"the first admin can be created from the server's own host, or with header {BOOTSTRAP_HEADER} "
                f"set to the content of the bootstrap token file ({self.bootstrap_file.name}) in the server's "
                "data directory"
            )  # no absolute path to a remote caller: it maps the server's disk (the server log names it)
        password = call.params.text("password") or passwords.generate()
        if not await self.accounts.create_admin(password):
            return None
        log.warning("first admin 'nacos' created over HTTP from %s", call.client_ip)
        self.bootstrap_file.unlink(missing_ok=True)
        return password

    def _bootstrap_allowed(self, call: Call) -> bool:
        forwarded = any(h in call.headers for h in ("x-forwarded-for", "x-real-ip", "forwarded"))
        try:
            # a request relayed by a local reverse proxy also comes from loopback: it does not count
            if ipaddress.ip_address(call.client_ip).is_loopback and not forwarded:
                return True
        except ValueError:
            pass
        presented = call.headers.get(BOOTSTRAP_HEADER, "")
        try:
            expected = self.bootstrap_file.read_text().strip()
        except OSError:
            return False
        return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())

    async def create_user(self, call: Call) -> Response:
        try:
            await self.accounts.create_user(call.params.required("username"), call.params.required("password"))
        except DefaultAdminReserved as exc:
            return http.rest_result(str(exc), 409)
        return http.rest_result("create user ok!")

    async def delete_user(self, call: Call) -> Response:
        await self.accounts.delete_user(call.params.required("username"))
        return http.rest_result("delete user ok!")

    async def update_password(self, call: Call) -> Response:
        await self.change_password(call)
        return http.rest_result("update user ok!")

    async def change_password(self, call: Call) -> None:
        """Self or an admin (with auth on); Nacos tags the route identity-only and checks here."""
        username, new_password = call.params.required("username"), call.params.required("newPassword")
        principal = call.principal
        if self.is_enabled():
            if principal is None:
                raise SessionExpired("session expired!")
            if not principal.is_admin and principal.username != username:
                raise AuthFailed("authorization failed!")
        await self.accounts.set_password(username, new_password)

    async def list_users(self, call: Call) -> Response:
        return paged(call.params, self.user_rows(call.params))

    def user_rows(self, p: Params, blur: bool | None = None) -> list[dict[str, Any]]:
        """Users as Nacos lists them, without the password hash Nacos leaks."""
        match = matcher(p, "username", blur)
        return [{"username": u, "password": ""} for u in self.accounts.directory.users if match(u)]

    async def search_users(self, call: Call) -> Response:
        return http.json(contains(self.accounts.directory.users, call.params.text("username")))

    async def add_role(self, call: Call) -> Response:
        await self.accounts.add_role(call.params.required("role"), call.params.required("username"))
        return http.rest_result("add role ok!")

    async def delete_role(self, call: Call) -> Response:
        username = call.params.optional("username")
        await self.accounts.delete_role(call.params.required("role"), username)
        return http.rest_result(f"delete role of user {username or ''} ok!")

    async def list_roles(self, call: Call) -> Response:
        return paged(call.params, self.role_rows(call.params))

    def role_rows(self, p: Params, blur: bool | None = None) -> list[dict[str, Any]]:
        match_user, match_role = matcher(p, "username", blur), matcher(p, "role", blur)
        return [
            {"role": r, "username": u} for u, r in self.accounts.directory.bindings if match_user(u) and match_role(r)
        ]

    async def search_roles(self, call: Call) -> Response:
        roles = [r for _, r in self.accounts.directory.bindings]
        return http.json(contains(roles, call.params.text("role")))

    async def add_permission(self, call: Call) -> Response:
        p = call.params
        await self.accounts.add_permission(p.required("role"), p.required("resource"), p.required("action"))
        return http.rest_result("add permission ok!")

    async def delete_permission(self, call: Call) -> Response:
        p = call.params
        await self.accounts.delete_permission(p.required("role"), p.required("resource"), p.required("action"))
        return http.rest_result("delete permission ok!")

    async def list_permissions(self, call: Call) -> Response:
        """With `search`, a page (auth.md §7). Without it Nacos 2.5.1 answers its duplicate check, whose `role`,
        `resource` and `action` are required; a request naming none of the last two but a page (`pageNo`) is
        answered with the page (an accurate search), not with a `false` about a permission it never named."""
        p = call.params
        if p.get("search") is None and not ("pageNo" in p and "resource" not in p and "action" not in p):
            return http.result(self.permission_exists(p))
        return paged(p, self.permission_rows(p))

    def permission_exists(self, p: Params) -> bool:
        """Nacos's duplicate check: the same resource with the same action, or a stored `rw`."""
        role, resource, action = p.required("role"), p.required("resource"), p.required("action")
        return any(
            x.role == role and x.resource == resource and (x.action == action or x.action == "rw")
            for x in self.accounts.directory.permissions
        )

    def permission_rows(self, p: Params, blur: bool | None = None) -> list[dict[str, Any]]:
        match_role = matcher(p, "role", blur)
        return [
            {"role": x.role, "resource": x.resource, "action": x.action}
            for x in self.accounts.directory.permissions
            if match_role(x.role)
        ]
