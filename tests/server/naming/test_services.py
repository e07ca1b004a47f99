"""Naming service, operator and catalog routes (C.3) and the v2 envelope (D.1)."""

from __future__ import annotations

import httpx

from pynacos.server.app import NacosApp

NS = "/v1/ns"


async def test_service_crud_texts(client: httpx.AsyncClient) -> None:
    params = {"serviceName": "svc", "protectThreshold": "0.3", "metadata": "a=1"}
    assert (await client.post(f"{NS}/service", params=params)).text == "ok"
    again = await client.post(f"{NS}/service", params=params)
    assert (again.status_code, again.text) == (400, "specified service DEFAULT_GROUP@@svc already exists!")
    body = (await client.get(f"{NS}/service", params={"serviceName": "svc"})).json()
    assert (body["name"], body["groupName"], body["protectThreshold"], body["metadata"]) == (
        "svc",
        "DEFAULT_GROUP",
        0.3,
        {"a": "1"},
    )
    no_threshold = await client.put(f"{NS}/service", params={"serviceName": "svc"})
    assert (no_threshold.status_code, no_threshold.text) == (400, "Parameter 'protectThreshold' is missing")
    assert (await client.put(f"{NS}/service", params={"serviceName": "svc", "protectThreshold": "0.9"})).text == "ok"
    await client.post(
        f"{NS}/instance", params={"serviceName": "svc", "ip": "1.1.1.1", "port": "1", "ephemeral": "false"}
    )
    busy = await client.delete(f"{NS}/service", params={"serviceName": "svc"})
    assert busy.text == "Service DEFAULT_GROUP@@svc is not empty, can't be delete. Please unregister instance first"
    params = {"serviceName": "svc", "ip": "1.1.1.1", "port": "1", "ephemeral": "false"}
    await client.delete(f"{NS}/instance", params=params)
    assert (await client.delete(f"{NS}/service", params={"serviceName": "svc"})).text == "ok"
    gone = await client.get(f"{NS}/service", params={"serviceName": "svc"})
    assert (gone.status_code, gone.text) == (
        400,
        "service not found, namespace: public, serviceName: DEFAULT_GROUP@@svc",
    )
    assert (
        await client.delete(f"{NS}/service", params={"serviceName": "svc"})
    ).text == "service DEFAULT_GROUP@@svc not found!"


async def test_service_created_by_api_refuses_ephemeral_instances(client: httpx.AsyncClient) -> None:
    await client.post(f"{NS}/service", params={"serviceName": "svc"})
    response = await client.post(f"{NS}/instance", params={"serviceName": "svc", "ip": "1.1.1.1", "port": "1"})
    assert response.status_code == 400
    assert "is persistent service, can't register ephemeral instance. " in response.text


