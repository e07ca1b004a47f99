"""Held HTTP long polls (`POST /v1/cs/configs/listener`), woken by config changes.

Invariants:
1. A waiter is registered under every key it listens to *before* its md5s are compared, so a change
   that lands between the comparison and the wait still wakes it (no lost wake-ups).
2. A waiter is woken at most once; the first changed key is its answer (Nacos answers only the
   key that changed while the request was held).
3. Every exit path (answer, timeout, cancellation) removes the waiter from every key and from the
   per-IP count, so held state is bounded by the number of open requests.
4. Nothing here sleeps in a loop: a waiter is one future, resolved by `notify`.
5. A held request ends early when its client disconnects (the handler passes a `stop` awaitable) or
   when the server shuts down (`release_all` answers "no change"), so neither leaves a waiter behind.

Theory of operation: `hold()` returns a `Waiter` (a context manager). The handler compares md5s;
if nothing differs it awaits `waiter.wait(timeout)`. `notify(key)` (called on ConfigChanged)
resolves the futures registered under that key.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from types import TracebackType
from typing import Any

from pynacos.server.config.models import ConfigKey
from pynacos.server.errors import Unavailable


class Waiter:
    """One held request: a future plus the keys it is registered under."""

    def __init__(self, hub: LongPollHub, md5s: dict[ConfigKey, str], client_ip: str) -> None:
        self.hub = hub
        self.md5s = md5s
        self.keys = list(md5s)
        self.client_ip = client_ip
        self.future: asyncio.Future[ConfigKey | None] = asyncio.get_running_loop().create_future()

    async def wait(self, timeout: float, stop: Awaitable[object] | None = None) -> ConfigKey | None:
        """The key that changed, or None when the time is up, the server is closing, or `stop`
        (the client went away) finished first."""
        stopper = asyncio.ensure_future(stop) if stop is not None else None
        try:
            waiting: set[asyncio.Future[Any]] = {self.future} | ({stopper} if stopper else set())
            await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopper is not None:
                stopper.cancel()
        return self.future.result() if self.future.done() and not self.future.cancelled() else None

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.hub._release(self)


class LongPollHub:
    def __init__(self, max_total: int, max_per_ip: int) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self._by_key: dict[ConfigKey, set[Waiter]] = {}
        self._per_ip: Counter[str] = Counter()
        self._total = 0

    @property
    def held(self) -> int:
        return self._total

    def hold(self, md5s: dict[ConfigKey, str], client_ip: str) -> Waiter:
        """Register a request listening to `md5s` (key -> the client's md5)."""
        if self._total >= self.max_total:
            raise Unavailable(f"too many held long polls on this server (limit {self.max_total})")
        if self._per_ip[client_ip] >= self.max_per_ip:
            raise Unavailable(f"too many held long polls from {client_ip} (limit {self.max_per_ip})")
        waiter = Waiter(self, md5s, client_ip)
        for key in waiter.keys:
            self._by_key.setdefault(key, set()).add(waiter)
        self._per_ip[client_ip] += 1
        self._total += 1
        return waiter

    def notify(self, key: ConfigKey) -> None:
        for waiter in self._by_key.get(key, ()):
            if not waiter.future.done():
                waiter.future.set_result(key)

    def release_all(self) -> None:
        """Shutting down: every held request answers "no change" now instead of being cut off."""
        for waiter in self.all_waiters():
            if not waiter.future.done():
                waiter.future.set_result(None)

    def listeners_of(self, key: ConfigKey) -> list[Waiter]:
        return list(self._by_key.get(key, ()))

    def all_waiters(self) -> set[Waiter]:
        return {w for waiters in self._by_key.values() for w in waiters}

    def _release(self, waiter: Waiter) -> None:
        for key in waiter.keys:
            waiters = self._by_key.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._by_key[key]
        self._per_ip[waiter.client_ip] -= 1
        if self._per_ip[waiter.client_ip] <= 0:
            del self._per_ip[waiter.client_ip]
        self._total -= 1
        if not waiter.future.done():
            waiter.future.cancel()
