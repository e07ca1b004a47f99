"""The ops routes of Nacos 1.x/2.x/3.x: log levels, the config local cache, the absent Derby paths, config client
metrics and the loader resets, the last two against real gRPC connections."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import update

from pynacos.server.app import NacosApp
from pynacos.server.events import ConfigChanged
from pynacos.server.settings import Settings
from pynacos.server.storage.tables import config_info
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login
from tests.server.grpc_support import GrpcTestClient, answer_metrics
from tests.server.naming.auth_setup import app_with_user
from tests.server.support import publish

CORE = "/v3/admin/core"
CS = "/v3/admin/cs"
WATCHED = ("pynacos", "pynacos.auth", "pynacos.grpc", "pynacos.naming", "pynacos.storage")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=str(tmp_path), auth_admin_enabled=False)


@pytest.fixture(autouse=True)
def restore_levels() -> Iterator[None]:
    """Log levels are process-wide: put back what the tests change."""
    saved = {name: logging.getLogger(name).level for name in WATCHED}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[NacosApp, int]]:
    app = await started(settings)
    port = await app.start_grpc(port=0)
    yield app, port
    await app.stop()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["code", "message", "data"] and (body["code"], body["message"]) == (0, "success")
    return body["data"]


def failed(response: httpx.Response, status: int, code: int, data: str) -> None:
    assert response.status_code == status, response.text
    message = {10000: "parameter missing", 20002: "parameter validate error", 20004: "resource not found"}
    assert response.json() == {"code": code, "message": message.get(code, "server error"), "data": data}


def level(name: str) -> int:
    return logging.getLogger(name).level


# -- log levels --------------------------------------------------------------------------------------------


async def test_log_levels_in_every_generation(client: httpx.AsyncClient) -> None:
    core = {"logName": "core-auth", "logLevel": "debug"}
    assert ok(await client.put(f"{CORE}/ops/log", json=core)) is None
    assert level("pynacos.auth") == logging.DEBUG
    assert ok(await client.put(f"{CS}/ops/log", data={"logName": "config-dump", "logLevel": "WARN"})) == (
        "Log level updated successfully! Module: config-dump, Log Level: WARN"
    )
    assert level("pynacos.storage") == logging.WARNING
    assert ok(await client.put("/v3/admin/ns/ops/log", data={"logName": "pynacos.naming", "logLevel": "ERROR"})) == "ok"
    assert level("pynacos.naming") == logging.ERROR
    v2 = await client.put("/v2/core/ops/log", json={"logName": "pynacos.grpc", "logLevel": "INFO"})
    assert v2.json() == {"code": 200, "message": None, "data": None} and level("pynacos.grpc") == logging.INFO
    for path, answer in (("/v1/core/ops/log", "200"), ("/v1/cs/ops/log", "200"), ("/v1/ns/operator/log", "ok")):
        response = await client.put(path, data={"logName": "core-auth", "logLevel": "info"})
        assert (response.status_code, response.text) == (200, answer)
    assert level("pynacos.auth") == logging.INFO
    assert (await client.put("/v1/ns/ops/log", data={"logName": "core", "logLevel": "OFF"})).text == "ok"
    assert level("pynacos.server") > logging.CRITICAL


async def test_unknown_log_names_and_levels_change_nothing(client: httpx.AsyncClient) -> None:
    before = level("pynacos.auth")
    for name in ("sqlalchemy.engine", "uvicorn.error", "pynacos.nothing.here", "core-raft", "root"):
        response = await client.put(f"{CORE}/ops/log", json={"logName": name, "logLevel": "DEBUG"})
        assert response.status_code == 400 and f"unknown logName '{name}'" in response.json()["data"]
    assert "pynacos.nothing.here" not in logging.root.manager.loggerDict  # no logger made for a refused name
    failed(
        await client.put(f"{CS}/ops/log", data={"logName": "core-auth", "logLevel": "LOUD"}),
        400,
        20002,
        "unknown logLevel 'LOUD': use one of ALL, TRACE, DEBUG, INFO, WARN, WARNING, ERROR, OFF",
    )
    missing = await client.put(f"{CS}/ops/log", data={"logName": "core-auth"})
    assert missing.status_code == 400 and missing.json()["code"] == 10000
    shape = await client.put(f"{CORE}/ops/log", content=b"[1]", headers={"content-type": "application/json"})
    assert shape.status_code == 400
    text = await client.put("/v1/core/ops/log", data={"logName": "nope", "logLevel": "DEBUG"})
    assert text.status_code == 400 and text.text.startswith("caused: unknown logName 'nope'")
    assert level("pynacos.auth") == before


# -- local cache and Derby ------------------------------------------------------------------------------------


async def test_local_cache_reads_the_database_again_and_tells_listeners(
    app: NacosApp, client: httpx.AsyncClient
) -> None:
    assert await publish(client, "a", content="one", group="G") == "200 true"
    assert await publish(client, "b", content="same", group="G") == "200 true"
    async with app.configs.store.engine.begin() as conn:  # a change made behind the server's back
        await conn.execute(update(config_info).where(config_info.c.data_id == "a").values(content="two", md5="x"))
    assert (await client.get("/v1/cs/configs", params={"dataId": "a", "group": "G"})).text == "one"
    told: list[ConfigChanged] = []
    app.bus.subscribe(ConfigChanged, told.append)
    assert ok(await client.post(f"{CS}/ops/localCache")) == "Local cache updated from store successfully!"
    assert (await client.get("/v1/cs/configs", params={"dataId": "a", "group": "G"})).text == "two"
    assert [event.key.data_id for event in told] == ["a"]
    v1 = await client.post("/v1/cs/ops/localCache")
    assert (v1.status_code, v1.text) == (200, "200")
    assert len(told) == 1  # nothing changed since


async def test_derby_paths_do_not_exist(client: httpx.AsyncClient) -> None:
    """security.md §1: those paths ran SQL (CVE-2021-29442) and SQL scripts in Nacos; here they are not routed."""
    paths = [("GET", f"{CS}/ops/derby"), ("POST", f"{CS}/ops/derby/import")]
    paths += [("GET", "/v1/cs/ops/derby"), ("POST", "/v1/cs/ops/data/removal")]
    for method, path in paths:
        response = await client.request(method, path, params={"sql": "select * from users"})
        assert response.status_code == 404, path


# -- client metrics (gRPC) --------------------------------------------------------------------------------------


async def test_config_metrics_ask_the_clients_connections(served: tuple[NacosApp, int]) -> None:
    app, port = served
    client = GrpcTestClient(port)
    await client.connect()
    client.ack = False
    try:
        async with asgi_client(app) as http:
            query = {"ip": "127.0.0.1", "dataId": "a", "groupName": "G", "namespaceId": "dev"}
            metrics = {"a+G+dev": {"md5": "0cc175b9c0f1b6a831c399e269772661"}}
            response, asked = await asyncio.gather(
                http.get(f"{CS}/metrics/ip", params=query), answer_metrics(client, metrics)
            )
            assert ok(response) == metrics
            assert asked.body["metricsKeys"] == [
                {"type": "cacheData", "key": "a+G+dev"},
                {"type": "snapshotData", "key": "a+G+dev"},
            ]
            whole = {"all": 1}
            cluster, _ = await asyncio.gather(
                http.get(f"{CS}/metrics/cluster", params={"ip": "127.0.0.1"}), answer_metrics(client, whole)
            )
            assert ok(cluster) == whole
            v1, _ = await asyncio.gather(
                http.get("/v1/cs/metrics/current", params={"ip": "127.0.0.1", "dataId": "a", "group": "G"}),
                answer_metrics(client, whole),
            )
            assert v1.json() == whole  # 2.x: the bare map
            assert ok(await http.get(f"{CS}/metrics/ip", params={"ip": "10.9.9.9"})) == {}
            failed(
                await http.get(f"{CS}/metrics/ip", params={"ip": "host"}),
                400,
                20002,
                "ip must be an IP address, not 'host'",
            )
            missing = await http.get(f"{CS}/metrics/ip")
            assert missing.status_code == 400 and missing.json()["code"] == 10000
    finally:
        await client.close()


# -- loader (gRPC) ----------------------------------------------------------------------------------------------


async def wait_closed(client: GrpcTestClient) -> None:
    for _ in range(200):
        if client.stream_error is not None:
            break
        await asyncio.sleep(0.05)
    assert client.stream_error is not None and client.stream_error.code() == grpc.StatusCode.UNAVAILABLE


async def test_reload_client_resets_one_connection(served: tuple[NacosApp, int]) -> None:
    app, port = served
    first, second = GrpcTestClient(port), GrpcTestClient(port)
    await first.connect()
    [first_id] = app.connections.registered
    await second.connect()
    [second_id] = set(app.connections.registered) - {first_id}
    try:
        async with asgi_client(app) as http:
            form = {"connectionId": first_id, "redirectAddress": "10.0.0.9:8848"}
            assert ok(await http.post(f"{CORE}/loader/reloadClient", data=form)) is None
            reset = await first.wait_push("ConnectResetRequest", timeout=10)
            assert (reset.body["serverIp"], reset.body["serverPort"], reset.body["connectionId"]) == (
                "10.0.0.9",
                "8848",
                first_id,
            )
            await wait_closed(first)
            assert list(app.connections.registered) == [second_id]
            assert list(ok(await http.get(f"{CORE}/loader/current"))) == [second_id]
            assert not [p for p in second.pushes if p.type == "ConnectResetRequest"]
            failed(
                await http.post(f"{CORE}/loader/reloadClient", data={"connectionId": "nope"}),
                404,
                20004,
                "connectionId [ nope ] not exist",
            )
            bad = await http.post(
                f"{CORE}/loader/reloadClient", data={"connectionId": second_id, "redirectAddress": "x"}
            )
            assert bad.status_code == 400 and "redirectAddress must be host:port" in bad.json()["data"]
            assert list(app.connections.registered) == [second_id]  # refused: nothing reset
    finally:
        await first.close()
        await second.close()


async def test_reload_current_keeps_count_connections(served: tuple[NacosApp, int]) -> None:
    app, port = served
    clients = [GrpcTestClient(port) for _ in range(3)]
    for client in clients:
        await client.connect()
    try:
        async with asgi_client(app) as http:
            failed(
                await http.post(f"{CORE}/loader/reloadCurrent"),
                400,
                10000,
                "Required request parameter 'count' for method parameter type int is not present",
            )
            failed(
                await http.post(f"{CORE}/loader/reloadCurrent", data={"count": "-1"}),
                400,
                20002,
                "count must be 0 or more, not -1",
            )
            assert len(app.connections.registered) == 3
            assert ok(await http.post(f"{CORE}/loader/reloadCurrent", data={"count": "1"})) is None
            for client in clients[1:]:
                reset = await client.wait_push("ConnectResetRequest", timeout=10)
                assert "serverIp" not in reset.body  # no redirect: the client picks a server
                await wait_closed(client)
            assert len(app.connections.registered) == 1 and clients[0].stream_error is None
            v2 = await http.get("/v2/core/loader/reloadCurrent", params={"count": "0"})
            assert (v2.status_code, v2.text) == (200, "success")
            await wait_closed(clients[0])
            assert not app.connections.registered
    finally:
        for client in clients:
            await client.close()


async def test_smart_reload_and_load_figures_of_a_single_node(served: tuple[NacosApp, int]) -> None:
    app, port = served
    client = GrpcTestClient(port)
    await client.connect()
    try:
        async with asgi_client(app) as http:
            assert ok(await http.post(f"{CORE}/loader/smartReloadCluster")) is None
            assert ok(await http.post(f"{CORE}/loader/smartReloadCluster", data={"loaderFactor": "0.5"})) is None
            failed(
                await http.post(f"{CORE}/loader/smartReloadCluster", data={"loaderFactor": "2"}),
                400,
                20002,
                "loaderFactor must be a number from 0 to 1, not '2'",
            )
            assert (await http.get("/v2/core/loader/smartReloadCluster")).text == "Ok"
            assert app.connections.registered and not [p for p in client.pushes if p.type == "ConnectResetRequest"]
            figures = ok(await http.get(f"{CORE}/loader/cluster"))
            [node] = figures.pop("detail")
            assert list(node) == ["address", "sdkConCount", "conCount", "load", "cpu"]
            assert (node["address"], node["sdkConCount"], node["conCount"]) == (f"127.0.0.1:{app.settings.port}", 1, 1)
            assert float(node["load"]) >= 0 and 0 <= float(node["cpu"]) <= 1
            assert figures == {
                "memberCount": 1,
                "metricsCount": 1,
                "completed": True,
                "max": 1,
                "min": 1,
                "avg": 1,
                "threshold": "1.1",
                "total": 1,
            }
            v2 = (await http.get("/v2/core/loader/cluster")).json()
            assert v2["detail"][0]["metric"]["sdkConCount"] == "1" and v2["threshold"] == 1.1
    finally:
        await client.close()


# -- auth -------------------------------------------------------------------------------------------------------


async def test_ops_routes_need_an_admin(tmp_path: Path) -> None:
    """Client and admin scopes on: no token and a user with rw on a namespace are refused, the admin passes."""
    app = await app_with_user(tmp_path, "dev:*:*", "rw")
    try:
        async with asgi_client(app) as client:
            user = {"accessToken": await login(client, "u1", USER_PASSWORD)}
            admin = {"accessToken": await login(client, "nacos", ADMIN_PASSWORD)}
            log = {"logName": "core-auth", "logLevel": "ERROR"}
            calls = [
                ("PUT", f"{CS}/ops/log", log),
                ("PUT", "/v1/core/ops/log", log),
                ("PUT", "/v1/ns/operator/log", log),
                ("POST", f"{CS}/ops/localCache", {}),
                ("POST", "/v1/cs/ops/localCache", {}),
                ("GET", f"{CS}/metrics/ip", {"ip": "127.0.0.1"}),
                ("GET", "/v1/cs/metrics/current", {"ip": "127.0.0.1"}),
                ("POST", f"{CORE}/loader/smartReloadCluster", {}),
                ("POST", f"{CORE}/loader/reloadCurrent", {"count": "5"}),
                ("GET", "/v2/core/loader/reloadCurrent", {"count": "5"}),
                ("GET", f"{CORE}/loader/cluster", {}),
            ]
            before = level("pynacos.auth")
            for method, path, params in calls:
                anonymous = await client.request(method, path, params=params)
                assert anonymous.status_code == 403 and anonymous.json()["path"] == "/nacos" + path, path
                refused = await client.request(method, path, params={**params, **user})
                assert refused.status_code == 403 and "authorization failed!" in refused.json()["message"], path
            assert level("pynacos.auth") == before
            for method, path, params in calls:
                status = (await client.request(method, path, params={**params, **admin})).status_code
                assert status == 200, path
            assert level("pynacos.auth") == logging.ERROR
    finally:
        await app.stop()


async def test_routes_absent_by_design_answer_404(client: httpx.AsyncClient) -> None:
    """The AI registry, and the Raft, id-generator and cluster-membership writes of a Nacos cluster."""
    for method, path in (
        ("GET", "/v3/admin/ai/mcp/list"),
        ("POST", "/v3/admin/ai/mcp"),
        ("GET", "/v3/client/ai/mcp"),
        ("GET", "/v3/console/ai/mcp/list"),
        ("POST", f"{CORE}/ops/raft"),
        ("GET", f"{CORE}/ops/ids"),
        ("GET", "/v2/core/ops/ids"),
        ("GET", "/v1/core/ops/idInfo"),
        ("PUT", f"{CORE}/cluster/lookup"),
        ("GET", f"{CORE}/cluster/node/self/health"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 404, path
        assert response.json()["status"] == 404
    assert (await client.put(f"{CORE}/cluster/node/list")).status_code == 405  # its GET exists
