"""Nacos 3.x naming and core HTTP APIs (protocol-v3 G.3, G.4, G.5) and the 1.x/2.x naming client and core
cluster routes built beside them: the `Result` envelope, 3.x codes and HTTP statuses, field names and
types, and the auth refusal document, with auth off and on.

Over 600 lines: the three route families (naming, naming clients, core) share these fixtures and expected
shapes, and each test reads best next to the others of its family."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login
from tests.server.naming.auth_setup import app_with_user
from tests.server.naming.test_naming_grpc import connected, register

ADMIN = "/v3/admin/ns"
CLIENT = "/v3/client/ns"
CORE = "/v3/admin/core"
SVC = {"serviceName": "svc"}
INSTANCE = {"serviceName": "svc", "ip": "10.0.0.1", "port": "8080"}
JAVA = {"User-Agent": "Nacos-Java-Client:v1.4.8"}
INSTANCE_KEYS = [
    "instanceId",
    "ip",
    "port",
    "weight",
    "healthy",
    "enabled",
    "ephemeral",
    "clusterName",
    "serviceName",
    "metadata",
    "instanceHeartBeatInterval",
    "instanceHeartBeatTimeOut",
    "ipDeleteTimeout",
    "instanceIdGenerator",
]
MISSING = (400, 10000, "parameter missing")
INVALID = (400, 20002, "parameter validate error")
NOT_FOUND = (404, 20004, "resource not found")
NOT_FOUND_30000 = (404, 30000, "server error")
SERVER_ERROR = (400, 30000, "server error")
WEIGHT = (400, 21001, "weight error")
INSTANCE_ERROR = (400, 21004, "instance error")
SELECTOR = (400, 21006, "selector error")
SERVICE_EXISTS = (400, 21007, "service already exist")
SERVICE_MISSING = (400, 21008, "service not exist")
SERVICE_NOT_EMPTY = (400, 21009, "service delete failure")
NAMESPACE_EXISTS = (400, 22002, "namespace already exist")
NAMESPACE_MISSING = (404, 22001, "namespace not exist")
ILLEGAL_STATE = (400, 23000, "illegal state")
MEMBER_KEYS = ["ip", "port", "state", "extendInfo", "address", "failAccessCnt", "abilities", "grpcReportEnabled"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Auth off in every scope (the admin scope is on by default in 3.x)."""
    return Settings(home=str(tmp_path), auth_admin_enabled=False)


