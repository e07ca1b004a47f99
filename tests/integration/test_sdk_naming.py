"""nacos-sdk-python 2.0.11 naming (HTTP v1) against a real pynacos process over sockets.

The long timings (40 s of beats, expiry at ~15 s / ~30 s) run side by side in one test on separate
services, so the whole file takes about a minute and a half.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nacos
import pytest
from nacos.listener import Event, SubscribeListener

from tests.integration.server_process import ServerProcess

GROUPED = "DEFAULT_GROUP@@{}"


def make_client(server: ServerProcess, tmp_path: Path, namespace: str = "") -> nacos.NacosClient:
    client = nacos.NacosClient(server.address, namespace=namespace, logDir=str(tmp_path / "sdk-logs"))
    client.set_options(snapshot_base=str(tmp_path / "snapshots"), failover_base=str(tmp_path / "failover"))
    return client


def hosts_by_ip(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {host["ip"]: host for host in listing["hosts"]}


def raw_list(server: ServerProcess, service: str, **params: str) -> httpx.Response:
    return httpx.get(server.base + "/v1/ns/instance/list", params={"serviceName": service, **params})


def stop_subscriptions(client: nacos.NacosClient) -> None:
    """Stop the SDK's subscribe timers for good (its threading.Timer chain re-arms after each poll)."""
    timers = list(client.subscribe_timer_manager.all_timers().values())
    for timer in timers:
        timer.set_fn(lambda: None).set_ignore_ex(True)
    client.stop_subscribe()
    quiet_checks, deadline = 0, time.monotonic() + 15
    while quiet_checks < 5 and time.monotonic() < deadline:
        for timer in timers:
            timer.cancel()
        quiet_checks = 0 if any(timer.alive() for timer in timers) else quiet_checks + 1
        time.sleep(0.1)


def stop_heartbeats(client: nacos.NacosClient) -> None:
    for task in client.heartbeats.values():
        task.stop()


def record_beats(client: nacos.NacosClient) -> list[float]:
    """Wrap the client's send_heartbeat (what its beat thread calls) to note when each beat was answered."""
    answered: list[float] = []
    original = client.send_heartbeat

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        answered.append(time.monotonic())
        return result

    client.send_heartbeat = recording
    return answered


# -- register, list, get, modify, deregister ----------------------------------------------------


def test_register_list_get_modify_deregister(server: ServerProcess, tmp_path: Path) -> None:
    client = make_client(server, tmp_path)
    metadata = {"version": "1.2", "zone": "a"}
    assert client.add_naming_instance("crud", "10.0.0.11", 8080, cluster_name="c1", weight=2.5, metadata=metadata)
    assert client.add_naming_instance("crud", "10.0.0.12", 8081, cluster_name="c1", metadata={"zone": "b"})

    listing = client.list_naming_instance("crud")
    assert listing["name"] == "DEFAULT_GROUP@@crud"
    hosts = hosts_by_ip(listing)
    assert sorted(hosts) == ["10.0.0.11", "10.0.0.12"]
    first = hosts["10.0.0.11"]
    assert first["instanceId"] == "10.0.0.11#8080#c1#DEFAULT_GROUP@@crud"
    assert (first["ip"], first["port"], first["weight"]) == ("10.0.0.11", 8080, 2.5)
    assert (first["healthy"], first["enabled"], first["clusterName"]) == (True, True, "c1")
    assert first["metadata"] == metadata
    assert hosts["10.0.0.12"]["instanceId"] == "10.0.0.12#8081#c1#DEFAULT_GROUP@@crud"
    assert client.list_naming_instance("crud", clusters="c1")["clusters"] == "c1"

    detail = client.get_naming_instance("crud", "10.0.0.11", 8080, cluster_name="c1")
    assert detail["service"] == "DEFAULT_GROUP@@crud"
    assert (detail["ip"], detail["port"], detail["clusterName"]) == ("10.0.0.11", 8080, "c1")
    assert (detail["weight"], detail["healthy"], detail["metadata"]) == (2.5, True, metadata)
    assert detail["instanceId"] == "10.0.0.11#8080#c1#DEFAULT_GROUP@@crud"

    # disable: hidden from the list; enable again (with a new weight): back
    assert client.modify_naming_instance("crud", "10.0.0.11", 8080, cluster_name="c1", weight=2.5, enable=False)
    assert sorted(hosts_by_ip(client.list_naming_instance("crud"))) == ["10.0.0.12"]
    assert client.modify_naming_instance("crud", "10.0.0.11", 8080, cluster_name="c1", weight=3.0, enable=True)
    back = hosts_by_ip(client.list_naming_instance("crud"))
    assert sorted(back) == ["10.0.0.11", "10.0.0.12"]
    assert (back["10.0.0.11"]["enabled"], back["10.0.0.11"]["weight"]) == (True, 3.0)
    assert back["10.0.0.11"]["metadata"] == metadata

    assert client.remove_naming_instance("crud", "10.0.0.11", 8080, cluster_name="c1")
    assert sorted(hosts_by_ip(client.list_naming_instance("crud"))) == ["10.0.0.12"]
    with pytest.raises(nacos.exception.NacosException, match="404"):
        client.get_naming_instance("crud", "10.0.0.11", 8080, cluster_name="c1")
    assert client.remove_naming_instance("crud", "10.0.0.12", 8081, cluster_name="c1")
    assert client.list_naming_instance("crud")["hosts"] == []


