"""The member list: who is in the cluster, which one is this node, and what each peer's state is.

Sources (protocol.md F.1.2-F.1.6): `<home>/conf/cluster.conf` when it exists, else `nacos.member.list`
(Docker's MEMBER_LIST / NACOS_SERVERS). Items are `host[:port]` (IPv6 in brackets); a missing port is this
node's own `server.port`; `#` starts a comment; `,` separates items on one line; items are trimmed (Nacos
does not trim after a comma, so `a:8848, b:8848` there names host `" b"`). Hostnames are kept as written:
nothing is resolved, so every node must find itself under the name the file uses.

Choices Nacos leaves open, and why:
- The operator's cluster.conf is never rewritten (Nacos rewrites it on every change, comments lost); it is
  re-read when its modification time changes, checked every 5 s.
- The 1.x form `host:port?raft_port=N` is refused with a sentence naming the line (2.5.1 logs an error and
  silently runs self-only, which then looks like a working cluster of one).
- This node's address is `<ip>:<server.port>`, ip from `nacos.server.ip` / `nacos.inetutils.ip-address`,
  else `server.address` when it names one address, else the first non-loopback IPv4 address. When that
  address is not in the list it is added, with a warning (as Nacos does).

States (F.1.5): listed peers start `UP`; a failed report makes a peer `SUSPICIOUS` and counts
`failAccessCnt`; more than `nacos.core.member.fail-access-cnt` (3) failures in a row, or a refused
connection, make it `DOWN`; any success makes it `UP` again with the count at 0. Callbacks registered with
`on_state_change` run on every state transition (the naming replication uses them).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pynacos.server.settings import Settings, SettingsError

log = logging.getLogger("pynacos.cluster")

UP, SUSPICIOUS, DOWN = "UP", "SUSPICIOUS", "DOWN"
STATES = ("STARTING", UP, SUSPICIOUS, DOWN, "ISOLATION")
#: Nacos's version in the Member JSON (clients and consoles read it); pynacos's own is beside it
NACOS_VERSION = "2.5.1"
CLUSTER_CONF = Path("conf") / "cluster.conf"
_WILDCARDS = ("", "0.0.0.0", "::")
#: an address outside every local network: connecting a UDP socket to it only picks the outgoing interface
_PROBE = ("192.0.2.1", 9)
RESOLVE_INTERVAL = 30.0
RETRY_INTERVAL = 5.0
_HOST_PORT = re.compile(r"^(?P<host>\[[^\]]+\]|[^:\[\]]+)(?::(?P<port>\d{1,5}))?$")

StateListener = Callable[["Member", str, str], None]


class MemberListError(SettingsError):
    """The member list cannot be used; the message names the source and the item."""


@dataclass
class Member:
    """One member as Nacos's Member JSON shows it (F.1.6), plus what pynacos found wrong with it."""

    ip: str
    port: int
    state: str = UP
    fail_access_cnt: int = 0
    last_refresh_ms: int = 0
    #: problems seen with this member (identity refused, token secret differs): shown in `extendInfo`
    issues: dict[str, str] = field(default_factory=dict)
    #: the extendInfo the member last reported (only its `version` is shown: a peer cannot add keys here)
    reported: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def json(self) -> dict[str, Any]:
        version = self.reported.get("version")
        extend: dict[str, Any] = {
            "lastRefreshTime": self.last_refresh_ms,
            "raftPort": str(self.port - 1000),
            "readyToUpgrade": True,
            "supportGrayModel": True,
            "version": version if isinstance(version, str) else NACOS_VERSION,
        }
        if self.issues:
            extend["pynacosIssues"] = dict(sorted(self.issues.items()))
        return {
            "ip": self.ip,
            "port": self.port,
            "state": self.state,
            "extendInfo": dict(sorted(extend.items())),
            "address": self.address,
            "failAccessCnt": self.fail_access_cnt,
            "abilities": {
                "remoteAbility": {"supportRemoteConnection": True, "grpcReportEnabled": True},
                "configAbility": {"supportRemoteMetrics": False},
                "namingAbility": {"supportJraft": False},
            },
            "grpcReportEnabled": True,
        }


