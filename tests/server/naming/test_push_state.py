"""The UDP push state machine (naming/push.py, protocol.md C.5), driven with plain numbers for time."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from pynacos.server.naming.models import ServiceKey
from pynacos.server.naming.push import (
    GZIP_MIN_BYTES,
    Datagram,
    PushState,
    PushTimings,
    Subscribed,
    SubscriberKey,
    literal_ip,
    packet,
    push_capable,
)

DEMO = ServiceKey("public", "DEFAULT_GROUP", "demo")
OTHER = ServiceKey("public", "DEFAULT_GROUP", "other")
JAVA = "Nacos-Java-Client:v1.4.8"


class Renderer:
    """Stands in for the naming service: a ServiceInfo text per (service, clusters), counting calls."""

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.calls: list[tuple[ServiceKey, str]] = []

    def __call__(self, service: ServiceKey, clusters: str) -> str:
        self.calls.append((service, clusters))
        return json.dumps({"name": service.grouped, "clusters": clusters, "version": self.version})


def sub(port: int = 5000, ip: str = "10.0.0.9", service: ServiceKey = DEMO, clusters: str = "") -> SubscriberKey:
    return SubscriberKey(service, ip, port, clusters)


def decode(datagram: Datagram) -> dict[str, Any]:
    raw = datagram.payload
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    message: dict[str, Any] = json.loads(raw)
    return message


def ack(stamp: int | str) -> bytes:
    return json.dumps({"type": "push-ack", "lastRefTime": stamp, "data": ""}).encode()


@pytest.fixture
def render() -> Renderer:
    return Renderer()


@pytest.fixture
def state(render: Renderer) -> PushState:
    return PushState(render)


def test_a_new_subscriber_gets_its_own_push_500_ms_later(state: PushState) -> None:
    assert state.subscribe(1000.0, sub(), JAVA, "shop") is Subscribed.NEW
    assert state.next_wakeup() == 1500.0
    assert state.datagrams_due(1499.0) == []
    [datagram] = state.datagrams_due(1500.0)
    assert (datagram.ip, datagram.port) == ("10.0.0.9", 5000)
    message = decode(datagram)
    assert list(message) == ["type", "data", "lastRefTime"]
    assert message["type"] == "dom"
    assert json.loads(message["data"]) == {"name": "DEFAULT_GROUP@@demo", "clusters": "", "version": "v1"}
    assert isinstance(message["lastRefTime"], int)


def test_a_refresh_neither_duplicates_the_first_push_nor_changes_the_count(state: PushState) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    assert state.subscribe(100.0, sub(), "Nacos-Java-Client:v1.4.9", "app2") is Subscribed.REFRESHED
    assert len(state.datagrams_due(600.0)) == 1
    assert state.datagrams_due(5000.0) == []
    [shown] = state.subscribers(DEMO)
    assert (shown.agent, shown.app, len(state)) == ("Nacos-Java-Client:v1.4.9", "app2", 1)


def test_a_subscriber_expires_30_s_after_its_last_poll(state: PushState) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    assert len(state.datagrams_due(500.0)) == 1
    state.subscribe(20_000.0, sub(), JAVA, "")  # a poll keeps it
    state.datagrams_due(49_999.0)
    assert len(state) == 1
    assert state.next_wakeup() == 50_000.0
    state.datagrams_due(50_000.0)
    assert len(state) == 0 and state.subscribers(DEMO) == []
    assert state.service_changed(50_001.0, DEMO) is False
    assert state.datagrams_due(60_000.0) == []


def test_changes_within_the_delay_merge_into_one_push_with_the_state_at_sending_time(
    state: PushState, render: Renderer
) -> None:
    state.subscribe(0.0, sub(5000), JAVA, "")
    state.subscribe(0.0, sub(5001), JAVA, "")
    state.datagrams_due(500.0)
    render.calls.clear()
    for now in (1000.0, 1100.0, 1400.0):
        assert state.service_changed(now, DEMO)
    assert state.next_wakeup() == 1500.0
    assert state.datagrams_due(1499.0) == []
    render.version = "v2"
    pushed = state.datagrams_due(1500.0)
    assert sorted(d.port for d in pushed) == [5000, 5001]
    assert {json.loads(decode(d)["data"])["version"] for d in pushed} == {"v2"}
    assert render.calls == [(DEMO, "")], "one rendering shared by subscribers of the same view"
    state.service_changed(1600.0, DEMO)
    assert state.datagrams_due(2099.0) == [] and len(state.datagrams_due(2100.0)) == 2


def test_only_the_changed_services_subscribers_are_pushed_each_with_its_clusters(state: PushState) -> None:
    state.subscribe(0.0, sub(5000, clusters="DEFAULT"), JAVA, "")
    state.subscribe(0.0, sub(5001, clusters=""), JAVA, "")
    state.subscribe(0.0, sub(5002, service=OTHER), JAVA, "")
    state.datagrams_due(500.0)
    state.service_changed(1000.0, DEMO)
    pushed = state.datagrams_due(1500.0)
    assert sorted((d.port, json.loads(decode(d)["data"])["clusters"]) for d in pushed) == [
        (5000, "DEFAULT"),
        (5001, ""),
    ]


def test_packets_are_gzipped_from_1024_bytes() -> None:
    overhead = len(packet(b'""', 7)) - 2
    below = packet(json.dumps("x" * (GZIP_MIN_BYTES - 1 - overhead - 2)).encode(), 7)
    assert len(below) == GZIP_MIN_BYTES - 1 and below.startswith(b'{"type":"dom"')
    at = packet(json.dumps("x" * (GZIP_MIN_BYTES - overhead - 2)).encode(), 7)
    assert at[:2] == b"\x1f\x8b"
    assert len(gzip.decompress(at)) == GZIP_MIN_BYTES
    assert json.loads(gzip.decompress(at))["lastRefTime"] == 7


def test_a_large_service_info_is_pushed_gzipped(render: Renderer) -> None:
    state = PushState(lambda service, clusters: json.dumps({"hosts": ["10.0.0.1:80"] * 200}))
    state.subscribe(0.0, sub(), JAVA, "")
    [datagram] = state.datagrams_due(500.0)
    assert datagram.payload[:2] == b"\x1f\x8b"
    assert len(json.loads(decode(datagram)["data"])["hosts"]) == 200


def test_an_ack_matches_on_source_ip_port_and_last_ref_time_and_stops_the_resend(state: PushState) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    [first] = state.datagrams_due(500.0)
    stamp = decode(first)["lastRefTime"]
    assert not state.ack_received(ack(stamp), "10.0.0.8", 5000)
    assert not state.ack_received(ack(stamp), "10.0.0.9", 5001)
    assert not state.ack_received(ack(stamp + 1), "10.0.0.9", 5000)
    assert not state.ack_received(b'{"type":"dom","lastRefTime":%d}' % stamp, "10.0.0.9", 5000)
    assert state.pending_acks == 1
    assert state.ack_received(ack(str(stamp)), "10.0.0.9", 5000), "a string lastRefTime is accepted"
    assert not state.ack_received(ack(stamp), "10.0.0.9", 5000), "an ack counts once"
    assert state.pending_acks == 0
    assert state.datagrams_due(30_000.0) == []
    assert (state.counters.sent, state.counters.acked, state.counters.resent) == (1, 1, 0)


@pytest.mark.parametrize("junk", [b"", b"not json", b"[]", b'{"type":"push-ack","lastRefTime":true}', b"x" * 5000])
def test_junk_datagrams_are_ignored(state: PushState, junk: bytes) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    state.datagrams_due(500.0)
    assert state.ack_received(junk, "10.0.0.9", 5000) is False
    assert state.pending_acks == 1


def test_an_unacked_push_is_resent_once_after_10_s_then_given_up(state: PushState) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    [first] = state.datagrams_due(500.0)
    assert state.next_wakeup() == 10_500.0
    assert state.datagrams_due(10_499.0) == []
    [again] = state.datagrams_due(10_500.0)
    assert again == first, "the resend is the same packet, same lastRefTime"
    assert state.next_wakeup() == 20_500.0
    assert state.datagrams_due(20_500.0) == []
    assert (state.counters.sent, state.counters.resent, state.counters.gave_up) == (1, 1, 1)
    assert state.pending_acks == 0
    assert state.datagrams_due(29_999.0) == []


def test_an_ack_after_the_resend_still_counts(state: PushState) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    [first] = state.datagrams_due(500.0)
    state.datagrams_due(10_500.0)
    assert state.ack_received(ack(decode(first)["lastRefTime"]), "10.0.0.9", 5000)
    assert state.datagrams_due(25_000.0) == [] and state.counters.gave_up == 0


def test_a_newer_push_replaces_the_unacked_one_so_stale_data_is_never_resent(
    state: PushState, render: Renderer
) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    [old] = state.datagrams_due(500.0)
    render.version = "v2"
    state.service_changed(1000.0, DEMO)
    [new] = state.datagrams_due(1500.0)
    assert decode(new)["lastRefTime"] > decode(old)["lastRefTime"]
    assert state.pending_acks == 1
    assert not state.ack_received(ack(decode(old)["lastRefTime"]), "10.0.0.9", 5000)
    [resent] = state.datagrams_due(11_500.0)
    assert json.loads(decode(resent)["data"])["version"] == "v2"


def test_last_ref_times_increase_even_within_one_millisecond(state: PushState) -> None:
    for port in range(5000, 5005):
        state.subscribe(0.0, sub(port), JAVA, "")
    stamps = [decode(d)["lastRefTime"] for d in state.datagrams_due(500.0)]
    assert len(set(stamps)) == 5 and stamps == sorted(stamps)


def test_subscribers_are_capped_per_node_and_per_ip_but_refreshes_pass(render: Renderer) -> None:
    state = PushState(render, max_subscribers=3, max_per_ip=2)
    assert state.subscribe(0.0, sub(1, ip="10.0.0.1"), JAVA, "") is Subscribed.NEW
    assert state.subscribe(0.0, sub(2, ip="10.0.0.1"), JAVA, "") is Subscribed.NEW
    assert state.subscribe(0.0, sub(3, ip="10.0.0.1"), JAVA, "") is Subscribed.REFUSED
    assert state.subscribe(0.0, sub(1, ip="10.0.0.2"), JAVA, "") is Subscribed.NEW
    assert state.full
    assert state.subscribe(0.0, sub(2, ip="10.0.0.2"), JAVA, "") is Subscribed.REFUSED
    assert state.subscribe(10_000.0, sub(1, ip="10.0.0.1"), JAVA, "") is Subscribed.REFRESHED
    # the other two expire at 30 s; the refreshed one lives on and room opens up
    assert state.subscribe(30_000.0, sub(2, ip="10.0.0.2"), JAVA, "") is Subscribed.NEW
    assert len(state) == 2 and not state.full
    assert [(s.key.ip, s.key.port) for s in state.subscribers(DEMO)] == [("10.0.0.1", 1), ("10.0.0.2", 2)]


def test_an_expiring_subscriber_takes_its_pending_ack_and_scheduled_push_with_it(state: PushState) -> None:
    state.subscribe(0.0, sub(), JAVA, "")
    state.datagrams_due(500.0)
    state.subscribe(5_000.0, sub(5001), JAVA, "")
    state.datagrams_due(5_500.0)
    state.service_changed(29_800.0, DEMO)
    # at 30 s the first expires: only the second gets the merged push, and no resend is left for the first
    pushed = state.datagrams_due(30_300.0)
    assert [d.port for d in pushed] == [5001]
    assert state.pending_acks == 1


def test_nothing_is_scheduled_without_subscribers(state: PushState) -> None:
    assert state.service_changed(0.0, DEMO) is False
    assert state.next_wakeup() is None
    assert state.datagrams_due(1_000_000.0) == []


def test_timings_default_to_nacos_values_and_must_be_positive(render: Renderer) -> None:
    assert PushTimings() == PushTimings(push_delay_ms=500.0, ack_timeout_ms=10_000.0, subscriber_ttl_ms=30_000.0)
    with pytest.raises(ValueError):
        PushState(render, PushTimings(ack_timeout_ms=0))


@pytest.mark.parametrize(
    ("agent", "pushed"),
    [
        ("Nacos-Java-Client:v1.0.0", True),  # the Node.js SDK
        ("Nacos-Java-Client:v1.4.8", True),
        ("Nacos-Java-Client:v0.1.0", True),
        ("Nacos-Java-Client:v0.0.9", False),
        ("Nacos-Java-Client:v2.0.0-SNAPSHOT", True),
        ("Nacos-Java-Client", False),
        ("Nacos-DNS:v0.4.3", True),
        ("Nacos-DNS:v0.4.2", False),
        ("Nacos-C-Client:v1.0.12", True),
        ("Nacos-C-Client:v1.0.11", False),
        ("vip-client4cpp:v1.0.12", True),
        ("Nacos-Go-Client:v1.2.0", True),
        ("Nacos-CSharp-Client:v0.9.0", True),
        ("Nacos-CSharp-Client:v0.8.9", False),
        ("Nacos-Python-Client:v0.1.16", False),
        ("python-httpx/0.27", False),
        ("", False),
        ("Nacos-Java-Client:v" + "9" * 5000, True),
    ],
)
def test_only_the_listed_agents_from_their_versions_get_pushes(agent: str, pushed: bool) -> None:
    assert push_capable(agent) is pushed


@pytest.mark.parametrize(
    ("text", "ip"),
    [
        ("10.0.0.9", "10.0.0.9"),
        ("::ffff:10.0.0.9", "10.0.0.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("localhost", None),
        ("evil.example", None),
        ("224.0.0.1", None),
        ("0.0.0.0", None),
        ("10.0.0.9, 10.0.0.8", None),
    ],
)
def test_push_targets_are_ip_literals_only(text: str, ip: str | None) -> None:
    assert literal_ip(text) == ip
