"""A real pynacos server for gRPC clients: its SDK gRPC port is the HTTP port + 1000 (protocol.md E.1).

`ServerProcess` picks its HTTP port with `free_port()`; a gRPC test also needs that port + 1000 to be free,
and must not start talking before the gRPC port listens (the HTTP readiness probe says nothing about it).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.integration.server_process import ServerProcess, free_port

GRPC_OFFSET = 1000


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A free HTTP port whose gRPC port (+1000) is free as well."""
    for _ in range(200):
        port = free_port()
        if port + GRPC_OFFSET <= 65535 and _bindable(port + GRPC_OFFSET):
            return port
    raise RuntimeError("no free port P with P + 1000 free after 200 tries")


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