def parse_members(text: str, default_port: int, source: str) -> list[str]:
    """Addresses (`ip:port`) in file order, duplicates dropped; MemberListError for an unusable item."""
    found: dict[str, None] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for item in line.partition("#")[0].split(","):
            item = item.strip()
            if item:
                found[_address(item, default_port, source)] = None
    return list(found)


def _address(item: str, default_port: int, source: str) -> str:
    if "?" in item:
        raise MemberListError(
            f"{source}: `{item}` uses the Nacos 1.x form with `?raft_port=`, which Nacos 2.x and pynacos cannot "
            f"read; write `host:port` only (here `{item.partition('?')[0]}`)."
        )
    match = _HOST_PORT.match(item)
    port = int(match["port"]) if match and match["port"] else default_port
    if match is None or not 0 < port < 65536:
        raise MemberListError(f"{source}: `{item}` is not host[:port] (IPv6 in brackets, e.g. [::1]:8848).")
    return f"{match['host']}:{port}"


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def read_member_list(settings: Settings) -> list[str]:
    """The configured addresses: cluster.conf when it exists, else nacos.member.list."""
    path = Path(settings.home) / CLUSTER_CONF
    if path.exists():
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise MemberListError(f"Cannot read {path}: {exc.strerror}.") from None
        return parse_members(text, settings.port, str(path))
    return parse_members("\n".join(settings.member_list), settings.port, "nacos.member.list")


def self_ip(settings: Settings) -> str:
    """This node's IP (module docstring); IPv6 in brackets, as Nacos writes it."""
    ip = settings.member_ip or ("" if settings.address in _WILDCARDS else settings.address)
    if not ip:
        ip = first_ipv4()
    return f"[{ip}]" if ":" in ip and not ip.startswith("[") else ip


def first_ipv4() -> str:
    """The first non-loopback IPv4 address: the host name's, else the interface the default route uses."""
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = str(info[4][0])
            if not address.startswith("127."):
                return address
    except OSError:
        pass
    return outgoing_ip()


