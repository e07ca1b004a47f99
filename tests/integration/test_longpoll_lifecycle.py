"""Held long polls over real sockets: a client that leaves frees its slot; shutdown answers them."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import httpx

from tests.integration.server_process import ServerProcess

BODY = b"Listening-Configs=a%02DEFAULT_GROUP%02%02%01"


def held_request(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: 127.0.0.1\r\nLong-Pulling-Timeout: 30000\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    sock.sendall(head + BODY)
    return sock


def held_count(server: ServerProcess) -> float:
    text = httpx.get(server.base + "/actuator/prometheus").text
    match = re.search(r"^pynacos_config_listeners (\S+)$", text, re.M)
    assert match
    return float(match.group(1))


def wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_client_that_disconnects_releases_its_held_poll(server: ServerProcess) -> None:
    sock = held_request(server)
    assert wait_for(lambda: held_count(server) == 1.0, 5)
    sock.close()
    assert wait_for(lambda: held_count(server) == 0.0, 3)


def test_shutdown_answers_held_polls_with_no_change_at_once(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home")
    server.start()
    answers: list[bytes] = []
    sock = held_request(server)

    def read() -> None:
        answers.append(sock.recv(4096))

    reader = threading.Thread(target=read)
    reader.start()
    assert wait_for(lambda: held_count(server) == 1.0, 5)
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 3.0
    reader.join(5)
    sock.close()
    assert answers and answers[0].startswith(b"HTTP/1.1 200")
