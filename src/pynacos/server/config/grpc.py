"""Config over gRPC (protocol.md E.4): query, publish, remove, batch listen, and change pushes.

Each handler calls what the HTTP route calls (validation, `publish`, `remove`, the gray rules), under the
HTTP route's policy: its fields are read as the HTTP parameters `dataId`, `group`, `tenant`, and a batch
listen as `Listening-Configs`, so every listened key needs read permission as over HTTP.

Listening (invariants): `listeners[key]` maps each listening connection id to the tenant it listened with
(echoed in pushes); `keys_of[conn_id]` is the reverse, so a closed connection drops all its keys at once.
Every `ConfigChanged` (whichever API made it) pushes ConfigChangeNotifyRequest to each listener of the
key, retried a few times with growing delays; the client then queries the config.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.datastructures import Headers

from pynacos.server.auth.policy import CONFIG_READ, CONFIG_WRITE, Secured
from pynacos.server.config import gray, validation
from pynacos.server.config.http import java_url_encode, listen_resources, publish, remove
from pynacos.server.config.models import ConfigKey
from pynacos.server.config.service import ConfigService
from pynacos.server.errors import BadRequest
from pynacos.server.events import ConfigChanged
from pynacos.server.grpc.connections import Connection, Connections
from pynacos.server.grpc.payload import text
from pynacos.server.grpc.server import GrpcFailure, GrpcHandler, ok
from pynacos.server.http import Call
from pynacos.server.namespaces.service import normalise

log = logging.getLogger("pynacos.grpc")
PUSH_TIMEOUT = 3.0
PUSH_ATTEMPTS = 5
MAX_LISTENS = 10_000
NOT_FOUND = "config data not exist"
#: additionMap entries a publish reads as the HTTP parameter of the same meaning
ADDITIONS = {
    "appName": "appName",
    "type": "type",
    "desc": "desc",
    "use": "use",
    "effect": "effect",
    "schema": "schema",
    "config_tags": "config_tags",
    "encryptedDataKey": "encryptedDataKey",
    "src_user": "src_user",
    "tag": "tag",
}


def key_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("dataId", text(body.get("dataId"))),
        ("group", text(body.get("group"))),
        ("tenant", text(body.get("tenant"))),
    ]


def remove_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [*key_params(body), ("tag", text(body.get("tag")))]


def publish_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    additions = body.get("additionMap") or {}
    if not isinstance(additions, dict):
        raise BadRequest("additionMap must be an object")
    extra = [(ADDITIONS[k], text(v)) for k, v in additions.items() if k in ADDITIONS and v is not None]
    return [*key_params(body), ("content", text(body.get("content"))), *extra]


def listen_params(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The contexts as HTTP's `Listening-Configs`, so the same policy reads the same keys."""
    lines = []
    for c in _contexts(body):
        fields = [c["dataId"], c["group"], c["md5"]] + ([c["tenant"]] if c["tenant"] else [])
        lines.append("\x02".join(fields) + "\x01")
    return [("Listening-Configs", "".join(lines))] if lines else []


def _contexts(body: dict[str, Any]) -> list[dict[str, str]]:
    contexts = body.get("configListenContexts") or []
    if not isinstance(contexts, list) or not all(isinstance(c, dict) for c in contexts):
        raise BadRequest("configListenContexts must be a list of objects")
    return [{name: text(c.get(name)) for name in ("dataId", "group", "tenant", "md5")} for c in contexts]


def _key(call: Call) -> ConfigKey:
    p = call.params
    tenant = p.namespace()
    validation.check_readable_key(tenant, p.text("group"), p.text("dataId"))
    return ConfigKey(normalise(tenant), p.text("group"), p.text("dataId"))