def ok(response: httpx.Response) -> Any:
    """The `data` of a successful `Result` (HTTP 200, code 0, message `success`, keys in Nacos's order)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["code", "message", "data"]
    assert (body["code"], body["message"]) == (0, "success")
    return body["data"]


def failed(response: httpx.Response, expected: tuple[int, int, str], data: str) -> None:
    """A `Result` failure: (HTTP status, code, the code's generic text), the reason in `data`."""
    status, code, message = expected
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": code, "message": message, "data": data}


def refused(response: httpx.Response, path: str, reason: str) -> None:
    """Nacos's auth filter answers with Spring's error document, never a `Result`."""
    assert response.status_code == 403, response.text
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert (body["status"], body["error"], body["path"]) == (403, "Forbidden", "/nacos" + path)
    assert reason in body["message"]


# -- instances (G.3, G.5) ------------------------------------------------------------------------------


async def test_admin_instance_lifecycle_in_the_result_envelope(client: httpx.AsyncClient) -> None:
    assert ok(await client.post(f"{ADMIN}/instance", data={**INSTANCE, "metadata": '{"v":"1"}'})) == "ok"
    [shown] = ok(await client.get(f"{ADMIN}/instance/list", params=SVC))
    assert list(shown) == INSTANCE_KEYS[:-1]  # Nacos: no generator once metadata lacks its key
    assert shown == {
        "instanceId": "10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@svc",
        "ip": "10.0.0.1",
        "port": 8080,
        "weight": 1.0,
        "healthy": True,
        "enabled": True,
        "ephemeral": True,
        "clusterName": "DEFAULT",
        "serviceName": "DEFAULT_GROUP@@svc",
        "metadata": {"v": "1"},
        "instanceHeartBeatInterval": 5000,
        "instanceHeartBeatTimeOut": 15000,
        "ipDeleteTimeout": 30000,
    }
    assert ok(await client.get(f"{ADMIN}/instance", params=INSTANCE)) == shown
    assert ok(await client.put(f"{ADMIN}/instance", data={**INSTANCE, "weight": "3", "enabled": "false"})) == "ok"
    [updated] = ok(await client.get(f"{ADMIN}/instance/list", params=SVC))
    assert (updated["weight"], updated["enabled"]) == (3.0, False)
    assert ok(await client.get(f"{CLIENT}/instance/list", params=SVC)) == []  # clients see enabled ones only
    assert ok(await client.put(f"{ADMIN}/instance/partial", data={**INSTANCE, "enabled": "true"})) == "ok"
    assert [h["weight"] for h in ok(await client.get(f"{CLIENT}/instance/list", params=SVC))] == [3.0]
    assert ok(await client.delete(f"{ADMIN}/instance", params=INSTANCE)) == "ok"
    assert ok(await client.delete(f"{ADMIN}/instance", params=INSTANCE)) == "ok"  # absent: still ok


async def test_admin_instance_errors_carry_3x_codes_and_statuses(client: httpx.AsyncClient) -> None:
    failed(
        await client.post(f"{ADMIN}/instance", data={"serviceName": "svc", "port": "1"}),
        MISSING,
        "Required parameter 'ip' type String is not present",
    )
    failed(
        await client.post(f"{ADMIN}/instance", data={"serviceName": "svc", "ip": "10.0.0.1"}),
        MISSING,
        "Required parameter 'port' type Integer is not present",
    )
    failed(
        await client.get(f"{ADMIN}/instance/list"),
        MISSING,
        "Required parameter 'serviceName' type String is not present",
    )
    failed(
        await client.post(f"{ADMIN}/instance", data={**INSTANCE, "weight": "10001"}),
        WEIGHT,
        "instance format invalid: The weights range from 0.0 to 10000.0",
    )
    failed(
        await client.get(f"{ADMIN}/instance/list", params=SVC),
        NOT_FOUND_30000,
        "service DEFAULT_GROUP@@svc is not found!",
    )
    failed(
        await client.get(f"{ADMIN}/instance", params=INSTANCE),
        NOT_FOUND,
        "no ips found for cluster DEFAULT in service DEFAULT_GROUP@@svc",
    )
    ok(await client.post(f"{ADMIN}/instance", data=INSTANCE))
    failed(
        await client.get(f"{ADMIN}/instance/list", params={**SVC, "clusterName": "c1"}),
        NOT_FOUND_30000,
        "cluster c1 is not found!",
    )
    failed(await client.get(f"{ADMIN}/instance", params={**INSTANCE, "port": "9"}), NOT_FOUND, "no matched ip found!")
    failed(
        await client.put(f"{ADMIN}/instance", data={**INSTANCE, "serviceName": "nope"}),
        INSTANCE_ERROR,
        "service not found, namespace: public, service: Service{namespace='public', "
        "group='DEFAULT_GROUP', name='nope', ephemeral=true, revision=0}",
    )
    # the parameter checker answers before any controller: plain text, as in 2.x
    bad_ip = await client.post(f"{ADMIN}/instance", data={**INSTANCE, "ip": "999.1.1.1"})
    assert (bad_ip.status_code, bad_ip.headers["content-type"]) == (400, "text/plain;charset=UTF-8")


async def test_admin_instance_list_filters_health_and_keeps_disabled(client: httpx.AsyncClient) -> None:
    ok(await client.post(f"{ADMIN}/instance", data={**INSTANCE, "ephemeral": "false"}))
    ok(await client.post(f"{ADMIN}/instance", data={**INSTANCE, "ip": "10.0.0.2", "ephemeral": "false"}))
    ok(
        await client.put(
            f"{ADMIN}/instance", data={**INSTANCE, "ip": "10.0.0.2", "ephemeral": "false", "enabled": "false"}
        )
    )
    health = {**INSTANCE, "healthy": "false"}
    assert ok(await client.put(f"{ADMIN}/health/instance", data=health)) == "ok"
    everyone = ok(await client.get(f"{ADMIN}/instance/list", params=SVC))
    assert [(h["ip"], h["healthy"], h["enabled"]) for h in everyone] == [
        ("10.0.0.1", False, True),
        ("10.0.0.2", True, False),
    ]
    healthy = ok(await client.get(f"{ADMIN}/instance/list", params={**SVC, "healthyOnly": "true"}))
    assert [h["ip"] for h in healthy] == ["10.0.0.2"]
    failed(
        await client.put(f"{ADMIN}/health/instance", data=INSTANCE),
        MISSING,
        "Required parameter 'healthy' type Boolean is not present",
    )


async def test_client_api_registers_renews_and_lists_a_bare_array(client: httpx.AsyncClient) -> None:
    beat = {**INSTANCE, "heartBeat": "true"}
    unknown = await client.post(f"{CLIENT}/instance", data=beat)
    assert (unknown.status_code, unknown.json()) == (
        200,
        {"code": 21003, "message": "instance not found", "data": None},
    )
    assert ok(await client.post(f"{CLIENT}/instance", data=INSTANCE)) == "ok"
    assert ok(await client.post(f"{CLIENT}/instance", data=beat)) == "ok"
    [host] = ok(await client.get(f"{CLIENT}/instance/list", params=SVC))
    assert list(host) == INSTANCE_KEYS and host["ip"] == "10.0.0.1"
    assert ok(await client.get(f"{CLIENT}/instance/list", params={**SVC, "clusterName": "c1"})) == []
    assert ok(await client.get(f"{CLIENT}/instance/list", params={"serviceName": "nothing"})) == []
    assert ok(await client.delete(f"{CLIENT}/instance", params=INSTANCE)) == "ok"
    assert ok(await client.get(f"{CLIENT}/instance/list", params=SVC)) == []


async def test_metadata_batch_answers_the_updated_instances(client: httpx.AsyncClient) -> None:
    ok(await client.post(f"{ADMIN}/instance", data=INSTANCE))
    batch = {**SVC, "metadata": '{"zone":"a"}'}
    assert ok(await client.put(f"{ADMIN}/instance/metadata/batch", data=batch)) == {
        "updated": ["10.0.0.1:8080:unknown:DEFAULT:ephemeral"]
    }
    assert ok(await client.get(f"{ADMIN}/instance", params=INSTANCE))["metadata"] == {"zone": "a"}
    assert ok(await client.delete(f"{ADMIN}/instance/metadata/batch", params=batch))["updated"] != []
    assert ok(await client.get(f"{ADMIN}/instance", params=INSTANCE))["metadata"] == {}


# -- services ------------------------------------------------------------------------------------------


async def test_service_lifecycle_and_its_3x_codes(client: httpx.AsyncClient) -> None:
    created = {**SVC, "protectThreshold": "0.5", "metadata": '{"k":"v"}'}
    assert ok(await client.post(f"{ADMIN}/service", data=created)) == "ok"
    failed(
        await client.post(f"{ADMIN}/service", data=SVC),
        SERVICE_EXISTS,
        "specified service DEFAULT_GROUP@@svc already exists!",
    )
    detail = ok(await client.get(f"{ADMIN}/service", params=SVC))
    assert detail == {
        "namespaceId": "public",
        "serviceName": "svc",
        "groupName": "DEFAULT_GROUP",
        "clusterMap": {
            "DEFAULT": {
                "clusterName": "DEFAULT",
                "healthChecker": {"type": "NONE"},
                "healthyCheckPort": 80,
                "useInstancePortForCheck": True,
                "metadata": {},
                "hosts": None,
            }
        },
        "metadata": {"k": "v"},
        "protectThreshold": 0.5,
        "selector": {"type": "none", "contextType": "NONE"},
        "ephemeral": False,  # ServiceForm's default: persistent
    }
    conflict = await client.post(f"{ADMIN}/instance", data=INSTANCE)  # ephemeral by default
    failed(
        conflict,
        SERVER_ERROR,
        "errCode: 400, errMsg: Current service DEFAULT_GROUP@@svc is "
        "persistent service, can't register ephemeral instance. ",
    )
    ok(await client.post(f"{ADMIN}/instance", data={**INSTANCE, "ephemeral": "false"}))
    failed(
        await client.delete(f"{ADMIN}/service", params=SVC),
        SERVICE_NOT_EMPTY,
        "Service DEFAULT_GROUP@@svc is not empty, can't be delete. Please unregister instance first",
    )
    assert ok(await client.put(f"{ADMIN}/service", data={**SVC, "protectThreshold": "0.8"})) == "ok"
    assert ok(await client.get(f"{ADMIN}/service", params=SVC))["protectThreshold"] == 0.8
    failed(
        await client.put(f"{ADMIN}/service", data={"serviceName": "nope"}),
        SERVICE_MISSING,
        "service DEFAULT_GROUP@@nope not found!",
    )
    failed(
        await client.get(f"{ADMIN}/service", params={"serviceName": "nope"}),
        SERVICE_MISSING,
        "service not found, namespace: public, serviceName: DEFAULT_GROUP@@nope",
    )
    failed(
        await client.post(f"{ADMIN}/service", data={"serviceName": "s2", "selector": '{"type":"x"}'}),
        SELECTOR,
        "not match any type of selector!",
    )
    ok(await client.delete(f"{ADMIN}/instance", params={**INSTANCE, "ephemeral": "false"}))
    assert ok(await client.delete(f"{ADMIN}/service", params=SVC)) == "ok"
    failed(
        await client.delete(f"{ADMIN}/service", params=SVC), SERVICE_MISSING, "service DEFAULT_GROUP@@svc not found!"
    )


async def test_service_list_is_a_page_of_service_views_or_details(client: httpx.AsyncClient) -> None:
    for name in ("alpha", "beta"):
        ok(await client.post(f"{ADMIN}/service", data={"serviceName": name, "ephemeral": "true"}))
    ok(await client.post(f"{ADMIN}/instance", data={**INSTANCE, "serviceName": "alpha"}))
    page = ok(await client.get(f"{ADMIN}/service/list"))
    assert page == {
        "totalCount": 2,
        "pageNumber": 1,
        "pagesAvailable": 1,
        "pageItems": [
            {
                "name": "alpha",
                "groupName": "DEFAULT_GROUP",
                "clusterCount": 1,
                "ipCount": 1,
                "healthyInstanceCount": 1,
                "triggerFlag": "false",
            },
            {
                "name": "beta",
                "groupName": "DEFAULT_GROUP",
                "clusterCount": 0,
                "ipCount": 0,
                "healthyInstanceCount": 0,
                "triggerFlag": "false",
            },
        ],
    }
    filtered = ok(await client.get(f"{ADMIN}/service/list", params={"serviceNameParam": "et"}))
    assert [s["name"] for s in filtered["pageItems"]] == ["beta"]
    non_empty = ok(await client.get(f"{ADMIN}/service/list", params={"ignoreEmptyService": "true"}))
    assert [s["name"] for s in non_empty["pageItems"]] == ["alpha"]
    paged = ok(await client.get(f"{ADMIN}/service/list", params={"pageNo": "2", "pageSize": "1"}))
    assert (paged["totalCount"], paged["pageNumber"], paged["pagesAvailable"]) == (2, 2, 2)
    detailed = ok(await client.get(f"{ADMIN}/service/list", params={"withInstances": "true", "pageSize": "1"}))
    [alpha] = detailed["pageItems"]
    assert [h["ip"] for h in alpha["clusterMap"]["DEFAULT"]["hosts"]] == ["10.0.0.1"]
    failed(
        await client.get(f"{ADMIN}/service/list", params={"pageNo": "0"}),
        INVALID,
        "Required parameter 'pageNo' should be positive integer, current is 0",
    )
    failed(
        await client.get(f"{ADMIN}/service/list", params={"withInstances": "maybe"}),
        INVALID,
        "Param 'withInstances' must be true or false, not 'maybe'",
    )


async def test_selector_types_checkers_cluster_and_switches(client: httpx.AsyncClient) -> None:
    assert ok(await client.get(f"{ADMIN}/service/selector/types")) == ["label", "none"]
    assert set(ok(await client.get(f"{ADMIN}/health/checkers"))) == {"TCP", "HTTP", "MYSQL", "NONE"}
    ok(await client.post(f"{ADMIN}/service", data=SVC))
    cluster = {
        **SVC,
        "clusterName": "c1",
        "checkPort": "81",
        "useInstancePort4Check": "false",
        "healthChecker": '{"type":"HTTP","path":"/health"}',
    }
    assert ok(await client.put(f"{ADMIN}/cluster", data=cluster)) == "ok"
    failed(
        await client.put(f"{ADMIN}/cluster", data={**cluster, "checkPort": ""}),
        MISSING,
        "Required parameter 'checkPort' type Integer is not present",
    )
    switches = ok(await client.get(f"{ADMIN}/ops/switches"))
    assert switches["name"] == "00-00---000-NACOS_SWITCH_DOMAIN-000---00-00"
    assert ok(await client.put(f"{ADMIN}/ops/switches", data={"entry": "clientBeatInterval", "value": "6000"})) == "ok"
    assert ok(await client.get(f"{ADMIN}/ops/switches"))["clientBeatInterval"] == 6000
    bad = await client.put(f"{ADMIN}/ops/switches", data={"entry": "clientBeatInterval", "value": "soon"})
    assert (bad.status_code, bad.json()["code"]) == (400, 20002)  # Nacos: 500 for a client's mistake
    failed(
        await client.put(f"{ADMIN}/ops/switches", data={"entry": "check"}),
        MISSING,
        "Required parameter 'value' type String is not present",
    )


async def test_metrics_count_clients_by_kind(client: httpx.AsyncClient) -> None:
    assert ok(await client.get(f"{ADMIN}/ops/metrics")) == {"status": "UP"}
    ok(await client.post(f"{ADMIN}/instance", data=INSTANCE))
    ok(await client.post(f"{ADMIN}/instance", data={**INSTANCE, "serviceName": "db", "ephemeral": "false"}))
    figures = ok(await client.get(f"{ADMIN}/ops/metrics", params={"onlyStatus": "false"}))
    assert figures == {
        "status": "UP",
        "serviceCount": 2,
        "instanceCount": 2,
        "subscribeCount": 0,
        "clientCount": 2,
        "connectionBasedClientCount": 0,
        "ephemeralIpPortClientCount": 1,
        "persistentIpPortClientCount": 1,
        "responsibleClientCount": 2,
    }
    v1 = (await client.get("/v1/ns/operator/metrics", params={"onlyStatus": "false"})).json()
    assert {k: v1[k] for k in figures} == figures  # one set of figures, whatever the version


# -- clients (G.3 client routes, /v2/ns/client/*) ------------------------------------------------------


@contextlib.asynccontextmanager
async def grpc_server(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, int, httpx.AsyncClient]]:
    app = await started(Settings(home=str(tmp_path), auth_admin_enabled=False))
    port = await app.start_grpc(port=0)
    try:
        async with asgi_client(app) as http:
            yield app, port, http
    finally:
        await app.stop()


