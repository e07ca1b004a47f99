"""_failover: which server next, when to pause, when to give up, driven by hand with a fake clock."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from pynacos.client import ConnectError, ServerUnavailable, Timeout
from pynacos.client._failover import Attempt, Outcome, Pause, Servers, failover
from pynacos.client._protocol import Reply

OK = Reply(200, {}, b"ok")
BOOM = Reply(500, {}, b"caused: boom;")
STARTING = Reply(503, {}, b"server is STARTING now, please try again later!")
CAS = Reply(500, {}, b"caused: Cas publish fail, server md5 may have changed.;")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(
    flow: Generator[Attempt | Pause, Outcome | None, Reply], answer: dict[str, list[Outcome]], clock: Clock
) -> tuple[list[str], Reply]:
    """Answer attempts from per-server queues (the last answer repeats); pauses advance the clock."""
    seen: list[str] = []
    step = next(flow)
    try:
        while True:
            if isinstance(step, Pause):
                seen.append(f"pause {step.seconds}")
                clock.now += step.seconds
                step = flow.send(None)
            else:
                seen.append(step.address)
                queue = answer[step.address]
                step = flow.send(queue.pop(0) if len(queue) > 1 else queue[0])
    except StopIteration as stop:
        return seen, stop.value


def servers(*addresses: str) -> Servers:
    return Servers(list(addresses), rng=lambda: 0.0)


def test_order_starts_at_the_last_server_that_answered_and_skips_a_failed_one() -> None:
    s = servers("a", "b", "c")
    assert s.order() == ["a", "b", "c"]
    s.failed("a")
    assert s.order() == ["b", "c", "a"]
    s.failed("a")
    assert s.order() == ["b", "c", "a"]
    s.answered("c")
    assert s.order() == ["c", "a", "b"]


def test_random_start_spreads_clients() -> None:
    assert Servers(["a", "b", "c"], rng=lambda: 0.99).order() == ["c", "a", "b"]
    with pytest.raises(ValueError):
        Servers([])


def test_connect_error_moves_to_the_next_server() -> None:
    clock, s = Clock(), servers("a", "b")
    seen, reply = run(failover(s, 5, clock), {"a": [ConnectError("refused")], "b": [OK]}, clock)
    assert (seen, reply) == (["a", "b"], OK)
    assert s.order() == ["b", "a"]


def test_5xx_moves_on_but_an_answer_stops() -> None:
    clock = Clock()
    seen, reply = run(failover(servers("a", "b"), 5, clock), {"a": [BOOM], "b": [Reply(404, {}, b"")]}, clock)
    assert seen == ["a", "b"] and reply.status == 404


def test_a_lost_cas_is_an_answer_not_an_outage() -> None:
    clock = Clock()
    seen, reply = run(failover(servers("a", "b"), 5, clock), {"a": [CAS], "b": [OK]}, clock)
    assert seen == ["a"] and reply is CAS


def test_every_server_failing_with_500_returns_the_last_reply() -> None:
    clock = Clock()
    seen, reply = run(failover(servers("a", "b"), 5, clock), {"a": [BOOM], "b": [BOOM]}, clock)
    assert seen == ["a", "b"] and reply is BOOM


def test_unreachable_servers_are_retried_with_growing_pauses_until_the_deadline() -> None:
    clock = Clock()
    with pytest.raises(ServerUnavailable) as caught:
        run(failover(servers("a"), 1.0, clock), {"a": [ConnectError("a: refused")]}, clock)
    assert caught.value.code == 503
    assert "a: refused" in str(caught.value)
    assert len(caught.value.errors) == 5  # attempts at 0, 0.05, 0.15, 0.35, 0.75; 0.25 s left < next pause


def test_a_restarting_server_is_waited_for() -> None:
    clock = Clock()
    answers: dict[str, list[Outcome]] = {"a": [ConnectError("refused"), STARTING, OK]}
    seen, reply = run(failover(servers("a"), 5, clock), answers, clock)
    assert seen == ["a", "pause 0.05", "a", "pause 0.1", "a"] and reply is OK


def test_pause_grows_to_one_second() -> None:
    clock = Clock()
    answers: dict[str, list[Outcome]] = {"a": [*[ConnectError("x")] * 8, OK]}
    seen, _ = run(failover(servers("a"), 30, clock), answers, clock)
    pauses = [float(s.split()[1]) for s in seen if s.startswith("pause")]
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_read_timeout_ends_the_call_at_once() -> None:
    clock = Clock()
    with pytest.raises(Timeout):
        run(failover(servers("a", "b"), 5, clock), {"a": [Timeout("a did not answer")], "b": [OK]}, clock)


def test_attempt_timeout_is_what_is_left_of_the_deadline() -> None:
    clock = Clock()
    flow = failover(servers("a", "b"), 5, clock)
    first = next(flow)
    assert isinstance(first, Attempt) and first.timeout == 5 and first.connect_timeout == 3
    clock.now = 4.5
    second = flow.send(ConnectError("x"))
    assert isinstance(second, Attempt) and second.address == "b" and second.timeout == 0.5
    assert second.connect_timeout == 0.5


def test_no_time_left_means_unavailable() -> None:
    clock = Clock()
    clock.now = 10
    with pytest.raises(ServerUnavailable, match="no attempt before the deadline"):
        run(failover(servers("a"), 5, clock), {"a": [OK]}, clock)


def test_a_new_list_keeps_the_current_server_first_when_it_is_still_listed() -> None:
    s = servers("a", "b", "c")
    s.failed("a")
    s.replace(["x", "b"])
    assert s.order() == ["b", "x"]


def test_a_new_list_without_the_current_server_starts_anywhere_in_it() -> None:
    s = servers("a", "b")
    s.replace(["x", "y"])
    assert s.order() == ["x", "y"]
    s.replace([])
    assert s.order() == ["x", "y"]
