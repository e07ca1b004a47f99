"""The auth system assembled from settings: start-up checks, the parts, and live reload.

Start-up checks (only when auth is on, as in Nacos) refuse to start with Nacos's text plus the fix:
empty system type (50001), unknown plugin (naming the installed ones), cluster without identity
(50002), a missing/short/undecodable/public secret key. Standalone without identity is fine (there
is no peer), with one warning. `userAgentAuthWhite=true` starts with a warning naming the risk.

Reload: the enable switches (core, admin and console scope), identity key/value, user-agent
whitelist, secret key(s) and token lifetime are re-read when application.properties changes; a bad
new key is refused (the old key stays, the error is logged) instead of leaving every token check
failing as Nacos does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.auth import keys
from pynacos.server.auth.guard import AuthSwitches, Guard
from pynacos.server.auth.http import BOOTSTRAP_HEADER, AuthRoutes
from pynacos.server.auth.http_v3 import AuthRoutesV3
from pynacos.server.auth.plugins import NacosPlugin, PluginContext, available
from pynacos.server.auth.rbac import Accounts
from pynacos.server.auth.throttle import LoginThrottle
from pynacos.server.auth.tokens import MAX_TTL, TokenCodec, TokenService
from pynacos.server.routing import Route
from pynacos.server.settings import Settings, SettingsError
from pynacos.server.storage.files import private_dir
from pynacos.server.storage.outage import report
from pynacos.server.storage.users import AuthStore

log = logging.getLogger("pynacos.auth")
REFRESH_INTERVAL = 15.0
DOCS = keys.DOCS
EMPTY_TYPE = "ErrCode:50001, ErrMsg:Invalid auth type, Please set `nacos.core.auth.system.type`, detail: " + DOCS
EMPTY_IDENTITY = (
    "ErrCode:50002, ErrMsg:Empty identity, Please set `nacos.core.auth.server.identity.key` and "
    f"`nacos.core.auth.server.identity.value`, detail: {DOCS}"
)


def check(settings: Settings) -> list[str]:
    """Refuse settings auth cannot run with (SettingsError); returns warnings to log."""
    warnings: list[str] = []
    if settings.user_agent_auth_white:
        warnings.append(
            "nacos.core.auth.enable.userAgentAuthWhite=true: any client sending `User-Agent: Nacos-Server` "
            "skips auth (CVE-2021-29441); turn it off unless an old node needs it"
        )
    if not settings.auth_enabled:
        return warnings
    if not settings.auth_system_type:
        raise SettingsError(EMPTY_TYPE)
    installed = available()
    if settings.auth_system_type not in installed:
        names = ", ".join(sorted(installed))
        raise SettingsError(
            f"nacos.core.auth.system.type={settings.auth_system_type} is not installed; installed: {names}."
        )
    if not settings.identity_key or not settings.identity_value:
        if not settings.standalone:
            raise SettingsError(EMPTY_IDENTITY)
        warnings.append("no server identity set (nacos.core.auth.server.identity.key/value): fine standalone")
    else:
        _check_identity(settings)
    if not 0 < settings.token_expire_seconds <= MAX_TTL:
        raise SettingsError(
            f"Setting nacos.core.auth.plugin.nacos.token.expire.seconds has the value "
            f"{settings.token_expire_seconds}; expected 1 to {MAX_TTL} seconds."
        )
    warnings += _check_keys(settings)
    return warnings


PUBLIC_IDENTITY_VALUES = {"security", "nacos", "example", "test"}
MIN_IDENTITY_BYTES = 32


def _check_identity(settings: Settings) -> None:
    """The identity header is a master credential (it skips every check, as in Nacos §9), so a
    public or guessable value is refused in every mode (security.md §5.1); the value is never echoed."""
    value = settings.identity_value
    reason = ""
    if value.lower() in PUBLIC_IDENTITY_VALUES:
        reason = "is a value published in Nacos's files and docs"
    elif value == settings.identity_key or value == settings.token_secret_key:
        reason = "equals the identity key or the token secret key"
    elif len(value.encode()) < MIN_IDENTITY_BYTES:
        reason = f"is shorter than {MIN_IDENTITY_BYTES} bytes"
    if reason:
        raise SettingsError(
            f"nacos.core.auth.server.identity.value {reason}: anyone who knows it is admin. "
            "Fix: set a random value of 32+ bytes (`pynacos secret` prints one) on every node."
        )


def _check_keys(settings: Settings) -> list[str]:
    if not settings.token_secret_key:
        raise SettingsError(f"{keys.NACOS_KEY_ERROR} ({keys.PROPERTY} is not set: the key is 0 bits.) {keys.FIX}")
    try:
        _, warnings = keys.check(settings.token_secret_key)
        if settings.token_previous_secret_key:
            keys.check(settings.token_previous_secret_key)
    except keys.InvalidKey as exc:
        raise SettingsError(str(exc)) from None
    return warnings


def codec_for(settings: Settings) -> TokenCodec | None:
    """None when no usable key is set (only possible with auth off: login then answers AUTH_DISABLED)."""
    try:
        key, _ = keys.check(settings.token_secret_key)
    except keys.InvalidKey:
        return None
    previous = None
    if settings.token_previous_secret_key:
        try:
            previous, _ = keys.check(settings.token_previous_secret_key)
        except keys.InvalidKey:
            previous = None
    return TokenCodec(key, previous)


def switches_of(settings: Settings) -> AuthSwitches:
    return AuthSwitches(
        settings.auth_enabled,
        settings.auth_system_type,
        settings.identity_key,
        settings.identity_value,
        settings.user_agent_auth_white,
        settings.auth_admin_enabled,
        settings.auth_console_enabled,
    )


class AuthSystem:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.bootstrap_file = settings.data_path / "bootstrap.token"
        self.tokens = TokenService(codec_for(settings), settings.token_expire_seconds, settings.token_cache_enable)
        self.accounts = Accounts(AuthStore(engine), self.tokens)
        self.throttle = LoginThrottle()
        context = PluginContext(self.accounts, self.tokens, self.throttle)
        self.nacos = NacosPlugin(context)
        factory = available().get(settings.auth_system_type, NacosPlugin)
        plugin = self.nacos if factory is NacosPlugin else factory(context)
        self.switches = switches_of(settings)
        self.guard = Guard(self.switches, plugin, self.accounts.directory.has_admin)

    async def load(self) -> None:
        await self.accounts.load()
        self.tokens.forget_expired()
        if not self.accounts.directory.has_admin():
            self._write_bootstrap_token()

    async def refresh_forever(self) -> None:
        """Nacos reloads users, roles and permissions every 15 s; changes made by `pynacos user` or by
        another process sharing the database show up here within that time."""
        while True:
            await asyncio.sleep(REFRESH_INTERVAL)
            try:
                await self.accounts.load()
                self.tokens.forget_expired()
                await self.accounts.store.purge_revoked(int(time.time()))
            except Exception as exc:
                if not report(self.accounts.store.engine, exc, "reloading users, roles and permissions"):
                    log.exception("reloading users, roles and permissions failed; keeping the previous ones")

    def _write_bootstrap_token(self) -> None:
        path = self.bootstrap_file
        private_dir(path.parent)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        if not self.settings.auth_enabled:
            return
        log.warning(
            "no admin exists yet: create it with `pynacos user init-admin`, from this host with "
            "POST /nacos/v1/auth/users/admin, or from elsewhere with header %s set to the content of %s",
            BOOTSTRAP_HEADER,
            path,
        )

    def routes(self) -> list[Route]:
        routes = AuthRoutes(
            self.accounts,
            self.tokens,
            self.nacos,
            lambda: self.switches.enabled,
            self.bootstrap_file,
            self.guard.failures,
        )
        return [*routes.routes(), *AuthRoutesV3(routes).routes()]

    def reload(self, new: Settings) -> None:
        """Apply the reloadable settings; a change that fails the start-up checks is refused whole."""
        try:
            for warning in check(new):
                log.warning(warning)
        except SettingsError as exc:
            log.error("application.properties change refused, keeping the running auth settings: %s", exc)
            return
        old = self.settings
        fresh = switches_of(new)
        for name in (f.name for f in dataclasses.fields(AuthSwitches)):
            setattr(self.switches, name, getattr(fresh, name))
        if (new.token_secret_key, new.token_previous_secret_key) != (
            old.token_secret_key,
            old.token_previous_secret_key,
        ):
            self.tokens.use(codec_for(new), new.token_expire_seconds)
        else:
            self.tokens.use(self.tokens.codec, new.token_expire_seconds)
        self.settings = new
        changed = [
            name
            for name in (
                "auth_enabled",
                "auth_admin_enabled",
                "auth_console_enabled",
                "identity_key",
                "identity_value",
                "token_secret_key",
                "token_previous_secret_key",
                "token_expire_seconds",
                "user_agent_auth_white",
            )
            if getattr(old, name) != getattr(new, name)
        ]
        if changed:
            log.warning("auth settings reloaded from application.properties: %s changed", ", ".join(changed))


def _keys(settings: Settings) -> tuple[str, str]:
    return settings.token_secret_key, settings.token_previous_secret_key