async def test_selector_must_be_known(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{NS}/service", params={"serviceName": "svc", "selector": '{"type":"weird"}'})
    assert (response.status_code, response.text) == (400, "not match any type of selector!")


async def test_service_list_is_sorted_and_paged(client: httpx.AsyncClient) -> None:
    for name in ("c", "a", "b"):
        await client.post(f"{NS}/service", params={"serviceName": name})
    body = (await client.get(f"{NS}/service/list", params={"pageNo": "1", "pageSize": "2"})).json()
    assert body == {"count": 3, "doms": ["a", "b"]}
    missing = await client.get(f"{NS}/service/list", params={"pageNo": "1"})
    assert (missing.status_code, missing.text) == (400, "Parameter 'pageSize' is missing")


async def test_operator_metrics_and_switches(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{NS}/operator/metrics")).json() == {"status": "UP"}
    full = (await client.get(f"{NS}/ops/metrics", params={"onlyStatus": "false"})).json()
    assert full["status"] == "UP" and "instanceCount" in full
    switches = (await client.get(f"{NS}/operator/switches")).json()
    assert switches["clientBeatInterval"] == 5000
    assert switches["name"] == "00-00---000-NACOS_SWITCH_DOMAIN-000---00-00"


async def test_catalog_routes(client: httpx.AsyncClient) -> None:
    for port in ("1", "2"):
        await client.post(f"{NS}/instance", params={"serviceName": "shop", "ip": "1.1.1.1", "port": port})
    services = (await client.get(f"{NS}/catalog/services", params={"pageNo": "1", "pageSize": "10"})).json()
    assert services["serviceList"] == [
        {
            "name": "shop",
            "groupName": "DEFAULT_GROUP",
            "clusterCount": 1,
            "ipCount": 2,
            "healthyInstanceCount": 2,
            "triggerFlag": "false",
        },
    ]
    instances = (
        await client.get(
            f"{NS}/catalog/instances",
            params={"serviceName": "shop", "clusterName": "DEFAULT", "pageNo": "1", "pageSize": "1"},
        )
    ).json()
    assert instances["count"] == 2 and len(instances["list"]) == 1
    detail = (await client.get(f"{NS}/catalog/service", params={"serviceName": "shop"})).json()
    assert detail["service"]["name"] == "shop"
    unknown = await client.get(f"{NS}/catalog/service", params={"serviceName": "nope"})
    assert (unknown.status_code, unknown.text) == (404, "service DEFAULT_GROUP@@nope is not found!")


async def test_empty_services_are_removed_after_idle_time(app: NacosApp, client: httpx.AsyncClient) -> None:
    clock = [0.0]
    app.naming.clock = lambda: clock[0]
    await client.post(f"{NS}/instance", params={"serviceName": "tmp", "ip": "1.1.1.1", "port": "1"})
    await client.delete(f"{NS}/instance", params={"serviceName": "tmp", "ip": "1.1.1.1", "port": "1"})
    assert await app.naming.remove_empty_services(60_000) == []
    clock[0] = 60_000
    assert len(await app.naming.remove_empty_services(60_000)) == 1
    assert (await client.get(f"{NS}/service/list", params={"pageNo": "1", "pageSize": "9"})).json()["count"] == 0


async def test_v2_instance_envelope_and_errors(client: httpx.AsyncClient) -> None:
    base = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    created = await client.post("/v2/ns/instance", data=base)
    assert created.json() == {"code": 0, "message": "success", "data": "ok"}
    listed = (await client.get("/v2/ns/instance/list", params={"serviceName": "demo"})).json()
    assert listed["data"]["hosts"][0]["instanceId"] == "10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@demo"
    detail = (await client.get("/v2/ns/instance", params=base)).json()["data"]
    assert detail["serviceName"] == "DEFAULT_GROUP@@demo"
    weight = await client.post("/v2/ns/instance", data={**base, "weight": "-1"})
    assert (weight.status_code, weight.json()) == (
        400,
        {
            "code": 21001,
            "message": "weight error",
            "data": "instance format invalid: The weights range from 0.0 to 10000.0",
        },
    )
    beat = await client.put(
        "/v2/ns/instance/beat", params={"serviceName": "DEFAULT_GROUP@@demo", "ip": "10.0.0.5", "port": "8080"}
    )
    assert beat.json() == {"clientBeatInterval": 5000, "code": 10200, "lightBeatEnabled": True}
    missing = await client.get("/v2/ns/instance", params={**base, "port": "1"})
    assert (missing.status_code, missing.json()["code"]) == (404, 20004)


async def test_v2_services(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v2/ns/service", data={"serviceName": "s1", "ephemeral": "true"})).json()["data"] == "ok"
    exists = await client.post("/v2/ns/service", data={"serviceName": "s1"})
    assert (exists.status_code, exists.json()["code"]) == (400, 21007)
    body = (await client.get("/v2/ns/service", params={"serviceName": "s1"})).json()["data"]
    assert (body["serviceName"], body["ephemeral"], body["protectThreshold"]) == ("s1", True, 0.0)
    listed = (await client.get("/v2/ns/service/list")).json()["data"]
    assert listed == {"count": 1, "services": ["s1"]}
    gone = await client.get("/v2/ns/service", params={"serviceName": "s2"})
    assert (gone.status_code, gone.json()["code"]) == (400, 21008)
    assert (await client.get("/v2/ns/operator/metrics")).json()["data"] == {"status": "UP"}