async def test_client_lists_show_grpc_http_and_udp_clients(tmp_path: Path) -> None:
    async with grpc_server(tmp_path) as (app, port, http), connected(port) as naming:
        await naming.ask("InstanceRequest", **register(ip="10.0.0.5", port=8080))
        subscribe = {"namespace": "public", "serviceName": "svc", "groupName": "DEFAULT_GROUP", "clusters": ""}
        await naming.ask("SubscribeServiceRequest", **subscribe, subscribe=True)
        ok(await http.post(f"{ADMIN}/instance", data={**INSTANCE, "ip": "10.0.0.9", "port": "80"}))
        poll = await http.get("/v1/ns/instance/list", params={**SVC, "udpPort": "40999"}, headers=JAVA)
        assert poll.status_code == 200
        [connection_id] = list(app.connections.registered)
        ids = ok(await http.get(f"{ADMIN}/client/list"))
        assert ids == sorted([connection_id, "10.0.0.9:80#true", "127.0.0.1:40999#true"])
        assert ok(await http.get("/v2/ns/client/list")) == ids

        grpc = ok(await http.get(f"{ADMIN}/client", params={"clientId": connection_id}))
        assert list(grpc) == [
            "clientId",
            "ephemeral",
            "lastUpdatedTime",
            "clientType",
            "connectType",
            "appName",
            "version",
            "clientIp",
            "clientPort",
        ]
        assert (grpc["clientType"], grpc["connectType"], grpc["version"], grpc["ephemeral"]) == (
            "connection",
            "GRPC",
            "pynacos-tests",
            True,
        )
        assert isinstance(grpc["clientPort"], int) and isinstance(grpc["lastUpdatedTime"], int)
        v2 = ok(await http.get("/v2/ns/client", params={"clientId": "10.0.0.9:80#true"}))
        assert v2 == {**v2, "clientType": "ipPort", "clientIp": "10.0.0.9", "clientPort": "80"}
        assert "connectType" not in v2

        published = ok(await http.get(f"{ADMIN}/client/publish/list", params={"clientId": connection_id}))
        assert published == [
            {
                "namespaceId": "public",
                "groupName": "DEFAULT_GROUP",
                "serviceName": "svc",
                "publisherInfo": {"clientId": None, "ip": "10.0.0.5", "port": 8080, "clusterName": "DEFAULT"},
                "subscriberInfo": None,
            }
        ]
        assert ok(await http.get("/v2/ns/client/publish/list", params={"clientId": connection_id})) == [
            {
                "namespace": "public",
                "group": "DEFAULT_GROUP",
                "serviceName": "svc",
                "registeredInstance": {"ip": "10.0.0.5", "port": 8080, "cluster": "DEFAULT"},
            }
        ]
        [grpc_sub] = ok(await http.get(f"{ADMIN}/client/subscribe/list", params={"clientId": connection_id}))
        assert grpc_sub["subscriberInfo"] == {
            "clientId": None,
            "appName": "-",
            "agent": "pynacos-tests",
            "address": "127.0.0.1",
        }
        [udp_sub] = ok(await http.get("/v2/ns/client/subscribe/list", params={"clientId": "127.0.0.1:40999#true"}))
        assert udp_sub["subscriberInfo"] == {"app": "", "agent": JAVA["User-Agent"], "addr": "127.0.0.1:40999"}

        publishers = ok(await http.get(f"{ADMIN}/client/service/publisher/list", params=SVC))
        assert [(p["clientId"], p["ip"]) for p in publishers] == sorted(
            [(connection_id, "10.0.0.5"), ("10.0.0.9:80#true", "10.0.0.9")]
        )
        only = ok(await http.get("/v2/ns/client/service/publisher/list", params={**SVC, "ip": "10.0.0.9"}))
        assert only == [{"ip": "10.0.0.9", "port": 80, "cluster": "DEFAULT", "clientId": "10.0.0.9:80#true"}]
        subscribers = ok(await http.get(f"{ADMIN}/client/service/subscriber/list", params=SVC))
        assert sorted(s["address"] for s in subscribers) == ["127.0.0.1", "127.0.0.1:40999"]
        v2_subs = ok(await http.get("/v2/ns/client/service/subscriber/list", params={**SVC, "port": "40999"}))
        assert v2_subs == [{"clientId": "127.0.0.1:40999#true", "ip": "127.0.0.1", "port": 40999}]
        page = ok(await http.get(f"{ADMIN}/service/subscribers", params=SVC))
        assert page["totalCount"] == 2
        assert {"namespaceId", "groupName", "serviceName", "ip", "port", "agent", "appName"} == set(
            page["pageItems"][0]
        )

        figures = ok(await http.get(f"{ADMIN}/ops/metrics", params={"onlyStatus": "false"}))
        assert (figures["clientCount"], figures["connectionBasedClientCount"], figures["subscribeCount"]) == (3, 1, 2)
        loader = ok(await http.get(f"{CORE}/loader/current"))
        assert list(loader) == [connection_id]
        meta = loader[connection_id]["metaInfo"]
        assert (meta["connectType"], meta["connectionId"], meta["version"], meta["sdkSource"]) == (
            "GRPC",
            connection_id,
            "pynacos-tests",
            True,
        )
        bare = (await http.get("/v2/core/loader/current")).json()  # 2.5.1: no envelope
        assert list(bare) == [connection_id]
        distro = ok(await http.get(f"{ADMIN}/client/distro", params={"ip": "10.0.0.9", "port": "80"}))
        assert distro == {"responsibleServer": f"127.0.0.1:{app.settings.port}"}


