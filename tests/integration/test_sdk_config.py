"""nacos-sdk-python 2.0.11 (HTTP) against a real pynacos process over sockets."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import nacos
import pytest

from tests.integration.server_process import ServerProcess


def make_client(server: ServerProcess, tmp_path: Path, namespace: str = "") -> nacos.NacosClient:
    client = nacos.NacosClient(server.address, namespace=namespace, logDir=str(tmp_path / "sdk-logs"))
    client.set_options(snapshot_base=str(tmp_path / "snapshots"), failover_base=str(tmp_path / "failover"))
    return client


def test_publish_get_remove(server: ServerProcess, tmp_path: Path) -> None:
    client = make_client(server, tmp_path)
    assert client.publish_config("app.yaml", "DEFAULT_GROUP", "port: 8080", config_type="yaml") is True
    assert client.get_config("app.yaml", "DEFAULT_GROUP", no_snapshot=True) == "port: 8080"
    assert client.remove_config("app.yaml", "DEFAULT_GROUP") is True
    assert client.get_config("app.yaml", "DEFAULT_GROUP", no_snapshot=True) is None


def test_get_configs_lists_the_group(server: ServerProcess, tmp_path: Path) -> None:
    client = make_client(server, tmp_path)
    for name in ("a", "b"):
        client.publish_config(name, "G1", f"value {name}")
    found = client.get_configs(group="G1", no_snapshot=True)
    assert found["totalCount"] == 2
    assert sorted(item["dataId"] for item in found["pageItems"]) == ["a", "b"]


@pytest.mark.parametrize("namespace", ["", "public"])
def test_watcher_sees_a_change_within_3_seconds(server: ServerProcess, tmp_path: Path, namespace: str) -> None:
    """`public` spelled out too: the SDK matches the changed key against the tenant it sent."""
    client = make_client(server, tmp_path, namespace)
    client.publish_config("watched", "DEFAULT_GROUP", "v1")
    seen: list[str] = []
    changed = threading.Event()

    def on_change(event: dict[str, str]) -> None:
        seen.append(event["content"])
        changed.set()

    client.add_config_watcher("watched", "DEFAULT_GROUP", on_change)
    try:
        time.sleep(2.5)  # the SDK's poller starts and is held by the server
        published = time.monotonic()
        client.publish_config("watched", "DEFAULT_GROUP", "v2")
        assert changed.wait(10), "no callback"
        assert time.monotonic() - published < 3.0
        assert seen[-1] == "v2"
    finally:
        client.remove_config_watcher("watched", "DEFAULT_GROUP", on_change)


def test_namespaces_isolate_configs(server: ServerProcess, tmp_path: Path) -> None:
    for ns in ("dev", "prod"):
        response = httpx.post(
            server.base + "/v1/console/namespaces", data={"customNamespaceId": ns, "namespaceName": ns}
        )
        assert response.text == "true"
    dev, prod = make_client(server, tmp_path, "dev"), make_client(server, tmp_path / "p", "prod")
    assert dev.publish_config("db", "DEFAULT_GROUP", "dev-db") is True
    assert prod.publish_config("db", "DEFAULT_GROUP", "prod-db") is True
    assert dev.get_config("db", "DEFAULT_GROUP", no_snapshot=True) == "dev-db"
    assert prod.get_config("db", "DEFAULT_GROUP", no_snapshot=True) == "prod-db"
    public = make_client(server, tmp_path / "pub")
    assert public.get_config("db", "DEFAULT_GROUP", no_snapshot=True) is None


@pytest.mark.parametrize("stop", ["kill", "term"])
def test_acknowledged_writes_survive_a_stop(tmp_path: Path, stop: str) -> None:
    server = ServerProcess(tmp_path / "home")
    server.start()
    with httpx.Client(base_url=server.base) as http:
        for i in range(50):
            response = http.post("/v1/cs/configs", data={"dataId": f"d{i}", "group": "g", "content": f"c{i}"})
            assert response.text == "true"
    if stop == "kill":
        server.kill()
    else:
        assert server.stop() == 0
    server.start()
    try:
        with httpx.Client(base_url=server.base) as http:
            for i in range(50):
                assert http.get("/v1/cs/configs", params={"dataId": f"d{i}", "group": "g"}).text == f"c{i}"
    finally:
        server.stop()


def test_kill_9_during_publishes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """Publish as fast as possible from threads, kill -9 mid-stream: every `true` is still there."""
    server = ServerProcess(tmp_path / "home")
    server.start()
    acknowledged: dict[str, str] = {}
    stop = threading.Event()

    def publisher(worker: int) -> None:
        with httpx.Client(base_url=server.base, timeout=5) as http:
            for i in range(100_000):
                if stop.is_set():
                    return
                data_id, content = f"w{worker}-{i % 50}", f"v{i}"
                try:
                    response = http.post("/v1/cs/configs", data={"dataId": data_id, "group": "g", "content": content})
                except httpx.HTTPError:
                    return
                if response.text == "true":
                    acknowledged[data_id] = content

    threads = [threading.Thread(target=publisher, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(acknowledged) > 20
    server.start()
    try:
        with httpx.Client(base_url=server.base) as http:
            for data_id, content in acknowledged.items():
                stored = http.get("/v1/cs/configs", params={"dataId": data_id, "group": "g"}).text
                # a write may land after its ack was lost in the kill, never the other way round
                assert int(stored.removeprefix("v")) >= int(content.removeprefix("v")), data_id
    finally:
        server.stop()
