"""The auth check in front of every route: the one question every edge asks.

Order (Nacos's AuthFilter, auth.md §2.3, with its bypasses closed):
1. auth off for the route's scope -> pass; `Public` route -> pass. Nacos 3.x has three scopes with a
   switch each (protocol-v3 G.8.1): `/v3/admin/**` (`nacos.core.auth.admin.enabled`, on by default),
   `/v3/console/**` (`nacos.core.auth.console.enabled`, on by default) and everything else
   (`nacos.core.auth.enabled`, off by default); the account routes are checked while any one is on.
2. Server identity header equal to the configured value (constant-time) -> pass, no further checks;
   never on `/v3/console/**` nor on the console port (as 3.x: the console is for people, a leaked node
   secret must not open it).
3. `User-Agent: Nacos-Server...` -> pass only if `userAgentAuthWhite` was switched on explicitly (not on the
   console either).
`Internal` routes (node to node) are the exception to 1-5: they need a message signed with the identity
value (auth/node_signature.py), always, and nothing else opens them: not the identity header itself, not
a token, not an auth switch.
4. The plugin establishes who is calling (token, or username+password) -> 403 on failure.
5. The route's policy decides: any identity, ROLE_ADMIN, or a permission on the resources the
   request names (read from the same parameters the handler uses).
Failures are logged one line per distinct (reason, client, user), at most once a minute each, so a
client retrying every 3 s does not flood the log; tokens and passwords are never logged.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from pynacos.server.auth.failures import RecentFailures
from pynacos.server.auth.node_signature import SignatureCheck, node_key
from pynacos.server.auth.plugins import AuthPlugin
from pynacos.server.auth.policy import Admin, Authenticated, Internal, Policy, Public, Secured
from pynacos.server.auth.principal import Principal
from pynacos.server.errors import AuthFailed
from pynacos.server.http import Call
from pynacos.server.log_limits import RateLimitedLog

log = logging.getLogger("pynacos.auth")
SERVER_USER = "nacos-server"
LOG_INTERVAL = 60.0
ADMIN_SCOPE = "/v3/admin/"
CONSOLE_SCOPE = "/v3/console/"
#: users, roles and permissions: who may use the admin and console scopes is decided here
ACCOUNT_ROUTES = ("/v1/auth/", "/v3/auth/")
#: why a node-to-node call was refused, and what to fix (the value presented is never logged)
INTERNAL_REFUSED = (
    "node-to-node call refused ({reason}): node messages are signed with "
    "nacos.core.auth.server.identity.value; set it to the same value on every node"
)


@dataclass
class AuthSwitches:
    """The settings that may change while running (application.properties reload)."""

    enabled: bool
    system_type: str
    identity_key: str = ""
    identity_value: str = ""
    user_agent_white: bool = False
    admin_enabled: bool = True
    console_enabled: bool = True

    def on_for(self, path: str) -> bool:
        """Is auth on for a route (by path: the scope is where Nacos 3.x mounts a controller)?

        The account routes are checked while any scope is: 3.x leaves them open on its main port until
        `nacos.core.auth.enabled` is on, so anyone could add a permission or set the admin's password
        and walk into the admin scope it just turned on by default."""
        if path.startswith(ADMIN_SCOPE):
            return self.admin_enabled
        if path.startswith(CONSOLE_SCOPE):
            return self.console_enabled
        if path.startswith(ACCOUNT_ROUTES):
            return self.enabled or self.admin_enabled or self.console_enabled
        return self.enabled


class Guarded(Protocol):
    """What the guard reads of an HTTP route or a gRPC request type: its policy, and a name for the log."""

    @property
    def path(self) -> str: ...

    @property
    def policy(self) -> Policy: ...


class FailureLog:
    """Rate-limited auth failure lines: the first of each (reason, client, user) at once, then a count per minute;
    `recent` counts every failure by the same groups for the console's auth health page."""

    def __init__(self, interval: float = LOG_INTERVAL) -> None:
        self._lines = RateLimitedLog(log, interval)
        self.recent = RecentFailures()

    def record(self, reason: str, client_ip: str, username: str, path: str) -> None:
        self.recent.add(reason, client_ip, username)
        self._lines.log(
            logging.WARNING,
            (reason, client_ip, username),
            "auth refused: %s; client %s, user %r, path %s",
            reason,
            client_ip,
            username,
            path,
        )


