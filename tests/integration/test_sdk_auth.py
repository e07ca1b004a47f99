"""nacos-sdk-python 2.0.11 against pynacos with auth on, over real sockets."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nacos
import pytest

from tests.integration.server_process import ServerProcess

KEY = base64.b64encode(bytes(range(50, 90))).decode()
ADMIN_PASSWORD = "Admin-Passw0rd!"
USER_PASSWORD = "User-Passw0rd!"


def start_auth_server(home: Path, **extra: str) -> ServerProcess:
    props = {
        "nacos.core.auth.enabled": "true",
        "nacos.core.auth.plugin.nacos.token.secret.key": KEY,
        **extra,
    }
    server = ServerProcess(home, props)
    server.start()
    with httpx.Client(base_url=server.base) as http:
        assert http.post("/v1/auth/users/admin", data={"password": ADMIN_PASSWORD}).status_code == 200
        token = http.post("/v1/auth/login", data={"username": "nacos", "password": ADMIN_PASSWORD}).json()[
            "accessToken"
        ]
        auth = {"accessToken": token}
        for ns in ("dev", "prod"):
            http.post("/v1/console/namespaces", params=auth, data={"customNamespaceId": ns, "namespaceName": ns})
        http.post("/v1/auth/users", params={**auth, "username": "u1", "password": USER_PASSWORD})
        http.post("/v1/auth/roles", params={**auth, "role": "dev-rw", "username": "u1"})
        response = http.post(
            "/v1/auth/permissions", params={**auth, "role": "dev-rw", "resource": "dev:*:*", "action": "rw"}
        )
        assert response.json()["data"] == "add permission ok!"
    return server


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_auth_server(tmp_path / "home")
    yield server
    server.stop()


def sdk(server: ServerProcess, tmp_path: Path, namespace: str, password: str = USER_PASSWORD) -> nacos.NacosClient:
    client = nacos.NacosClient(
        server.address, namespace=namespace, username="u1", password=password, logDir=str(tmp_path / "logs")
    )
    client.set_options(snapshot_base=str(tmp_path / f"snap-{namespace}"), failover_base=str(tmp_path / "fo"))
    return client


def test_user_with_rw_on_one_namespace(auth_server: ServerProcess, tmp_path: Path) -> None:
    dev = sdk(auth_server, tmp_path, "dev")
    assert dev.publish_config("app", "DEFAULT_GROUP", "dev-value") is True
    assert dev.get_config("app", "DEFAULT_GROUP", no_snapshot=True) == "dev-value"
    prod = sdk(auth_server, tmp_path, "prod")
    with pytest.raises(nacos.exception.NacosException):
        prod.get_config("app", "DEFAULT_GROUP", no_snapshot=True)
    with pytest.raises(nacos.exception.NacosException):
        prod.publish_config("app", "DEFAULT_GROUP", "nope")


def test_watch_works_with_auth(auth_server: ServerProcess, tmp_path: Path) -> None:
    import threading

    dev = sdk(auth_server, tmp_path, "dev")
    dev.publish_config("w", "DEFAULT_GROUP", "v1")
    changed = threading.Event()

    def on_change(event: dict[str, str]) -> None:
        changed.set()

    dev.add_config_watcher("w", "DEFAULT_GROUP", on_change)
    try:
        time.sleep(2)
        dev.publish_config("w", "DEFAULT_GROUP", "v2")
        assert changed.wait(10)
    finally:
        # The SDK's poller thread outlives the server otherwise and keeps dialling a closed port.
        dev.remove_config_watcher("w", "DEFAULT_GROUP", on_change)


def test_short_token_ttl_never_shows_the_client_a_403(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Token lifetime 20 s, calls for 90 s: the SDK refreshes before expiry and no call is refused."""
    server = start_auth_server(tmp_path / "home", **{"nacos.core.auth.plugin.nacos.token.expire.seconds": "20"})
    try:
        client = sdk(server, tmp_path, "dev")
        client.publish_config("ttl", "DEFAULT_GROUP", "v0")
        caplog.set_level(logging.WARNING, logger="nacos")
        deadline = time.monotonic() + 90
        calls = 0
        while time.monotonic() < deadline:
            assert client.get_config("ttl", "DEFAULT_GROUP", no_snapshot=True) == "v0"
            calls += 1
            time.sleep(1.5)
        assert calls > 50
        assert "403" not in caplog.text
        assert "Forbidden" not in server.log()
    finally:
        server.stop()
