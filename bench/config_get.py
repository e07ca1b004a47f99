"""Config GET throughput and latency of pynacos vs a bare Starlette "hello" app, same uvicorn settings.

The servers run on 127.0.0.1, pinned to one core, and are measured one at a time; the load generator
(wrk when installed, else a Python asyncio client) is pinned to the other core. Each is measured for
--duration seconds after --warmup seconds at --concurrency keep-alive connections. A third,
informative server is the bare app answering with pynacos's headers and body size (`--shaped`), which
splits the gap into the cost of the Nacos response shape and pynacos's own per-request work.

Run: .venv/bin/python bench/config_get.py [--duration 10] [--warmup 2] [--concurrency 64] [--rounds 1]
     [--loadgen auto|wrk|python]
Prints req/s, p50/p99 latency and server CPU per request for each server, and the ratio pynacos/bare
(target >= 0.6).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bare_app import SHAPED_BODY
from common import (
    CONTEXT,
    HOST,
    CpuWatch,
    HttpConn,
    Server,
    median,
    percentile,
    pinning,
    run_async,
    source_note,
    wait_for_quiet,
)

DATA_ID, GROUP = "bench.get.properties", "DEFAULT_GROUP"
# ~200 bytes of a typical properties file
CONTENT = (
    "spring.datasource.url=jdbc:mysql://db.internal:3306/orders?useSSL=false\n"
    "spring.datasource.username=orders_app\n"
    "server.port=8080\n"
    "feature.checkout.v2=true\n"
    "cache.ttl.seconds=300\n"
    "log.level=INFO\n"
)
TARGET_RATIO = 0.6


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu: float = 0.0  # seconds of CPU the server used while measured
    foreign_cpu: float = 0.0  # seconds of CPU other processes on the machine used meanwhile

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu / self.requests * 1e6 if self.requests else float("nan")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def run_wrk(url: str, seconds: float, connections: int, prefix: list[str]) -> Result:
    cmd = [*prefix, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if total is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx[1])
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return Result(int(total[1]), _ms(total[2] + total[3]) / 1000, _ms(p50[1]), _ms(p99[1]), errors)


async def _python_load(port: int, target: str, expected: bytes, seconds: float, conc: int) -> Result:
    """Closed loop: `conc` keep-alive connections, each sending its next GET when the last one answered."""
    start = time.perf_counter()
    stop_at = start + seconds
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        conn = HttpConn(port)
        await conn.connect()
        try:
            while time.perf_counter() < stop_at:
                sent = time.perf_counter()
                status, body = await conn.request("GET", target)
                latencies.append(time.perf_counter() - sent)
                if status != 200 or body != expected:
                    errors += 1
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(conc)))
    elapsed = time.perf_counter() - start
    ms = [s * 1000 for s in latencies]
    return Result(len(ms), elapsed, percentile(ms, 50), percentile(ms, 99), errors)


def measure(server: Server, target: str, expected: bytes, args: argparse.Namespace, loadgen: list[str]) -> Result:
    """Warm up, then measure; the server's CPU time and other processes' CPU time are read around it."""
    url = f"http://{HOST}:{server.port}{target}"

    def once(seconds: float) -> Result:
        if args.loadgen == "wrk":
            return run_wrk(url, seconds, args.concurrency, loadgen)
        return run_async(_python_load(server.port, target, expected, seconds, args.concurrency))

    if args.warmup > 0:
        once(args.warmup)
    with CpuWatch(server.pid) as watch:
        result = once(args.duration)
    result.server_cpu, result.foreign_cpu = watch.server, watch.foreign
    return result


def native_modules(pid: int) -> str:
    """Which uvicorn back-ends a server process really loaded (read from its memory map)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    found = [name for name in ("httptools", "uvloop") if name in maps]
    return "+".join(found) or "neither httptools nor uvloop (h11/asyncio)"


async def _publish_and_check(port: int) -> bytes:
    conn = HttpConn(port)
    try:
        body = await conn.form(CONTEXT + "/v1/cs/configs", {"dataId": DATA_ID, "group": GROUP, "content": CONTENT})
        assert body == b"true", body
        status, got = await conn.request("GET", get_target())
        assert status == 200 and got == CONTENT.encode(), (status, got)
        return got
    finally:
        await conn.close()


def get_target() -> str:
    return CONTEXT + "/v1/cs/configs?" + urlencode({"dataId": DATA_ID, "group": GROUP})


