"""Active health checks of persistent instances (protocol.md C.4), off unless configured: TCP and HTTP.

Nacos connects to whatever address and port a client registered, and for HTTP checks sends the
client's path and headers there: a server-side request forgery tool. So checks are opt-in
(`pynacos.naming.health.active.enabled`), each target address must be inside an allowed CIDR block,
loopback, link-local, multicast and 0.0.0.0/8 are refused unless a block inside them is listed, a
host name is resolved once and the check connects to the address that was vetted (no second look-up
to rebind), HTTP checks never follow redirects or read bodies, and at most `CONCURRENCY` checks run
at once.

Timing and verdicts follow Nacos: the first check comes 2000 + rand(0, rand(0, 5000)) ms after an
instance is first seen; afterwards the delay is the response time smoothed and clamped to the
checker type's bounds. Health flips after `CHECK_TIMES` consecutive results the other way, or at
once when the port refuses the connection or HTTP answers an unexpected status.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from pynacos.server.naming.models import ClusterConfig, HealthChecker, Instance, ServiceKey
from pynacos.server.naming.service import NamingService, monotonic_ms

log = logging.getLogger("pynacos.naming.health")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
CHECK_TIMES = 3
CONNECT_TIMEOUT = 0.5
CONCURRENCY = 64
TICK_SECONDS = 0.25
#: never checked unless a listed block lies inside one of these: "this network", loopback, link-local
#: (AWS/GCP/Azure metadata), Alibaba Cloud's and AWS's IPv6 metadata addresses, multicast, broadcast,
#: Teredo (which tunnels to an address hidden in the IPv6 one) and local-use NAT64 (its IPv4 bits vary)
GUARDED: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.100.100.200/32",
        "224.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "fe80::/10",
        "fd00:ec2::254/128",
        "ff00::/8",
        "2001::/32",
        "64:ff9b:1::/48",
    )
)
#: IPv6 blocks whose last 32 bits are an IPv4 address a connection may end up at: IPv4-compatible,
#: SIIT (`::ffff:0:a.b.c.d`) and the well-known NAT64 prefix
EMBEDDING_IPV4: tuple[ipaddress.IPv6Network, ...] = tuple(
    ipaddress.IPv6Network(block) for block in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)


class Outcome(enum.Enum):
    OK = "ok"
    FAIL = "fail"  # counted: health flips after CHECK_TIMES in a row
    FAIL_NOW = "fail_now"  # the instance answered "nothing here": flips at once


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    #: measured response time; None means "back off" (twice the delay when counted, the maximum when not)
    rt_ms: float | None
    detail: str


@dataclass(frozen=True)
class Pacing:
    """Nacos's SwitchDomain health params: bounds of the delay between checks and its smoothing factor."""

    min_ms: float
    max_ms: float
    factor: float


PACING = {"TCP": Pacing(1000, 5000, 0.75), "HTTP": Pacing(500, 5000, 0.85)}
#: checker types the server runs; MYSQL needs a database login per instance (and a stored password),
#: so its clusters are left alone, and a check that connects without logging in would get the server's
#: host blocked by MySQL's max_connect_errors
RUN_TYPES = frozenset(PACING)


@dataclass
class CheckState:
    """One instance's checking: when it is due, the smoothed delay, and the streak of results."""

    delay_ms: float
    due_ms: float
    oks: int = 0
    failures: int = 0
    running: bool = False
    refusal_logged: bool = False

    def verdict(self, outcome: Outcome, healthy: bool, times: int = CHECK_TIMES) -> bool | None:
        """The instance's new health when this result flips it (after `times` in a row), else None."""
        if outcome is Outcome.OK:
            self.failures = 0
            self.oks += 1
            flip = not healthy and self.oks >= times
        else:
            self.oks = 0
            self.failures += 1
            flip = healthy and (outcome is Outcome.FAIL_NOW or self.failures >= times)
        if not flip:
            return None
        self.oks = self.failures = 0
        return not healthy

    def pace(self, result: Result, pacing: Pacing) -> None:
        rt = result.rt_ms
        if rt is None:
            rt = self.delay_ms * 2 if result.outcome is Outcome.FAIL else pacing.max_ms
        smoothed = pacing.factor * self.delay_ms + (1 - pacing.factor) * rt
        self.delay_ms = min(max(smoothed, pacing.min_ms), pacing.max_ms)


