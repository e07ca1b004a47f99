"""Nacos 3.x naming routes against a real server process: one registry, whatever API version wrote to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """Auth off in every scope (3.x guards `/v3/admin/**` by default)."""
    process = ServerProcess(tmp_path / "home", {"nacos.core.auth.admin.enabled": "false"})
    process.start()
    yield process
    process.stop()


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (0, "success"), body
    return body["data"]


def ips_v1(http: httpx.Client, service: str) -> list[str]:
    listing = http.get("/v1/ns/instance/list", params={"serviceName": service})
    assert listing.status_code == 200, listing.text
    return sorted(host["ip"] for host in listing.json()["hosts"])


def ips_v2(http: httpx.Client, service: str) -> list[str]:
    return sorted(
        host["ip"] for host in data(http.get("/v2/ns/instance/list", params={"serviceName": service}))["hosts"]
    )


def ips_v3(http: httpx.Client, service: str) -> tuple[list[str], list[str]]:
    """(admin list, client list) of the DEFAULT cluster."""
    admin = data(http.get("/v3/admin/ns/instance/list", params={"serviceName": service}))
    client = data(http.get("/v3/client/ns/instance/list", params={"serviceName": service}))
    return sorted(h["ip"] for h in admin), sorted(h["ip"] for h in client)


def test_instances_registered_over_v3_show_in_v1_and_v2_and_the_reverse(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as http:
        form = {"serviceName": "shop", "port": "8080"}
        assert data(http.post("/v3/admin/ns/instance", data={**form, "ip": "10.0.0.1"})) == "ok"
        assert data(http.post("/v3/client/ns/instance", data={**form, "ip": "10.0.0.2"})) == "ok"
        assert ips_v1(http, "shop") == ips_v2(http, "shop") == ["10.0.0.1", "10.0.0.2"]

        assert http.post("/v1/ns/instance", params={**form, "serviceName": "cart", "ip": "10.0.1.1"}).text == "ok"
        assert data(http.post("/v2/ns/instance", data={**form, "serviceName": "cart", "ip": "10.0.1.2"})) == "ok"
        assert ips_v3(http, "cart") == (["10.0.1.1", "10.0.1.2"], ["10.0.1.1", "10.0.1.2"])

        clients = data(http.get("/v3/admin/ns/client/list"))
        assert (
            clients
            == data(http.get("/v2/ns/client/list"))
            == sorted(f"{ip}:8080#true" for ip in ("10.0.0.1", "10.0.0.2", "10.0.1.1", "10.0.1.2"))
        )
        assert data(http.delete("/v3/client/ns/instance", params={**form, "ip": "10.0.0.2"})) == "ok"
        assert data(http.delete("/v3/admin/ns/instance", params={**form, "serviceName": "cart", "ip": "10.0.1.1"}))
        assert ips_v1(http, "shop") == ["10.0.0.1"]
        assert ips_v2(http, "cart") == ["10.0.1.2"]
