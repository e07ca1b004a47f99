"""The SDK gRPC port (HTTP port + 1000): `/Request/request` and `/BiRequestStream/requestBiStream`.

A gRPC request is one more edge over the same services and the same guard as HTTP: each request type
has a `GrpcHandler` naming its response type and its policy (the HTTP routes' policies), and its fields
are given to the guard under the HTTP parameter names, so one table decides access whatever the transport.

Unary order (protocol.md E.7): cluster-only type -> 502; not ready -> 300; ServerCheck answered;
unknown type -> 302; unregistered connection -> 301; auth -> the handler's response type with
errorCode 403; then the handler. The stream registers the connection (ConnectionSetupRequest), sends
SetupAck, carries pushes down and acks up, and unregisters the connection when it ends.

The client address a handler sees is the transport's peer address, never the `clientIp` a client
writes into its metadata (the same rule as X-Forwarded-For over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from starlette.datastructures import Headers

from pynacos.server.auth.policy import Policy
from pynacos.server.errors import AuthFailed, BadRequest, NacosError
from pynacos.server.grpc import payload
from pynacos.server.grpc.connections import Connection, Connections, split_peer
from pynacos.server.http import Call, Params
from pynacos.server.log_limits import RateLimitedLog
from pynacos.server.storage.outage import STORAGE_ERROR, StorageHealth, is_storage_error

log = logging.getLogger("pynacos.grpc")
CLUSTER_ONLY = frozenset(
    {
        "ServerLoaderInfoRequest",
        "ServerReloadRequest",
        "ConfigChangeClusterSyncRequest",
        "DistroDataRequest",
        "MemberReportRequest",
    }
)
NOT_STARTED = "Server is starting,please try later."
MAX_MESSAGE = 10 * 1024 * 1024


class GrpcFailure(Exception):
    """A handler's refusal: its own response type with resultCode 500 and this errorCode."""

    def __init__(self, code: int, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


Handle = Callable[[Call, dict[str, Any], Connection], Awaitable[dict[str, Any]]]
ParamsOf = Callable[[dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class GrpcHandler:
    """One request type: its response type, its policy, how its fields read as HTTP parameters, its handler."""

    type: str
    response_type: str
    policy: Policy
    handle: Handle
    params_of: ParamsOf = lambda body: []
    #: fields every answer of this type carries, failures included (clients require them)
    always: tuple[tuple[str, Any], ...] = ()

    @property
    def path(self) -> str:
        """What the guard logs as the route."""
        return self.type


def ok(**fields: Any) -> dict[str, Any]:
    return {"resultCode": 200, "errorCode": 0, **fields, "success": True}


def failed(code: int, message: str, result_code: int = 500, **fields: Any) -> dict[str, Any]:
    return {"resultCode": result_code, "errorCode": code, "message": message, **fields, "success": False}


class Guard(Protocol):
    """The auth check HTTP routes pass through (pynacos.server.auth.guard.Guard)."""

    async def check(self, route: GrpcHandler, call: Call) -> None: ...


class GrpcServer:
    def __init__(
        self,
        handlers: Iterable[GrpcHandler],
        connections: Connections,
        guard: Guard,
        is_ready: Callable[[], bool],
        storage: StorageHealth,
        on_request: Callable[[str, str], None] = lambda kind, outcome: None,
    ) -> None:
        self.storage = storage
        self.handlers = {h.type: h for h in handlers}
        self.connections = connections
        self.guard = guard
        self.is_ready = is_ready
        self.on_request = on_request
        self.server: Any = None
        self.port = 0
        self._refusals = RateLimitedLog(log)

    async def start(self, host: str, port: int, options: list[tuple[str, Any]], credentials: Any = None) -> int:
        """Bind and serve (call inside the running loop: grpc.aio objects belong to the loop they were made in)."""
        server = grpc.aio.server(options=options)
        unary = grpc.unary_unary_rpc_method_handler(
            self._unary, request_deserializer=payload.Payload.FromString, response_serializer=payload.serialize
        )
        stream = grpc.stream_stream_rpc_method_handler(
            self._stream, request_deserializer=payload.Payload.FromString, response_serializer=payload.serialize
        )
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler("Request", {"request": unary}),
                grpc.method_handlers_generic_handler("BiRequestStream", {"requestBiStream": stream}),
            )
        )
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
        await server.start()
        self.server, self.port = server, bound
        return int(bound)

    async def stop(self, server_ip: str, http_port: int) -> None:
        if self.server is None:
            return
        await self.connections.reset_all(server_ip, http_port)
        await self.server.stop(grace=1.0)
        self.server = None

    # -- unary -------------------------------------------------------------------------------

    async def _unary(self, message: Any, context: Any) -> Any:
        try:
            incoming = payload.parse(message)
        except payload.BadPayload as exc:
            return payload.encode("ErrorResponse", failed(502, str(exc)))
        kind, body = await self._answer(incoming, context.peer())
        self.on_request(incoming.type, "ok" if body.get("resultCode") == 200 else str(body.get("errorCode")))
        return payload.encode(kind, body)

    async def _answer(self, incoming: payload.Incoming, peer: str) -> tuple[str, dict[str, Any]]:
        kind = incoming.type
        if kind in CLUSTER_ONLY:
            return "ErrorResponse", failed(502, f" invoke {kind} from sdk is forbidden")
        if not self.is_ready():
            return "ErrorResponse", failed(300, NOT_STARTED)
        if kind == "ServerCheckRequest":
            conn_id = self.connections.id_for(peer)
            return "ServerCheckResponse", ok(connectionId=conn_id, supportAbilityNegotiation=True)
        handler = self.handlers.get(kind)
        if handler is None:
            return "ErrorResponse", failed(302, "RequestHandler Not Found")
        connection = self.connections.find(peer)
        if connection is None:
            return "ErrorResponse", failed(301, "Connection is unregistered.")
        connection.last_active = time.monotonic()
        return handler.response_type, await self._handle(handler, incoming, connection)

    async def _handle(self, handler: GrpcHandler, incoming: payload.Incoming, connection: Connection) -> dict[str, Any]:
        always = dict(handler.always)
        try:
            call = self._call(handler, incoming, connection)
            await self.guard.check(handler, call)
            return {**always, **await handler.handle(call, incoming.body, connection)}
        except AuthFailed as exc:
            return failed(403, exc.detail, **always)
        except GrpcFailure as exc:
            return failed(exc.code, exc.message, **{**always, **exc.fields})
        except BadRequest as exc:
            return failed(400, f"Param check invalid:{exc.detail}", **always)
        except NacosError as exc:
            return failed(exc.http_status, exc.detail, **always)
        except Exception as exc:
            if not is_storage_error(exc):
                log.exception("unexpected error handling %s from %s", handler.type, connection.peer)
                return failed(500, "internal error, see the server log", **always)
            self.storage.failed(exc, f"gRPC {handler.type}")
            return failed(500, STORAGE_ERROR, **always)

    def _call(self, handler: GrpcHandler, incoming: payload.Incoming, connection: Connection) -> Call:
        try:
            params = Params(handler.params_of(incoming.body))
        except (TypeError, ValueError, AttributeError) as exc:
            raise BadRequest(f"malformed {handler.type}: {exc}") from None
        headers = Headers(headers={k.lower(): v for k, v in incoming.headers.items()})
        return Call(None, "GRPC", handler.type, params, connection.remote_ip, header_map=headers)

    # -- stream ------------------------------------------------------------------------------

    async def _stream(self, messages: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        peer = context.peer()
        ip, _ = split_peer(peer)
        connection = Connection(self.connections.id_for(peer), peer, ip)
        reader = asyncio.create_task(self._read(messages, connection))
        try:
            while True:
                waiting = asyncio.create_task(connection.outbox.get())
                done, _ = await asyncio.wait({waiting, reader}, return_when=asyncio.FIRST_COMPLETED)
                if waiting not in done:
                    waiting.cancel()
                    return
                item = waiting.result()
                if item is None:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "connection closed by the server")
                yield item
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.connections.unregister(connection)

    async def _read(self, messages: AsyncIterator[Any], connection: Connection) -> None:
        async for message in messages:
            try:
                incoming = payload.parse(message)
            except payload.BadPayload as exc:
                self._refusals.log(logging.INFO, ("stream", connection.peer), "unreadable stream payload: %s", exc)
                continue
            if incoming.type == "ConnectionSetupRequest":
                if not self._setup(connection, incoming):
                    connection.outbox.put_nowait(None)
                    return
            elif incoming.type.endswith("Response"):
                self.connections.acked(connection, incoming)

    def _setup(self, connection: Connection, incoming: payload.Incoming) -> bool:
        body = incoming.body
        labels = body.get("labels") if isinstance(body.get("labels"), dict) else {}
        connection.labels = {str(k): str(v) for k, v in (labels or {}).items() if v is not None}
        connection.client_ip = incoming.client_ip
        connection.version = str(body.get("clientVersion") or "")
        connection.tenant = str(body.get("tenant") or "")
        connection.app_name = connection.labels.get("AppName") or "-"
        table = body.get("abilityTable")
        connection.abilities = table if isinstance(table, dict) else None
        if not self.is_ready() or not self.connections.register(connection):
            log.warning("refused a gRPC connection from %s: server starting or connection limit", connection.peer)
            return False
        if connection.abilities is not None:
            ack = {"headers": {}, "abilityTable": {"supportPersistentInstanceByGrpc": True}, "module": "internal"}
            connection.outbox.put_nowait(payload.encode("SetupAckRequest", ack))
        return True
