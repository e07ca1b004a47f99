"""Naming v1 instance routes in-process (protocol.md C.1-C.4)."""

from __future__ import annotations

import json

import httpx
import pytest

from pynacos.server.app import NacosApp
from tests.server.support import raw_request

NS = "/v1/ns"


async def register(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    base = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    return await client.post(f"{NS}/instance", params={**base, **params})


async def hosts(client: httpx.AsyncClient, **params: str) -> list[dict[str, object]]:
    body = (await client.get(f"{NS}/instance/list", params={"serviceName": "demo", **params})).json()
    result: list[dict[str, object]] = body["hosts"]
    return result


async def test_register_answers_ok_and_list_has_the_exact_shape(client: httpx.AsyncClient) -> None:
    assert (await register(client, metadata='{"k":"v"}')).text == "ok"
    body = (await client.get(f"{NS}/instance/list", params={"serviceName": "demo", "clusters": "DEFAULT"})).json()
    assert list(body) == [
        "name",
        "groupName",
        "clusters",
        "cacheMillis",
        "hosts",
        "lastRefTime",
        "checksum",
        "allIPs",
        "reachProtectionThreshold",
        "valid",
    ]
    assert (body["name"], body["clusters"], body["cacheMillis"], body["checksum"]) == (
        "DEFAULT_GROUP@@demo",
        "DEFAULT",
        10000,
        "",
    )
    host = body["hosts"][0]
    assert host["instanceId"] == "10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@demo"
    assert (host["weight"], host["healthy"], host["enabled"], host["ephemeral"]) == (1.0, True, True, True)
    assert host["metadata"] == {"k": "v"}
    assert (host["instanceHeartBeatInterval"], host["instanceHeartBeatTimeOut"], host["ipDeleteTimeout"]) == (
        5000,
        15000,
        30000,
    )
    assert "instanceIdGenerator" not in host


async def test_python_sdk_style_params_and_literal_none_cluster(client: httpx.AsyncClient) -> None:
    response = await register(
        client, enable="True", healthy="True", ephemeral="True", clusterName="None", groupName="G1", metadata="{}"
    )
    assert response.text == "ok"
    found = await hosts(client, groupName="G1")
    assert found[0]["clusterName"] == "None"
    assert found[0]["instanceIdGenerator"] == "simple"


async def test_compose_style_host_names_register(client: httpx.AsyncClient) -> None:
    assert (await register(client, ip="order_service-1.internal")).text == "ok"
    assert [h["ip"] for h in await hosts(client)] == ["order_service-1.internal"]


async def test_grouped_service_name_and_group_conflict(client: httpx.AsyncClient) -> None:
    assert (await register(client, serviceName="G2@@demo")).text == "ok"
    assert len(await hosts(client, groupName="G2")) == 1
    conflict = await register(client, serviceName="G1@@demo", groupName="G2")
    assert conflict.status_code == 400
    bad = await register(client, serviceName="a@@b@@c")
    assert (bad.status_code, bad.text) == (
        400,
        "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'",
    )


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"ip": "1.2.3.4,5.6.7.8"}, "Param 'ip' is illegal, illegal characters should not appear in the param.\n"),
        ({"ip": ""}, "Param 'ip' is required."),
        ({"port": "70000"}, "Param 'port' is illegal, the value should be between 0 and 65535.\n"),
        ({"port": "abc"}, 'For input string: "abc"'),
        ({"weight": "10001"}, "instance format invalid: The weights range from 0.0 to 10000.0"),
        ({"clusterName": "a_b"}, "Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: a_b)"),
        ({"metadata": "k"}, "metadata format incorrect:k"),
        ({"namespaceId": "nope"}, "namespace 'nope' does not exist; create it first"),
        (
            {"metadata": '{"preserved.heart.beat.interval":"20000"}'},
            "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.",
        ),
    ],
)
async def test_bad_register_input_is_400_and_changes_nothing(
    client: httpx.AsyncClient, params: dict[str, str], text: str
) -> None:
    response = await register(client, **params)
    assert (response.status_code, response.text) == (400, text)
    assert await hosts(client) == []


