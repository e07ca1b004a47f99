"""UDP push to HTTP naming subscribers (protocol.md C.5), as a state machine without sockets or clocks.

Theory of operation
-------------------
A `GET /instance/list` with `udpPort>0` from a push-capable agent makes the caller a *subscriber*,
keyed by (service, source IP, UDP port, clusters text). The clusters text is part of the key because
the pushed ServiceInfo depends on it and clients key their cache by it (the Node SDK holds `""` and
`"DEFAULT"` views of one service at once); Nacos keeps one subscription per client and service, so the
other view would silently stop being pushed. Each poll refreshes the subscriber; one that has not
polled for `subscriber_ttl_ms` (30 s, C.4's client expiry) is dropped.

A new subscriber gets its own push `push_delay_ms` (500 ms) later. A change to a service schedules
one push to all its subscribers `push_delay_ms` after the *first* change, so a burst of changes is
merged into one packet per subscriber carrying the state at sending time.

Every push carries a fresh `lastRefTime`; the client acks it from the address it was sent to, and the
ack is matched on (source IP, source port, lastRefTime). A push not acked within `ack_timeout_ms`
(10 s) is sent once more and forgotten after another `ack_timeout_ms`. A newer push to the same
subscriber replaces its unacked one, so a resend can never deliver older data after newer data.

The driver (naming/udp.py) feeds in subscriptions, changes and received datagrams with the current
time, sends what `datagrams_due` returns, and calls it again at `next_wakeup()`.

Invariants
----------
- `now` (milliseconds) never goes backwards.
- At most `max_subscribers` subscribers and `max_per_ip` per source IP; refreshes always pass.
- At most one unacked push per subscriber, so pending acks are bounded by the subscriber cap.
- `_service_due`, `_first_due`, `_unacked` and `_subscribers` are each ordered by deadline: every
  entry of one kind waits the same delay from a non-decreasing `now`, and a refreshed or resent entry
  moves to the end. So the next deadline is the first entry, and due entries pop from the front.
"""

from __future__ import annotations

import functools
import gzip
import ipaddress
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, TypeVar

import orjson

from pynacos.server.naming.models import ServiceKey

#: packets at least this long are gzipped (C.5); clients recognise the gzip magic bytes
GZIP_MIN_BYTES = 1024
#: an ack is a few dozen bytes; anything much longer is not one
MAX_ACK_BYTES = 4096
#: agents that get pushes, with the lowest version (the `push*Version` switches' defaults)
PUSH_AGENTS = (
    ("Nacos-Java-Client", (0, 1, 0)),
    ("Nacos-DNS", (0, 4, 3)),  # compared with pushPythonVersion, as Nacos does
    ("Nacos-C-Client", (1, 0, 12)),
    ("vip-client4cpp", (1, 0, 12)),
    ("Nacos-Go-Client", (0, 1, 0)),
    ("Nacos-CSharp-Client", (0, 9, 0)),
)
_VERSION_PART = re.compile(r"\d{1,9}")
K = TypeVar("K")

Render = Callable[[ServiceKey, str], str]
"""(service, clusters text) -> ServiceInfo JSON text, read when the push is sent."""


class SubscriberKey(NamedTuple):
    service: ServiceKey
    ip: str
    port: int
    clusters: str


@dataclass
class Subscriber:
    key: SubscriberKey
    agent: str
    app: str
    last_seen: float
    #: lastRefTime of the push awaiting an ack, if any
    unacked: int | None = None


@dataclass(frozen=True)
class Datagram:
    payload: bytes
    ip: str
    port: int


@dataclass
class _Pending:
    subscriber: SubscriberKey
    datagram: Datagram
    deadline: float
    resent: bool = False


class Subscribed(Enum):
    NEW = "new"
    REFRESHED = "refreshed"
    REFUSED = "refused"


@dataclass(frozen=True)
class PushTimings:
    push_delay_ms: float = 500.0
    ack_timeout_ms: float = 10_000.0
    subscriber_ttl_ms: float = 30_000.0


@dataclass
class PushCounters:
    sent: int = 0
    resent: int = 0
    acked: int = 0
    gave_up: int = 0


@functools.lru_cache(maxsize=1024)
def push_capable(agent: str) -> bool:
    """C.5: only these agents, from these versions; Nacos-Python-Client and unknown agents poll."""
    for prefix, minimum in PUSH_AGENTS:
        if agent.startswith(prefix):
            return agent_version(agent[len(prefix) :]) >= minimum
    return False