# -- heartbeats and expiry ------------------------------------------------------------------------


def test_beats_keep_an_instance_healthy_and_silent_ones_expire(server: ServerProcess, tmp_path: Path) -> None:
    """Three services side by side, polled every 0.5 s:
    - `beating`: heartbeat_interval=5 for the whole run, healthy at every poll up to >= 40 s;
    - `silent`: registered without heartbeat_interval (no beats), unhealthy at ~15 s, gone at ~30 s;
    - `stopped`: beats for ~6 s, then its beat task is stopped; same timings from its last beat.
    """
    beating_client = make_client(server, tmp_path / "beating")
    silent_client = make_client(server, tmp_path / "silent")
    stopped_client = make_client(server, tmp_path / "stopped")
    beating_beats, stopped_beats = record_beats(beating_client), record_beats(stopped_client)
    try:
        started = time.monotonic()
        assert beating_client.add_naming_instance("beating", "10.1.0.1", 9000, cluster_name="c1", heartbeat_interval=5)
        silent_registered = time.monotonic()
        assert silent_client.add_naming_instance("silent", "10.1.0.2", 9000, cluster_name="c1")
        assert stopped_client.add_naming_instance("stopped", "10.1.0.3", 9000, cluster_name="c1", heartbeat_interval=5)

        beating_polls: list[tuple[float, bool, bool]] = []  # (seconds since registration, present, healthy)
        events: dict[str, dict[str, float]] = {"silent": {}, "stopped": {}}
        stopped_at: float | None = None
        deadline = started + 60
        while time.monotonic() < deadline:
            now = time.monotonic()
            if stopped_at is None and now - started >= 6:
                stop_heartbeats(stopped_client)
                stopped_at = now
            beating = beating_client.list_naming_instance("beating")["hosts"]
            beating_polls.append((now - started, bool(beating), bool(beating) and beating[0]["healthy"]))
            for name, client in (("silent", silent_client), ("stopped", stopped_client)):
                hosts = client.list_naming_instance(name)["hosts"]
                if hosts and not hosts[0]["healthy"]:
                    events[name].setdefault("unhealthy", now)
                if not hosts:
                    events[name].setdefault("gone", now)
            if beating_polls[-1][0] >= 41 and all("gone" in e for e in events.values()):
                break
            time.sleep(0.5)
    finally:
        stop_heartbeats(beating_client)
        stop_heartbeats(stopped_client)

    bad_polls = [poll for poll in beating_polls if not (poll[1] and poll[2])]
    assert not bad_polls, f"beating instance missing or unhealthy at (s, present, healthy): {bad_polls[:5]}"
    assert beating_polls[-1][0] >= 40
    assert len(beating_beats) >= 8, f"only {len(beating_beats)} beats answered in {beating_polls[-1][0]:.0f} s"

    last_beat = {"silent": silent_registered, "stopped": max(stopped_beats, default=started)}
    assert len(stopped_beats) >= 2
    timings = {
        name: {event: round(at - last_beat[name], 1) for event, at in seen.items()} for name, seen in events.items()
    }
    for name, seen in timings.items():
        assert "unhealthy" in seen, f"{name}: never seen unhealthy (seconds after its last beat: {seen})"
        assert "gone" in seen, f"{name}: still listed 60 s after registration ({seen})"
        assert 14 <= seen["unhealthy"] <= 22, f"{name}: unhealthy {seen['unhealthy']} s after its last beat"
        assert 29 <= seen["gone"] <= 40, f"{name}: gone {seen['gone']} s after its last beat"


