"""Heartbeat load on the service registry: server CPU and RSS for 10,000 beating ephemeral instances, and
instance-list throughput with and without that load.

pynacos runs on 127.0.0.1. The script registers --services x --per-service ephemeral instances (distinct
ip:port each, as Nacos 1.x Java clients do: `POST /nacos/v1/ns/instance` with the parameters in the
query string), then beats every instance every --interval seconds, spread evenly over each period,
over --connections keep-alive connections: `PUT /nacos/v1/ns/instance/beat?serviceName=DEFAULT_GROUP@@svcN
&ip=..&port=..` with a form body `beat=<BeatInfo JSON>` the first time and light beats (no body)
afterwards; a beat answered with code 20404 is re-sent with its JSON, as the Java client re-registers.
The first round (full beats) is a warm-up; the next --duration seconds of light beats are measured:
the server's CPU (utime+stime from /proc/PID/stat, as % of one core) and its RSS (VmRSS, sampled every
0.5 s). While the beats go on, `GET /nacos/v1/ns/instance/list?serviceName=svc0` (100 instances) is
driven for --list-duration seconds (wrk when installed, else a Python asyncio client), and compared
with the same measurement taken earlier in the run, after registration and before any beat.
At the end every service is listed: all instances must still be there and healthy.

Baselines, same run: the list throughput before any beat (above), and first of all the bare Starlette
app (bare_app.py) sent `GET /` at the same rate and pacing: the CPU uvicorn + Starlette alone cost at
2,000 requests/s on this machine, the floor under the beat figure.

Run: .venv/bin/python bench/naming_beats.py [--services 100] [--per-service 100] [--duration 30]
     [--interval 5] [--connections 50] [--list-duration 8] [--list-connections 32] [--floor-duration 10]
     [--loadgen auto|wrk|python] [--wait-quiet S]
Prints beats/s, beat latency, server CPU % of one core (target < 50 %), RSS (target < 250 MB), and list
req/s and latency with and without the beat load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from common import (
    CONTEXT,
    HOST,
    CpuWatch,
    HttpConn,
    Server,
    percentile,
    pinning,
    raise_fd_limit,
    rss_kib,
    run_async,
    source_note,
    wait_for_quiet,
)
from config_get import Result, run_wrk

GROUP = "DEFAULT_GROUP"
TARGET_CPU_PCT = 50.0
TARGET_RSS_MB = 250.0
HEADERS = (
    "User-Agent: Nacos-Java-Client:v1.4.8\r\nClient-Version: 1.4.8\r\n"
    "Request-Module: Naming\r\nConnection: Keep-Alive\r\n"
)
FORM = "Content-Type: application/x-www-form-urlencoded\r\n"


Work = tuple[float, bytes, bytes]  # (offset within the period, first request, later requests)


@dataclass(frozen=True)
class Instance:
    service: str
    ip: str
    port: int


def instances(services: int, per_service: int) -> list[Instance]:
    """Registration order: the last service first, so svc0 (the listed one) is the freshest."""
    made = []
    for s in reversed(range(services)):
        for i in range(per_service):
            made.append(Instance(f"svc{s}", f"10.{s >> 8}.{s & 255}.{i % 250 + 1}", 8080 + i // 250))
    return made


def raw(method: str, target: str, port: int, body: str = "") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{HEADERS}"
    if body:
        head += FORM
    return (head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()


def register_request(inst: Instance, port: int) -> bytes:
    params = {
        "namespaceId": "public",
        "serviceName": f"{GROUP}@@{inst.service}",
        "groupName": GROUP,
        "clusterName": "DEFAULT",
        "ip": inst.ip,
        "port": inst.port,
        "weight": "1.0",
        "enable": "true",
        "healthy": "true",
        "ephemeral": "true",
        "metadata": json.dumps({"version": "1.0.0", "zone": "bench"}),
    }
    return raw("POST", f"{CONTEXT}/v1/ns/instance?{urlencode(params)}", port)


def beat_requests(inst: Instance, port: int) -> tuple[bytes, bytes]:
    """(first beat with its BeatInfo JSON, light beat) for one instance."""
    grouped = f"{GROUP}@@{inst.service}"
    query = urlencode(
        {"namespaceId": "public", "serviceName": grouped, "clusterName": "DEFAULT", "ip": inst.ip, "port": inst.port}
    )
    target = f"{CONTEXT}/v1/ns/instance/beat?{query}"
    info = {
        "port": inst.port,
        "ip": inst.ip,
        "weight": 1.0,
        "serviceName": grouped,
        "cluster": "DEFAULT",
        "metadata": {"version": "1.0.0", "zone": "bench"},
        "scheduled": False,
        "period": 5000,
        "stopped": False,
    }
    full = raw("PUT", target, port, urlencode({"beat": json.dumps(info, separators=(",", ":"))}))
    return full, raw("PUT", target, port)


async def exchange(conn: HttpConn, request: bytes) -> tuple[int, bytes]:
    assert conn.writer is not None
    conn.writer.write(request)
    await conn.writer.drain()
    return await conn.receive()


async def register_all(port: int, requests: list[bytes], connections: int) -> list[str]:
    queue = list(reversed(requests))
    wrong: list[str] = []

    async def worker() -> None:
        conn = HttpConn(port)
        await conn.connect()
        try:
            while queue:
                status, body = await exchange(conn, queue.pop())
                if status != 200 or body != b"ok":
                    wrong.append(f"register: HTTP {status} {body[:100]!r}")
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return wrong


@dataclass
class Beats:
    """What the beat workers saw; `log` holds (answered at, latency s, lag behind schedule s) per beat."""

    log: list[tuple[float, float, float]] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    re_sent: int = 0  # light beats answered 20404 and re-sent with their JSON
    stopping: bool = False

    def between(self, start: float, end: float) -> list[tuple[float, float, float]]:
        return [entry for entry in self.log if start <= entry[0] < end]


async def beat_worker(
    port: int,
    work: list[Work],
    start: float,
    interval: float,
    beats: Beats,
    expect: bytes = b'"code":10200',
) -> None:
    """Beats its share of instances every `interval` s, each at its own offset within the period."""
    conn = HttpConn(port)
    await conn.connect()
    try:
        period = 0
        while not beats.stopping:
            base = start + period * interval
            for offset, full, light in work:
                due = base + offset
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                if beats.stopping:
                    return
                sent = time.perf_counter()
                status, body = await exchange(conn, full if period == 0 else light)
                if status == 200 and b'"code":20404' in body:
                    beats.re_sent += 1
                    status, body = await exchange(conn, full)
                answered = time.perf_counter()
                if status != 200 or expect not in body:
                    beats.wrong.append(f"beat: HTTP {status} {body[:100]!r}")
                beats.log.append((answered, answered - sent, sent - due))
            period += 1
    finally:
        await conn.close()


async def python_list_load(port: int, target: str, seconds: float, connections: int) -> Result:
    """Closed loop over keep-alive connections (used when wrk is not installed)."""
    started = time.perf_counter()
    stop_at = started + seconds
    latencies: list[float] = []
    errors = 0
    request = raw("GET", target, port)

    async def worker() -> None:
        nonlocal errors
        conn = HttpConn(port)
        await conn.connect()
        try:
            while time.perf_counter() < stop_at:
                sent = time.perf_counter()
                status, body = await exchange(conn, request)
                latencies.append((time.perf_counter() - sent) * 1000)
                if status != 200 or b'"hosts":[{' not in body:
                    errors += 1
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    ms = latencies or [float("nan")]
    return Result(len(latencies), time.perf_counter() - started, percentile(ms, 50), percentile(ms, 99), errors)


def list_target(service: str) -> str:
    return f"{CONTEXT}/v1/ns/instance/list?{urlencode({'serviceName': service})}"


async def list_load(args: argparse.Namespace, port: int, loadgen: list[str], seconds: float) -> Result:
    target = list_target("svc0")
    if args.loadgen == "wrk":
        # wrk blocks a thread, not the loop: the beats go on meanwhile
        url = f"http://{HOST}:{port}{target}"
        return await asyncio.to_thread(run_wrk, url, seconds, args.list_connections, loadgen)
    return await python_list_load(port, target, seconds, args.list_connections)


async def measured_list(args: argparse.Namespace, server: Server, loadgen: list[str]) -> Result:
    if args.list_warmup > 0:
        await list_load(args, server.port, loadgen, args.list_warmup)
    with CpuWatch(server.pid) as watch:
        result = await list_load(args, server.port, loadgen, args.list_duration)
    result.server_cpu, result.foreign_cpu = watch.server, watch.foreign
    return result


async def healthy_counts(port: int, services: int) -> tuple[int, int, list[str]]:
    """(instances listed, of which healthy) over all services, and any unexpected answer."""
    conn = HttpConn(port)
    listed = healthy = 0
    wrong: list[str] = []
    try:
        for s in range(services):
            status, body = await conn.request("GET", list_target(f"svc{s}"))
            if status != 200:
                wrong.append(f"list svc{s}: HTTP {status} {body[:100]!r}")
                continue
            hosts = json.loads(body)["hosts"]
            listed += len(hosts)
            healthy += sum(1 for host in hosts if host["healthy"])
    finally:
        await conn.close()
    return listed, healthy, wrong


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_kib(pid) / 1024)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


def show_beats(
    name: str, entries: list[tuple[float, float, float]], seconds: float, cpu: float | None, unit: str = "beats/s"
) -> str:
    latency = [e[1] * 1000 for e in entries] or [float("nan")]
    lag = max((e[2] for e in entries), default=0.0) * 1000
    share = f"server CPU {cpu / seconds * 100:5.1f} % of a core  " if cpu is not None else ""
    return (
        f"  {name:<28} {len(entries) / seconds:7.0f} {unit}  p50 {percentile(latency, 50):6.2f} ms  "
        f"p99 {percentile(latency, 99):6.2f} ms  {share}(generator max lag {lag:.0f} ms)"
    )


def show_list(name: str, result: Result) -> str:
    return (
        f"  {name:<28} {result.rps:7.0f} req/s   p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
        f"({result.requests} requests in {result.seconds:.1f} s, {result.errors} errors; "
        f"other processes used {result.foreign_cpu / result.seconds:.2f} core)"
    )


def schedule(requests: list[tuple[bytes, bytes]], connections: int, interval: float) -> list[list[Work]]:
    """Request k is sent at offset k/N of each period, by connection k mod `connections`."""
    shares: list[list[Work]] = [[] for _ in range(connections)]
    for k, (first, later) in enumerate(requests):
        shares[k % connections].append((k / len(requests) * interval, first, later))
    return shares


@dataclass
class Paced:
    """One measured window of paced requests: what was answered, and the server's CPU meanwhile."""

    entries: list[tuple[float, float, float]]
    watch: CpuWatch
    wrong: list[str]


