"""nacos-sdk-python 3.x (the gRPC client, `from v2.nacos import ...`) in a virtualenv of its own.

The project's .venv pins nacos-sdk-python 2.0.11 (the HTTP client) and 3.x has the same distribution name,
so the two cannot share a virtualenv. `sdk3_python()` makes `<repo>/.cache/sdk3-venv` (untracked, like the
Node.js SDK's .cache/node-nacos) with the pinned SDK from PyPI on first use, under a file lock so that
parallel test processes build it once, and returns its interpreter. Scripts under `sdk3_scripts/` run with
it as subprocesses, talk to a real pynacos server over sockets and print JSON lines:
- `run_script` runs one to the end and returns its lines;
- `Sdk3Driver` keeps `sdk3_scripts/driver.py` running and sends it commands (see that file for the
  protocol): replies and events arrive in order, each stamped with the monotonic time it was read.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REQUIREMENT = "nacos-sdk-python==3.2.0"
VERSION = "3.2.0"
REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".cache" / "sdk3-venv"
LOCK = REPO / ".cache" / "sdk3-venv.lock"
STAMP = VENV / ".installed"
SCRIPTS = Path(__file__).parent / "sdk3_scripts"
DRIVER = SCRIPTS / "driver.py"
INSTALL_TIMEOUT = 900.0


class Sdk3Unavailable(Exception):
    """The SDK-3 virtualenv could not be made (no network to PyPI, pip failed, wrong version)."""


def _stamp_text() -> str:
    return f"{REQUIREMENT} python {sys.version_info.major}.{sys.version_info.minor}\n"


def _interpreter() -> Path:
    return VENV / "bin" / "python"


def _ready() -> bool:
    return _interpreter().exists() and STAMP.exists() and STAMP.read_text() == _stamp_text()


def _run(args: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=script_env())
    except subprocess.TimeoutExpired as exc:
        raise Sdk3Unavailable(f"{' '.join(args)} took over {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise Sdk3Unavailable(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def _build() -> None:
    """Build into a directory of this process's own, then rename it into place: a process that checks
    `_ready()` without the lock sees either no virtualenv or a whole one, never one half installed."""
    building = VENV.with_name(f"{VENV.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        _run([sys.executable, "-m", "venv", str(building)], 120)
        python = building / "bin" / "python"
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
        _run([*pip, "install", REQUIREMENT], INSTALL_TIMEOUT)
        probe = "import v2.nacos; print(v2.nacos.__version__)"
        done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=script_env())
        if done.stdout.strip() != VERSION:
            raise Sdk3Unavailable(f"installed v2.nacos reports {done.stdout.strip()!r} ({done.stderr[-2000:]})")
        (building / STAMP.name).write_text(_stamp_text())
        shutil.rmtree(VENV, ignore_errors=True)
        building.rename(VENV)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def sdk3_python() -> Path:
    """The SDK-3 interpreter; the first call builds the virtualenv (about a minute), later calls only check it."""
    if _ready():
        return _interpreter()
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _ready():
                _build()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _interpreter()


def script_env() -> dict[str, str]:
    """The environment without this virtualenv, Python path or any Nacos setting (the SDK reads `nacos_*`)."""
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.lower().startswith(("nacos", "pynacos"))}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _parse(lines: Iterator[str]) -> tuple[list[dict[str, Any]], list[str]]:
    messages: list[dict[str, Any]] = []
    other: list[str] = []
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            messages.append(parsed)
        elif line.strip():
            other.append(line)
    return messages, other


@dataclass
class ScriptRun:
    returncode: int
    messages: list[dict[str, Any]]
    other_stdout: list[str]
    stderr: str

    def context(self) -> str:
        return (
            f"\n--- exit code {self.returncode}; JSON lines ---\n{json.dumps(self.messages, indent=1)[-4000:]}"
            f"\n--- other stdout ---\n{''.join(self.other_stdout)[-2000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )


def run_script(script: Path, *args: str, cwd: Path, timeout: float = 60.0) -> ScriptRun:
    """Run `script` with the SDK-3 interpreter to its end (killed after `timeout`); its JSON stdout lines."""
    try:
        done = subprocess.run(
            [str(sdk3_python()), "-u", str(script), *args],
            cwd=cwd,
            env=script_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        messages, other = _parse(iter(stdout.splitlines()))
        return ScriptRun(-9, messages, other, stderr + f"\n[killed after {timeout:.0f} s]")
    messages, other = _parse(iter(done.stdout.splitlines()))
    return ScriptRun(done.returncode, messages, other, done.stderr)


@dataclass
class Message:
    """One JSON line from the driver and the monotonic time the test process read it."""

    body: dict[str, Any]
    at: float

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass
class Reply:
    op: str
    ok: bool
    value: Any
    error: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0

    @property
    def code(self) -> Any:
        return self.error.get("code")

    @property
    def message(self) -> str:
        return str(self.error.get("message", ""))


class Sdk3Driver:
    """`sdk3_scripts/driver.py` running with the SDK-3 interpreter, for one test to command.

    Use it as a context manager (or call `close`): closing stdin makes the driver shut its clients down and
    exit; `kill` ends it with SIGKILL instead, so nothing of the SDK's shutdown runs."""

    def __init__(self, settings: dict[str, Any], workdir: Path, ready_within: float = 60.0) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.messages: list[Message] = []
        self.other_stdout: list[str] = []
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self._stderr_path = workdir / "driver-stderr.log"
        self._stderr: IO[str] = self._stderr_path.open("w")
        settings = {"dir": str(workdir), **settings}
        self.process = subprocess.Popen(
            [str(sdk3_python()), "-u", str(DRIVER), json.dumps(settings)],
            cwd=workdir,
            env=script_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()
        if self.wait_event(lambda m: m.get("event") == "ready", ready_within) is None:
            self.kill()
            raise AssertionError(f"the SDK-3 driver did not start within {ready_within:.0f} s{self.context()}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            at = time.monotonic()
            try:
                body = json.loads(line)
            except ValueError:
                body = None
            with self._changed:
                if isinstance(body, dict):
                    self.messages.append(Message(body, at))
                else:
                    self.other_stdout.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> Sdk3Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def mark(self) -> int:
        """A cursor: `wait_event(..., since=mark)` only looks at what arrives after this call."""
        with self._changed:
            return len(self.messages)

    def _first(self, predicate: Callable[[Message], bool], since: int) -> Message | None:
        return next((m for m in self.messages[since:] if predicate(m)), None)

    def wait_event(self, predicate: Callable[[Message], bool], timeout: float, since: int = 0) -> Message | None:
        """The first message from index `since` on that matches, waiting up to `timeout` s; None if none came."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := self._first(predicate, since)) is None:
                left = deadline - time.monotonic()
                if left <= 0 or (not self.alive and not self._pump.is_alive()):
                    return None
                self._changed.wait(min(left, 0.5))
            return found

    def events(self, kind: str, since: int = 0) -> list[Message]:
        with self._changed:
            return [m for m in self.messages[since:] if m.get("event") == kind]

    def call(self, op: str, timeout: float = 30.0, **fields: Any) -> Reply:
        """Send one command and wait for its reply (the driver gives the SDK `timeout` s, the test 15 s more)."""
        ident = next(self._ids)
        command = {"id": ident, "op": op, "timeout": timeout, **fields}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        found = self.wait_event(lambda m: m.get("id") == ident, timeout + 15.0)
        if found is None:
            raise AssertionError(f"no reply to {command} within {timeout + 15.0:.0f} s{self.context()}")
        return Reply(op, bool(found.get("ok")), found.get("value"), found.get("error") or {}, found.at)

    def ok(self, op: str, timeout: float = 30.0, **fields: Any) -> Any:
        """`call`, asserting success; returns the reply's value."""
        reply = self.call(op, timeout, **fields)
        assert reply.ok, f"{op} {fields} failed: {reply.error}{self.context()}"
        return reply.value

    def close(self, timeout: float = 30.0) -> int:
        """Close stdin (the driver shuts its clients down and exits); SIGKILL after `timeout` s."""
        self._close_stdin()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = self.kill()
        self._finish()
        return code

    def kill(self) -> int:
        """SIGKILL: the OS closes the sockets, none of the SDK's shutdown runs."""
        if self.alive:
            self.process.kill()
        code = self.process.wait(10)
        self._close_stdin()
        self._finish()
        return code

    def _close_stdin(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()

    def _finish(self) -> None:
        self._pump.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()

    def sdk_logs(self) -> str:
        parts = []
        for path in sorted(self.workdir.glob("*/logs/*.log")):
            parts.append(f"--- {path.relative_to(self.workdir)} (tail) ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def context(self) -> str:
        with self._changed:
            recent = [m.body for m in self.messages[-40:]]
        stderr = self._stderr_path.read_text(errors="replace") if self._stderr_path.exists() else ""
        return (
            f"\n--- driver messages (last 40) ---\n{json.dumps(recent, ensure_ascii=False, indent=1)[-6000:]}"
            f"\n--- other driver stdout ---\n{''.join(self.other_stdout)[-1500:]}"
            f"\n--- driver stderr (tail) ---\n{stderr[-3000:]}\n{self.sdk_logs()}"
        )
