"""The console port (`nacos.console.port`) in a real server: a second listener in the same process that
serves the web console, `/v3/console/**` and `/v3/auth/**` at its root, and nothing of the SDK or admin API.

One server for the module (3.x defaults: core auth off, the console scope on); the last test stops it, so a
clean stop with two listeners is checked too.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.server_process import ServerProcess, free_port

pytestmark = pytest.mark.integration


CONSOLE_PORT = free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("console-port") / "home"
    main = free_port()
    while main in (CONSOLE_PORT, CONSOLE_PORT - 1000):  # neither the HTTP nor the gRPC port may be the console's
        main = free_port()
    process = ServerProcess(home, {"nacos.console.port": str(CONSOLE_PORT)}, port=main)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def console(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{CONSOLE_PORT}", timeout=10) as client:
        yield client


def test_the_console_is_at_the_root_of_the_console_port(console: httpx.Client) -> None:
    for path in ("/", "/index.html"):
        page = console.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    linked = re.findall(r'"(console-ui/[^"?]+\?v=[0-9a-f]{8})"', page.text)
    assert linked, page.text
    for reference in linked:
        asset = console.get("/" + reference)
        assert asset.status_code == 200, reference
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_the_console_api_and_open_state_are_there_and_nothing_else(
    server: ServerProcess, console: httpx.Client
) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as main:
        published = main.post("/v1/cs/configs", data={"dataId": "a", "group": "G", "content": "k: v"})
        assert published.text == "true"
        assert main.get("/v1/cs/configs", params={"dataId": "a", "group": "G"}).text == "k: v"
    state = console.get("/v3/console/server/state")
    assert state.status_code == 200, state.text
    assert state.json()["console_ui_enabled"] == "true"
    assert console.get("/v1/console/health/readiness").text == "OK"
    assert console.get("/v3/console/auth/health").status_code == 403  # the console scope needs a login here too
    for path in ("/v1/cs/configs", "/nacos/v1/cs/configs", "/v3/admin/cs/config", "/nacos/", "/v2/ns/instance/list"):
        assert console.get(path, params={"dataId": "a", "group": "G"}).status_code == 404, path


def test_the_main_port_still_serves_everything(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as main:
        assert main.get("/").headers["content-type"] == "text/html; charset=utf-8"
        assert main.get("/v3/console/server/state").status_code == 200


def test_both_ports_stop_cleanly(server: ServerProcess, console: httpx.Client) -> None:
    assert server.stop() == 0
    with pytest.raises(httpx.TransportError):
        console.get("/")


def test_a_console_port_in_use_stops_start_up(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = ServerProcess(tmp_path / "home", {"nacos.console.port": str(port)})
        with pytest.raises(RuntimeError, match="server exited with 3"):
            process.start()
    assert "the console port" in process.log() and "could not be opened" in process.log()