# -- subscribe ------------------------------------------------------------------------------------


def test_subscribe_sees_added_then_deleted(server: ServerProcess, tmp_path: Path) -> None:
    watcher = make_client(server, tmp_path / "watcher")
    owner = make_client(server, tmp_path / "owner")
    events: list[tuple[str, str, int]] = []
    arrived = {Event.ADDED: threading.Event(), Event.DELETED: threading.Event()}

    def on_event(event: str, local: Any) -> None:
        events.append((event, local.instance["ip"], local.instance["port"]))
        if event in arrived:
            arrived[event].set()

    watcher.subscribe([SubscribeListener(on_event, "recorder")], listener_interval=1, service_name="sub")
    try:
        assert owner.add_naming_instance("sub", "10.2.0.1", 7000, cluster_name="c1")
        assert arrived[Event.ADDED].wait(10), f"no ADDED event; events: {events}"
        assert owner.remove_naming_instance("sub", "10.2.0.1", 7000, cluster_name="c1")
        assert arrived[Event.DELETED].wait(10), f"no DELETED event; events: {events}"
        assert events == [(Event.ADDED, "10.2.0.1", 7000), (Event.DELETED, "10.2.0.1", 7000)]

        watcher.unsubscribe("sub", "recorder")
        assert owner.add_naming_instance("sub", "10.2.0.2", 7000, cluster_name="c1")
        time.sleep(2.5)  # two more polls: the SDK still polls but has nobody to tell
        assert len(events) == 2, events
    finally:
        stop_subscriptions(watcher)


# -- persistence ----------------------------------------------------------------------------------