async def bare_floor(args: argparse.Namespace, server: Server) -> Paced:
    """The bare Starlette app answering `GET /` at the beat rate, same pacing and connections: the floor
    that uvicorn + Starlette alone cost at this request rate on this machine."""
    request = raw("GET", "/", server.port)
    count = args.services * args.per_service
    shares = schedule([(request, request)] * count, args.connections, args.interval)
    paced = Beats()
    start = time.perf_counter() + 0.2
    workers = [
        asyncio.create_task(beat_worker(server.port, share, start, args.interval, paced, expect=b"hello"))
        for share in shares
    ]
    try:
        await asyncio.sleep(start + args.interval - time.perf_counter())  # one period of warm-up
        window_start = time.perf_counter()
        with CpuWatch(server.pid) as watch:
            await asyncio.sleep(args.floor_duration)
    finally:
        paced.stopping = True
        await asyncio.gather(*workers, return_exceptions=True)
    return Paced(paced.between(window_start, window_start + watch.wall), watch, paced.wrong)


async def run(args: argparse.Namespace, server: Server, loadgen: list[str], floor: Paced | None) -> int:
    port = server.port
    everything = instances(args.services, args.per_service)
    rss: dict[str, float] = {"idle": rss_kib(server.pid) / 1024}

    started = time.perf_counter()
    wrong = await register_all(port, [register_request(i, port) for i in everything], args.connections)
    took = time.perf_counter() - started
    print(f"  registered {len(everything)} instances in {took:.1f} s ({len(everything) / took:.0f}/s)")
    if wrong:
        print(f"  WRONG: {wrong[:3]}", file=sys.stderr)
        return 1
    rss["registered"] = rss_kib(server.pid) / 1024

    baseline = await measured_list(args, server, loadgen)

    # Beats: instance k (registration order) beats at offset k/N of each period; worker w owns k = w mod C.
    count, interval = len(everything), args.interval
    beats = Beats()
    shares = schedule([beat_requests(inst, port) for inst in everything], args.connections, interval)
    rss_samples: list[float] = []
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(server.pid, rss_samples, stop_sampling))
    beat_start = time.perf_counter() + 0.2
    workers = [asyncio.create_task(beat_worker(port, share, beat_start, interval, beats)) for share in shares]
    try:
        with CpuWatch(server.pid) as first:
            await asyncio.sleep(beat_start + interval - time.perf_counter())
        window_start = time.perf_counter()
        with CpuWatch(server.pid) as steady:
            await asyncio.sleep(args.duration)
        window_end = time.perf_counter()
        rss_window = list(rss_samples)
        under_beats = await measured_list(args, server, loadgen)
        list_end = time.perf_counter()
    finally:
        beats.stopping = True
        stop_sampling.set()
        await asyncio.gather(*workers, sampler, return_exceptions=True)
    listed, healthy, list_wrong = await healthy_counts(port, args.services)

    print()
    print("results")
    print(show_beats("first round (with JSON)", beats.between(beat_start, window_start), first.wall, first.server))
    steady_beats = beats.between(window_start, window_end)
    print(show_beats(f"steady {args.duration:g} s (light beats)", steady_beats, steady.wall, steady.server))
    print(f"  {'':<28} {steady.foreign_note()}")
    if floor is not None:
        name = "baseline: bare app GET /"
        print(show_beats(name, floor.entries, floor.watch.wall, floor.watch.server, "req/s  "))
    during_list = beats.between(window_end, list_end)
    print(show_beats("beats during list load", during_list, list_end - window_end, None))
    print(show_list("list svc0, no beats", baseline))
    print(show_list("list svc0, during beats", under_beats))
    ratio = under_beats.rps / baseline.rps if baseline.rps else float("nan")
    print(f"  list throughput during beats / without: {ratio:.2f}")
    rss_max = max(rss_window, default=float("nan"))
    print(
        f"  RSS: idle {rss['idle']:.1f} MB, after registration {rss['registered']:.1f} MB, "
        f"max during the steady beats {rss_max:.1f} MB, max overall {max(rss_samples, default=rss_max):.1f} MB"
    )
    cpu_pct = steady.server / steady.wall * 100
    expected_rate = count / interval
    print(
        f"  steady beats: {len(steady_beats)} in {steady.wall:.1f} s ({len(steady_beats) / steady.wall:.0f}/s, "
        f"schedule {expected_rate:.0f}/s); {beats.re_sent} light beats answered 20404 and re-sent"
    )
    print(f"  server CPU for beats {cpu_pct:.1f} % of one core (target < {TARGET_CPU_PCT:g} %: ", end="")
    print("met)" if cpu_pct < TARGET_CPU_PCT else "NOT met)")
    if floor is not None:
        floor_pct = floor.watch.server / floor.watch.wall * 100
        print(f"    the bare uvicorn + Starlette app costs {floor_pct:.1f} % of one core at the same rate and pacing")
    print(f"  server RSS {rss_max:.1f} MB (target < {TARGET_RSS_MB:g} MB: ", end="")
    print("met)" if rss_max < TARGET_RSS_MB else "NOT met)")
    print(f"  after the run: {listed} of {count} instances listed, {healthy} healthy")
    problems = beats.wrong + list_wrong + (floor.wrong if floor else [])
    if baseline.errors or under_beats.errors:
        problems.append(f"list: {baseline.errors} + {under_beats.errors} failed or unexpected answers")
    if listed != count or healthy != count:
        problems.append(f"{count - healthy} instances missing or unhealthy after the run")
    if len(steady_beats) < 0.95 * expected_rate * steady.wall:
        problems.append("the generator fell behind its schedule: the beat rate is below the target load")
    for problem in problems[:5]:
        print(f"  WRONG: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=100, help="services (default 100)")
    parser.add_argument("--per-service", type=int, default=100, help="instances per service (default 100)")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds of light beats (default 30)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between beats of one instance (5)")
    parser.add_argument("--connections", type=int, default=50, help="keep-alive connections for beats (50)")
    parser.add_argument("--list-duration", type=float, default=8.0, help="measured seconds of list load (8)")
    parser.add_argument("--list-warmup", type=float, default=1.0, help="list warm-up seconds (1)")
    parser.add_argument("--list-connections", type=int, default=32, help="keep-alive connections for list (32)")
    parser.add_argument(
        "--floor-duration", type=float, default=10.0, help="seconds of the bare-app floor (10; 0 = skip)"
    )
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto", help="list load generator")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="S", help="first wait up to S s for an idle machine"
    )
    args = parser.parse_args()
    if not 1 <= args.services <= 1000 or not 1 <= args.per_service <= 1000:
        parser.error("keep --services and --per-service in [1, 1000]")
    if not 0 < args.duration <= 300 or not 1 <= args.interval <= 30 or not 0 <= args.floor_duration <= 60:
        parser.error("keep --duration in (0, 300], --interval in [1, 30], --floor-duration in [0, 60]")
    if not 0 < args.list_duration <= 20 or not 0 <= args.list_warmup <= 5:
        parser.error("keep --list-duration in (0, 20] and --list-warmup in [0, 5]")
    if not 1 <= args.connections <= 1000 or not 1 <= args.list_connections <= 1000:
        parser.error("keep --connections and --list-connections in [1, 1000]")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    elif args.loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")

    raise_fd_limit(4 * (args.connections + args.list_connections) + 1024)
    server_cpu, client_cpu, pin_note = pinning("beat generator and list load")
    if client_cpu:
        os.sched_setaffinity(0, {int(client_cpu[-1])})  # this process generates the beats
    total = args.services * args.per_service
    generator = "wrk (1 thread)" if args.loadgen == "wrk" else "Python asyncio client in the beat process"
    print(f"naming heartbeat benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {os.cpu_count()} cores")
    print(f"  {source_note()}")
    print(f"  {wait_for_quiet(min(args.wait_quiet, 600))}")
    print(
        f"  {total} ephemeral instances ({args.services} services x {args.per_service}), one beat each every "
        f"{args.interval:g} s ({total / args.interval:.0f} beats/s) over {args.connections} keep-alive connections"
    )
    print(f"  beats: Python asyncio client on uvloop; list load: {generator}, {args.list_connections} connections")
    print(f"  {pin_note}")
    floor = None
    if args.floor_duration > 0:
        with Server("bare", prefix=server_cpu) as bare:
            bare.start()
            floor = run_async(bare_floor(args, bare))
    with Server("pynacos", prefix=server_cpu) as server:
        server.start()
        return run_async(run(args, server, client_cpu, floor))


if __name__ == "__main__":
    sys.exit(main())