def outgoing_ip() -> str:
    """The address of the interface the default route uses (no packet is sent), else loopback."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE)
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


class MemberList:
    """The members by address (self included), their states, and the listeners of state changes."""

    def __init__(self, settings: Settings, addresses: Iterable[str] | None = None) -> None:
        self.settings = settings
        self.self_address = f"{self_ip(settings)}:{settings.port}"
        self.started_ms = int(time.time() * 1000)
        self._members: dict[str, Member] = {}
        self._listeners: list[StateListener] = []
        self._conf_mtime = self._mtime()
        self.replace(read_member_list(settings) if addresses is None else list(addresses))

    @property
    def self_member(self) -> Member:
        return self._members[self.self_address]

    def replace(self, addresses: list[str]) -> None:
        """Take a new list: known members keep their state, new ones start UP, self is always in."""
        if self.self_address not in addresses:
            log.warning(
                "this node's address %s is not in the member list (%s); it is added. Fix: list it in "
                "conf/cluster.conf or nacos.member.list, or set nacos.server.ip to the address listed.",
                self.self_address,
                ", ".join(addresses) or "empty",
            )
            addresses = [*addresses, self.self_address]
        old = self._members
        self._members = {a: old.get(a) or Member(*split_address(a)) for a in addresses}
        self.self_member.last_refresh_ms = self.started_ms
        if old and set(old) != set(self._members):
            log.info("member list now: %s", ", ".join(sorted(self._members)))

    def reload_if_changed(self) -> None:
        """Re-read cluster.conf when it changed; a broken file keeps the running list (and says why)."""
        mtime = self._mtime()
        if mtime == self._conf_mtime:
            return
        self._conf_mtime = mtime
        try:
            self.replace(read_member_list(self.settings))
        except MemberListError as exc:
            log.error("member list change ignored: %s", exc)

    def _mtime(self) -> float | None:
        try:
            return (Path(self.settings.home) / CLUSTER_CONF).stat().st_mtime
        except OSError:
            return None

    def members(self) -> list[Member]:
        """Every member, sorted by address (as Nacos lists them)."""
        return sorted(self._members.values(), key=lambda m: m.address)

    def get(self, address: str) -> Member | None:
        return self._members.get(address)

    def peers(self) -> list[Member]:
        """Every member but this node, whatever its state."""
        return [m for m in self.members() if m.address != self.self_address]

    def reachable_peers(self) -> list[Member]:
        """UP and SUSPICIOUS peers: those config notifications and replication go to at once (F.1.5)."""
        return [m for m in self.peers() if m.state in (UP, SUSPICIOUS)]

    def responsible_for(self, tag: str) -> bool:
        """Is this node the one that does the work for `tag` (a service's active health checks)? One of the
        UP and SUSPICIOUS members, by a hash every node computes alike (Nacos's Distro responsibility), so
        when a member goes DOWN its share moves to the others at once."""
        alive = sorted(m.address for m in self.members() if m.state in (UP, SUSPICIOUS))
        if self.self_address not in alive:
            return False
        return alive[zlib.crc32(tag.encode()) % len(alive)] == self.self_address

    def on_state_change(self, listener: StateListener) -> None:
        """`listener(member, old_state, new_state)` after every transition; must not block."""
        self._listeners.append(listener)

    def succeeded(self, member: Member, reported: dict[str, Any] | None = None) -> None:
        member.fail_access_cnt = 0
        member.last_refresh_ms = int(time.time() * 1000)
        if reported is not None:
            member.reported = reported
        self._set_state(member, UP)

    def failed(self, member: Member, refused: bool) -> None:
        """A report failed; `refused`: the connection was refused (nothing listens there): DOWN at once."""
        member.fail_access_cnt += 1
        down = refused or member.fail_access_cnt > self.settings.member_fail_access_cnt
        self._set_state(member, DOWN if down else SUSPICIOUS)

    def _set_state(self, member: Member, state: str) -> None:
        old = member.state
        if old == state:
            return
        member.state = state
        log.log(logging.INFO if state == UP else logging.WARNING, "member %s: %s -> %s", member.address, old, state)
        for listener in self._listeners:
            try:
                listener(member, old, state)
            except Exception:
                log.exception("member state listener failed")


class MemberAddresses:
    """The addresses node messages may come from (security.md §5.4): the members' IPs, host names resolved.

    Resolved off the event loop, again when the member list changes or RESOLVE_INTERVAL has passed, and at most
    every RETRY_INTERVAL for an address not found (a member that moved is found within seconds, while a
    stranger cannot make this node resolve names on every request)."""

    def __init__(self, members: MemberList, clock: Callable[[], float] = time.monotonic) -> None:
        self.members = members
        self.clock = clock
        self._hosts: tuple[str, ...] = ()
        self._ips: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address] = frozenset()
        self._resolved_at = -RESOLVE_INTERVAL

    async def contains(self, ip: str) -> bool:
        try:
            address = _plain(ipaddress.ip_address(ip))
        except ValueError:
            return False
        hosts = tuple(sorted(m.ip.strip("[]") for m in self.members.peers()))
        age = self.clock() - self._resolved_at
        stale = hosts != self._hosts or age > RESOLVE_INTERVAL or (address not in self._ips and age > RETRY_INTERVAL)
        if stale:
            self._ips = await asyncio.to_thread(_resolve, hosts)
            self._hosts, self._resolved_at = hosts, self.clock()
        return address in self._ips


def _resolve(hosts: Iterable[str]) -> frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for host in hosts:
        try:
            found.add(_plain(ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            log.warning("member host %s does not resolve; messages from it are refused until it does", host)
            continue
        found.update(_plain(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos)
    return frozenset(found)


def _plain(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4-mapped IPv6 address as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
