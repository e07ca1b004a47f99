"""gRPC client connections: identity, registration, pushes with acks, and ejection of silent clients.

Invariants (protocol.md E.2):
1. A connection is one HTTP/2 transport, known by its peer address (`ipv4:10.0.0.5:53412`). Its id,
   `<epochMillis>_<ip>_<port>`, is made the first time the peer is seen (ServerCheck or the stream,
   whichever comes first) and stays the same for that peer.
2. A connection is *registered* by the ConnectionSetupRequest on its stream and *unregistered* when that
   stream ends or the connection is ejected. Unary requests from an unregistered peer get 301.
3. Unregistering runs every `on_close` callback (listened configs, ephemeral instances and subscriptions
   of the connection go away) and fails every push still waiting for its ack.
4. A push is a request down the stream with a server-wide increasing `requestId`; the client's response
   with that id is its ack. Acks and unary requests refresh `last_active`.
5. Every `DETECT_INTERVAL`, a connection idle for `IDLE_LIMIT` gets a ClientDetectionRequest; without an
   ack within `DETECT_TIMEOUT` it is ejected: its stream ends with UNAVAILABLE, so clients reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynacos.server.grpc import payload

log = logging.getLogger("pynacos.grpc")
DETECT_INTERVAL = 3.0
IDLE_LIMIT = 20.0
DETECT_TIMEOUT = 5.0
#: a peer seen by a unary call but never registered is forgotten after this long
UNREGISTERED_TTL = 60.0


@dataclass
class Connection:
    id: str
    peer: str
    remote_ip: str
    client_ip: str = ""
    version: str = ""
    app_name: str = "-"
    tenant: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    abilities: dict[str, Any] | None = None
    last_active: float = field(default_factory=time.monotonic)
    outbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    pending: dict[str, asyncio.Future[payload.Incoming]] = field(default_factory=dict)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def module(self) -> str:
        return self.labels.get("module", "")


def split_peer(peer: str) -> tuple[str, int]:
    """`ipv4:10.0.0.5:53412` / `ipv6:[::1]:53412` -> (ip, port); anything else -> (peer, 0)."""
    _, _, address = peer.partition(":")
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    return (host, int(port)) if port.isdigit() and host else (peer, 0)


class Connections:
    def __init__(self, max_total: int = 10_000, max_per_ip: int = 2_000) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.registered: dict[str, Connection] = {}
        self.on_close: list[Callable[[Connection], None]] = []
        #: told the outcome of every push (metrics)
        self.on_push: Callable[[str, bool], None] = lambda kind, acked: None
        self._ids: dict[str, tuple[str, float]] = {}  # peer -> (connection id, first seen)
        self._per_ip: Counter[str] = Counter()
        self._push_ids = itertools.count(1)

    def id_for(self, peer: str) -> str:
        known = self._ids.get(peer)
        if known is None:
            ip, port = split_peer(peer)
            known = self._ids[peer] = (f"{int(time.time() * 1000)}_{ip}_{port}", time.monotonic())
        return known[0]

    def find(self, peer: str) -> Connection | None:
        known = self._ids.get(peer)
        return self.registered.get(known[0]) if known else None

    def register(self, connection: Connection) -> bool:
        """False when a limit is reached; registering an id twice keeps the first (idempotent)."""
        if connection.id in self.registered:
            return True
        if len(self.registered) >= self.max_total or self._per_ip[connection.remote_ip] >= self.max_per_ip:
            return False
        self.registered[connection.id] = connection
        self._per_ip[connection.remote_ip] += 1
        return True

    def unregister(self, connection: Connection) -> None:
        if self.registered.get(connection.id) is not connection:
            return
        del self.registered[connection.id]
        self._ids.pop(connection.peer, None)
        self._per_ip[connection.remote_ip] -= 1
        if self._per_ip[connection.remote_ip] <= 0:
            del self._per_ip[connection.remote_ip]
        connection.closed.set()
        for future in connection.pending.values():
            if not future.done():
                future.cancel()
        for callback in self.on_close:
            try:
                callback(connection)
            except Exception:
                log.exception("releasing connection %s failed", connection.id)

    async def push(self, connection: Connection, kind: str, body: dict[str, Any], timeout: float) -> bool:
        """Send a request down the stream and wait for its ack; True when the client answered success."""
        if connection.closed.is_set():
            return False
        answer = await self.ask(connection, kind, body, timeout)
        acked = answer is not None and (answer.body.get("resultCode") == 200 or answer.body.get("success") is True)
        self.on_push(kind, acked)
        return acked

    async def ask(
        self, connection: Connection, kind: str, body: dict[str, Any], timeout: float
    ) -> payload.Incoming | None:
        """Send a request down the stream and return the client's answer, or None (closed, no answer in time)."""
        if connection.closed.is_set():
            return None
        request_id = str(next(self._push_ids))
        future: asyncio.Future[payload.Incoming] = asyncio.get_running_loop().create_future()
        connection.pending[request_id] = future
        connection.outbox.put_nowait(payload.encode(kind, {"headers": {}, **body, "requestId": request_id}))
        try:
            return await asyncio.wait_for(future, timeout)
        except (TimeoutError, asyncio.CancelledError):
            return None
        finally:
            connection.pending.pop(request_id, None)

    def acked(self, connection: Connection, answer: payload.Incoming) -> None:
        connection.last_active = time.monotonic()
        future = connection.pending.get(str(answer.body.get("requestId", "")))
        if future is not None and not future.done():
            future.set_result(answer)

    def forget_unregistered(self) -> None:
        now = time.monotonic()
        registered = self.registered
        for peer, (conn_id, seen) in list(self._ids.items()):
            if conn_id not in registered and now - seen > UNREGISTERED_TTL:
                del self._ids[peer]

    async def eject_silent_forever(self) -> None:
        await asyncio.sleep(1.0)
        while True:
            self.forget_unregistered()
            idle = [c for c in self.registered.values() if time.monotonic() - c.last_active >= IDLE_LIMIT]
            for connection in idle:
                asyncio.create_task(self._detect(connection))
            await asyncio.sleep(DETECT_INTERVAL)

    async def _detect(self, connection: Connection) -> None:
        if not await self.push(connection, "ClientDetectionRequest", {"module": "internal"}, DETECT_TIMEOUT):
            log.info("connection %s from %s did not answer a detection; closing it", connection.id, connection.peer)
            self.evict(connection)

    def evict(self, connection: Connection) -> None:
        """End the stream with UNAVAILABLE (the stream handler does it when it sees None)."""
        connection.outbox.put_nowait(None)
        self.unregister(connection)

    async def reset_all(self, server_ip: str, server_port: int) -> None:
        """Graceful shutdown: ask every client to go elsewhere, then close every stream."""
        body = {"module": "internal", "serverIp": server_ip, "serverPort": str(server_port)}
        pushes = [self.push(c, "ConnectResetRequest", body, 1.0) for c in list(self.registered.values())]
        with contextlib.suppress(Exception):
            await asyncio.gather(*pushes)
        for connection in list(self.registered.values()):
            self.evict(connection)
