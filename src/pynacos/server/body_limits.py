"""Request bodies read under limits, whatever their type (security.md §6.3, §6.4).

uvicorn stops reading a socket once 64 KiB of body wait unread, so a body costs memory only while
a handler reads it. Every read goes through `LimitedReceive`, which holds it to:

1. A size limit per route (the server's, 11 MiB by default; 64 KiB for routes open to anyone, such as login):
   one byte more is a 413, for urlencoded forms, multipart uploads and JSON alike.
2. A minimum rate: the body may take `GRACE` seconds, after that it must have averaged
   `MIN_RATE` bytes a second (a body trickled one byte every 5 s is cut with a 408).
3. A budget of body bytes held at once, server-wide and per client address (`BodyBudget`);
   a read that would exceed it is a 503, so 40 half-sent 10 MiB bodies pin at most the
   per-address budget, not 400 MB.
Bytes count against the budget from the moment they are read until the request has been answered.
A refusal that leaves part of a body unread closes the connection, so the rest is never parsed as a request.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable

from starlette.types import Message, Receive

from pynacos.server.errors import PayloadTooLarge, RequestTimeout, Unavailable

GRACE = 10.0
MIN_RATE = 1024
PUBLIC_MAX_BODY = 64 * 1024


class BodyBudget:
    """Body bytes held by requests in flight: at most `total` in all and `per_client` per address."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.held = 0
        self._by_client: Counter[str] = Counter()

    def take(self, client: str, size: int) -> bool:
        if self.held + size > self.total or self._by_client[client] + size > self.per_client:
            return False
        self.held += size
        self._by_client[client] += size
        return True

    def give_back(self, client: str, size: int) -> None:
        self.held -= size
        self._by_client[client] -= size
        if self._by_client[client] <= 0:
            del self._by_client[client]


class LimitedReceive:
    """An ASGI `receive` that enforces the module's three limits while the body is still coming."""

    def __init__(
        self,
        receive: Receive,
        budget: BodyBudget,
        client: str,
        limit: int,
        raw_headers: Iterable[tuple[bytes, bytes]] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.declared: int | None = None
        self.chunked = False
        for name, value in raw_headers:  # one pass over the raw list: most requests have no body at all
            if name == b"content-length" and value.isdigit():
                self.declared = int(value)
            elif name == b"transfer-encoding":
                self.chunked = True
        self._receive = receive
        self.budget = budget
        self.client = client
        self.limit = limit
        self.clock = clock
        self.started = clock()
        self.received = 0
        self.complete = False

    async def __call__(self) -> Message:
        if self.complete:
            return await self._receive()
        try:
            message = await asyncio.wait_for(self._receive(), max(self._deadline() - self.clock(), 0.001))
        except TimeoutError:
            raise RequestTimeout(f"request body slower than {MIN_RATE} bytes/s") from None
        if message["type"] == "http.request":
            self._count(len(message.get("body", b"")))
            self.complete = not message.get("more_body", False)
        return message

    def _deadline(self) -> float:
        """The next byte must arrive by then to keep the average rate once the grace time is over."""
        return self.started + max(GRACE, (self.received + 1) / MIN_RATE)

    def _count(self, size: int) -> None:
        if self.received + size > self.limit:
            raise PayloadTooLarge(f"request body over {self.limit} bytes")
        if not self.budget.take(self.client, size):
            raise Unavailable("too many request bytes in flight, try again later", {"Retry-After": "1"})
        self.received += size

    def check_declared(self) -> None:
        """A `Content-Length` over the limit is refused before a byte of the body is read."""
        if self.declared is not None and self.declared > self.limit:
            raise PayloadTooLarge(f"request body over {self.limit} bytes")

    def unread(self) -> bool:
        """A body was announced and not read to its end (a refusal before or while reading it)."""
        return not self.complete and (self.chunked or bool(self.declared))

    def release(self) -> None:
        """The request is answered: its body bytes no longer count."""
        if self.received:
            self.budget.give_back(self.client, self.received)
            self.received = 0
