"""Start-up time (process spawn -> readiness 200) and idle RSS of pynacos, vs a bare Starlette app.

Scenarios, each started --runs times (interleaved, so slow spells of the machine hit them alike):
  pynacos, empty       a fresh home every time (creates the SQLite database and its tables)
  pynacos, N configs   one home holding --configs configs (~200 bytes each), published beforehand
  bare app             bench/bare_app.py: Starlette + uvicorn (httptools, uvloop), readiness = GET /
Readiness is polled every 5 ms (pynacos: /nacos/v1/console/health/readiness, 200 only once the data
is loaded). RSS is VmRSS from /proc/PID/status after the server has been ready and idle for --idle s.

Run: .venv/bin/python bench/startup.py [--runs 5] [--configs 1000] [--idle 2]
Prints median and max of each (targets: start-up < 1.5 s, idle RSS < 80 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path

from common import (
    CONTEXT,
    CpuWatch,
    HttpConn,
    Server,
    median,
    publish,
    rss_kib,
    run_async,
    source_note,
    temp_home,
    wait_for_quiet,
)

TARGET_START_S = 1.5
TARGET_RSS_MB = 80.0
GROUP = "BENCH"
PAD = "y" * 170


async def fill(port: int, count: int, connections: int = 8) -> None:
    queue = [f"bench.start.{i:05d}" for i in range(count)]

    async def worker() -> None:
        conn = HttpConn(port)
        try:
            while queue:
                data_id = queue.pop()
                await publish(conn, data_id, GROUP, f"{data_id}=1\n{PAD}\n")
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


async def config_count(port: int) -> int:
    conn = HttpConn(port)
    try:
        _, body = await conn.request("GET", CONTEXT + "/actuator/prometheus")
    finally:
        await conn.close()
    match = re.search(rb"^pynacos_config_count ([\d.e+]+)$", body, re.MULTILINE)
    return int(float(match[1])) if match else -1


def one_start(kind: str, home: Path | None, idle: float, expect_configs: int | None) -> tuple[float, float]:
    """(seconds to readiness, idle RSS in MB) of one start; the server is stopped before returning."""
    with Server(kind, home=home) as server:
        seconds = server.start()
        if expect_configs is not None:
            loaded = run_async(config_count(server.port))
            if loaded != expect_configs:
                raise RuntimeError(f"{kind} reported {loaded} configs, expected {expect_configs}")
        time.sleep(idle)
        return seconds, rss_kib(server.pid) / 1024


def row(name: str, starts: list[float], rss: list[float]) -> str:
    return (
        f"  {name:<22} start-up median {median(starts):5.2f} s  max {max(starts):5.2f} s   "
        f"idle RSS median {median(rss):5.1f} MB  max {max(rss):5.1f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="starts per scenario (default 5)")
    parser.add_argument("--configs", type=int, default=1000, help="configs in the pre-filled home (default 1000)")
    parser.add_argument("--idle", type=float, default=2.0, help="seconds idle before reading RSS (default 2)")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="S", help="first wait up to S s for an idle machine"
    )
    args = parser.parse_args()
    if not 1 <= args.runs <= 20 or not 1 <= args.configs <= 20000 or not 0 <= args.idle <= 30:
        parser.error("keep --runs in [1, 20], --configs in [1, 20000], --idle in [0, 30]")

    print(f"start-up benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {os.cpu_count()} cores")
    print(f"  {source_note()}")
    print(f"  {wait_for_quiet(min(args.wait_quiet, 600))}")
    print(f"  {args.runs} starts per scenario, interleaved; RSS read after {args.idle:g} s idle; no CPU pinning")
    filled_name = f"pynacos, {args.configs} configs"
    results: dict[str, tuple[list[float], list[float]]] = {
        "pynacos, empty": ([], []),
        filled_name: ([], []),
        "bare app": ([], []),
    }
    with temp_home("bench-filled-") as filled:
        with Server("pynacos", home=filled) as loader:
            loader.start()
            began = time.perf_counter()
            run_async(fill(loader.port, args.configs))
            print(f"  published {args.configs} configs in {time.perf_counter() - began:.1f} s, then stopped")
        with CpuWatch() as watch:
            for number in range(args.runs):
                plan: list[tuple[str, str, Path | None, int | None]] = [
                    ("pynacos, empty", "pynacos", None, 0),
                    (filled_name, "pynacos", filled, args.configs),
                    ("bare app", "bare", None, None),
                ]
                for name, kind, home, expected in plan:
                    seconds, rss = one_start(kind, home, args.idle, expected)
                    results[name][0].append(seconds)
                    results[name][1].append(rss)
                    print(f"  run {number + 1}: {name:<22} ready in {seconds:5.2f} s, idle RSS {rss:5.1f} MB")

    print(f"  during the starts {watch.foreign_note()}")
    print()
    print("results")
    for name, (starts, rss) in results.items():
        print(row(name, starts, rss))
    worst_start = max(max(results[n][0]) for n in ("pynacos, empty", filled_name))
    worst_rss = max(max(results[n][1]) for n in ("pynacos, empty", filled_name))
    worst_median_start = max(median(results[n][0]) for n in ("pynacos, empty", filled_name))
    worst_median_rss = max(median(results[n][1]) for n in ("pynacos, empty", filled_name))
    start_ok = "met" if worst_median_start < TARGET_START_S else "NOT met"
    rss_ok = "met" if worst_median_rss < TARGET_RSS_MB else "NOT met"
    print(
        f"  pynacos start-up: median {worst_median_start:.2f} s, max {worst_start:.2f} s "
        f"(target < {TARGET_START_S:g} s: {start_ok} by the median)"
    )
    print(
        f"  pynacos idle RSS: median {worst_median_rss:.1f} MB, max {worst_rss:.1f} MB "
        f"(target < {TARGET_RSS_MB:g} MB: {rss_ok} by the median)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