class TargetPolicy:
    """Which addresses checks may connect to (`pynacos.naming.health.active.targets`)."""

    def __init__(self, blocks: Iterable[str]) -> None:
        self.allowed = tuple(ipaddress.ip_network(block, strict=False) for block in blocks)

    def permits(self, address: IpAddress) -> bool:
        """The address, and any IPv4 address inside it (mapped, 6to4, NAT64, ...), must each be allowed."""
        return all(self._permits_one(each) for each in _and_embedded(address))

    def _permits_one(self, address: IpAddress) -> bool:
        allowing = [block for block in self.allowed if address in block]
        guards = [guard for guard in GUARDED if address in guard]
        if not guards:
            return bool(allowing)
        return any(_inside(block, guard) for block in allowing for guard in guards)


def _and_embedded(address: IpAddress) -> list[IpAddress]:
    """An IPv4-mapped address is its IPv4 address; other IPv6 forms that carry one are checked as both."""
    if not isinstance(address, ipaddress.IPv6Address):
        return [address]
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    found: list[IpAddress] = [address]
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if any(address in block for block in EMBEDDING_IPV4):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _inside(block: IpNetwork, guard: IpNetwork) -> bool:
    if isinstance(block, ipaddress.IPv4Network) and isinstance(guard, ipaddress.IPv4Network):
        return block.subnet_of(guard)
    if isinstance(block, ipaddress.IPv6Network) and isinstance(guard, ipaddress.IPv6Network):
        return block.subnet_of(guard)
    return False


async def resolve(host: str) -> IpAddress | None:
    """An IP literal as is; a name through the resolver, first address only (None when it does not resolve)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    return ipaddress.ip_address(found[0][4][0]) if found else None


class Probes:
    """The three checks; each gets a vetted IP address, never a name."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(
            trust_env=False,  # never through a proxy from the environment
            follow_redirects=False,
            timeout=httpx.Timeout(CONNECT_TIMEOUT),
            limits=httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=0),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def run(self, checker: HealthChecker, address: IpAddress, port: int, host: str) -> Result:
        if checker.type == "HTTP":
            return await self.http_check(checker, address, port, host)
        return await _tcp_check(address, port)

    async def http_check(self, checker: HealthChecker, address: IpAddress, port: int, host: str) -> Result:
        literal = f"[{address}]" if address.version == 6 else str(address)
        host_part = f"[{host}]" if ":" in host else host
        headers = {"Host": f"{host_part}:{port}", **checker.header_map()}
        started = time.monotonic()
        try:
            async with self.http.stream("GET", f"http://{literal}:{port}{checker.path or '/'}", headers=headers) as got:
                status = got.status_code
        except httpx.TimeoutException:
            return Result(Outcome.FAIL, None, "http:timeout")
        except httpx.ConnectError:
            return Result(Outcome.FAIL_NOW, None, "http:unable to connect")
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            return Result(Outcome.FAIL, None, f"http:error:{type(exc).__name__}")
        rt = (time.monotonic() - started) * 1000
        if status == checker.expected_code:
            return Result(Outcome.OK, rt, f"http:{status}")
        if status in (302, 503):  # busy or moving: Nacos counts these instead of failing at once
            return Result(Outcome.FAIL, None, f"http:{status}")
        return Result(Outcome.FAIL_NOW, None, f"http:{status}")


async def _tcp_check(address: IpAddress, port: int) -> Result:
    """Connected within 500 ms; the connection is closed at once, nothing is sent."""
    started = time.monotonic()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(str(address), port), CONNECT_TIMEOUT)
    except ConnectionRefusedError:
        return Result(Outcome.FAIL_NOW, None, "tcp:refused")
    except TimeoutError:
        return Result(Outcome.FAIL, None, "tcp:timeout")
    except OSError as exc:
        return Result(Outcome.FAIL, None, f"tcp:error:{exc.strerror or type(exc).__name__}")
    writer.close()
    return Result(Outcome.OK, (time.monotonic() - started) * 1000, "tcp:ok")