async def test_reregistering_with_another_cluster_replaces_the_instance(client: httpx.AsyncClient) -> None:
    await register(client, clusterName="A")
    await register(client, clusterName="B")
    assert [h["clusterName"] for h in await hosts(client)] == ["B"]


async def test_ephemeral_flag_conflict_text(client: httpx.AsyncClient) -> None:
    await register(client)
    response = await register(client, port="9090", ephemeral="false")
    assert (response.status_code, response.text) == (
        400,
        "errCode: 400, errMsg: Current service DEFAULT_GROUP@@demo is ephemeral service, "
        "can't register persistent instance. ",
    )


async def test_update_override_disables_and_reenables(client: httpx.AsyncClient) -> None:
    await register(client)
    base = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    assert (await client.put(f"{NS}/instance", params={**base, "enabled": "false"})).text == "ok"
    assert await hosts(client) == []
    assert (await client.put(f"{NS}/instance", params={**base, "weight": "3"})).text == "ok"
    assert [h["weight"] for h in await hosts(client)] == [3.0]
    missing = await client.put(f"{NS}/instance", params={**base, "serviceName": "nosuch"})
    assert missing.status_code == 400
    assert missing.text.startswith("service not found, namespace: public, service: Service{")


async def test_patch_needs_an_existing_instance(client: httpx.AsyncClient) -> None:
    base = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    assert (await client.patch(f"{NS}/instance", params=base)).status_code == 404
    await register(client, metadata='{"a":"1"}')
    assert (await client.patch(f"{NS}/instance", params={**base, "metadata": '{"b":"2"}'})).text == "ok"
    assert (await hosts(client))[0]["metadata"] == {"a": "1", "b": "2"}


async def test_detail_and_its_404s(client: httpx.AsyncClient) -> None:
    base = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    none = await client.get(f"{NS}/instance", params=base)
    assert (none.status_code, none.text) == (404, "no ips found for cluster DEFAULT in service DEFAULT_GROUP@@demo")
    await register(client)
    detail = (await client.get(f"{NS}/instance", params=base)).json()
    assert list(detail) == ["service", "ip", "port", "clusterName", "weight", "healthy", "instanceId", "metadata"]
    other = await client.get(f"{NS}/instance", params={**base, "port": "1"})
    assert (other.status_code, other.text) == (404, "no matched ip found!")


async def test_deregister_is_ok_even_when_unknown(client: httpx.AsyncClient) -> None:
    base = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    assert (await client.delete(f"{NS}/instance", params=base)).text == "ok"
    await register(client)
    assert (await client.delete(f"{NS}/instance", params=base)).text == "ok"
    assert await hosts(client) == []


async def test_beat_codes_and_reregistration(client: httpx.AsyncClient) -> None:
    params = {"serviceName": "DEFAULT_GROUP@@demo", "ip": "10.0.0.5", "port": "8080"}
    unknown = (await client.put(f"{NS}/instance/beat", params=params)).json()
    assert unknown == {"clientBeatInterval": 5000, "code": 20404, "lightBeatEnabled": True}
    beat = json.dumps(
        {
            "ip": "10.0.0.5",
            "port": 8080,
            "serviceName": "DEFAULT_GROUP@@demo",
            "cluster": "C1",
            "metadata": {"preserved.heart.beat.interval": "3000"},
        }
    )
    again = (await client.put(f"{NS}/instance/beat", params=params, data={"beat": beat})).json()
    assert again == {"clientBeatInterval": 3000, "code": 10200, "lightBeatEnabled": True}
    found = await hosts(client)
    assert (found[0]["clusterName"], found[0]["weight"]) == ("C1", 1.0)
    light = (await client.put(f"{NS}/instance/beat", params=params)).json()
    assert light["code"] == 10200


async def test_malformed_beat_json_is_400_and_registers_nothing(client: httpx.AsyncClient) -> None:
    params = {"serviceName": "DEFAULT_GROUP@@demo", "beat": "{not json"}
    response = await client.put(f"{NS}/instance/beat", params=params)
    assert response.status_code == 400
    assert await hosts(client) == []


