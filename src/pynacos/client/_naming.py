"""Heartbeat schedule, subscription diffs and weighted choice for the naming clients. No I/O.

Invariants:
1. Each registered ephemeral instance has one beat entry. Its next beat is due one interval after
   the previous answer; the interval is the server's `clientBeatInterval` (5 s unless the
   instance's `preserved.heart.beat.interval` metadata says otherwise). A failed beat is retried
   after at most 1 s, so one lost beat does not eat into the server's 15 s unhealthy timeout.
2. A subscription remembers the last instance list it reported. Events are the difference from it,
   with instances identified by (cluster, ip, port): ADDED, REMOVED, or MODIFIED (any field
   changed). A failed poll reports nothing and keeps the old list, so no event is invented.
3. A callback added to an existing subscription first gets ADDED for what is already known.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pynacos.client._models import BeatReply, Instance, InstanceEvent

DEFAULT_BEAT_INTERVAL = 5.0
RETRY_FAILED_BEAT = 1.0
BEAT_INTERVAL_KEY = "preserved.heart.beat.interval"

EventCallback = Callable[[InstanceEvent], object]


@dataclass(frozen=True)
class InstanceKey:
    """What the server keys a client's instance by: one per (service, ip, port) and ephemeral flag."""

    service: str
    group: str
    ip: str
    port: int


@dataclass
class BeatEntry:
    group: str
    instance: Instance
    due: float
    interval: float = DEFAULT_BEAT_INTERVAL


class BeatSchedule:
    def __init__(self) -> None:
        self._entries: dict[InstanceKey, BeatEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: InstanceKey, group: str, instance: Instance, now: float) -> None:
        """Registering counts as a beat, so the first one is due an interval later."""
        interval = beat_interval(instance)
        self._entries[key] = BeatEntry(group, instance, now + interval, interval)

    def remove(self, key: InstanceKey) -> None:
        self._entries.pop(key, None)

    def drain(self) -> list[BeatEntry]:
        """Every entry, leaving the schedule empty (the client is closing)."""
        entries, self._entries = list(self._entries.values()), {}
        return entries

    def due(self, now: float) -> list[tuple[InstanceKey, BeatEntry]]:
        return [(key, entry) for key, entry in self._entries.items() if entry.due <= now]

    def answered(self, key: InstanceKey, reply: BeatReply, now: float) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.interval = reply.interval_ms / 1000
            entry.due = now + entry.interval

    def failed(self, key: InstanceKey, now: float) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.due = now + min(RETRY_FAILED_BEAT, entry.interval)

    def next_due(self) -> float | None:
        return min((entry.due for entry in self._entries.values()), default=None)


@dataclass
class Subscription:
    due: float
    callbacks: list[EventCallback] = field(default_factory=list)
    known: dict[tuple[str, str, int], Instance] | None = None


class Subscriptions:
    """Services polled every `interval` seconds; each poll's result becomes events."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._subs: dict[tuple[str, str], Subscription] = {}

    def __len__(self) -> int:
        return len(self._subs)

    def add(
        self, service: str, group: str, callback: EventCallback, now: float
    ) -> list[tuple[EventCallback, InstanceEvent]]:
        sub = self._subs.setdefault((service, group), Subscription(due=now))
        if callback in sub.callbacks:
            return []
        sub.callbacks.append(callback)
        known = list(sub.known.values()) if sub.known else []
        return [(callback, InstanceEvent("ADDED", service, group, i)) for i in known]

    def remove(self, service: str, group: str, callback: EventCallback | None = None) -> None:
        sub = self._subs.get((service, group))
        if sub is None:
            return
        if callback is not None and callback in sub.callbacks:
            sub.callbacks.remove(callback)
        if callback is None or not sub.callbacks:
            del self._subs[(service, group)]

    def due(self, now: float) -> list[tuple[str, str]]:
        return [key for key, sub in self._subs.items() if sub.due <= now]

    def update(
        self, service: str, group: str, hosts: Iterable[Instance], now: float
    ) -> list[tuple[EventCallback, InstanceEvent]]:
        sub = self._subs.get((service, group))
        if sub is None:
            return []
        sub.due = now + self.interval
        current = {_identity(i): i for i in hosts}
        events = diff(service, group, sub.known or {}, current)
        sub.known = current
        return [(callback, event) for event in events for callback in sub.callbacks]

    def failed(self, service: str, group: str, now: float) -> None:
        sub = self._subs.get((service, group))
        if sub is not None:
            sub.due = now + self.interval

    def next_due(self) -> float | None:
        return min((sub.due for sub in self._subs.values()), default=None)


def diff(
    service: str,
    group: str,
    old: dict[tuple[str, str, int], Instance],
    new: dict[tuple[str, str, int], Instance],
) -> list[InstanceEvent]:
    events = [InstanceEvent("REMOVED", service, group, i) for k, i in old.items() if k not in new]
    for key, instance in new.items():
        before = old.get(key)
        if before is None:
            events.append(InstanceEvent("ADDED", service, group, instance))
        elif before != instance:
            events.append(InstanceEvent("MODIFIED", service, group, instance))
    return events


def beat_interval(instance: Instance) -> float:
    """Until the server says otherwise: `preserved.heart.beat.interval` (ms) if numeric, else 5 s."""
    raw = instance.metadata.get(BEAT_INTERVAL_KEY, "")
    return int(raw) / 1000 if raw.isdigit() and int(raw) > 0 else DEFAULT_BEAT_INTERVAL


def choose(instances: Iterable[Instance], rng: Callable[[], float] = random.random) -> Instance | None:
    """Weighted random choice among healthy, enabled instances with a positive weight."""
    candidates = [i for i in instances if i.healthy and i.enabled and i.weight > 0]
    total = sum(i.weight for i in candidates)
    if not candidates:
        return None
    point = rng() * total
    for instance in candidates:
        point -= instance.weight
        if point < 0:
            return instance
    return candidates[-1]


def _identity(instance: Instance) -> tuple[str, str, int]:
    return (instance.cluster_name, instance.ip, instance.port)