class ActiveHealthChecks:
    """Schedules the checks of every persistent instance whose cluster has a checker other than NONE."""

    def __init__(
        self,
        naming: NamingService,
        policy: TargetPolicy,
        counted: Callable[[str, str], None] = lambda kind, outcome: None,
        clock: Callable[[], float] = monotonic_ms,
        rng: random.Random | None = None,
        responsible: Callable[[ServiceKey], bool] = lambda key: True,
    ) -> None:
        self.naming = naming
        self.policy = policy
        #: cluster mode: one member checks a service (MemberList.responsible_for), the others leave it
        self.responsible = responsible
        self.counted = counted
        self.clock = clock
        self.rng = rng or random.Random()
        self.probes = Probes()
        self.states: dict[tuple[ServiceKey, str, int], CheckState] = {}
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._running: set[asyncio.Task[None]] = set()
        self._not_run: set[tuple[ServiceKey, str]] = set()

    async def run_forever(self) -> None:
        try:
            while True:
                self.start_due_checks()
                await asyncio.sleep(TICK_SECONDS)
        finally:
            for task in list(self._running):
                task.cancel()
            await self.probes.close()

    def start_due_checks(self) -> None:
        if not self.naming.switches.health_check_enabled:  # the `check` switch pauses checking
            return
        now = self.clock()
        seen: set[tuple[ServiceKey, str, int]] = set()
        for service, instance in self.naming.persistent_instances():
            if not self.responsible(service.key):
                continue
            config = self.naming.cluster_config(service, instance.cluster)
            if config.checker.type not in RUN_TYPES:
                self._note_not_run(service.key, instance.cluster, config.checker.type)
                continue
            ident = (service.key, instance.ip, instance.port)
            seen.add(ident)
            state = self.states.get(ident)
            if state is None:
                state = self.states[ident] = self._first_state(now)
            if state.running or now < state.due_ms:
                continue
            state.running = True
            task = asyncio.create_task(self._check(ident, instance, config, state))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        for gone in self.states.keys() - seen:
            del self.states[gone]

    def _note_not_run(self, key: ServiceKey, cluster: str, kind: str) -> None:
        if kind == "NONE" or (key, cluster) in self._not_run:
            return
        self._not_run.add((key, cluster))
        log.warning(
            "cluster %s of %s has a %s checker, which pynacos does not run: its instances keep the health "
            "they have; set a TCP, HTTP or NONE checker with PUT /nacos/v1/ns/cluster",
            cluster,
            key.grouped,
            kind,
        )

    def _first_state(self, now: float) -> CheckState:
        delay = 2000 + self.rng.randint(0, self.rng.randint(0, 5000))
        return CheckState(delay_ms=delay, due_ms=now + delay)

    async def _check(
        self, ident: tuple[ServiceKey, str, int], instance: Instance, config: ClusterConfig, state: CheckState
    ) -> None:
        checker = config.checker
        try:
            result = await self._probe(instance, config, state)
            if result is None:
                return
            self.counted(checker.type, result.outcome.value)
            state.pace(result, PACING[checker.type])
            await self._apply(ident, instance.cluster, state, result)
        except Exception:
            log.exception("health check of %s:%d failed", instance.ip, instance.port)
        finally:
            state.running = False
            state.due_ms = self.clock() + state.delay_ms

    async def _probe(self, instance: Instance, config: ClusterConfig, state: CheckState) -> Result | None:
        """The check's result, or None when policy forbids the target (logged once per instance)."""
        address = await resolve(instance.ip)
        if address is None:
            return Result(Outcome.FAIL, None, "dns:no address")
        if not self.policy.permits(address):
            if not state.refusal_logged:
                state.refusal_logged = True
                log.warning(
                    "not checking %s:%d (%s): the address is outside pynacos.naming.health.active.targets "
                    "or in a guarded range (loopback, link-local, cloud metadata, multicast, 0.0.0.0/8, ...) "
                    "that is not listed",
                    instance.ip,
                    instance.port,
                    address,
                )
            state.delay_ms = PACING[config.checker.type].max_ms
            return None
        async with self._slots:
            return await self.probes.run(config.checker, address, config.port_for(instance), instance.ip)

    async def _apply(self, ident: tuple[ServiceKey, str, int], cluster: str, state: CheckState, result: Result) -> None:
        if not self.naming.switches.health_check_enabled:  # `check` went off while this check ran
            return
        key, ip, port = ident
        service = self.naming.services.get(key)
        current = service.instances.get((ip, port, False)) if service else None
        if current is None:
            return
        healthy = state.verdict(result.outcome, current.healthy, self.naming.switches.check_times)
        if healthy is None:
            return
        await self.naming.record_health(key, ip, port, healthy)
        log.info(
            "persistent instance %s:%d of %s (cluster %s) is now %s: %s",
            ip,
            port,
            key.grouped,
            cluster,
            "healthy" if healthy else "unhealthy",
            result.detail,
        )