async def test_missed_beats_make_unhealthy_then_remove(app: NacosApp, client: httpx.AsyncClient) -> None:
    clock = [1_000_000.0]
    app.naming.clock = lambda: clock[0]
    await register(client)
    clock[0] += 15_001
    app.naming.expire()
    assert [h["healthy"] for h in await hosts(client)] == [False]
    params = {"serviceName": "DEFAULT_GROUP@@demo", "ip": "10.0.0.5", "port": "8080"}
    await client.put(f"{NS}/instance/beat", params=params)
    assert [h["healthy"] for h in await hosts(client)] == [True]
    clock[0] += 30_001
    app.naming.expire()
    assert await hosts(client) == []


async def test_preserved_timeouts_override_the_defaults(app: NacosApp, client: httpx.AsyncClient) -> None:
    clock = [0.0]
    app.naming.clock = lambda: clock[0]
    meta = json.dumps(
        {
            "preserved.heart.beat.timeout": "3000",
            "preserved.ip.delete.timeout": "6000",
            "preserved.heart.beat.interval": "1000",
        }
    )
    await register(client, metadata=meta)
    clock[0] = 3001
    app.naming.expire()
    assert [h["healthy"] for h in await hosts(client)] == [False]
    clock[0] = 6001
    app.naming.expire()
    assert await hosts(client) == []


async def test_persistent_instances_are_never_expired(app: NacosApp, client: httpx.AsyncClient) -> None:
    clock = [0.0]
    app.naming.clock = lambda: clock[0]
    await register(client, ephemeral="false")
    clock[0] = 10**9
    app.naming.expire()
    assert len(await hosts(client)) == 1


async def test_healthy_only_and_protect_threshold(client: httpx.AsyncClient, app: NacosApp) -> None:
    await client.post(f"{NS}/service", params={"serviceName": "demo", "protectThreshold": "0.6"})
    for port in ("1", "2"):
        await register(client, port=port, ephemeral="false", healthy="true" if port == "1" else "false")
    body = (await client.get(f"{NS}/instance/list", params={"serviceName": "demo"})).json()
    assert body["reachProtectionThreshold"] is True
    assert [h["healthy"] for h in body["hosts"]] == [True, True]
    healthy = (await client.get(f"{NS}/instance/list", params={"serviceName": "demo", "healthyOnly": "true"})).json()
    assert [h["port"] for h in healthy["hosts"]] == [1]
    assert healthy["reachProtectionThreshold"] is False


async def test_health_of_a_persistent_instance_is_set_by_put(client: httpx.AsyncClient) -> None:
    await register(client, ephemeral="false")
    params = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080", "healthy": "false"}
    assert (await client.put(f"{NS}/health/instance", params=params)).text == "ok"
    assert [h["healthy"] for h in await hosts(client)] == [False]


async def test_statuses(client: httpx.AsyncClient) -> None:
    await register(client)
    body = (await client.get(f"{NS}/instance/statuses", params={"key": "public##DEFAULT_GROUP@@demo"})).json()
    assert body == {"ips": ["10.0.0.5:8080_true"]}


# Issue 14 item 5: inputs Nacos took silently.


@pytest.mark.parametrize("ip", ["abc", "localhost", "999.1.1.1", "10.0.0", "1.2.3.4.5", "host.", ".host.example"])
async def test_an_ip_that_is_neither_an_address_nor_a_qualified_name_is_refused(
    client: httpx.AsyncClient, ip: str
) -> None:
    response = await register(client, ip=ip)
    assert (response.status_code, response.text) == (
        400,
        "Param 'ip' is illegal, illegal characters should not appear in the param.\n",
    )
    assert await hosts(client) == []


@pytest.mark.parametrize("ip", ["10.0.0.7", "2001:db8::7", "host.example.com", "db-1.svc.cluster.local"])
async def test_address_literals_and_qualified_names_register(client: httpx.AsyncClient, ip: str) -> None:
    assert (await register(client, ip=ip)).text == "ok"
    assert [h["ip"] for h in await hosts(client)] == [ip]