async def test_unknown_or_missing_client_id(client: httpx.AsyncClient) -> None:
    for base in (f"{ADMIN}/client", "/v2/ns/client"):
        for path in (base, f"{base}/publish/list", f"{base}/subscribe/list"):
            failed(
                await client.get(path, params={"clientId": "1.2.3.4:5#true"}),
                NOT_FOUND,
                "clientId [ 1.2.3.4:5#true ] not exist",
            )
            failed(
                await client.get(path),
                MISSING,
                "Required request parameter 'clientId' for method parameter type String is not present",
            )
    assert ok(await client.get(f"{ADMIN}/client/service/publisher/list", params=SVC)) == []
    failed(
        await client.get(f"{ADMIN}/client/service/subscriber/list"),
        MISSING,
        "Required parameter 'serviceName' type String is not present",
    )


# -- core (G.4, /v1 and /v2 cluster routes) --------------------------------------------------------------


async def test_state_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    state = ok(await client.get(f"{CORE}/state"))
    v1 = (await client.get("/v1/console/server/state")).json()
    assert state == v1 and state["startup_mode"] == "standalone"
    assert all(value is None or isinstance(value, str) for value in state.values())
    assert ok(await client.get(f"{CORE}/state/liveness")) == "ok"
    assert ok(await client.get(f"{CORE}/state/readiness")) == "ok"


