"""`*`-only wildcard matching in linear time, for blur searches and permission resources.

A regex built from the pattern (`a*b*c` -> `a.*b.*c`) backtracks: twelve `*` against a 30-character
name blocked the event loop for seconds. With `*` as the only wildcard, matching the literal parts
left to right, each at its first occurrence, is exact and needs no backtracking.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


@functools.lru_cache(maxsize=4096)
def wildcard(pattern: str) -> Callable[[str], bool]:
    """A predicate: does a whole value match `pattern`, where `*` is any run of characters?"""
    if "*" not in pattern:
        return lambda value: value == pattern
    first, *middle, last = pattern.split("*")
    middle = [part for part in middle if part]
    shortest = len(first) + len(last) + sum(map(len, middle))

    def matches(value: str) -> bool:
        if len(value) < shortest or not value.startswith(first) or not value.endswith(last):
            return False
        position, end = len(first), len(value) - len(last)
        for part in middle:
            found = value.find(part, position, end)
            if found < 0:
                return False
            position = found + len(part)
        return True

    return matches
