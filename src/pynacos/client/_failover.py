"""Which server to ask next, and when to give up. No I/O: drivers run the `failover` generator.

Rules:
1. Start with the server that answered last (a random one at first, to spread clients); a server
   that fails moves the start to the next one, so one dead server costs one failed attempt.
2. A connection failure or a 5xx moves on to the next server. An answer that is not a 5xx (even a
   403 or 404) is the answer: another server would say the same.
3. When every server failed to connect or answered 503 (starting, restarting), wait a little
   (50 ms doubling to 1 s) and go round again until the call's deadline: a restart of the only
   server is ridden out instead of failing every call made during it.
4. Any other 5xx from every server is an answer (the last one is returned and parsed as a
   ServerError); only connection failures end in ServerUnavailable. A read timeout means the
   deadline is gone: it is raised at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

from pynacos.client._exceptions import NacosError, ServerUnavailable, Timeout, TransportError
from pynacos.client._protocol import Reply, error_for, fails_over, retries_later

CONNECT_TIMEOUT = 3.0
FIRST_PAUSE = 0.05
MAX_PAUSE = 1.0


class Servers:
    def __init__(self, addresses: Sequence[str], rng: Callable[[], float] = random.random) -> None:
        if not addresses:
            raise ValueError("no server addresses")
        self._rng = rng
        self.addresses = tuple(addresses)
        self._start = int(rng() * len(self.addresses)) % len(self.addresses)

    def replace(self, addresses: Sequence[str]) -> None:
        """A new list (from the address server): keep asking the same server first if it is still listed."""
        if not addresses or tuple(addresses) == self.addresses:
            return
        current = self.addresses[self._start]
        self.addresses = tuple(addresses)
        if current in self.addresses:
            self._start = self.addresses.index(current)
        else:
            self._start = int(self._rng() * len(self.addresses)) % len(self.addresses)

    def order(self) -> list[str]:
        return [*self.addresses[self._start :], *self.addresses[: self._start]]

    def answered(self, address: str) -> None:
        self._start = self.addresses.index(address)

    def failed(self, address: str) -> None:
        if self.addresses[self._start] == address:
            self._start = (self._start + 1) % len(self.addresses)


@dataclass(frozen=True)
class Attempt:
    """Send the request to `address`; the whole exchange may take `timeout` seconds."""

    address: str
    timeout: float

    @property
    def connect_timeout(self) -> float:
        return min(self.timeout, CONNECT_TIMEOUT)


@dataclass(frozen=True)
class Pause:
    seconds: float


Outcome = Reply | TransportError


def failover(
    servers: Servers, deadline: float, clock: Callable[[], float]
) -> Generator[Attempt | Pause, Outcome | None, Reply]:
    """Yields attempts (answered with a Reply or the TransportError) and pauses (answered with None)."""
    errors: list[NacosError] = []
    last_reply: Reply | None = None
    pause = FIRST_PAUSE
    while True:
        worth_waiting = True
        for address in servers.order():
            remaining = deadline - clock()
            if remaining <= 0:
                return _give_up(last_reply, errors)
            outcome = yield Attempt(address, remaining)
            assert outcome is not None, "an attempt is answered with a Reply or a TransportError"
            if isinstance(outcome, Reply) and not fails_over(outcome):
                servers.answered(address)
                return outcome
            if isinstance(outcome, Timeout):
                raise outcome
            if isinstance(outcome, Reply):
                last_reply = outcome
                errors.append(error_for(outcome))
                worth_waiting = worth_waiting and retries_later(outcome)
            else:
                errors.append(outcome)
            servers.failed(address)
        remaining = deadline - clock()
        if not worth_waiting or remaining <= pause:
            return _give_up(last_reply, errors)
        yield Pause(pause)
        pause = min(pause * 2, MAX_PAUSE)


def _give_up(last_reply: Reply | None, errors: list[NacosError]) -> Reply:
    if last_reply is not None:
        return last_reply
    summary = "; ".join(dict.fromkeys(str(e) for e in errors)) or "no attempt before the deadline"
    raise ServerUnavailable(f"no server answered: {summary}", errors)
