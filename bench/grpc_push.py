"""Config push latency over gRPC: one publish, --listeners connections listening on the same key.

Method. A real `pynacos server` (gRPC on its HTTP port + 1000) pinned to core 0. --processes client
processes (`bench/grpc_clients.py`, grpc.aio on uvloop) pinned to core 1 hold --listeners connections
between them, each with its own channel (its own TCP connection), its own registered bi-stream and a
ConfigBatchListenRequest on the one key; every push is acknowledged at once with a
ConfigChangeNotifyResponse. This script, also on core 1, then publishes a new content of the key
--publishes times over its own registered gRPC connection (ConfigPublishRequest), one at a time, and
waits until every listener has received the ConfigChangeNotifyRequest. Push latency = the moment a
listener read the push from its stream minus the moment just before the publish was sent, both read
from CLOCK_MONOTONIC (`time.monotonic()`, one clock for every process of the machine). The next
publish waits until the previous one is acknowledged by every listener, plus --pause s.

Baselines, same run: (1) the publish round trip alone, before the listeners connect (an fsync'd
SQLite commit); (2) the transport floor of a fan-out: `bench/grpc_echo.py` (bare grpc.aio, pynacos's
Payload messages and options, one asyncio.Queue per stream) pinned to core 0 and the same client
processes, its `/Bench/fanOut` call putting one ConfigChangeNotifyRequest on every stream, timed the
same way.

Run: .venv/bin/python bench/grpc_push.py [--listeners 1000] [--processes 2] [--publishes 10] [--wait-quiet S]
Prints push p50/p99/max over all (publish, listener) pairs for pynacos and the bare fan-out
(target p99 < 200 ms). All connections come from 127.0.0.1: pynacos allows 2,000 per address.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    HOST,
    CpuWatch,
    Server,
    md5_hex,
    percentile,
    pinning,
    raise_fd_limit,
    run_async,
    source_note,
    wait_for_quiet,
)
from grpc_common import (
    FAN_OUT,
    GRPC_OFFSET,
    Clients,
    EchoServer,
    GrpcConn,
    free_port_pair,
    query_response_body,
    wait_tcp,
)

from pynacos.server.grpc import payload

DATA_ID, GROUP = "bench.grpc.push.properties", "DEFAULT_GROUP"
TARGET_P99_MS = 200.0
ROUND_TIMEOUT = 10.0


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    trigger_ms: list[float] = field(default_factory=list)  # publish (or fan-out call) round trips
    missed: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    wall: float = 0.0
    foreign: float = 0.0

    def line(self) -> str:
        lat = self.latencies_ms
        if not lat:
            return f"  {self.name:<28} no push received"
        return (
            f"  {self.name:<28} p50 {percentile(lat, 50):7.2f} ms   p99 {percentile(lat, 99):7.2f} ms   "
            f"max {max(lat):7.2f} ms   (n={len(lat)}, {self.missed} missed)"
        )


async def run_rounds(phase: Phase, clients: Clients, trigger: Any, rounds: int, pause: float, pid: int) -> None:
    """`trigger()` sends the change and returns once answered; each round waits for every listener."""
    clients_before = clients.cpu()
    with CpuWatch(pid) as watch:
        for number in range(1, rounds + 1):
            sent = time.monotonic()
            await trigger(number)
            phase.trigger_ms.append((time.monotonic() - sent) * 1000)
            try:
                records = await clients.next_lines(ROUND_TIMEOUT)
            except TimeoutError:
                raise RuntimeError(
                    f"{phase.name}: round {number} not received by every listener in {ROUND_TIMEOUT} s"
                ) from None
            for record in records:
                if record.get("round") != number:
                    raise RuntimeError(f"{phase.name}: expected round {number}, got {str(record)[:200]}")
                phase.latencies_ms.extend((t - sent) * 1000 for t in record["times"])
            await asyncio.sleep(pause)
    phase.client_cpu = clients.cpu() - clients_before
    phase.server_cpu, phase.wall = watch.server, watch.wall
    phase.foreign = max(0.0, watch.foreign - phase.client_cpu)


async def bare_phase(args: argparse.Namespace, echo: EchoServer, prefix: list[str], log: Path) -> Phase:
    phase = Phase("bare grpc.aio fan-out")
    clients = Clients(echo.target, args.listeners, args.processes, prefix, log, None, args.acks == "deferred")
    took = await clients.start()
    print(f"  bare: {args.listeners} connections registered in {took:.1f} s")
    caller = GrpcConn(echo.target)
    await caller.open()
    fan_out = caller.channel.unary_unary(FAN_OUT)
    request = payload.serialize(payload.encode("BenchFanOutRequest", {}))
    try:

        async def trigger(number: int) -> None:
            await fan_out(request, timeout=10)

        await run_rounds(phase, clients, trigger, args.publishes, args.pause, echo.pid)
    finally:
        await caller.close()
        await clients.stop()
    print(f"  bare: {clients.summary()}")
    return phase


async def pynacos_phase(args: argparse.Namespace, nacos: Server, prefix: list[str]) -> tuple[Phase, list[float]]:
    target = f"{HOST}:{nacos.port + GRPC_OFFSET}"
    publisher = GrpcConn(target)
    await publisher.open()
    phase = Phase("pynacos publish -> push")
    clients: Clients | None = None

    async def publish(content: str) -> None:
        body = {"dataId": DATA_ID, "group": GROUP, "content": content}
        answer = await publisher.request("ConfigPublishRequest", body)
        if answer.get("resultCode") != 200:
            raise RuntimeError(f"ConfigPublishRequest answered {answer}")

    try:
        alone: list[float] = []
        for number in range(args.publishes):
            sent = time.monotonic()
            await publish(f"baseline={number}\n")
            alone.append((time.monotonic() - sent) * 1000)
        content = "initial=1\n"
        await publish(content)
        listen = [DATA_ID, GROUP, md5_hex(content)]
        log = nacos.home / "clients.log"
        clients = Clients(target, args.listeners, args.processes, prefix, log, listen, args.acks == "deferred")
        took = await clients.start()
        print(f"  pynacos: {args.listeners} connections registered and listening in {took:.1f} s")

        async def trigger(number: int) -> None:
            await publish(f"round={number}\n")

        await run_rounds(phase, clients, trigger, args.publishes, args.pause, nacos.pid)
    finally:
        await publisher.close()
        if clients is not None:
            await clients.stop()
    if clients is not None:
        print(f"  pynacos: {clients.summary()}")
    return phase, alone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=1000, help="listening connections (default 1000)")
    parser.add_argument("--processes", type=int, default=2, help="client processes holding them (default 2)")
    parser.add_argument("--publishes", type=int, default=10, help="changes, one at a time (default 10)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between a round's end and the next")
    parser.add_argument(
        "--acks",
        choices=["immediate", "deferred"],
        default="immediate",
        help="clients ack each push at once (as SDKs do; default), or once their round is complete",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and clients to separate cores")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S", help="first wait up to S s for quiet")
    args = parser.parse_args()
    if not 1 <= args.listeners <= 1900 or not 1 <= args.processes <= 4 or not 1 <= args.publishes <= 100:
        parser.error("keep --listeners in [1, 1900], --processes in [1, 4], --publishes in [1, 100]")
    if not 0 <= args.pause <= 5:
        parser.error("keep --pause in [0, 5]")
    raise_fd_limit(16384)
    server_cpu, client_cpu, pin_note = pinning("this script and the client processes")
    if args.no_pin:
        server_cpu, client_cpu, pin_note = [], [], "no pinning (--no-pin)"
    if client_cpu:
        os.sched_setaffinity(0, {int(client_cpu[-1])})

    print(f"gRPC config push benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {os.cpu_count()} cores")
    print(f"  {source_note()}")
    print(f"  {wait_for_quiet(min(args.wait_quiet, 600))}")
    print(
        f"  {args.listeners} connections (own channel + stream each) in {args.processes} client processes "
        f"(grpc.aio on uvloop), all listening on one key; {args.publishes} publishes, one at a time"
    )
    acks = {
        "immediate": "each push acknowledged as soon as read (as SDKs do)",
        "deferred": "acks held back until the client process has received the round (client ack cost off the path)",
    }[args.acks]
    print(f"  {pin_note}; {acks}")

    with Server("pynacos", port=free_port_pair(), prefix=server_cpu) as nacos:
        nacos.start()
        wait_tcp(nacos.port + GRPC_OFFSET)
        answer = query_response_body("x", md5_hex("x"))
        with EchoServer(answer, prefix=server_cpu, log=nacos.home / "echo.log") as echo:
            echo.start()
            bare = run_async(bare_phase(args, echo, client_cpu, nacos.home / "clients-bare.log"))
        nacos_phase, alone = run_async(pynacos_phase(args, nacos, client_cpu))
        log_tail = (nacos.home / f"pynacos-{nacos.port}.log").read_text(errors="replace").splitlines()

    print()
    print("results")
    print(nacos_phase.line())
    print(bare.line())
    for phase, what in ((nacos_phase, "publish round trip, during push"), (bare, "fan-out call round trip")):
        t = phase.trigger_ms
        print(f"  {what:<32} p50 {percentile(t, 50):7.2f} ms   max {max(t):7.2f} ms   (n={len(t)})")
    base = f"p50 {percentile(alone, 50):7.2f} ms   max {max(alone):7.2f} ms"
    print(f"  baseline: publish round trip, no listeners  {base}   (n={len(alone)})")
    for phase in (nacos_phase, bare):
        share = phase.foreign / phase.wall if phase.wall else 0.0
        print(
            f"  {phase.name}: server CPU {phase.server_cpu:.2f} s over {phase.wall:.2f} s "
            f"({phase.server_cpu / max(1, args.publishes) * 1000:.0f} ms per change), "
            f"client processes {phase.client_cpu:.2f} s; "
            f"other processes used {share:.2f} of a core"
        )
    p99 = percentile(nacos_phase.latencies_ms, 99)
    verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
    print(f"  push p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms: {verdict})")
    notable = [line for line in log_tail if " WARNING " in line or " ERROR " in line]
    notable = [line for line in notable if "auth is off" not in line]
    if notable:
        print(f"  server log: {len(notable)} warnings/errors, last: {notable[-1][:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
