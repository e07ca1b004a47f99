"""Config change push latency through HTTP long polls: publish sent -> held listener answered.

pynacos runs on 127.0.0.1 with `pynacos.longpoll.max.per.ip` raised so that all the listeners (every
one from 127.0.0.1) are admitted. The script publishes --listeners configs, opens one held long poll
per config (each on its own connection, `Long-Pulling-Timeout: 30000`), waits until the server's
`pynacos_config_listeners` gauge shows them all held, then publishes --publishes changes one at a
time, each to a different listener's config, and times how long each listener takes to be answered.
Each answered listener re-arms at once with the new md5, as a Nacos client does.

Baseline, same run: the plain publish round trip (update of a config nobody listens to), measured
before the listeners are opened.

Run: .venv/bin/python bench/longpoll_push.py [--listeners 1000] [--publishes 200]
Prints p50/p99/max push latency (target p99 < 200 ms) and publish round-trip p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from common import (
    CONTEXT,
    CpuWatch,
    HttpConn,
    Server,
    md5_hex,
    percentile,
    pinning,
    publish,
    raise_fd_limit,
    run_async,
    source_note,
    wait_for_quiet,
)

GROUP = "BENCH"
HOLD_MS = 30000
TARGET_P99_MS = 200.0
ANSWER_TIMEOUT = 5.0
PAD = "x" * 160  # contents are ~200 bytes


def listener_key(index: int) -> str:
    return f"bench.lp.{index:05d}"


def baseline_key(index: int) -> str:
    return f"bench.base.{index:05d}"


def content(data_id: str, version: int) -> str:
    return f"{data_id}.version={version}\n{PAD}\n"


@dataclass
class State:
    md5: dict[int, str] = field(default_factory=dict)  # listener index -> md5 it should listen with
    waiting: dict[int, asyncio.Future[float]] = field(default_factory=dict)
    answers: int = 0
    timeouts: int = 0
    wrong: list[str] = field(default_factory=list)
    stopping: bool = False


async def listener(index: int, port: int, state: State) -> None:
    """One client connection holding a long poll on its own config; re-arms after every answer."""
    data_id = listener_key(index)
    expected = quote(f"{data_id}\x02{GROUP}\x01", safe="") + "\n"
    conn = HttpConn(port)
    headers = {"Long-Pulling-Timeout": str(HOLD_MS), "Content-Type": "application/x-www-form-urlencoded"}
    try:
        await conn.connect()
        while not state.stopping:
            line = f"{data_id}\x02{GROUP}\x02{state.md5[index]}\x02\x01"
            body = ("Listening-Configs=" + quote(line, safe="")).encode()
            await conn.send("POST", CONTEXT + "/v1/cs/configs/listener", headers, body)
            status, answer = await conn.receive()
            answered_at = time.perf_counter()
            if status != 200:
                state.wrong.append(f"listener {index}: HTTP {status} {answer[:100]!r}")
                return
            if not answer:
                state.timeouts += 1
                continue
            state.answers += 1
            if answer.decode() != expected:
                state.wrong.append(f"listener {index}: answered {answer!r}, expected {expected!r}")
            waiter = state.waiting.pop(index, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(answered_at)
    finally:
        await conn.close()


async def held_listeners(port: int) -> int:
    conn = HttpConn(port)
    try:
        status, body = await conn.request("GET", CONTEXT + "/actuator/prometheus")
    finally:
        await conn.close()
    match = re.search(rb"^pynacos_config_listeners ([\d.e+]+)$", body, re.MULTILINE)
    if status != 200 or match is None:
        raise RuntimeError("cannot read pynacos_config_listeners from /actuator/prometheus")
    return int(float(match[1]))


async def publish_many(port: int, data_ids: list[str], connections: int = 8) -> None:
    queue = list(data_ids)

    async def worker() -> None:
        conn = HttpConn(port)
        try:
            while queue:
                data_id = queue.pop()
                await publish(conn, data_id, GROUP, content(data_id, 0))
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


def report(name: str, values_ms: list[float], with_max: bool = True) -> str:
    text = f"  {name:<34} p50 {percentile(values_ms, 50):7.2f} ms   p99 {percentile(values_ms, 99):7.2f} ms"
    if with_max:
        text += f"   max {max(values_ms):7.2f} ms"
    return text + f"   (n={len(values_ms)})"


async def run(args: argparse.Namespace, server: Server) -> int:
    port = server.port
    state = State()
    started = time.perf_counter()
    listener_ids = [listener_key(i) for i in range(args.listeners)]
    baseline_ids = [baseline_key(i) for i in range(args.publishes)]
    await publish_many(port, listener_ids + baseline_ids)
    for i in range(args.listeners):
        state.md5[i] = md5_hex(content(listener_key(i), 0))
    print(f"  published {len(listener_ids) + len(baseline_ids)} configs in {time.perf_counter() - started:.1f} s")

    # Baseline: plain publish round trips (config updates nobody listens to), one at a time.
    conn = HttpConn(port)
    await conn.connect()
    baseline_ms: list[float] = []
    for data_id in baseline_ids:
        sent = time.perf_counter()
        await publish(conn, data_id, GROUP, content(data_id, 1))
        baseline_ms.append((time.perf_counter() - sent) * 1000)

    # Open the listeners and wait until the server holds them all.
    opening = time.perf_counter()
    tasks = [asyncio.create_task(listener(i, port, state)) for i in range(args.listeners)]
    deadline = opening + 60
    held = 0
    while time.perf_counter() < deadline and not state.wrong:
        held = await held_listeners(port)
        if held >= args.listeners:
            break
        await asyncio.sleep(0.1)
    if held < args.listeners or state.wrong:
        print(f"  only {held} of {args.listeners} long polls held; {state.wrong[:3]}", file=sys.stderr)
        state.stopping = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return 1
    print(f"  {held} long polls held {time.perf_counter() - opening:.2f} s after the first was sent")

    # Push: one publish at a time, each to a different listener's config (spread over all listeners).
    step = args.listeners / args.publishes
    targets = [int(n * step) for n in range(args.publishes)]
    push_ms: list[float] = []
    publish_ms: list[float] = []
    missed = 0
    loop = asyncio.get_running_loop()
    with CpuWatch(server.pid) as watch:
        for index in targets:
            data_id = listener_key(index)
            new = content(data_id, 1)
            state.md5[index] = md5_hex(new)  # the listener re-arms with this md5 once answered
            answered = state.waiting[index] = loop.create_future()
            sent = time.perf_counter()
            await publish(conn, data_id, GROUP, new)
            publish_ms.append((time.perf_counter() - sent) * 1000)
            try:
                answered_at = await asyncio.wait_for(answered, ANSWER_TIMEOUT)
            except TimeoutError:
                missed += 1
                continue
            push_ms.append((answered_at - sent) * 1000)
    await conn.close()
    held_after = await held_listeners(port)
    elapsed = time.perf_counter() - opening

    state.stopping = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    print()
    print("results")
    if push_ms:
        print(report("push (publish sent -> answered)", push_ms))
    print(report("publish round trip, during push", publish_ms))
    print(report("baseline: publish round trip", baseline_ms))
    print(
        f"  {len(push_ms)} of {len(targets)} listeners answered within {ANSWER_TIMEOUT:g} s, {missed} missed; "
        f"{state.timeouts} polls timed out empty; {held_after} held after re-arming"
    )
    print(f"  server CPU {watch.server:.2f} s over the {watch.wall:.2f} s push phase; {watch.foreign_note()}")
    if elapsed > HOLD_MS / 1000 - 1:
        print("  note: the run outlasted one hold period, so some polls timed out and re-armed meanwhile")
    ok = bool(push_ms) and not missed and not state.wrong
    if push_ms:
        p99 = percentile(push_ms, 99)
        verdict = "met" if ok and p99 < TARGET_P99_MS else "NOT met"
        print(f"  push p99 {p99:.1f} ms (target < {TARGET_P99_MS:g} ms: {verdict})")
    for problem in state.wrong[:5]:
        print(f"  WRONG: {problem}", file=sys.stderr)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=1000, help="held long polls, one config each (default 1000)")
    parser.add_argument("--publishes", type=int, default=200, help="changes pushed, one at a time (default 200)")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="S", help="first wait up to S s for an idle machine"
    )
    args = parser.parse_args()
    if not 1 <= args.listeners <= 5000:
        parser.error("keep --listeners in [1, 5000]")
    if not 1 <= args.publishes <= args.listeners:
        parser.error("keep --publishes in [1, --listeners]: each change goes to a different listener")

    raise_fd_limit(2 * args.listeners + 1024)
    server_cpu, client_cpu, pin_note = pinning("this client")
    if client_cpu:
        os.sched_setaffinity(0, {int(client_cpu[-1])})  # this process is the client side
    print(f"long-poll push benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %z')}, {os.cpu_count()} cores")
    print(f"  {source_note()}")
    print(f"  {wait_for_quiet(min(args.wait_quiet, 600))}")
    print(f"  {args.listeners} held long polls (one config each, one connection each), {args.publishes} changes")
    print(f"  client: Python asyncio streams on uvloop; {pin_note}")
    properties = {"pynacos.longpoll.max.per.ip": str(max(2000, args.listeners))}
    with Server("pynacos", properties=properties, prefix=server_cpu) as server:
        server.start()
        return run_async(run(args, server))


if __name__ == "__main__":
    sys.exit(main())
