"""_naming: heartbeat schedule, subscription diffs and weighted choice, with an injected clock."""

from __future__ import annotations

import pytest

from pynacos.client import Instance, InstanceEvent
from pynacos.client._models import BeatReply
from pynacos.client._naming import BeatSchedule, InstanceKey, Subscriptions, choose, diff

KEY = InstanceKey("demo", "DEFAULT_GROUP", "10.0.0.5", 8080)


def instance(ip: str = "10.0.0.5", port: int = 8080, **fields: object) -> Instance:
    return Instance(ip, port, service_name="demo", **fields)  # type: ignore[arg-type]


def test_first_beat_is_due_one_interval_after_registering() -> None:
    beats = BeatSchedule()
    beats.add(KEY, "DEFAULT_GROUP", instance(), now=100)
    assert beats.next_due() == 105
    assert beats.due(104.9) == []
    [(key, entry)] = beats.due(105)
    assert key == KEY and entry.group == "DEFAULT_GROUP"


def test_interval_comes_from_metadata_until_the_server_answers() -> None:
    beats = BeatSchedule()
    beats.add(KEY, "G", instance(metadata={"preserved.heart.beat.interval": "500"}), now=0)
    assert beats.next_due() == 0.5
    beats.answered(KEY, BeatReply(2000, True, True), now=1)
    assert beats.next_due() == 3


@pytest.mark.parametrize("raw", ["abc", "0", "-5", ""])
def test_unusable_metadata_interval_means_five_seconds(raw: str) -> None:
    beats = BeatSchedule()
    beats.add(KEY, "G", instance(metadata={"preserved.heart.beat.interval": raw}), now=0)
    assert beats.next_due() == 5


def test_failed_beat_is_retried_within_a_second() -> None:
    beats = BeatSchedule()
    beats.add(KEY, "G", instance(), now=0)
    beats.failed(KEY, now=5)
    assert beats.next_due() == 6


def test_removed_instances_are_not_beaten_and_unknown_keys_are_ignored() -> None:
    beats = BeatSchedule()
    beats.add(KEY, "G", instance(), now=0)
    beats.remove(KEY)
    beats.answered(KEY, BeatReply(5000, True, True), 1)
    beats.failed(KEY, 1)
    assert beats.next_due() is None and len(beats) == 0


def test_subscription_polls_at_once_then_every_interval() -> None:
    subs = Subscriptions(interval=5)
    assert subs.add("demo", "G", print, now=10) == []
    assert subs.due(10) == [("demo", "G")]
    subs.update("demo", "G", [], now=10)
    assert subs.next_due() == 15 and subs.due(14) == []
    subs.failed("demo", "G", now=15)
    assert subs.next_due() == 20


def test_events_are_added_modified_and_removed() -> None:
    subs = Subscriptions(interval=5)
    events: list[InstanceEvent] = []
    subs.add("demo", "G", events.append, now=0)
    first, second = instance(), instance("10.0.0.6")
    calls = subs.update("demo", "G", [first, second], now=0)
    assert [(e.kind, e.instance.ip) for _, e in calls] == [("ADDED", "10.0.0.5"), ("ADDED", "10.0.0.6")]
    assert subs.update("demo", "G", [first, second], now=5) == []
    heavier = instance("10.0.0.6", weight=3.0)
    calls = subs.update("demo", "G", [heavier], now=10)
    assert [(e.kind, e.instance.ip, e.instance.weight) for _, e in calls] == [
        ("REMOVED", "10.0.0.5", 1.0),
        ("MODIFIED", "10.0.0.6", 3.0),
    ]
    assert all(e.service == "demo" and e.group == "G" for _, e in calls)


def test_a_late_callback_first_hears_what_is_known() -> None:
    subs = Subscriptions(interval=5)
    subs.add("demo", "G", print, now=0)
    subs.update("demo", "G", [instance()], now=0)
    seen: list[InstanceEvent] = []
    [(callback, event)] = subs.add("demo", "G", seen.append, now=1)
    assert callback == seen.append and event.kind == "ADDED"
    assert subs.add("demo", "G", seen.append, now=1) == []


def test_unsubscribe_one_callback_then_all() -> None:
    subs = Subscriptions(interval=5)
    subs.add("demo", "G", print, now=0)
    subs.add("demo", "G", repr, now=0)
    subs.remove("demo", "G", print)
    assert len(subs) == 1
    subs.remove("demo", "G", repr)
    assert len(subs) == 0 and subs.next_due() is None
    subs.remove("demo", "G")
    assert subs.update("demo", "G", [instance()], now=1) == []
    subs.failed("demo", "G", now=1)


def test_diff_keys_instances_by_cluster_ip_and_port() -> None:
    old = {("DEFAULT", "10.0.0.5", 8080): instance()}
    moved = instance(cluster_name="c2")
    kinds = [e.kind for e in diff("demo", "G", old, {("c2", "10.0.0.5", 8080): moved})]
    assert kinds == ["REMOVED", "ADDED"]


def test_choice_is_weighted_among_healthy_enabled_instances() -> None:
    light, heavy = instance("10.0.0.1", weight=1.0), instance("10.0.0.2", weight=3.0)
    sick, off, zero = (
        instance("10.0.0.3", healthy=False),
        instance("10.0.0.4", enabled=False),
        instance("10.0.0.9", weight=0.0),
    )
    pool = [sick, light, off, heavy, zero]
    assert choose(pool, rng=lambda: 0.0) == light
    assert choose(pool, rng=lambda: 0.24) == light
    assert choose(pool, rng=lambda: 0.26) == heavy
    assert choose(pool, rng=lambda: 0.999999) == heavy
    assert choose([sick, off, zero]) is None
    assert choose([]) is None


def test_choice_frequencies_follow_weights() -> None:
    import random

    rng = random.Random(3)
    light, heavy = instance("10.0.0.1", weight=1.0), instance("10.0.0.2", weight=3.0)
    picks = [choose([light, heavy], rng.random) for _ in range(4000)]
    assert 0.7 < picks.count(heavy) / len(picks) < 0.8


def test_unsubscribing_an_unknown_callback_keeps_the_subscription() -> None:
    subs = Subscriptions(interval=5)
    subs.add("demo", "G", print, now=0)
    subs.remove("demo", "G", repr)
    assert len(subs) == 1


def test_choice_at_the_very_top_of_the_range_is_the_last_candidate() -> None:
    light, heavy = instance("10.0.0.1", weight=1.0), instance("10.0.0.2", weight=3.0)
    assert choose([light, heavy], rng=lambda: 1.0) == heavy
