"""wildcards: the linear `*` matcher agrees with the regex it replaces, without its backtracking."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from pynacos.server.wildcards import wildcard


def by_regex(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), value, re.DOTALL) is not None


@settings(max_examples=2000, derandomize=True)
@given(st.text("ab*", max_size=8), st.text("ab", max_size=10))
def test_agrees_with_the_regex(pattern: str, value: str) -> None:
    assert wildcard(pattern)(value) == by_regex(pattern, value)


def test_literal_and_edges() -> None:
    assert wildcard("a.yaml")("a.yaml") and not wildcard("a.yaml")("axyaml")
    assert wildcard("*")("") and wildcard("**")("anything")
    assert wildcard("a*a")("aa") and not wildcard("a*a")("a")
    assert wildcard("*.yaml")("app.yaml") and not wildcard("*.yaml")("app.yml")


def test_many_stars_against_a_long_value_take_no_time() -> None:
    started = time.perf_counter()
    assert not wildcard("*" * 40 + "!")("reg.redos.a-realistically-long.data-id.yaml" * 100)
    assert time.perf_counter() - started < 0.5  # linear: milliseconds; regex backtracking: minutes
