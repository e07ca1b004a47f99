"""A gRPC client process for the benchmarks: holds N registered connections and reports what is pushed to them.

Run by bench/grpc_push.py and bench/grpc_idle_rss.py, not by hand:

    python bench/grpc_clients.py --target 127.0.0.1:P --connections N [--listen DATAID GROUP MD5]

Each connection has its own channel and bi-stream (`grpc_common.GrpcConn`), answers every push at
once, and with --listen sends a ConfigBatchListenRequest for that one key. Lines on stdout are JSON:

    {"ready": N, "seconds": S}                 all N registered (and listening)
    {"round": k, "times": [t, ...]}            every connection has received its k-th
                                               ConfigChangeNotifyRequest; t = time.monotonic() at receipt
    {"closed": N, "ended": E, "pushes": {...}} after "quit" on stdin (or EOF, or --max-seconds):
                                               E streams had ended before, pushes counted by type

`time.monotonic()` is CLOCK_MONOTONIC, one clock for every process of the machine, so the parent can
subtract the moment it sent the publish. The process stops by itself after --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from collections import Counter

from common import raise_fd_limit, run_async
from grpc_common import GrpcConn, open_many

from pynacos.server.grpc import payload


def emit(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


class Receipts:
    """Receipt times of ConfigChangeNotifyRequest per connection; emits a round once all have its k-th,
    then sends the acks held back (with --defer-acks; else `deferred` stays empty)."""

    def __init__(self, count: int) -> None:
        self.times: list[list[float]] = [[] for _ in range(count)]
        self.complete = 0
        self.deferred: list[tuple[GrpcConn, object]] = []
        self.sending: set[asyncio.Task[None]] = set()

    def handler(self, index: int):  # type: ignore[no-untyped-def]
        def on_push(incoming: payload.Incoming, received: float) -> None:
            if incoming.type != "ConfigChangeNotifyRequest":
                return
            self.times[index].append(received)
            self._emit_complete()

        return on_push

    def _emit_complete(self) -> None:
        if not all(len(t) > self.complete for t in self.times):
            return
        while all(len(t) > self.complete for t in self.times):
            emit({"round": self.complete + 1, "times": [t[self.complete] for t in self.times]})
            self.complete += 1
        for conn, ack in self.deferred:
            task = asyncio.get_running_loop().create_task(conn.send(ack))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)
        self.deferred.clear()


async def wait_for_quit(max_seconds: float) -> None:
    """A line (or EOF) on stdin, or max_seconds; a daemon thread reads, so a timeout never blocks the exit."""
    loop = asyncio.get_running_loop()
    told = asyncio.Event()

    def read() -> None:
        sys.stdin.readline()
        loop.call_soon_threadsafe(told.set)

    threading.Thread(target=read, daemon=True).start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(told.wait(), max_seconds)


async def run(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    receipts = Receipts(args.connections)
    deferred = receipts.deferred if args.defer_acks else None
    conns = await open_many(args.target, args.connections, receipts.handler, deferred=deferred)
    if args.listen:
        data_id, group, md5 = args.listen
        context = {"dataId": data_id, "group": group, "tenant": "", "md5": md5}
        gate = asyncio.Semaphore(50)

        async def listen(conn: GrpcConn) -> None:
            async with gate:
                answer = await conn.request(
                    "ConfigBatchListenRequest", {"listen": True, "configListenContexts": [context]}
                )
                if answer.get("resultCode") != 200:
                    raise RuntimeError(f"ConfigBatchListenRequest answered {answer}")

        await asyncio.gather(*(listen(c) for c in conns))
    emit({"ready": len(conns), "seconds": round(time.perf_counter() - began, 3)})
    await wait_for_quit(args.max_seconds)
    pushes: Counter[str] = Counter()
    for conn in conns:
        pushes.update(conn.pushes)
    ended = [c.ended for c in conns if c.ended]
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    emit({"closed": len(conns), "ended": len(ended), "why": ended[:3], "pushes": dict(pushes)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="127.0.0.1:PORT of the gRPC server")
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--listen", nargs=3, metavar=("DATAID", "GROUP", "MD5"))
    parser.add_argument("--defer-acks", action="store_true", help="ack config pushes once a round is complete")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop by itself after this long")
    args = parser.parse_args()
    if not args.target.startswith("127.0.0.1:") or not 1 <= args.connections <= 2000:
        parser.error("--target must be 127.0.0.1:PORT and --connections in [1, 2000]")
    raise_fd_limit()
    run_async(run(args))


if __name__ == "__main__":
    main()
