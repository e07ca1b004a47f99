"""Log lines a client can cause, at most one per kind a minute (style.md: rate-limited logs).

A client retrying a refused request every few milliseconds must not fill the disk: the first line of
each kind is written at once, later ones are counted and the count rides on the next line written
for that kind once the interval has passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

INTERVAL = 60.0
MAX_KINDS = 10_000


class RateLimitedLog:
    def __init__(
        self, logger: logging.Logger, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._seen: dict[Hashable, tuple[float, int]] = {}

    def log(self, level: int, kind: Hashable, message: str, *args: object) -> None:
        """Write `message % args` unless a line of `kind` was written within the interval."""
        if not self.logger.isEnabledFor(level):
            return
        now = self.clock()
        last, suppressed = self._seen.get(kind, (-self.interval, 0))
        if now - last < self.interval:
            self._seen[kind] = (last, suppressed + 1)
            return
        if len(self._seen) >= MAX_KINDS:
            self._seen.clear()
        self._seen[kind] = (now, 0)
        more = f" ({suppressed} more since the last report)" if suppressed else ""
        self.logger.log(level, message + "%s", *args, more)