async def test_this_node_is_the_member_list(client: httpx.AsyncClient, app: NacosApp) -> None:
    address = f"127.0.0.1:{app.settings.port}"
    member = ok(await client.get(f"{CORE}/cluster/node/self"))
    assert list(member) == MEMBER_KEYS
    assert (member["ip"], member["port"], member["state"], member["address"]) == (
        "127.0.0.1",
        app.settings.port,
        "UP",
        address,
    )
    assert isinstance(member["extendInfo"]["lastRefreshTime"], int) and member["failAccessCnt"] == 0
    assert member["abilities"]["namingAbility"] == {"supportJraft": False}
    assert ok(await client.get(f"{CORE}/cluster/node/list", params={"state": "up"})) == [member]
    assert ok(await client.get(f"{CORE}/cluster/node/list", params={"state": "DOWN"})) == []
    assert ok(await client.get(f"{CORE}/cluster/node/list", params={"address": "10."})) == []
    failed(
        await client.get(f"{CORE}/cluster/node/list", params={"state": "sideways"}),
        ILLEGAL_STATE,
        "Illegal state: sideways",
    )
    assert ok(await client.get("/v2/core/cluster/node/self")) == member
    assert ok(await client.get("/v2/core/cluster/node/list", params={"address": "127.0"})) == [member]
    assert ok(await client.get("/v2/core/cluster/node/self/health")) == "UP"
    v1 = (await client.get("/v1/core/cluster/nodes", params={"keyword": address})).json()
    assert v1 == {"code": 200, "message": None, "data": [member]}
    servers = (await client.get("/v1/ns/operator/servers", params={"healthy": "true"})).json()
    assert servers == {"servers": [member]}
    assert ok(await client.get(f"{CORE}/loader/current")) == {}


