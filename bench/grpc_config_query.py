"""ConfigQueryRequest round trips per second over gRPC: pynacos vs a bare grpc.aio server, same run.

Method. Two server processes on 127.0.0.1, both pinned to core 0 (taskset) and measured one at a
time: a real `pynacos server` (gRPC on its HTTP port + 1000) and `bench/grpc_echo.py`, bare grpc.aio
with pynacos's server options, Payload messages and event loop (uvloop), whose unary handler returns
one fixed Payload (a ConfigQueryResponse of the same size as pynacos's answer). This script is the
client, a separate process pinned to core 1: --channels connections (each its own channel, TCP
connection and registered bi-stream, as an SDK opens them), --per-channel coroutines on each, every
coroutine sending its next ConfigQueryRequest when the last one was answered (closed loop). The
request is serialised once and answers are taken as bytes (no protobuf work in the client); each
answer must contain `"resultCode":200`. Each server gets --warmup s, then --duration s measured;
with --rounds N the servers are measured back to back N times in alternating order and the median
round is reported.

Run: .venv/bin/python bench/grpc_config_query.py [--duration 10] [--warmup 2] [--channels 4]
     [--per-channel 8] [--rounds 3] [--wait-quiet S]
Prints round trips/s, p50/p99 latency, server CPU per request and the client's CPU share for each
server, and the ratio pynacos/bare (target >= 0.5). When the client's share is near 100 % of its core,
the client, not the server, limited throughput; the server CPU per request is the steadier comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass

from common import (
    HOST,
    CpuWatch,
    Server,
    md5_hex,
    median,
    percentile,
    pinning,
    raise_fd_limit,
    run_async,
    source_note,
    wait_for_quiet,
)
from grpc_common import (
    GRPC_OFFSET,
    EchoServer,
    GrpcConn,
    config_query_body,
    event_loop_of,
    free_port_pair,
    wait_tcp,
)

from pynacos.server.grpc import payload

DATA_ID, GROUP = "bench.grpc.query.properties", "DEFAULT_GROUP"
CONTENT = (
    "spring.datasource.url=jdbc:mysql://db.internal:3306/orders?useSSL=false\n"
    "spring.datasource.username=orders_app\n"
    "server.port=8080\n"
    "feature.checkout.v2=true\n"
    "cache.ttl.seconds=300\n"
    "log.level=INFO\n"
)
TARGET_RATIO = 0.5
OK = b'"resultCode":200'


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    foreign_cpu: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu / self.requests * 1e6 if self.requests else float("nan")


async def load(target: str, request: bytes, args: argparse.Namespace, seconds: float) -> Result:
    """Closed loop over freshly registered connections; the connections are closed at the end."""
    conns = [GrpcConn(target) for _ in range(args.channels)]
    for conn in conns:
        await conn.open()
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    stop_at = start + seconds

    async def worker(conn: GrpcConn) -> None:
        nonlocal errors
        call = conn.raw
        while time.perf_counter() < stop_at:
            sent = time.perf_counter()
            try:
                answer = await call(request, timeout=10)
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - sent)
            if OK not in answer:
                errors += 1

    try:
        await asyncio.gather(*(worker(c) for c in conns for _ in range(args.per_channel)))
    finally:
        elapsed = time.perf_counter() - start
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    ms = [s * 1000 for s in latencies] or [float("nan")]
    return Result(len(latencies), elapsed, percentile(ms, 50), percentile(ms, 99), errors)


def measure(pid: int, target: str, request: bytes, args: argparse.Namespace) -> Result:
    if args.warmup > 0:
        run_async(load(target, request, args, args.warmup))
    own = os.times()
    with CpuWatch(pid) as watch:
        result = run_async(load(target, request, args, args.duration))
    used = os.times()
    result.server_cpu, result.foreign_cpu = watch.server, watch.foreign
    result.client_cpu = (used.user - own.user) + (used.system - own.system)
    return result


async def prepare(target: str) -> dict[str, object]:
    """Publish the config over gRPC, query it back; returns pynacos's answer body."""
    conn = GrpcConn(target)
    await conn.open()
    try:
        published = await conn.request("ConfigPublishRequest", {"dataId": DATA_ID, "group": GROUP, "content": CONTENT})
        if published.get("resultCode") != 200:
            raise RuntimeError(f"ConfigPublishRequest answered {published}")
        answer = await conn.request("ConfigQueryRequest", config_query_body(DATA_ID, GROUP))
        if answer.get("resultCode") != 200 or answer.get("content") != CONTENT or answer.get("md5") != md5_hex(CONTENT):
            raise RuntimeError(f"ConfigQueryRequest answered {answer}")
        return answer
    finally:
        await conn.close()


