"""Login throttle bookkeeping (the HTTP behaviour is tested in test_guard.py)."""

from __future__ import annotations

import random

import pytest

from pynacos.server.auth.throttle import MAX_TRACKED, WINDOW, LoginThrottle
from pynacos.server.errors import TooManyRequests


def test_sprayed_usernames_do_not_grow_memory_forever() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for i in range(MAX_TRACKED + 5):
        throttle.failed(f"user{i}", f"10.0.{i // 250}.{i % 250}")
    now[0] = WINDOW + 1
    throttle.failed("late", "10.9.9.9")
    assert len(throttle._users) == 1
    assert len(throttle._ips) == 1


def test_lock_lifts_when_the_window_has_room_again() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(10):
        throttle.failed("u", "1.1.1.1")
    with pytest.raises(TooManyRequests, match="Too many login attempts"):
        throttle.check("u", "1.1.1.1")
    now[0] = WINDOW + 0.1
    throttle.check("u", "1.1.1.1")


def test_waiting_exactly_retry_after_always_lets_the_user_in() -> None:
    """Float time: t + 300 - 300 can be a hair below t; the lock must still end after Retry-After."""
    rng = random.Random(7)
    now = [0.0]
    for _ in range(2000):
        now[0] = rng.uniform(0, 1e6)
        throttle = LoginThrottle(lambda: now[0])
        for _ in range(10):
            throttle.failed("u", "ip")
            now[0] += 1
        with pytest.raises(TooManyRequests) as locked:
            throttle.check("u", "ip")
        now[0] += int(locked.value.headers["Retry-After"])
        throttle.check("u", "ip")
