"""A real pynacos server for gRPC clients: its SDK gRPC port is the HTTP port + 1000 (protocol.md E.1).

`ServerProcess` picks an HTTP port whose port + 1000 is free too; a gRPC test must not start talking before the
gRPC port listens (the HTTP readiness probe says nothing about it).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.integration.server_process import ServerProcess, free_port

GRPC_OFFSET = 1000


def free_port_pair() -> int:
    """A free HTTP port whose gRPC port (+1000) is free as well (`free_port` already checks both)."""
    return free_port()


def grpc_port(server: ServerProcess) -> int:
    return server.port + GRPC_OFFSET


def wait_for_grpc(server: ServerProcess, timeout: float = 15.0) -> float:
    """Wait until the server's gRPC port accepts TCP connections; returns the seconds it took."""
    started = time.monotonic()
    port = grpc_port(server)
    while time.monotonic() - started < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.05)
    raise AssertionError(
        f"nothing listens on the gRPC port 127.0.0.1:{port} (HTTP port {server.port} + {GRPC_OFFSET}) "
        f"{timeout:.0f} s after the server was ready; server log tail:\n{server.log()[-3000:]}"
    )


def start_grpc_server(home: Path, properties: dict[str, str] | None = None) -> ServerProcess:
    """`pynacos server` on a port pair, started and with its gRPC port listening (stopped again if not)."""
    server = ServerProcess(home, properties, port=free_port_pair())
    server.start()
    try:
        wait_for_grpc(server)
    except BaseException:
        server.stop()
        raise
    return server