async def test_namespaces_in_3x_shape(client: httpx.AsyncClient) -> None:
    base = f"{CORE}/namespace"
    public = {
        "namespace": "public",
        "namespaceShowName": "public",
        "namespaceDesc": "Default Namespace",
        "quota": 200,
        "configCount": 0,
        "type": 0,
    }
    assert ok(await client.get(f"{base}/list")) == [public]
    assert ok(await client.post(base, data={"namespaceId": "dev", "namespaceName": "Dev", "namespaceDesc": "d"}))
    assert ok(await client.get(base, params={"namespaceId": "dev"})) == {
        "namespace": "dev",
        "namespaceShowName": "Dev",
        "namespaceDesc": "d",
        "quota": 200,
        "configCount": 0,
        "type": 1,
    }
    assert ok(await client.get(base, params={"namespaceId": "public"})) == public
    failed(
        await client.post(base, data={"namespaceId": "dev", "namespaceName": "x"}),
        NAMESPACE_EXISTS,
        "namespaceId [dev] already exist.",
    )
    failed(
        await client.post(base, data={"namespaceId": "public", "namespaceName": "x"}),
        NAMESPACE_EXISTS,
        "namespaceId [public] is default namespace id and already exist.",
    )
    failed(await client.post(base, data={"namespaceName": "x"}), MISSING, "required parameter 'namespaceId' is missing")
    illegal = await client.post(base, data={"namespaceId": "x1", "namespaceName": "a@b"})  # the parameter checker's
    assert (illegal.status_code, illegal.headers["content-type"]) == (400, "text/plain;charset=UTF-8")
    failed(await client.get(base, params={"namespaceId": "nope"}), NAMESPACE_MISSING, "namespaceId [ nope ] not exist")
    assert ok(await client.get(f"{base}/check", params={"namespaceId": "dev"})) == 1
    assert ok(await client.get(f"{base}/check", params={"namespaceId": "public"})) == 0
    assert ok(await client.put(base, data={"namespaceId": "dev", "namespaceName": "Dev2"})) is True
    assert ok(await client.delete(base, params={"namespaceId": "dev"})) is True
    assert ok(await client.delete(base, params={"namespaceId": "public"})) is True
    assert ok(await client.get(f"{base}/list")) == [public]
    random = ok(await client.post(base, data={"namespaceId": "", "namespaceName": "generated"}))
    assert random is True and len(ok(await client.get(f"{base}/list"))) == 2