class ConfigGrpc:
    def __init__(self, service: ConfigService, connections: Connections) -> None:
        self.service = service
        self.connections = connections
        self.listeners: dict[ConfigKey, dict[str, str]] = {}
        self.keys_of: dict[str, set[ConfigKey]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        connections.on_close.append(self._forget)

    def handlers(self) -> list[GrpcHandler]:
        not_found_fields = (("lastModified", 0), ("beta", False))
        return [
            GrpcHandler(
                "ConfigQueryRequest", "ConfigQueryResponse", CONFIG_READ, self.query, key_params, not_found_fields
            ),
            GrpcHandler("ConfigPublishRequest", "ConfigPublishResponse", CONFIG_WRITE, self.publish, publish_params),
            GrpcHandler("ConfigRemoveRequest", "ConfigRemoveResponse", CONFIG_WRITE, self.remove, remove_params),
            GrpcHandler(
                "ConfigBatchListenRequest",
                "ConfigChangeBatchListenResponse",
                Secured("r", listen_resources),
                self.batch_listen,
                listen_params,
            ),
        ]

    async def query(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        key = _key(call)
        tag = text(body.get("tag")) or call.headers.get("Vipserver-Tag", "").strip() or None
        version = self.service.gray_for(key, call.client_ip, tag) if self.service.has_gray(key) else None
        formal = self.service.get(key)
        if version is not None:
            tagged = {"tag": java_url_encode(version.rule.expr)} if version.rule.type != gray.BETA else {}
            return ok(
                content=version.content,
                md5=version.md5,
                lastModified=int(version.modified.timestamp() * 1000),
                contentType=formal.type if formal else "text",
                encryptedDataKey=version.encrypted_data_key,
                beta=version.rule.type == gray.BETA,
                **tagged,
            )
        if formal is None or tag:
            raise GrpcFailure(300, NOT_FOUND)
        return ok(
            content=formal.content,
            md5=formal.md5,
            lastModified=int(formal.modified.timestamp() * 1000),
            contentType=formal.type or "text",
            encryptedDataKey=formal.encrypted_data_key,
            beta=False,
        )

    async def publish(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        p = call.params
        validation.check_key(p.namespace(), p.text("group"), p.text("dataId"))
        key = ConfigKey(normalise(p.namespace()), p.required("group"), p.required("dataId"))
        additions = body.get("additionMap") or {}
        extra = {"casMd5": text(body.get("casMd5")), "betaIps": text(additions.get("betaIps"))}
        call.header_map = Headers(headers={**dict(call.headers), **{k.lower(): v for k, v in extra.items() if v}})
        await publish(self.service, call, key, p.text("content"))
        return ok()

    async def remove(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        p = call.params
        validation.check_key(p.namespace(), p.text("group"), p.text("dataId"))
        key = ConfigKey(normalise(p.namespace()), p.required("group"), p.required("dataId"))
        validation.validate_key(key.data_id, key.group)
        await remove(self.service, call, key, call.principal.username if call.principal else None)
        return ok()

    async def batch_listen(self, call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        listen = body.get("listen", True) not in (False, "false", "False")
        tag = call.headers.get("Vipserver-Tag", "").strip() or None
        changed = []
        for context in _contexts(body):
            key = ConfigKey(normalise(context["tenant"]), context["group"], context["dataId"])
            if not listen:
                self._unlisten(connection.id, key)
                continue
            listened = self.keys_of.setdefault(connection.id, set())
            if key not in listened and len(listened) >= MAX_LISTENS:
                raise GrpcFailure(400, f"over {MAX_LISTENS} configs listened on one connection (security.md §6.4)")
            self.listeners.setdefault(key, {})[connection.id] = context["tenant"]
            listened.add(key)
            if self.service.md5(key, call.client_ip, tag) != context["md5"]:
                changed.append({k: context[k] for k in ("group", "dataId", "tenant")})
        return ok(changedConfigs=changed)

    def _unlisten(self, conn_id: str, key: ConfigKey) -> None:
        listening = self.listeners.get(key)
        if listening is not None:
            listening.pop(conn_id, None)
            if not listening:
                del self.listeners[key]
        self.keys_of.get(conn_id, set()).discard(key)

    def _forget(self, connection: Connection) -> None:
        for key in self.keys_of.pop(connection.id, set()):
            self._unlisten(connection.id, key)

    def changed(self, event: ConfigChanged) -> None:
        """Bus handler: push the change to every connection listening on the key."""
        for conn_id, tenant in self.listeners.get(event.key, {}).items():
            connection = self.connections.registered.get(conn_id)
            if connection is not None:
                task = asyncio.get_running_loop().create_task(self._notify(connection, event.key, tenant))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _notify(self, connection: Connection, key: ConfigKey, tenant: str) -> None:
        body = {"dataId": key.data_id, "group": key.group, "tenant": tenant, "module": "config"}
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            if await self.connections.push(connection, "ConfigChangeNotifyRequest", body, PUSH_TIMEOUT):
                return
            if connection.closed.is_set():
                return
            await asyncio.sleep(2.0 * attempt)
        log.info("config change push of %s/%s to %s not acknowledged; giving up", key.group, key.data_id, connection.id)
