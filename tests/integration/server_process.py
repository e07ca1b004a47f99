"""A real pynacos server in a child process on a free loopback port (what integration tests use)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A free HTTP port whose gRPC port (+1000, the server's default offset) is free too."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 1000 <= 65535 and _bindable(port + 1000):
            return port
    raise RuntimeError("no free port P with P + 1000 free after 200 tries")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class ServerProcess:
    """`python -m pynacos server --home HOME --port PORT`, waited on until ready."""

    def __init__(self, home: Path, properties: dict[str, str] | None = None, port: int | None = None) -> None:
        self.home = home
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        conf = home / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        lines = [f"{k}={v}" for k, v in (properties or {}).items()]
        (conf / "application.properties").write_text("\n".join(lines) + "\n")
        self.log_path = home / "server.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/nacos"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> float:
        """Start and wait for readiness; returns the seconds it took."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NACOS_", "PYNACOS_"))}
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pynacos", "server", "--home", str(self.home), "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log()}")
            try:
                if httpx.get(self.base + "/v1/console/health/readiness", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout}s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> int:
        """SIGTERM and wait: the clean shutdown path."""
        if self.process is None:
            return 0
        self.process.terminate()
        code = self.process.wait(15)
        self.process = None
        return code