class Guard:
    def __init__(self, switches: AuthSwitches, plugin: AuthPlugin, admin_exists: Callable[[], bool]) -> None:
        self.switches = switches
        self.plugin = plugin
        self.failures = FailureLog()
        self.signatures = SignatureCheck()
        #: cluster mode: is this the address of a member? (security.md §5.4; cluster/members.py)
        self.member_address: Callable[[str], Awaitable[bool]] | None = None
        self._key_of = ("", b"")
        self._admin_exists = admin_exists

    async def identify(self, route: Guarded, call: Call) -> None:
        """Check credentials given in the query or headers before the body is read, so a caller without
        valid ones cannot make the server buffer a body first. Without any there, the body may hold them
        (Java 1.x clients send `accessToken` in the form) and `check` decides once it has been read."""
        if isinstance(route.policy, Internal):
            self._refuse_internal(route, call, self.signatures.premature(call.headers))
            return
        if (
            not self.switches.on_for(route.path)
            or isinstance(route.policy, Public)
            or self._server_identity(route, call)
        ):
            return
        if not _credentials_outside_body(call):
            return
        try:
            await self.plugin.authenticate(call)
        except AuthFailed as exc:
            self.failures.record(exc.detail, call.client_ip, call.params.insensitive("username") or "", route.path)
            raise

    async def check(self, route: Guarded, call: Call) -> None:
        if isinstance(route.policy, Internal):
            await self._check_internal(route, call)
            return
        if not self.switches.on_for(route.path) or isinstance(route.policy, Public):
            return
        if self._server_identity(route, call):
            call.principal = Principal(SERVER_USER, "server-identity", is_admin=True)
            return
        try:
            call.principal = await self.plugin.authenticate(call)
            self._authorize(route, call, call.principal)
        except AuthFailed as exc:
            user = call.principal.username if call.principal else (call.params.insensitive("username") or "")
            self.failures.record(exc.detail, call.client_ip, user, route.path)
            raise

    def _server_identity(self, route: Guarded, call: Call) -> bool:
        if call.console_port or route.path.startswith(CONSOLE_SCOPE):
            return False
        s = self.switches
        if s.user_agent_white and call.headers.get("user-agent", "").startswith("Nacos-Server"):
            return True
        return self._identity_matches(call)

    def _identity_matches(self, call: Call) -> bool:
        s = self.switches
        if not s.identity_key or not s.identity_value:
            return False
        presented = call.headers.get(s.identity_key)
        return presented is not None and hmac.compare_digest(presented.encode(), s.identity_value.encode())

    async def _check_internal(self, route: Guarded, call: Call) -> None:
        """Node-to-node routes: a signed message or nothing (no token, no User-Agent, no auth switch)."""
        value = self.switches.identity_value
        if not value:
            self._refuse_internal(route, call, "this node has no nacos.core.auth.server.identity.value")
        body = await call.http_request.body()
        query = call.http_request.scope.get("query_string", b"")
        reason = self.signatures.verify(self._node_key(value), call.method, route.path, query, body, call.headers)
        if reason is None and self.member_address is not None and not await self.member_address(call.client_ip):
            reason = (
                f"sent from {call.client_ip}, which is not a member's address (pynacos.cluster.member.address.check)"
            )
        self._refuse_internal(route, call, reason)
        call.principal = Principal(SERVER_USER, "server-identity", is_admin=True)

    def _refuse_internal(self, route: Guarded, call: Call, reason: str | None) -> None:
        if reason is not None:
            text = INTERNAL_REFUSED.format(reason=reason)
            self.failures.record(text, call.client_ip, "", route.path)
            raise AuthFailed(text)

    def _node_key(self, value: str) -> bytes:
        if self._key_of[0] != value:
            self._key_of = (value, node_key(value))
        return self._key_of[1]

    def _authorize(self, route: Guarded, call: Call, principal: Principal) -> None:
        policy = route.policy
        if isinstance(policy, Authenticated):
            return
        if isinstance(policy, Admin) or (isinstance(policy, Secured) and policy.resources is None):
            if isinstance(policy, Secured) and policy.self_service:
                return
            if not principal.is_admin:
                raise AuthFailed("authorization failed!")
            return
        if isinstance(policy, Secured) and policy.resources is not None:
            self.plugin.authorize(principal, policy.resources(call.params), policy.action)
            return
        raise AuthFailed("authorization failed!")  # fail closed: a policy this guard does not know

    def permits(self, call: Call, resources: list[str], action: str) -> bool:
        """A second check inside a handler (clone reads configs its route's policy did not name):
        the principal the route's check found, against more resources."""
        if not self.switches.on_for(call.path):
            return True
        principal = call.principal
        if principal is None:
            return False
        if principal.is_admin:
            return True
        try:
            self.plugin.authorize(principal, resources, action)
        except AuthFailed:
            return False
        return True

    def state(self, console: bool = False) -> dict[str, str]:
        """The auth keys of the server state map: of `/v1/console/server/state` (the core switch) or, with
        `console`, of `/v3/console/server/state` (G.7.2: the console switch decides the login page, which
        the web console shows from these; the first-admin page while any scope wants an admin)."""
        s = self.switches
        enabled = s.console_enabled if console else s.enabled
        admin_wanted = s.on_for(ACCOUNT_ROUTES[0]) if console else enabled
        return {
            "auth_enabled": _flag(enabled),
            "login_page_enabled": _flag(enabled and self.plugin.login_page_enabled),
            "auth_system_type": s.system_type,
            "auth_admin_request": _flag(admin_wanted and not self._admin_exists()),
        }


def _credentials_outside_body(call: Call) -> bool:
    """A token in a header or the query, or a username and password in the query (Nacos's names, any case)."""
    if call.headers.get("authorization") or call.headers.get("accesstoken"):
        return True
    given = {name.lower() for name in call.params}
    return "accesstoken" in given or "authorization" in given or {"username", "password"} <= given


def _flag(value: bool) -> str:
    return "true" if value else "false"