def test_persistent_instance_survives_kill_9_and_ephemeral_does_not(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home")
    server.start()
    try:
        client = make_client(server, tmp_path)
        assert client.add_naming_instance(
            "kept", "10.3.0.1", 8080, cluster_name="c1", weight=2.0, metadata={"k": "v"}, ephemeral=False
        )
        assert client.add_naming_instance("lost", "10.3.0.2", 8080, cluster_name="c1")
        assert [h["ip"] for h in client.list_naming_instance("kept")["hosts"]] == ["10.3.0.1"]
        assert [h["ip"] for h in client.list_naming_instance("lost")["hosts"]] == ["10.3.0.2"]

        server.kill()
        server.start()

        kept = client.list_naming_instance("kept")
        assert kept["name"] == "DEFAULT_GROUP@@kept"
        assert len(kept["hosts"]) == 1
        host = kept["hosts"][0]
        assert (host["ip"], host["port"], host["clusterName"]) == ("10.3.0.1", 8080, "c1")
        assert (host["weight"], host["metadata"], host["ephemeral"]) == (2.0, {"k": "v"}, False)
        assert host["instanceId"] == "10.3.0.1#8080#c1#DEFAULT_GROUP@@kept"
        assert client.list_naming_instance("lost")["hosts"] == []
    finally:
        server.stop()


# -- bad input over raw HTTP ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("naming") / "home")
    process.start()
    yield process
    process.stop()


REGISTER = {"serviceName": "", "ip": "10.4.0.1", "port": "8080", "weight": "1.0", "ephemeral": "True"}


@pytest.mark.parametrize(
    ("case", "changes", "field"),
    [
        ("ip-list", {"ip": "1.2.3.4,5.6.7.8"}, "ip"),
        ("ip-blank", {"ip": ""}, "ip"),
        ("port-70000", {"port": "70000"}, "port"),
        ("weight-10001", {"weight": "10001"}, "weight"),
    ],
)
def test_bad_register_is_a_clear_400_and_changes_nothing(
    shared_server: ServerProcess, case: str, changes: dict[str, str], field: str
) -> None:
    service = f"bad-{case}"
    response = httpx.post(
        shared_server.base + "/v1/ns/instance", params={**REGISTER, "serviceName": service, **changes}
    )
    assert response.status_code == 400, (response.status_code, response.text)
    assert field in response.text.lower(), response.text
    listing = raw_list(shared_server, service)
    assert listing.status_code == 200, listing.text
    assert listing.json()["hosts"] == []


def test_register_limits_answer_the_nacos_texts(shared_server: ServerProcess) -> None:
    url = shared_server.base + "/v1/ns/instance"
    port = httpx.post(url, params={**REGISTER, "serviceName": "limits", "port": "70000"})
    assert (port.status_code, port.text) == (400, "Param 'port' is illegal, the value should be between 0 and 65535.\n")
    weight = httpx.post(url, params={**REGISTER, "serviceName": "limits", "weight": "10001"})
    assert (weight.status_code, weight.text) == (400, "instance format invalid: The weights range from 0.0 to 10000.0")
    assert raw_list(shared_server, "limits").json()["hosts"] == []


def test_register_into_an_unknown_namespace_is_a_clear_400(shared_server: ServerProcess) -> None:
    url = shared_server.base + "/v1/ns/instance"
    response = httpx.post(url, params={**REGISTER, "serviceName": "ns-check", "namespaceId": "no-such-ns"})
    assert response.status_code == 400, (response.status_code, response.text)
    assert "no-such-ns" in response.text, response.text
    there = raw_list(shared_server, "ns-check", namespaceId="no-such-ns")
    assert there.status_code == 400 or there.json()["hosts"] == [], there.text
    assert raw_list(shared_server, "ns-check").json()["hosts"] == []

    # a namespace that exists is accepted
    created = httpx.post(
        shared_server.base + "/v1/console/namespaces", data={"customNamespaceId": "ns-ok", "namespaceName": "ns-ok"}
    )
    assert created.text == "true"
    response = httpx.post(url, params={**REGISTER, "serviceName": "ns-check", "namespaceId": "ns-ok"})
    assert (response.status_code, response.text) == (200, "ok")
    assert [h["ip"] for h in raw_list(shared_server, "ns-check", namespaceId="ns-ok").json()["hosts"]] == ["10.4.0.1"]


def test_malformed_beat_json_is_400_and_changes_nothing(shared_server: ServerProcess) -> None:
    base = shared_server.base
    response = httpx.post(base + "/v1/ns/instance", params={**REGISTER, "serviceName": "beat-bad"})
    assert (response.status_code, response.text) == (200, "ok")
    before = raw_list(shared_server, "beat-bad").json()["hosts"]
    assert [h["ip"] for h in before] == ["10.4.0.1"]

    beat_url = base + "/v1/ns/instance/beat"
    known = {"serviceName": GROUPED.format("beat-bad"), "ip": "10.4.0.1", "port": "8080"}
    unknown = {**known, "ip": "10.4.0.99"}
    for params in (known, unknown):
        as_form = httpx.put(beat_url, params=params, data={"beat": "{not json"})
        assert as_form.status_code == 400, (params["ip"], as_form.status_code, as_form.text)
        in_query = httpx.put(beat_url, params={**params, "beat": "{not json"})
        assert in_query.status_code == 400, (params["ip"], in_query.status_code, in_query.text)
    assert raw_list(shared_server, "beat-bad").json()["hosts"] == before
