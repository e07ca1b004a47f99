"""Cluster mode's pure parts: member list parsing, member states, the retry schedule, the repair cursor and
the start-up refusals (the 3-node behaviour is tests/integration/test_cluster.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.cluster.members import (
    DOWN,
    SUSPICIOUS,
    UP,
    MemberAddresses,
    MemberList,
    MemberListError,
    parse_members,
)
from pynacos.server.cluster.peers import retry_delay
from pynacos.server.cluster.repair import ConfigRepair
from pynacos.server.cluster.startup import check_cluster
from pynacos.server.settings import Settings, SettingsError, load

SECRET = "dGhpcyBpcyBhIHRlc3Qga2V5IG9mIGF0IGxlYXN0IDMyIGJ5dGVzIQ=="


def test_cluster_conf_lines_comments_commas_ipv6_and_default_port() -> None:
    text = """
    # the cluster
    10.0.0.1:8848 # Instance A
    10.0.0.2, 10.0.0.3:9000
    [::1]:8850,[fe80::1]
    10.0.0.1:8848
    """
    assert parse_members(text, 7777, "cluster.conf") == [
        "10.0.0.1:8848",
        "10.0.0.2:7777",
        "10.0.0.3:9000",
        "[::1]:8850",
        "[fe80::1]:7777",
    ]


def test_the_1x_raft_port_form_is_refused_naming_the_item() -> None:
    with pytest.raises(MemberListError, match=r"raft_port=.*write `host:port` only \(here `10.0.0.1:8847`\)"):
        parse_members("10.0.0.1:8847?raft_port=8807", 8848, "cluster.conf")


@pytest.mark.parametrize("item", ["a:b:c", "host:99999", "[::1"])
def test_items_that_are_not_host_port_are_refused(item: str) -> None:
    with pytest.raises(MemberListError, match="is not host\\[:port\\]"):
        parse_members(item, 8848, "nacos.member.list")


def test_cluster_conf_wins_over_the_member_list_and_self_is_added(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "cluster.conf").write_text("127.0.0.1:9001\n127.0.0.1:9002\n")
    settings = Settings(home=str(tmp_path), port=9003, member_ip="127.0.0.1", member_list=("10.9.9.9:1",))
    members = MemberList(settings)
    assert [m.address for m in members.members()] == ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"]
    assert members.self_member.address == "127.0.0.1:9003"
    assert [m.address for m in members.peers()] == ["127.0.0.1:9001", "127.0.0.1:9002"]


def test_member_states_follow_failures_and_successes() -> None:
    settings = Settings(port=9000, member_ip="127.0.0.1")
    members = MemberList(settings, ["127.0.0.1:9000", "127.0.0.1:9001"])
    seen: list[tuple[str, str]] = []
    members.on_state_change(lambda member, old, new: seen.append((old, new)))
    peer = members.peers()[0]
    for _ in range(3):
        members.failed(peer, refused=False)
    assert (peer.state, peer.fail_access_cnt) == (SUSPICIOUS, 3)
    members.failed(peer, refused=False)
    assert peer.state == DOWN
    assert members.reachable_peers() == []
    members.succeeded(peer, {"version": "2.5.1"})
    assert (peer.state, peer.fail_access_cnt) == (UP, 0)
    members.failed(peer, refused=True)
    assert peer.state == DOWN
    assert seen == [(UP, SUSPICIOUS), (SUSPICIOUS, DOWN), (DOWN, UP), (UP, DOWN)]


async def test_node_messages_may_come_from_member_addresses_only() -> None:
    """security.md §5.4: the peers' IPs, host names resolved, IPv4-mapped IPv6 read as IPv4; this node and
    strangers are not members; a member list change is seen at once."""
    settings = Settings(port=9000, member_ip="10.0.0.1")
    members = MemberList(settings, ["10.0.0.1:9000", "10.0.0.2:9000", "localhost:9001"])
    addresses = MemberAddresses(members)
    for ip in ("10.0.0.2", "::ffff:10.0.0.2", "127.0.0.1"):
        assert await addresses.contains(ip), ip
    for ip in ("10.0.0.1", "10.0.0.3", "not-an-ip", ""):
        assert not await addresses.contains(ip), ip
    members.replace(["10.0.0.1:9000", "10.0.0.3:9000"])
    assert await addresses.contains("10.0.0.3") and not await addresses.contains("10.0.0.2")


def test_each_service_has_one_responsible_member_and_a_down_members_share_moves() -> None:
    addresses = ["127.0.0.1:9000", "127.0.0.1:9001", "127.0.0.1:9002"]
    views = [MemberList(Settings(port=port, member_ip="127.0.0.1"), addresses) for port in (9000, 9001, 9002)]
    tags = [f"public##DEFAULT_GROUP@@svc{i}" for i in range(60)]
    owners = [[view.self_address for view in views if view.responsible_for(tag)] for tag in tags]
    assert all(len(owner) == 1 for owner in owners)
    assert {owner[0] for owner in owners} == set(addresses)  # the work is spread
    for view in views[1:]:  # 9000 goes DOWN, as its peers see it
        view.failed(view.get("127.0.0.1:9000"), refused=True)  # type: ignore[arg-type]
    moved = [[view.self_address for view in views[1:] if view.responsible_for(tag)] for tag in tags]
    assert all(len(owner) == 1 for owner in moved)


def test_member_json_has_nacos_keys_in_order_and_the_issues() -> None:
    members = MemberList(Settings(port=9000, member_ip="127.0.0.1"), ["127.0.0.1:9000", "127.0.0.1:9001"])
    peer = members.peers()[0]
    peer.issues["identity"] = "refused"
    shown = peer.json()
    assert list(shown) == [
        "ip",
        "port",
        "state",
        "extendInfo",
        "address",
        "failAccessCnt",
        "abilities",
        "grpcReportEnabled",
    ]
    assert shown["extendInfo"]["pynacosIssues"] == {"identity": "refused"}
    assert shown["extendInfo"]["raftPort"] == "8001"


def test_notices_are_retried_on_nacos_schedule() -> None:
    assert [retry_delay(n) for n in range(10)] == [0.5, 1.5, 4.5, 9.5, 16.5, 25.5, 36.5, 49.5, 49.5, 49.5]


def test_the_repair_cursor_remembers_nids_committed_late() -> None:
    repair = ConfigRepair(None, None, None)  # type: ignore[arg-type]
    repair.cursor = 10
    repair._advance([11, 13, 14])
    assert repair.cursor == 14
    assert set(repair.gaps) == {12}
    repair.gaps.pop(12)
    repair._advance([15])
    assert (repair.cursor, repair.gaps) == (15, {})


def cluster_settings(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "home": str(tmp_path),
        "standalone": False,
        "storage": "mysql",
        "db_url": "jdbc:mysql://127.0.0.1:3306/nacos",
        "identity_key": "X-Node",
        "identity_value": "a-long-random-identity-value-of-32-bytes-or-more",
        "token_secret_key": SECRET,
        "member_list": ("127.0.0.1:8848",),
    }
    return Settings(**{**values, **changes})  # type: ignore[arg-type]


def test_cluster_settings_that_work_pass(tmp_path: Path) -> None:
    check_cluster(cluster_settings(tmp_path))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"storage": "sqlite"}, "cluster mode needs a shared MySQL/MariaDB or PostgreSQL database"),
        ({"identity_value": ""}, "Empty identity"),
        ({"identity_value": "short"}, "shorter than 32 bytes"),
        ({"token_secret_key": ""}, "nacos.core.auth.plugin.nacos.token.secret.key"),
        ({"member_list": ()}, "cluster mode needs the member list"),
    ],
)
def test_cluster_start_up_refusals_name_the_fix(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        check_cluster(cluster_settings(tmp_path, **changes))


def test_docker_names_select_cluster_mode_and_members(tmp_path: Path) -> None:
    loaded = load(tmp_path, environ={"MODE": "cluster", "NACOS_SERVERS": "10.0.0.1:8848 10.0.0.2:8848"})
    assert loaded.standalone is False
    assert loaded.member_list == ("10.0.0.1:8848", "10.0.0.2:8848")


async def test_a_message_waiting_for_a_down_peer_goes_once_it_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from pynacos.server.cluster import peers as peers_module

    monkeypatch.setattr(peers_module, "retry_delay", lambda failures: 30.0)
    members = MemberList(Settings(port=9000, member_ip="127.0.0.1"), ["127.0.0.1:9000", "127.0.0.1:9001"])
    peer = members.peers()[0]
    members.failed(peer, refused=True)
    peers = peers_module.Peers(members, Settings(identity_key="X-Node", identity_value="v"), "fingerprint")
    sent: list[tuple[str, str, dict[str, str]]] = []

    async def post(member: Any, path: str, data: Any = None, body: Any = None) -> httpx.Response:
        sent.append((member.address, path, dict(data)))
        return httpx.Response(200)

    monkeypatch.setattr(peers, "post", post)
    peers.send("/x", {"v": "1"}, key="k")
    peers.send("/x", {"v": "2"}, key="k")  # the same key: only the newest is delivered
    await asyncio.sleep(0.2)
    assert sent == []
    members.succeeded(peer)
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.05)
    assert sent == [("127.0.0.1:9001", "/x", {"v": "2"})]
    await peers.close()
