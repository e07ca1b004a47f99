"""Auth plugins, chosen by `nacos.core.auth.system.type`.

The interface is small: `authenticate(call)` returns a Principal or raises AuthFailed;
`authorize(principal, resources, action)` raises AuthFailed("authorization failed!");
`login_page_enabled` says whether the console shows a login page. Third-party plugins register a
factory `(context: PluginContext) -> AuthPlugin` under the entry point group `pynacos.auth`:

    [project.entry-points."pynacos.auth"]
    ldap = "mypackage.ldap:make_plugin"

`nacos` (built in) is Nacos's own scheme: JWT tokens or username/password against the user store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol

from pynacos.server.auth import passwords
from pynacos.server.auth.principal import Principal
from pynacos.server.auth.rbac import Accounts
from pynacos.server.auth.throttle import LoginThrottle
from pynacos.server.auth.tokens import TokenRejected, TokenService
from pynacos.server.errors import AuthFailed, BadRequest
from pynacos.server.http import Call

ENTRY_POINT_GROUP = "pynacos.auth"
BEARER = "Bearer "


class AuthPlugin(Protocol):
    login_page_enabled: bool

    async def authenticate(self, call: Call) -> Principal: ...

    def authorize(self, principal: Principal, resources: list[str], action: str) -> None: ...


@dataclass
class PluginContext:
    """What a plugin may use: the account store, the token service, the login throttle."""

    accounts: Accounts
    tokens: TokenService
    throttle: LoginThrottle


PluginFactory = Callable[[PluginContext], AuthPlugin]


def identity_value(call: Call, name: str) -> str | None:
    """Nacos reads identity names from headers then parameters, any case; a parameter and a header
    that disagree are refused rather than one silently winning."""
    param = call.params.insensitive(name)
    header = call.headers.get(name)
    if param is not None and header is not None and param != header:
        raise BadRequest("conflicting credentials")
    return param if param is not None else header


def presented_token(call: Call) -> str | None:
    """`Authorization: Bearer <t>` or `accessToken`; two different tokens are a 400."""
    authorization = identity_value(call, "Authorization") or ""
    bearer = authorization[len(BEARER) :] if authorization.startswith(BEARER) else None
    access = identity_value(call, "accessToken")
    if bearer and access and bearer != access:
        raise BadRequest("conflicting credentials")
    token = bearer or access
    return token if token and token.strip() else None


class NacosPlugin:
    """Nacos's default scheme, with revocation, throttling and no username enumeration."""

    login_page_enabled = True

    def __init__(self, context: PluginContext) -> None:
        self.accounts = context.accounts
        self.tokens = context.tokens
        self.throttle = context.throttle
        self.credentials = passwords.CredentialCache()

    async def authenticate(self, call: Call) -> Principal:
        token = presented_token(call)
        if token is not None:
            return self.principal_of_token(token)
        username = identity_value(call, "username")
        password = identity_value(call, "password")
        if not username or not password:
            raise AuthFailed("user not found!")
        return await self.check_password(username, password, call.client_ip)

    def principal_of_token(self, token: str) -> Principal:
        try:
            claims = self.tokens.verify(token)
        except TokenRejected as exc:
            raise AuthFailed(str(exc)) from None
        directory = self.accounts.directory
        if claims.sub not in directory.users:
            raise AuthFailed("user not found!")
        return Principal(claims.sub, "token", directory.is_admin(claims.sub))

    async def check_password(self, username: str, password: str, client_ip: str) -> Principal:
        """One BCrypt at most per minute per credential pair; failures count towards the lock."""
        self.throttle.check(username, client_ip)
        directory = self.accounts.directory
        stored = directory.users.get(username)
        if stored is None or not self.credentials.hit(username, password, stored):
            if not await passwords.verify_async(password, stored):  # unknown users pay the same BCrypt
                self.throttle.failed(username, client_ip)
                raise AuthFailed("user not found!")
            self.credentials.remember(username, password, stored or "")
        return Principal(username, "password", directory.is_admin(username))

    def authorize(self, principal: Principal, resources: list[str], action: str) -> None:
        directory = self.accounts.directory
        if not all(directory.allows(principal.username, r, action) for r in resources):
            raise AuthFailed("authorization failed!")


BUILT_IN: dict[str, PluginFactory] = {"nacos": NacosPlugin}


def available() -> dict[str, PluginFactory]:
    """Built-in plugins plus those installed through the `pynacos.auth` entry point group."""
    found = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name.lower(), entry.load())
    return found