def show(name: str, r: Result) -> None:
    print(
        f"  {name:<8} {r.rps:7.0f} req/s   p50 {r.p50_ms:6.2f} ms   p99 {r.p99_ms:6.2f} ms   "
        f"server CPU {r.cpu_us_per_request:5.0f} us/req   "
        f"client CPU {r.client_cpu / r.seconds * 100:3.0f} % of its core   "
        f"({r.requests} requests in {r.seconds:.1f} s, {r.errors} errors; "
        f"other processes used {r.foreign_cpu / r.seconds:.2f} core)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per server and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds, not counted")
    parser.add_argument("--channels", type=int, default=4, help="connections (channel + registered stream each)")
    parser.add_argument("--per-channel", type=int, default=8, help="concurrent client coroutines per connection")
    parser.add_argument("--rounds", type=int, default=3, help="alternate the two servers this many times")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S", help="first wait up to S s for quiet")
    args = parser.parse_args()
    if not 0 < args.duration <= 60 or not 0 <= args.warmup <= 30 or not 1 <= args.rounds <= 5:
        parser.error("keep --duration in (0, 60], --warmup in [0, 30], --rounds in [1, 5]")
    if not 1 <= args.channels <= 64 or not 1 <= args.per_channel <= 64:
        parser.error("keep --channels and --per-channel in [1, 64]")
    raise_fd_limit()
    server_cpu, client_cpu, pin_note = pinning("this client")
    if client_cpu:
        os.sched_setaffinity(0, {int(client_cpu[-1])})

    print(f"gRPC config query benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {os.cpu_count()} cores")
    print(f"  {source_note()}")
    print(f"  {wait_for_quiet(min(args.wait_quiet, 600))}")
    print(
        f"  client: grpc.aio on uvloop, {args.channels} connections x {args.per_channel} coroutines "
        f"({args.channels * args.per_channel} requests in flight), closed loop; {pin_note}"
    )
    print(f"  {args.warmup:g} s warm-up then {args.duration:g} s measured, per server and round, {args.rounds} rounds")

    runs: dict[str, list[Result]] = {"pynacos": [], "bare": []}
    with Server("pynacos", port=free_port_pair(), prefix=server_cpu) as nacos:
        nacos.start()
        wait_tcp(nacos.port + GRPC_OFFSET)
        target = f"{HOST}:{nacos.port + GRPC_OFFSET}"
        answer = run_async(prepare(target))
        request = payload.serialize(payload.encode("ConfigQueryRequest", config_query_body(DATA_ID, GROUP)))
        with EchoServer(answer, prefix=server_cpu, log=nacos.home / "echo.log") as echo:
            echo.start()
            size = len(payload.serialize(payload.encode("ConfigQueryResponse", answer)))
            print(f"  request {len(request)} bytes; answer {size} bytes from both servers (bare: a fixed Payload)")
            print(f"  event loops: pynacos {event_loop_of(nacos.pid)}, bare {event_loop_of(echo.pid)}")
            plan = [("pynacos", nacos.pid, target), ("bare", echo.pid, echo.target)]
            for number in range(args.rounds):
                print(f"round {number + 1}")
                for name, pid, where in plan if number % 2 == 0 else plan[::-1]:
                    runs[name].append(measure(pid, where, request, args))
                    show(name, runs[name][-1])

    print()
    print(f"results (per server, the round with the median throughput of {args.rounds})")
    for name, results in runs.items():
        show(name, sorted(results, key=lambda r: r.rps)[(len(results) - 1) // 2])
    pairs = list(zip(runs["pynacos"], runs["bare"], strict=True))
    ratios = [p.rps / b.rps for p, b in pairs]
    cpu_ratios = [b.cpu_us_per_request / p.cpu_us_per_request for p, b in pairs]
    ratio = median(ratios)
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(
        f"  ratio pynacos/bare throughput: {ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}); "
        f"target >= {TARGET_RATIO}: {verdict}"
    )
    print(
        f"  ratio bare/pynacos server CPU per request: {median(cpu_ratios):.2f} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in cpu_ratios)})"
    )
    errors = sum(r.errors for results in runs.values() for r in results)
    if errors:
        print(f"  WARNING: {errors} failed or unexpected answers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