@pytest.mark.parametrize("beat_ip", [123, ["10.0.0.5"], {"a": 1}, True])
async def test_a_beat_ip_that_is_not_a_json_string_is_refused(client: httpx.AsyncClient, beat_ip: object) -> None:
    beat = json.dumps({"ip": beat_ip, "port": 8080, "serviceName": "DEFAULT_GROUP@@demo"})
    response = await client.put(f"{NS}/instance/beat", params={"serviceName": "demo"}, data={"beat": beat})
    assert (response.status_code, response.text) == (400, "beat ip must be a JSON string")
    assert await hosts(client) == []


async def test_a_health_word_that_is_not_true_or_false_is_refused(client: httpx.AsyncClient) -> None:
    assert (await register(client, ephemeral="false")).text == "ok"
    base = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
    response = await client.put(f"{NS}/health/instance", params={**base, "healthy": "perhaps"})
    assert (response.status_code, response.text) == (400, "Param 'healthy' must be true or false, not 'perhaps'")
    assert (await hosts(client))[0]["healthy"] is True
    assert (await client.put(f"{NS}/health/instance", params={**base, "healthy": "FALSE"})).text == "ok"
    assert (await hosts(client))[0]["healthy"] is False
    blank = await client.put(f"{NS}/health/instance", params={**base, "healthy": " "})
    assert (blank.status_code, blank.text) == (400, "Param 'healthy' is required.")


@pytest.mark.parametrize("udp_port", ["70000", "65536", "-1"])
async def test_a_udp_port_no_port_can_have_is_refused(app: NacosApp, client: httpx.AsyncClient, udp_port: str) -> None:
    response = await client.get(f"{NS}/instance/list", params={"serviceName": "demo", "udpPort": udp_port})
    assert (response.status_code, response.text) == (
        400,
        "Param 'udpPort' is illegal, the value should be between 0 and 65535.",
    )
    assert app.push is not None and len(app.push.state) == 0


# v2 `/instance/statuses/{key}`: the one route with a path variable (routing.py rule 3)

STATUSES_V2 = "/v2/ns/instance/statuses"


async def test_v2_statuses_take_the_key_from_the_path(client: httpx.AsyncClient) -> None:
    await register(client)
    response = await client.get(f"{STATUSES_V2}/DEFAULT_GROUP@@demo")
    assert (response.status_code, response.json()) == (200, {"ips": ["10.0.0.5:8080_true"]})
    for method in ("POST", "PUT", "DELETE"):  # any method, as Nacos; nothing is changed by it
        again = await client.request(method, f"{STATUSES_V2}/DEFAULT_GROUP@@demo")
        assert (again.status_code, again.json()) == (200, {"ips": ["10.0.0.5:8080_true"]})
    other = await client.get(f"{STATUSES_V2}/DEFAULT_GROUP@@demo", params={"namespaceId": "dev"})
    assert other.json() == {"ips": []}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{STATUSES_V2}/demo", 400),  # no group: the variable pattern refuses it
        (f"{STATUSES_V2}/DEFAULT_GROUP@@", 400),
        (f"{STATUSES_V2}/a@@b@@c", 400),
        (f"{STATUSES_V2}/{'g' * 129}@@demo", 400),
        (f"{STATUSES_V2}/DEFAULT_GROUP%40%40demo", 400),  # nothing in a path is percent-decoded
        (f"{STATUSES_V2}/x/DEFAULT_GROUP@@demo", 404),  # one segment only
        (f"{STATUSES_V2}", 404),
        ("/v1/ns/instance@", 404),  # `@` is allowed in a path but no fixed route has one
    ],
)
async def test_v2_statuses_key_must_match_its_pattern(app: NacosApp, path: str, status: int) -> None:
    response = await raw_request(app, "GET", f"/nacos{path}".encode())
    assert response.status == status, response.body


async def test_v2_statuses_key_and_namespace_must_agree(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/ns/instance/statuses", params={"key": "dev##G@@s", "namespaceId": "prod"})
    assert response.status_code == 400
