"""Login brute-force protection: failures per username and per source IP in a sliding window.

Only failures count, so many pods logging in from one NAT address after a restart are never slowed.
The 10th failure for a username within 5 minutes locks that username until the window has room
again; while locked even a correct password is refused (otherwise the lock would be an oracle).
100 failures from one IP within 5 minutes lock that IP the same way. Nothing is permanent.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

from pynacos.server.errors import TooManyRequests

log = logging.getLogger("pynacos.auth")
WINDOW = 300.0
MAX_PER_USER = 10
MAX_PER_IP = 100


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._users: dict[str, deque[float]] = {}
        self._ips: dict[str, deque[float]] = {}
        self._warned: set[str] = set()

    def check(self, username: str, ip: str) -> None:
        """Raise 429 (with Retry-After) if this username or IP is locked."""
        now = self.clock()
        for bucket, key, limit in ((self._users, username, MAX_PER_USER), (self._ips, ip, MAX_PER_IP)):
            failures = _trim(bucket.get(key), now)
            if failures is not None and len(failures) >= limit:
                wait = max(1, math.ceil(failures[0] + WINDOW - now - SLACK))
                raise TooManyRequests("Too many login attempts", headers={"Retry-After": str(wait)})

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        self._forget_old(now)
        for bucket, key in ((self._users, username), (self._ips, ip)):
            failures = bucket.setdefault(key, deque())
            _trim(failures, now)
            failures.append(now)
        users = self._users[username]
        if len(users) >= MAX_PER_USER and username not in self._warned:
            self._warned.add(username)
            log.warning("login locked for user %r after %d failures in 5 min (last from %s)", username, len(users), ip)
        if len(users) < MAX_PER_USER:
            self._warned.discard(username)

    def _forget_old(self, now: float) -> None:
        """Keep memory bounded when someone sprays random usernames: drop keys with no recent failure."""
        for bucket in (self._users, self._ips):
            if len(bucket) > MAX_TRACKED:
                for key in [k for k, failures in bucket.items() if not _trim(failures, now)]:
                    del bucket[key]


MAX_TRACKED = 10_000
#: float slack, so that a client waiting exactly Retry-After seconds is let in (t + 300 - 300 may be < t)
SLACK = 1e-6


def _trim(failures: deque[float] | None, now: float) -> deque[float] | None:
    while failures and failures[0] + WINDOW <= now + SLACK:
        failures.popleft()
    return failures