def show(name: str, result: Result) -> None:
    print(
        f"  {name:<8} {result.rps:8.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms   "
        f"server CPU {result.cpu_us_per_request:5.0f} us/req   "
        f"({result.requests} requests in {result.seconds:.1f} s, {result.errors} errors; "
        f"other processes used {result.foreign_cpu / result.seconds:.2f} core)"
    )


def summary(results: list[Result]) -> Result:
    """The round with the median throughput (one round: that round)."""
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds, not counted (default 2)")
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections (default 64)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two servers this many times (default 1)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="S", help="first wait up to S s for an idle machine"
    )
    args = parser.parse_args()
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 60 or not 1 <= args.concurrency <= 1024:
        parser.error("keep --duration in (0, 120], --warmup in [0, 60], --concurrency in [1, 1024]")
    if not 1 <= args.rounds <= 10:
        parser.error("keep --rounds in [1, 10]")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    elif args.loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")

    server_cpu, loadgen_cpu, pin_note = pinning()
    if args.loadgen == "python" and loadgen_cpu:
        os.sched_setaffinity(0, {int(loadgen_cpu[-1])})  # this process is the load generator
    if args.loadgen == "wrk":
        generator = "wrk (1 thread)"
    else:
        generator = "Python asyncio client on uvloop" + ("" if shutil.which("wrk") else " (wrk not installed)")
    print(f"config GET benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {os.cpu_count()} cores")
    print(f"  {source_note()}")
    print(f"  {wait_for_quiet(min(args.wait_quiet, 600))}")
    print(f"  load generator: {generator}; {args.concurrency} keep-alive connections")
    print(f"  {args.warmup:g} s warm-up then {args.duration:g} s measured, per server and round; {pin_note}")

    runs: dict[str, list[Result]] = {"pynacos": [], "bare": [], "shaped": []}
    with (
        Server("pynacos", prefix=server_cpu) as nacos,
        Server("bare", prefix=server_cpu) as bare,
        Server("bare-shaped", prefix=server_cpu) as shaped,
    ):
        for server in (nacos, bare, shaped):
            server.start()
        expected = run_async(_publish_and_check(nacos.port))
        print(f"  pynacos: uvicorn back-ends loaded: {native_modules(nacos.pid)}; answers {len(expected)} bytes")
        print(f"  bare:    uvicorn back-ends loaded: {native_modules(bare.pid)}; answers 5 bytes")
        print("  shaped:  the bare app answering a constant with pynacos's headers and body size (informative)")
        plan = [
            ("pynacos", nacos, get_target(), expected),
            ("bare", bare, "/", b"hello"),
            ("shaped", shaped, "/", SHAPED_BODY),
        ]
        for number in range(args.rounds):
            if args.rounds > 1:
                print(f"round {number + 1}")
            for name, server, target, body in plan if number % 2 == 0 else plan[::-1]:
                runs[name].append(measure(server, target, body, args, loadgen_cpu))
                if args.rounds > 1:
                    show(name, runs[name][-1])

    print()
    if args.rounds > 1:
        print(f"results (per server, the round with the median throughput of {args.rounds})")
    else:
        print("results")
    chosen = {name: summary(results) for name, results in runs.items()}
    for name, result in chosen.items():
        show(name, result)
    # Ratios are taken within a round (the two servers measured back to back), then the median of rounds.
    pairs = list(zip(runs["pynacos"], runs["bare"], strict=True))
    ratios = [p.rps / b.rps for p, b in pairs]
    cpu_ratios = [b.cpu_us_per_request / p.cpu_us_per_request for p, b in pairs]
    ratio, cpu_ratio = median(ratios), median(cpu_ratios)
    per_round = f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})" if args.rounds > 1 else ""
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"  ratio pynacos/bare throughput: {ratio:.2f}{per_round}; target >= {TARGET_RATIO}: {verdict}")
    per_round = f" (rounds: {', '.join(f'{r:.2f}' for r in cpu_ratios)})" if args.rounds > 1 else ""
    print(f"  ratio bare/pynacos server CPU per request: {cpu_ratio:.2f}{per_round}; the same comparison by CPU cost")
    shape_cost = chosen["shaped"].cpu_us_per_request - chosen["bare"].cpu_us_per_request
    own_cost = chosen["pynacos"].cpu_us_per_request - chosen["shaped"].cpu_us_per_request
    print(
        f"  extra server CPU per request over bare: {shape_cost:.0f} us for the Nacos response shape, "
        f"{own_cost:.0f} us for pynacos's own work"
    )
    errors = sum(r.errors for results in runs.values() for r in results)
    if errors:
        print(f"  WARNING: {errors} failed or unexpected responses", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
