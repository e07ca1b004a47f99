"""Telling the other nodes what changed here, and acting on what they tell this node.

Messages carry keys, never content: the database is the source of truth, and a receiver re-reads it.
So a message that arrives twice, late, or out of order does no harm, and a lost one is repaired by
repair.py.

- Config (F.2.3): after a write commits, the local `ConfigChanged` becomes
  `POST /v1/cs/communication/dataChange` (dataId, group, tenant, lastModified) to every peer, retried
  while the peer is listed (peers.py). The receiver calls `ConfigService.refresh(key)`: the formal and
  gray rows of the key are read back, the cache updated, and a `ConfigChanged(local=False)` reaches its
  HTTP long polls and gRPC listeners without being sent on again. Gray versions need no field of their own:
  the receiver reloads every gray row of the key.
- Auth: after an account change commits (user, password, role, permission, deletion, logout), every peer
  gets `POST /v1/auth/cluster/changed` and reloads users, roles, permissions and revocations from the
  database at once; a periodic reload (every AUTH_RELOAD seconds) heals a lost message.
- Login throttle: each failed login here is sent to the peers (`POST /v1/auth/cluster/loginFailed`,
  username and client address, no retry: a peer that is down is not checking logins) and counted there.
All three routes are `Internal`: only a caller with this cluster's server identity reaches them.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.system import AuthSystem
from pynacos.server.cluster.peers import Peers
from pynacos.server.config.models import ConfigKey
from pynacos.server.config.service import ConfigService
from pynacos.server.events import ConfigChanged
from pynacos.server.http import Call
from pynacos.server.storage.outage import report

log = logging.getLogger("pynacos.cluster")

DATA_CHANGE = "/v1/cs/communication/dataChange"
AUTH_CHANGED = "/v1/auth/cluster/changed"
LOGIN_FAILED = "/v1/auth/cluster/loginFailed"
AUTH_RELOAD = 3.0


class ConfigNotices:
    def __init__(self, configs: ConfigService, peers: Peers) -> None:
        self.configs = configs
        self.peers = peers

    def changed(self, event: ConfigChanged) -> None:
        """Bus handler: a change committed on this node goes to every peer."""
        if not event.local:
            return
        key = event.key
        config = self.configs.get(key)
        modified = int(config.modified.timestamp() * 1000) if config else int(time.time() * 1000)
        form = {"dataId": key.data_id, "group": key.group, "tenant": key.tenant, "lastModified": str(modified)}
        self.peers.send(DATA_CHANGE, form, key="config " + key.group_key())

    async def receive(self, call: Call) -> Response:
        params = call.params
        key = ConfigKey(params.text("tenant"), params.required("group"), params.required("dataId"))
        await self.configs.refresh(key)
        return http.text("true")


class AuthNotices:
    def __init__(self, auth: AuthSystem, peers: Peers) -> None:
        self.auth = auth
        self.peers = peers

    def changed(self) -> None:
        self.peers.send(AUTH_CHANGED, {}, key="auth")

    def login_failed(self, username: str, client_ip: str) -> None:
        self.peers.send(LOGIN_FAILED, {"username": username, "ip": client_ip}, retry=False)

    async def receive_changed(self, call: Call) -> Response:
        await self.auth.accounts.load()
        return http.text("true")

    async def receive_login_failed(self, call: Call) -> Response:
        self.auth.throttle.failed_elsewhere(call.params.required("username"), call.params.required("ip"))
        return http.text("true")

    async def reload_forever(self) -> None:
        """Heal lost messages: read the accounts and revocations again every AUTH_RELOAD seconds."""
        while True:
            await asyncio.sleep(AUTH_RELOAD)
            try:
                await self.auth.accounts.load()
            except Exception as exc:
                if not report(self.auth.accounts.store.engine, exc, "reloading users, roles and permissions"):
                    log.exception("reloading users, roles and permissions failed; keeping the previous ones")
