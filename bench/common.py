"""Shared helpers for the benchmark scripts: server processes, readiness, a tiny HTTP/1.1 client, stats.

Everything here talks to 127.0.0.1 only. Each server started through `Server` is stopped (SIGTERM,
then SIGKILL) when its `with` block ends, and every temporary home is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import math
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
CONTEXT = "/nacos"
READINESS = CONTEXT + "/v1/console/health/readiness"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def raise_fd_limit(wanted: int = 8192) -> None:
    """Held long polls need one socket each on both sides; children inherit the raised soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pinning(other: str = "load generator") -> tuple[list[str], list[str], str]:
    """taskset prefixes for (server, load generator): different cores when taskset and 2+ cores exist."""
    cores = cpus()
    if shutil.which("taskset") and len(cores) >= 2:
        return (
            ["taskset", "-c", str(cores[0])],
            ["taskset", "-c", str(cores[1])],
            f"server on core {cores[0]}, {other} on core {cores[1]} (taskset)",
        )
    return [], [], "no pinning (taskset missing or fewer than 2 cores)"


def stop_process(proc: subprocess.Popen[bytes], terminate: bool = True) -> None:
    """SIGTERM (unless it is ending by itself), 10 s to go, then SIGKILL."""
    if proc.poll() is not None:
        return
    if terminate:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def rss_kib(pid: int) -> int:
    """VmRSS of a live process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    """Status of one GET, or None when nothing answers yet."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


class Server:
    """One server process (pynacos or the bare app) in its own temporary home, stopped on exit."""

    def __init__(
        self,
        kind: str,
        *,
        port: int | None = None,
        home: Path | None = None,
        properties: dict[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        if kind not in ("pynacos", "bare", "bare-shaped"):
            raise ValueError(kind)
        self.kind = kind
        self.port = port or free_port()
        self._own_home = home is None
        self.home = home or Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
        self.properties = properties or {}
        self.prefix = list(prefix)
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0
        self.ready_at = 0.0

    @property
    def ready_path(self) -> str:
        return READINESS if self.kind == "pynacos" else "/"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        if self.kind == "pynacos":
            return [PYTHON, "-m", "pynacos", "server", "--home", str(self.home), "--port", str(self.port)]
        shaped = ["--shaped"] if self.kind == "bare-shaped" else []
        return [PYTHON, str(BENCH_DIR / "bare_app.py"), "--port", str(self.port), *shaped]

    def start(self, ready_timeout: float = 30.0) -> float:
        """Spawn, poll readiness every 5 ms; returns seconds from spawn to the first 200."""
        if self.properties:
            conf = self.home / "conf"
            conf.mkdir(parents=True, exist_ok=True)
            lines = [f"{k}={v}" for k, v in self.properties.items()]
            (conf / "application.properties").write_text("\n".join(lines) + "\n")
        log = open(self.home / f"{self.kind}-{self.port}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.spawned_at = time.perf_counter()
        self.proc = subprocess.Popen([*self.prefix, *self.command()], stdout=log, stderr=log, cwd=self.home)
        deadline = self.spawned_at + ready_timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}; see {log.name}")
            if http_status(self.port, self.ready_path, timeout=0.5) == 200:
                self.ready_at = time.perf_counter()
                return self.ready_at - self.spawned_at
            time.sleep(0.005)
        raise RuntimeError(f"{self.kind} not ready within {ready_timeout}s; see {log.name}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        self.stop()
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.cleanup()


@contextlib.contextmanager
def temp_home(prefix: str = "bench-home-") -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class HttpConn:
    """A minimal keep-alive HTTP/1.1 client over asyncio streams (cheaper and more exact than httpx).

    It understands only what these servers send: a status line, headers, and a Content-Length body.
    """

    def __init__(self, port: int, host: str = HOST) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None

    def _head(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def send(self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        if self.writer is None:
            await self.connect()
        assert self.writer is not None
        self.writer.write(self._head(method, target, headers or {}, body))
        await self.writer.drain()

    async def receive(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    async def request(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        await self.send(method, target, headers, body)
        return await self.receive()

    async def form(self, target: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> bytes:
        """POST an urlencoded form; returns the body of a 200 answer (anything else raises)."""
        all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        status, body = await self.request("POST", target, all_headers, urlencode(fields).encode())
        if status != 200:
            raise RuntimeError(f"POST {target} answered {status}: {body[:200]!r}")
        return body


async def publish(conn: HttpConn, data_id: str, group: str, content: str) -> None:
    body = await conn.form(CONTEXT + "/v1/cs/configs", {"dataId": data_id, "group": group, "content": content})
    if body != b"true":
        raise RuntimeError(f"publish {data_id} answered {body!r}")


def source_note() -> str:
    """Which pynacos the servers will import (PYTHONPATH can point at a snapshot), and its git state."""
    probe = "import pynacos, pathlib; print(pynacos.__version__, pathlib.Path(pynacos.__file__).parent)"
    out = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    version, where = out[0], Path(out[1])
    note = f"pynacos {version} from {where}"
    if where.is_relative_to(REPO) and shutil.which("git"):
        git = ["git", "-C", str(REPO)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True, text=True).stdout.strip()
        note += f" (commit {commit}{', with uncommitted changes in src/' if dirty else ''})"
    return note


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_busy_seconds() -> float:
    """Busy time of all CPUs since boot (user+nice+system+irq+softirq), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / _TICK


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one live process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class CpuWatch:
    """CPU used during a measurement by the server, by this script and its finished children (the
    load generator, servers already stopped), and by everything else on the machine (other users'
    work makes figures noisy)."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.server = 0.0

    def __enter__(self) -> CpuWatch:
        self._wall = time.perf_counter()
        self._busy = _cpu_busy_seconds()
        self._server = process_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        self._own = sum(os.times()[:4])
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.wall = time.perf_counter() - self._wall
        if self.server_pid:
            self.server = process_cpu_seconds(self.server_pid) - self._server
        own = sum(os.times()[:4]) - self._own
        self.foreign = max(0.0, _cpu_busy_seconds() - self._busy - self.server - own)

    def foreign_note(self) -> str:
        share = self.foreign / self.wall if self.wall else 0.0
        note = f"other processes used {share:.2f} of a core meanwhile"
        return note + (" (busy machine: figures are noisy)" if share > 0.1 else "")


def wait_for_quiet(max_wait: float, threshold: float = 0.2, window: float = 2.0) -> str:
    """Wait (at most `max_wait` s) for a `window` in which other processes use under `threshold` of a core.

    Call it before starting any server: then all busy CPU time but this script's own is someone else's.
    """
    if max_wait <= 0:
        return "did not wait for a quiet machine"
    began = time.perf_counter()
    share = float("inf")
    while True:
        busy, own, wall = _cpu_busy_seconds(), sum(os.times()[:4]), time.perf_counter()
        time.sleep(window)
        own_used = sum(os.times()[:4]) - own
        share = max(0.0, _cpu_busy_seconds() - busy - own_used) / (time.perf_counter() - wall)
        waited = time.perf_counter() - began
        if share < threshold:
            return f"machine quiet after {waited:.0f} s (other processes used {share:.2f} core)"
        if waited >= max_wait:
            return f"machine still busy after {waited:.0f} s (other processes used {share:.2f} core); went on"


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run the benchmark's own client side on uvloop when installed (it is, with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
