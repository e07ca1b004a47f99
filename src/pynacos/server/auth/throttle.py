"""Login brute-force protection that an attacker cannot turn into a lock-out of someone else.

Only failures count, so many pods logging in from one NAT address after a restart are never slowed.
Failures are kept in sliding 5-minute windows under three keys; `check` runs before the password is
looked at, and a refusal is 429 with Retry-After even for the correct password (otherwise the lock
would be an oracle). Nothing is permanent.

1. (username, address): the 10th failure for a user from one source address locks that address for
   that user. This is the lock: the attacker's address is locked, the user's own addresses are not
   (a lock keyed by username alone let anyone lock out any account, `nacos` included, with ten
   wrong passwords sent from anywhere).
2. Address: 100 failures from one address over any usernames lock that address (password spraying).
3. Username backstop, against guessing one password from many addresses: once a user has 50
   failures from all addresses together, an address that has itself failed for that user in the
   window is refused until its failures age out, so each attacking address gets one guess per window
   instead of ten. Addresses with no failure for that user are never refused by it, so it cannot
   lock anyone out: the user logs in from a clean address, or from their own after a typo ages out.
In cluster mode each failure is also sent to the other nodes (`on_failure`), which count it with
`failed_elsewhere`: spreading attempts over the nodes gains an attacker nothing.
Memory stays bounded by dropping keys whose window is empty once more than MAX_TRACKED are kept;
while a key has recent failures it stays (each one cost the sender a full BCrypt check).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pynacos.server.errors import TooManyRequests

log = logging.getLogger("pynacos.auth")
WINDOW = 300.0
MAX_PER_USER_AND_IP = 10
MAX_PER_IP = 100
USER_UNDER_ATTACK = 50
MAX_TRACKED = 10_000
#: float slack, so that a client waiting exactly Retry-After seconds is let in (t + 300 - 300 may be < t)
SLACK = 1e-6

K = TypeVar("K", str, tuple[str, str])


@dataclass(frozen=True)
class Lock:
    """A refusal in force: `user` None means every user from `client` (too many failures over many names)."""

    user: str | None
    client: str
    seconds_left: float


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._pairs: dict[tuple[str, str], deque[float]] = {}
        self._ips: dict[str, deque[float]] = {}
        self._users: dict[str, deque[float]] = {}
        self._warned: set[str | tuple[str, str]] = set()
        #: called with (username, address) for each failure made on this node; must not block
        self.on_failure: Callable[[str, str], None] | None = None

    def check(self, username: str, ip: str) -> None:
        """Raise 429 (with Retry-After) if this address may not try this username now."""
        now = self.clock()
        pair = _trim(self._pairs.get((username, ip)), now)
        from_ip = _trim(self._ips.get(ip), now)
        for failures, limit in ((pair, MAX_PER_USER_AND_IP), (from_ip, MAX_PER_IP)):
            if failures is not None and len(failures) >= limit:
                _refuse(failures[-limit], now)
        if pair and len(_trim(self._users.get(username), now) or ()) >= USER_UNDER_ATTACK:
            _refuse(pair[-1], now)

    def failed(self, username: str, ip: str) -> None:
        self.failed_elsewhere(username, ip)
        if self.on_failure is not None:
            self.on_failure(username, ip)

    def failed_elsewhere(self, username: str, ip: str) -> None:
        """Count a failure (another node's, when called directly) without passing it on."""
        now = self.clock()
        _add(self._pairs, (username, ip), now)
        _add(self._ips, ip, now)
        _add(self._users, username, now)
        self._warn(username, ip)

    def locks(self) -> list[Lock]:
        """The (user, address) pairs and addresses refused now, with the seconds until each is let in again;
        read-only (the console's auth health page must not age anything out)."""
        now = self.clock()
        found = []
        for ip, failures in self._ips.items():
            recent = _recent(failures, now)
            if len(recent) >= MAX_PER_IP:
                found.append(Lock(None, ip, recent[-MAX_PER_IP] + WINDOW - now))
        for (username, ip), failures in self._pairs.items():
            ends = self._pair_lock_ends(username, _recent(failures, now), now)
            if ends:
                found.append(Lock(username, ip, max(ends) - now))
        return found

    def _pair_lock_ends(self, username: str, pair: list[float], now: float) -> list[float]:
        """When each rule that refuses this pair now stops refusing it (the `check` rules, read as times)."""
        ends = []
        if len(pair) >= MAX_PER_USER_AND_IP:
            ends.append(pair[-MAX_PER_USER_AND_IP] + WINDOW)
        user = _recent(self._users.get(username), now)
        if pair and len(user) >= USER_UNDER_ATTACK:
            ends.append(min(pair[-1], user[-USER_UNDER_ATTACK]) + WINDOW)
        return ends

    def _warn(self, username: str, ip: str) -> None:
        """One line when a lock starts (username and source, never the password), not one per failure."""
        pair, total = len(self._pairs[(username, ip)]), len(self._users[username])
        if self._starts((username, ip), pair >= MAX_PER_USER_AND_IP):
            log.warning("login locked for user %r from %s after %d failures in 5 min", username, ip, pair)
        if self._starts(username, total >= USER_UNDER_ATTACK):
            log.warning(
                "user %r has %d failed logins in 5 min from all addresses: each failing address now gets one "
                "try per window for it (last from %s)",
                username,
                total,
                ip,
            )

    def _starts(self, key: str | tuple[str, str], locked: bool) -> bool:
        """True once when `key` becomes locked; forgotten once it is seen unlocked again."""
        if not locked:
            self._warned.discard(key)
            return False
        if key in self._warned:
            return False
        if len(self._warned) > MAX_TRACKED:
            self._warned.clear()
        self._warned.add(key)
        return True


def _add(bucket: dict[K, deque[float]], key: K, now: float) -> None:
    _forget_old(bucket, now)
    failures = bucket.setdefault(key, deque())
    _trim(failures, now)
    failures.append(now)


def _refuse(oldest: float, now: float) -> None:
    wait = max(1, math.ceil(oldest + WINDOW - now - SLACK))
    raise TooManyRequests("Too many login attempts", headers={"Retry-After": str(wait)})


def _forget_old(bucket: dict[K, deque[float]], now: float) -> None:
    """Keep memory bounded when someone sprays random usernames: drop keys with no recent failure."""
    if len(bucket) > MAX_TRACKED:
        for key in [k for k, failures in bucket.items() if not _trim(failures, now)]:
            del bucket[key]


def _recent(failures: deque[float] | None, now: float) -> list[float]:
    """The failures still in the window, without trimming (what `_trim` would keep)."""
    return [at for at in failures or () if at + WINDOW > now + SLACK]


def _trim(failures: deque[float] | None, now: float) -> deque[float] | None:
    while failures and failures[0] + WINDOW <= now + SLACK:
        failures.popleft()
    return failures