# -- auth on -------------------------------------------------------------------------------------------


async def test_auth_on_admin_routes_need_permission_or_admin(tmp_path: Path) -> None:
    app = await app_with_user(tmp_path, "dev:*:*", "rw")
    try:
        async with asgi_client(app) as client:
            user = await login(client, "u1", USER_PASSWORD)
            admin = await login(client, "nacos", ADMIN_PASSWORD)
            as_user, as_admin = {"accessToken": user}, {"accessToken": admin}
            in_dev = {**INSTANCE, "namespaceId": "dev"}
            refused(await client.get(f"{ADMIN}/instance/list", params=SVC), f"{ADMIN}/instance/list", "Code: 401")
            assert ok(await client.post(f"{ADMIN}/instance", data={**in_dev, **as_user})) == "ok"
            assert len(ok(await client.get(f"{ADMIN}/instance/list", params={**in_dev, **as_user}))) == 1
            refused(
                await client.post(f"{ADMIN}/instance", data={**INSTANCE, **as_user}),
                f"{ADMIN}/instance",
                "authorization failed!",
            )
            assert ok(await client.post(f"{CLIENT}/instance", data={**in_dev, "port": "81", **as_user})) == "ok"
            refused(await client.post(f"{CLIENT}/instance", data=in_dev), f"{CLIENT}/instance", "Code: 401")
            for path in (
                f"{ADMIN}/ops/switches",
                f"{ADMIN}/ops/metrics",
                f"{ADMIN}/client/list",
                f"{CORE}/cluster/node/list",
                f"{CORE}/loader/current",
                f"{CORE}/namespace/list",
                "/v2/ns/client/list",
                "/v2/core/cluster/node/self",
                "/v1/core/cluster/nodes",
            ):
                refused(await client.get(path, params=as_user), path, "authorization failed!")
                ok_status = (await client.get(path, params=as_admin)).status_code
                assert ok_status == 200, path
            page = ok(await client.get(f"{ADMIN}/service/list", params={"namespaceId": "dev", **as_user}))
            assert [s["name"] for s in page["pageItems"]] == ["svc"]
            publishers = f"{ADMIN}/client/service/publisher/list"
            assert len(ok(await client.get(publishers, params={**SVC, "namespaceId": "dev", **as_user}))) == 2
            refused(await client.get(publishers, params={**SVC, **as_user}), publishers, "authorization failed!")
            servers = await client.get("/v1/ns/operator/servers")
            assert servers.status_code == 403
            assert (await client.get("/v1/ns/operator/servers", params=as_user)).status_code == 200
            assert ok(await client.get(f"{CORE}/state"))["auth_enabled"] == "true"  # open
            assert ok(await client.get(f"{CORE}/state/liveness")) == "ok"
    finally:
        await app.stop()


async def test_admin_scope_is_guarded_while_client_auth_is_off(tmp_path: Path) -> None:
    """3.x defaults (G.8.1): `/v3/admin/**` needs a login, `/v3/client/**` stays open."""
    app = await started(Settings(home=str(tmp_path)))
    try:
        async with asgi_client(app) as client:
            refused(await client.get(f"{ADMIN}/service/list"), f"{ADMIN}/service/list", "Code: 401")
            refused(await client.get(f"{CORE}/cluster/node/self"), f"{CORE}/cluster/node/self", "Code: 401")
            assert ok(await client.get(f"{CLIENT}/instance/list", params=SVC)) == []
            assert ok(await client.get(f"{CORE}/state/readiness")) == "ok"
    finally:
        await app.stop()