def agent_version(rest: str) -> tuple[int, int, int]:
    """`:v1.4.8-SNAPSHOT` -> (1, 4, 8); anything without `:v` is (0, 0, 0), as in Nacos."""
    if not rest.startswith(":v"):
        return (0, 0, 0)
    numbers = [int(m.group()) if (m := _VERSION_PART.match(part)) else 0 for part in rest[2:].split(".")[:3]]
    major, minor, patch = (*numbers, 0, 0, 0)[:3]
    return (major, minor, patch)


@functools.lru_cache(maxsize=4096)
def literal_ip(text: str) -> str | None:
    """The canonical form of an IP literal (IPv4-mapped IPv6 as IPv4), or None: names are never resolved."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or address.is_unspecified:
        return None
    return str(address)


def packet(info_json: bytes, stamp: int) -> bytes:
    """`{"type":"dom","data":"<ServiceInfo JSON>","lastRefTime":<stamp>}`, gzipped from 1024 bytes.

    `info_json` is the ServiceInfo text already encoded as a JSON string, shared by every subscriber of
    one (service, clusters) so only the stamp differs per packet."""
    body = b'{"type":"dom","data":' + info_json + b',"lastRefTime":' + str(stamp).encode() + b"}"
    return gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else body


def ack_stamp(data: bytes) -> int | None:
    """The lastRefTime of a `push-ack` (a number or a digit string), or None for anything else."""
    if len(data) > MAX_ACK_BYTES:
        return None
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict) or message.get("type") != "push-ack":
        return None
    raw = message.get("lastRefTime")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 30:
        return int(raw)
    return None


class PushState:
    """Subscribers, scheduled pushes and unacked packets of one node."""

    def __init__(
        self,
        render: Render,
        timings: PushTimings | None = None,
        max_subscribers: int = 10_000,
        max_per_ip: int = 1_000,
    ) -> None:
        self.render = render
        self.timings = timings or PushTimings()
        if min(self.timings.push_delay_ms, self.timings.ack_timeout_ms, self.timings.subscriber_ttl_ms) <= 0:
            raise ValueError("push timings must be positive")
        self.max_subscribers = max_subscribers
        self.max_per_ip = max_per_ip
        self.counters = PushCounters()
        self._subscribers: OrderedDict[SubscriberKey, Subscriber] = OrderedDict()
        self._by_service: dict[ServiceKey, dict[SubscriberKey, None]] = {}
        self._per_ip: dict[str, int] = {}
        self._service_due: dict[ServiceKey, float] = {}
        self._first_due: dict[SubscriberKey, float] = {}
        self._unacked: dict[tuple[str, int, int], _Pending] = {}
        self._last_stamp = 0

    def __len__(self) -> int:
        return len(self._subscribers)

    @property
    def full(self) -> bool:
        return len(self._subscribers) >= self.max_subscribers

    @property
    def pending_acks(self) -> int:
        return len(self._unacked)

    # -- inputs ----------------------------------------------------------------------------------

    def subscribe(self, now: float, key: SubscriberKey, agent: str, app: str) -> Subscribed:
        """A list call with `udpPort>0`: refresh the subscriber, or add it and schedule its first push."""
        found = self._subscribers.get(key)
        if found is not None:
            found.last_seen, found.agent, found.app = now, agent, app
            self._subscribers.move_to_end(key)
            return Subscribed.REFRESHED
        self._expire(now)
        if self.full or self._per_ip.get(key.ip, 0) >= self.max_per_ip:
            return Subscribed.REFUSED
        self._subscribers[key] = Subscriber(key, agent, app, now)
        self._by_service.setdefault(key.service, {})[key] = None
        self._per_ip[key.ip] = self._per_ip.get(key.ip, 0) + 1
        self._first_due[key] = now + self.timings.push_delay_ms
        return Subscribed.NEW

    def service_changed(self, now: float, service: ServiceKey) -> bool:
        """Schedule a merged push to the service's subscribers; False when it has none."""
        if service not in self._by_service:
            return False
        self._service_due.setdefault(service, now + self.timings.push_delay_ms)
        return True

    def ack_received(self, data: bytes, ip: str, port: int) -> bool:
        """A datagram from (ip, port): True when it acked a push we are waiting on."""
        stamp = ack_stamp(data)
        pending = self._unacked.pop((ip, port, stamp), None) if stamp is not None else None
        if pending is None:
            return False
        subscriber = self._subscribers.get(pending.subscriber)
        if subscriber is not None and subscriber.unacked == stamp:
            subscriber.unacked = None
        self.counters.acked += 1
        return True

    # -- outputs ---------------------------------------------------------------------------------

    def datagrams_due(self, now: float) -> list[Datagram]:
        """Expire idle subscribers, then the pushes and resends whose time has come."""
        self._expire(now)
        out = self._push(now, self._due_targets(now))
        out.extend(self._resends(now))
        return out

    def next_wakeup(self) -> float | None:
        """When `datagrams_due` next has work: a push, a resend, a give-up or an expiry."""
        deadlines = [
            _first(self._service_due.values()),
            _first(self._first_due.values()),
            _first(p.deadline for p in self._unacked.values()),
            _first(s.last_seen + self.timings.subscriber_ttl_ms for s in self._subscribers.values()),
        ]
        return min((d for d in deadlines if d is not None), default=None)

    def subscribers(self, service: ServiceKey) -> list[Subscriber]:
        """The service's subscribers, sorted for stable paging."""
        keys = sorted(self._by_service.get(service, ()))
        return [self._subscribers[k] for k in keys]

    def every(self, now: float) -> list[Subscriber]:
        """Every subscriber that has polled within its TTL (expired ones may wait here for `_expire`)."""
        ttl = self.timings.subscriber_ttl_ms
        return [s for s in self._subscribers.values() if s.last_seen + ttl > now]

    # -- internals -------------------------------------------------------------------------------

    def _due_targets(self, now: float) -> list[SubscriberKey]:
        targets: dict[SubscriberKey, None] = {}
        for service in _pop_due(self._service_due, now):
            targets.update(self._by_service.get(service, {}))
        targets.update(dict.fromkeys(_pop_due(self._first_due, now)))
        return list(targets)

    def _push(self, now: float, targets: list[SubscriberKey]) -> list[Datagram]:
        rendered: dict[tuple[ServiceKey, str], bytes] = {}
        out = []
        for key in targets:
            view = (key.service, key.clusters)
            if view not in rendered:
                rendered[view] = orjson.dumps(self.render(*view))
            out.append(self._send(now, self._subscribers[key], rendered[view]))
        return out

    def _send(self, now: float, subscriber: Subscriber, info_json: bytes) -> Datagram:
        key = subscriber.key
        stamp = self._last_stamp = max(int(now * 1_000_000), self._last_stamp + 1)
        datagram = Datagram(packet(info_json, stamp), key.ip, key.port)
        if subscriber.unacked is not None:
            self._unacked.pop((key.ip, key.port, subscriber.unacked), None)
        subscriber.unacked = stamp
        self._unacked[(key.ip, key.port, stamp)] = _Pending(key, datagram, now + self.timings.ack_timeout_ms)
        self.counters.sent += 1
        return datagram

    def _resends(self, now: float) -> list[Datagram]:
        out = []
        while self._unacked:
            ack_key, pending = next(iter(self._unacked.items()))
            if pending.deadline > now:
                break
            del self._unacked[ack_key]
            if pending.resent:
                self._give_up(pending, ack_key[2])
                continue
            pending.resent, pending.deadline = True, now + self.timings.ack_timeout_ms
            self._unacked[ack_key] = pending
            self.counters.resent += 1
            out.append(pending.datagram)
        return out

    def _give_up(self, pending: _Pending, stamp: int) -> None:
        subscriber = self._subscribers.get(pending.subscriber)
        if subscriber is not None and subscriber.unacked == stamp:
            subscriber.unacked = None
        self.counters.gave_up += 1

    def _expire(self, now: float) -> None:
        ttl = self.timings.subscriber_ttl_ms
        while self._subscribers:
            subscriber = next(iter(self._subscribers.values()))
            if subscriber.last_seen + ttl > now:
                break
            self._remove(subscriber)

    def _remove(self, subscriber: Subscriber) -> None:
        key = subscriber.key
        del self._subscribers[key]
        same_service = self._by_service[key.service]
        del same_service[key]
        if not same_service:
            del self._by_service[key.service]
            self._service_due.pop(key.service, None)
        self._per_ip[key.ip] -= 1
        if not self._per_ip[key.ip]:
            del self._per_ip[key.ip]
        self._first_due.pop(key, None)
        if subscriber.unacked is not None:
            self._unacked.pop((key.ip, key.port, subscriber.unacked), None)


def _first(values: Iterable[float]) -> float | None:
    return next(iter(values), None)


def _pop_due(queue: dict[K, float], now: float) -> list[K]:
    """Remove and return the front entries whose deadline has come (the queue is deadline-ordered)."""
    due = []
    for key, deadline in queue.items():
        if deadline > now:
            break
        due.append(key)
    for key in due:
        del queue[key]
    return due
