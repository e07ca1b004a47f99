"""Shared helpers for the gRPC benchmark scripts: ports, the bare grpc.aio server process (`EchoServer`),
one client connection (`GrpcConn`) and the client processes of bench/grpc_clients.py (`Clients`).

A pynacos connection is one HTTP/2 transport (protocol.md E.2): each `GrpcConn` has its own channel
(`grpc.use_local_subchannel_pool=1`, so no two channels of a process share a TCP connection), opens the
bi-stream, sends ConnectionSetupRequest and waits for the SetupAckRequest push before any unary request.
Every request pushed down the stream that carries a `requestId` is answered at once with its
`...Response` (resultCode 200), as the SDKs do: the server ejects connections that leave its
ClientDetectionRequest unanswered, and retries unacknowledged config pushes. (With `deferred`, config
push acks are held back for the owner to send later: see grpc_push.py --acks.)

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from common import BENCH_DIR, HOST, PYTHON, process_cpu_seconds, stop_process

from pynacos.server.grpc import payload

GRPC_OFFSET = 1000
SETUP = {"clientVersion": "bench", "labels": {"module": "config", "source": "sdk"}, "abilityTable": {}}
#: what every client channel is opened with: one TCP connection per channel, no reconnect storms, no pings
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)]
UNARY = "/Request/request"
STREAM = "/BiRequestStream/requestBiStream"
FAN_OUT = "/Bench/fanOut"


def bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port_pair(offset: int = GRPC_OFFSET) -> int:
    """A port P with P and P + offset both free (pynacos serves gRPC on its HTTP port + 1000)."""
    for _ in range(200):
        port = random.randrange(20000, 40000)
        if bindable(port) and bindable(port + offset):
            return port
    raise RuntimeError("no free port pair found")


def wait_tcp(port: int, timeout: float = 30.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Poll every 5 ms until something accepts on 127.0.0.1:port."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not alive():
            raise RuntimeError(f"the process meant to listen on {port} exited")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.005)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


def event_loop_of(pid: int) -> str:
    """Which event loop a live process loaded: uvloop when its shared object is mapped."""
    return "uvloop" if "uvloop" in Path(f"/proc/{pid}/maps").read_text() else "asyncio"


def server_options() -> list[tuple[str, Any]]:
    """The grpc.aio server options pynacos uses with its default settings (pynacos.server.app.grpc_options)."""
    from pynacos.server.app import grpc_options
    from pynacos.server.settings import Settings

    return [(k, v) for k, v in grpc_options(Settings())]


def config_query_body(data_id: str, group: str) -> dict[str, Any]:
    return {"headers": {}, "dataId": data_id, "group": group, "tenant": "", "module": "config"}


def query_response_body(content: str, md5: str) -> dict[str, Any]:
    """A ConfigQueryResponse as pynacos answers it (the bare server's fixed answer has this shape and size)."""
    return {
        "resultCode": 200,
        "errorCode": 0,
        "content": content,
        "md5": md5,
        "lastModified": int(time.time() * 1000),
        "contentType": "text",
        "encryptedDataKey": "",
        "beta": False,
        "success": True,
    }


class EchoServer:
    """The baseline: `bench/grpc_echo.py`, a bare grpc.aio server with pynacos's options, in its own process."""

    def __init__(self, answer: dict[str, Any], prefix: Sequence[str] = (), log: Path | None = None) -> None:
        self.port = free_port_pair(0)
        self.answer = answer
        self.prefix = list(prefix)
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def target(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> None:
        command = [
            *self.prefix,
            PYTHON,
            str(BENCH_DIR / "grpc_echo.py"),
            "--port",
            str(self.port),
            "--answer",
            json.dumps(self.answer),
            "--options",
            json.dumps(server_options()),
        ]
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self._out = out
        self.proc = subprocess.Popen(command, stdout=out, stderr=out)
        wait_tcp(self.port, alive=lambda: self.proc is not None and self.proc.poll() is None)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None
        if self.log and getattr(self, "_out", None) is not None:
            self._out.close()

    def __enter__(self) -> EchoServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class SetupRefused(Exception):
    """The stream ended before the SetupAckRequest (connection limit, server starting)."""


def _noop(incoming: payload.Incoming, received: float) -> None:
    pass


class GrpcConn:
    """One registered connection: a channel of its own, its bi-stream, and raw-bytes unary calls.

    `on_push(incoming, received_at)` is called for every request pushed down the stream, with the
    `time.monotonic()` read as soon as the message was read (CLOCK_MONOTONIC: comparable across processes).
    With `deferred` (a list), the acks of ConfigChangeNotifyRequest are appended there as (conn, message)
    for the owner to send later with `send`, instead of being written at once.
    """

    def __init__(
        self,
        target: str,
        on_push: Callable[[payload.Incoming, float], None] = _noop,
        deferred: list[tuple[GrpcConn, Any]] | None = None,
    ) -> None:
        self.target = target
        self.on_push = on_push
        self.deferred = deferred
        self._writing = asyncio.Lock()
        self.channel: Any = None
        self.call: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.ended: str | None = None  # why the stream ended, when it did
        self.pushes: dict[str, int] = {}

    async def open(self, timeout: float = 10.0) -> None:
        self.channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
        self.raw = self.channel.unary_unary(UNARY)  # bytes in, bytes out: the client does no protobuf work
        stream = self.channel.stream_stream(
            STREAM, request_serializer=payload.serialize, response_deserializer=payload.Payload.FromString
        )
        self.call = stream()
        await self.call.write(payload.encode("ConnectionSetupRequest", SETUP))
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self.call.read()
                    if message is grpc.aio.EOF:
                        raise SetupRefused(f"stream ended before SetupAck: {await self.call.code()}")
                    if message.metadata.type == "SetupAckRequest":
                        break
        except grpc.RpcError as exc:
            raise SetupRefused(f"stream failed before SetupAck: {exc.code()}") from None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                message = await self.call.read()
                received = time.monotonic()
                if message is grpc.aio.EOF:
                    self.ended = f"stream ended: {await self.call.code()}"
                    return
                incoming = payload.parse(message)
                self.pushes[incoming.type] = self.pushes.get(incoming.type, 0) + 1
                request_id = incoming.body.get("requestId")
                ack = None
                if request_id is not None and incoming.type.endswith("Request"):
                    answer = {"resultCode": 200, "errorCode": 0, "requestId": request_id, "success": True}
                    ack = payload.encode(incoming.type[: -len("Request")] + "Response", answer)
                    if self.deferred is not None and incoming.type == "ConfigChangeNotifyRequest":
                        self.deferred.append((self, ack))
                        ack = None
                self.on_push(incoming, received)
                if ack is not None:
                    await self.send(ack)
        except grpc.RpcError as exc:
            self.ended = f"stream failed: {exc.code()}"
        except asyncio.CancelledError:
            raise

    async def send(self, message: Any) -> None:
        """Write one message up the stream (one write at a time)."""
        async with self._writing:
            await self.call.write(message)

    async def request(self, kind: str, body: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """A parsed unary request (for set-up and checks, not the measured loop)."""
        raw = await self.raw(payload.serialize(payload.encode(kind, {"headers": {}, **body})), timeout=timeout)
        return payload.decode(raw).body

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        if self.call is not None:
            self.call.cancel()
        if self.channel is not None:
            await self.channel.close()


async def open_many(
    target: str,
    count: int,
    on_push: Callable[[int], Callable[[payload.Incoming, float], None]],
    parallel: int = 50,
    deferred: list[tuple[GrpcConn, Any]] | None = None,
) -> list[GrpcConn]:
    """`count` registered connections, `parallel` set-ups at a time; conn i gets on_push(i)."""
    conns = [GrpcConn(target, on_push(i), deferred) for i in range(count)]
    gate = asyncio.Semaphore(parallel)

    async def one(conn: GrpcConn) -> None:
        async with gate:
            await conn.open()

    results = await asyncio.gather(*(one(c) for c in conns), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        raise RuntimeError(f"{len(failures)} of {count} connections failed to register; first: {failures[0]!r}")
    return conns


class Clients:
    """`processes` runs of bench/grpc_clients.py holding `total` connections between them (each stopped by
    "quit" on its stdin, or by itself after 240 s); their stdout lines are read as JSON."""

    def __init__(
        self,
        target: str,
        total: int,
        processes: int,
        prefix: list[str],
        log: Path,
        listen: Any,
        defer_acks: bool = False,
    ) -> None:
        self.target = target
        self.total = total
        self.processes = processes
        self.prefix = prefix
        self.log = log
        self.listen = listen
        self.defer_acks = defer_acks
        self.procs: list[subprocess.Popen[bytes]] = []
        self.readers: list[asyncio.StreamReader] = []
        self.finals: list[dict[str, Any]] = []

    async def start(self) -> float:
        """Spawn the processes (subprocess.Popen: vfork + exec, so gRPC's fork handlers never run in a
        child while this process has channels open) and wait until every one reports ready."""
        began = time.perf_counter()
        loop = asyncio.get_running_loop()
        share = [self.total // self.processes + (i < self.total % self.processes) for i in range(self.processes)]
        err = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self._err = err
        for count in share:
            command = [*self.prefix, PYTHON, "-X", "faulthandler", str(BENCH_DIR / "grpc_clients.py")]
            command += ["--target", self.target, "--connections", str(count), "--max-seconds", "240"]
            if self.listen:
                command += ["--listen", *self.listen]
            if self.defer_acks:
                command += ["--defer-acks"]
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
            reader = asyncio.StreamReader(limit=1 << 22)
            assert proc.stdout is not None
            await loop.connect_read_pipe(lambda r=reader: asyncio.StreamReaderProtocol(r), proc.stdout)  # type: ignore[misc]
            self.procs.append(proc)
            self.readers.append(reader)
        for record in await self.next_lines(120.0):
            if "ready" not in record:
                raise RuntimeError(f"client process did not get ready: {record}")
        return time.perf_counter() - began

    def cpu(self) -> float:
        """CPU seconds the client processes have used so far."""
        return sum(process_cpu_seconds(p.pid) for p in self.procs if p.poll() is None)

    async def next_lines(self, timeout: float) -> list[dict[str, Any]]:
        async def one(proc: subprocess.Popen[bytes], reader: asyncio.StreamReader) -> dict[str, Any]:
            line = await reader.readline()
            if not line:
                code = await asyncio.get_running_loop().run_in_executor(None, proc.wait)
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"client process exited ({code}); its log ends:\n{tail}")
            record: dict[str, Any] = json.loads(line)
            return record

        return await asyncio.wait_for(
            asyncio.gather(*(one(p, r) for p, r in zip(self.procs, self.readers, strict=True))), timeout
        )

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None and proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.stdin.write(b"quit\n")
                    proc.stdin.close()
        try:
            self.finals = [r for r in await self.next_lines(30.0) if "closed" in r]
        except (TimeoutError, RuntimeError) as exc:
            print(f"  WARNING: client processes did not report at the end: {exc!r}", file=sys.stderr)
        for proc in self.procs:
            stop_process(proc, terminate=False)
        self._err.close()

    def summary(self) -> str:
        ended = sum(r["ended"] for r in self.finals)
        pushes: dict[str, int] = {}
        for r in self.finals:
            for kind, n in r["pushes"].items():
                pushes[kind] = pushes.get(kind, 0) + n
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(pushes.items())) or "none"
        return f"pushes received: {kinds}; {ended} streams ended early"
