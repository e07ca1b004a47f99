"""Recent auth failures, grouped the way the failure log counts them: by (reason, client, user).

The log says it once a minute per group; an admin looking at the console's auth health page wants
the whole picture at once: which cause, from which client, as which user, how often, last when. So
the guard's failure log also keeps this small table. It is bounded (a client spraying usernames
makes a new group per name): past `MAX_GROUPS` the group seen least recently is dropped. Nothing
here is a credential: the reason is the guard's own text, the user the name that was presented.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_GROUPS = 200


@dataclass(frozen=True)
class FailureGroup:
    reason: str
    client: str
    user: str
    count: int
    #: seconds since the epoch
    last_seen: float


class RecentFailures:
    def __init__(self, limit: int = MAX_GROUPS, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.clock = clock
        self._groups: OrderedDict[tuple[str, str, str], tuple[int, float]] = OrderedDict()

    def add(self, reason: str, client: str, user: str) -> None:
        key = (reason, client, user)
        count, _ = self._groups.pop(key, (0, 0.0))
        self._groups[key] = (count + 1, self.clock())
        if len(self._groups) > self.limit:
            self._groups.popitem(last=False)

    def groups(self) -> list[FailureGroup]:
        """Most recently seen first."""
        return [
            FailureGroup(reason, client, user, count, last)
            for (reason, client, user), (count, last) in reversed(self._groups.items())
        ]
