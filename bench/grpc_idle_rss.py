"""Server memory for idle gRPC connections: VmRSS added by --connections registered, idle connections.

Method. A real `pynacos server` (gRPC on its HTTP port + 1000), pinned to core 0, is left idle until
its VmRSS (/proc/PID/status) settles; then --processes client processes (`bench/grpc_clients.py`,
grpc.aio on uvloop, on core 1) open --connections connections, each its own channel (its own TCP
connection) and bi-stream, registered with a ConnectionSetupRequest (SetupAck received), and send
nothing more but acks: pynacos sends each connection idle for 20 s a ClientDetectionRequest, which the
clients answer, as SDKs do. "Settled" means VmRSS, sampled every 0.5 s, moved less than --tolerance MB
over the last --window s (at most --settle-max s). The added RSS is settled-with-connections minus
settled-before; the script then holds the connections --hold s more (long enough for every connection
to be probed for liveness once) and reports the largest and the final VmRSS too. The server's
`pynacos_grpc_connections` gauge must show every connection registered.

Baseline, same run: the same clients against `bench/grpc_echo.py` (bare grpc.aio with pynacos's options,
Payload messages and event loop; a stream per connection that answers the set-up and reads acks).

Run: .venv/bin/python bench/grpc_idle_rss.py [--connections 1000] [--processes 2] [--hold 30] [--wait-quiet S]
Prints VmRSS before, after and added for pynacos and for the bare server (target: pynacos adds < 60 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass

from common import (
    CONTEXT,
    HOST,
    Server,
    pinning,
    raise_fd_limit,
    rss_kib,
    run_async,
    source_note,
    wait_for_quiet,
)
from grpc_common import GRPC_OFFSET, Clients, EchoServer, free_port_pair, query_response_body, wait_tcp

TARGET_MB = 60.0


@dataclass
class Memory:
    name: str
    before: float = 0.0  # MB, settled, no connections
    after: float = 0.0  # MB, settled, with the connections
    held_max: float = 0.0  # MB, largest while held
    final: float = 0.0  # MB, at the end of the hold
    settle_note: str = ""
    clients_note: str = ""

    @property
    def added(self) -> float:
        return self.after - self.before

    def line(self) -> str:
        return (
            f"  {self.name:<8} idle {self.before:6.1f} MB   with connections {self.after:6.1f} MB   "
            f"added {self.added:5.1f} MB   max while held {self.held_max:6.1f} MB   at the end {self.final:6.1f} MB"
        )


async def settle(pid: int, args: argparse.Namespace) -> tuple[float, str]:
    """VmRSS (MB) once it moved less than --tolerance over the last --window s; (value, how long it took)."""
    began = time.perf_counter()
    samples: list[float] = []
    per_window = max(2, int(args.window / 0.5) + 1)
    while True:
        samples.append(rss_kib(pid) / 1024)
        recent = samples[-per_window:]
        waited = time.perf_counter() - began
        if len(recent) == per_window and max(recent) - min(recent) < args.tolerance:
            return recent[-1], f"settled after {waited:.1f} s"
        if waited >= args.settle_max:
            return recent[-1], f"NOT settled after {waited:.1f} s (moved {max(recent) - min(recent):.1f} MB)"
        await asyncio.sleep(0.5)


async def hold(pid: int, seconds: float) -> tuple[float, float]:
    """(largest, last) VmRSS in MB over `seconds`, sampled every 0.5 s."""
    largest = last = rss_kib(pid) / 1024
    stop_at = time.perf_counter() + seconds
    while time.perf_counter() < stop_at:
        await asyncio.sleep(0.5)
        last = rss_kib(pid) / 1024
        largest = max(largest, last)
    return largest, last


def registered(http_port: int) -> int:
    import http.client

    conn = http.client.HTTPConnection(HOST, http_port, timeout=5)
    try:
        conn.request("GET", CONTEXT + "/actuator/prometheus")
        body = conn.getresponse().read()
    finally:
        conn.close()
    match = re.search(rb"^pynacos_grpc_connections ([\d.e+]+)$", body, re.MULTILINE)
    if match is None:
        raise RuntimeError("cannot read pynacos_grpc_connections from /actuator/prometheus")
    return int(float(match[1]))


async def measure(
    name: str, pid: int, target: str, args: argparse.Namespace, clients: Clients, check: object
) -> Memory:
    memory = Memory(name)
    memory.before, note = await settle(pid, args)
    took = await clients.start()
    try:
        if callable(check):
            count = check()
            if count != args.connections:
                raise RuntimeError(f"{name}: {count} connections registered, expected {args.connections}")
        memory.after, note_after = await settle(pid, args)
        memory.settle_note = f"idle {note}; with connections {note_after}; connections opened in {took:.1f} s"
        memory.held_max, memory.final = await hold(pid, args.hold)
        memory.held_max = max(memory.held_max, memory.after)
        if callable(check):
            still = check()
            if still != args.connections:
                raise RuntimeError(
                    f"{name}: {still} connections registered after the hold, expected {args.connections}"
                )
    finally:
        await clients.stop()
    memory.clients_note = clients.summary()
    return memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000, help="idle registered connections (default 1000)")
    parser.add_argument("--processes", type=int, default=2, help="client processes holding them (default 2)")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds held after settling (default 30)")
    parser.add_argument("--window", type=float, default=3.0, help="settled: steady over this many s (default 3)")
    parser.add_argument("--tolerance", type=float, default=0.5, help="settled: moved less than this many MB")
    parser.add_argument("--settle-max", type=float, default=20.0, help="give up settling after this many s")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S", help="first wait up to S s for quiet")
    args = parser.parse_args()
    if not 1 <= args.connections <= 1900 or not 1 <= args.processes <= 4:
        parser.error("keep --connections in [1, 1900] and --processes in [1, 4]")
    if not 0 <= args.hold <= 60 or not 1 <= args.window <= 10 or not 1 <= args.settle_max <= 60:
        parser.error("keep --hold in [0, 60], --window in [1, 10], --settle-max in [1, 60]")
    raise_fd_limit(16384)
    server_cpu, client_cpu, pin_note = pinning("this script and the client processes")
    if client_cpu:
        os.sched_setaffinity(0, {int(client_cpu[-1])})

    print(f"gRPC idle connection memory benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {os.cpu_count()} cores")
    print(f"  {source_note()}")
    print(f"  {wait_for_quiet(min(args.wait_quiet, 600))}")
    print(
        f"  {args.connections} connections (own channel + registered stream each, idle but for acks) in "
        f"{args.processes} client processes (grpc.aio on uvloop); {pin_note}"
    )
    print(
        f"  settled = VmRSS moved < {args.tolerance:g} MB over {args.window:g} s (sampled every 0.5 s); "
        f"then held {args.hold:g} s"
    )

    results: list[Memory] = []
    with Server("pynacos", port=free_port_pair(), prefix=server_cpu) as nacos:
        nacos.start()
        wait_tcp(nacos.port + GRPC_OFFSET)
        target = f"{HOST}:{nacos.port + GRPC_OFFSET}"
        clients = Clients(target, args.connections, args.processes, client_cpu, nacos.home / "clients.log", None)
        results.append(run_async(measure("pynacos", nacos.pid, target, args, clients, lambda: registered(nacos.port))))
        with EchoServer(query_response_body("x", "y"), prefix=server_cpu, log=nacos.home / "echo.log") as echo:
            echo.start()
            clients = Clients(echo.target, args.connections, args.processes, client_cpu, nacos.home / "c2.log", None)
            results.append(run_async(measure("bare", echo.pid, echo.target, args, clients, None)))
        log = (nacos.home / f"pynacos-{nacos.port}.log").read_text(errors="replace").splitlines()

    for memory in results:
        print(f"  {memory.name}: {memory.settle_note}")
        print(f"  {memory.name}: {memory.clients_note}")
    print()
    print("results")
    for memory in results:
        print(memory.line())
    nacos_memory, bare = results
    per_conn = nacos_memory.added * 1024 / args.connections
    print(f"  per connection: pynacos {per_conn:.1f} KB, bare {bare.added * 1024 / args.connections:.1f} KB")
    held = nacos_memory.held_max - nacos_memory.before
    worst = max(nacos_memory.added, held)
    verdict = "met" if worst < TARGET_MB else "NOT met"
    print(
        f"  pynacos RSS added by {args.connections} idle connections: {nacos_memory.added:.1f} MB settled, "
        f"{held:.1f} MB at most while held (target < {TARGET_MB:.0f} MB: {verdict})"
    )
    notable = [line for line in log if (" WARNING " in line or " ERROR " in line) and "auth is off" not in line]
    if notable:
        print(f"  server log: {len(notable)} warnings/errors, last: {notable[-1][:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
