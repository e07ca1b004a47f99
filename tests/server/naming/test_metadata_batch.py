"""`/v1/ns/instance/metadata/batch` and `/v2/ns/instance/metadata/batch` (protocol.md C.2, D.1)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.naming.models import ServiceKey
from pynacos.server.naming.views import push_info
from tests.conftest import asgi_client
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login
from tests.server.naming.auth_setup import app_with_user

NS = "/v1/ns"
BATCH = f"{NS}/instance/metadata/batch"
V2_BATCH = "/v2/ns/instance/metadata/batch"
DEMO = ServiceKey("public", "DEFAULT_GROUP", "demo")
A = "10.0.0.5:8080:unknown:DEFAULT:ephemeral"
B = "10.0.0.6:9090:unknown:c1:ephemeral"


async def register(client: httpx.AsyncClient, ip: str, port: str, **params: str) -> None:
    base = {"serviceName": "demo", "ip": ip, "port": port, "metadata": '{"reg":"1"}'}
    response = await client.post(f"{NS}/instance", params={**base, **params})
    assert response.text == "ok"


async def two_instances(client: httpx.AsyncClient, **params: str) -> None:
    await register(client, "10.0.0.5", "8080", **params)
    await register(client, "10.0.0.6", "9090", clusterName="c1", **params)


async def metadata_by_ip(client: httpx.AsyncClient) -> dict[str, Any]:
    body = (await client.get(f"{NS}/instance/list", params={"serviceName": "demo"})).json()
    return {h["ip"]: h["metadata"] for h in body["hosts"]}


def pushes(app: NacosApp) -> list[str]:
    changed: list[str] = []
    app.naming.on_change.append(lambda key: changed.append(key.grouped))
    return changed


async def test_put_without_instances_updates_every_instance_and_pushes_once(
    app: NacosApp, client: httpx.AsyncClient
) -> None:
    await two_instances(client)
    changed = pushes(app)
    response = await client.put(BATCH, params={"serviceName": "demo", "metadata": '{"k":"v","reg":"2"}'})
    assert (response.status_code, response.json()) == (200, {"updated": [A, B]})
    assert changed == ["DEFAULT_GROUP@@demo"]
    expected = {"reg": "2", "k": "v"}
    assert await metadata_by_ip(client) == {"10.0.0.5": expected, "10.0.0.6": expected}
    detail = await client.get(f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.6", "port": "9090"})
    assert detail.status_code == 404  # detail reads clusterName only; the instance sits in c1
    detail = await client.get(
        f"{NS}/instance", params={"serviceName": "demo", "ip": "10.0.0.6", "port": "9090", "clusterName": "c1"}
    )
    assert detail.json()["metadata"] == expected
    pushed = json.loads(push_info(app.naming, DEMO, ""))
    assert [h["metadata"] for h in pushed["hosts"]] == [expected, expected]


async def test_instances_pick_targets_blank_cluster_is_default_and_unknown_ones_are_skipped(
    client: httpx.AsyncClient,
) -> None:
    await two_instances(client)
    targets = [
        {"ip": "10.0.0.6", "port": 9090, "clusterName": "c1"},
        {"ip": "10.0.0.5", "port": "8080", "clusterName": ""},
        {"ip": "10.0.0.5", "port": 8080, "clusterName": "c1"},  # wrong cluster: not this instance
        {"ip": "10.9.9.9", "port": 1},
    ]
    params = {"serviceName": "DEFAULT_GROUP@@demo", "metadata": "k=v", "instances": json.dumps(targets)}
    assert (await client.put(BATCH, data=params)).json() == {"updated": [B, A]}
    one = {"ip": "10.0.0.5", "port": 8080}
    params = {"serviceName": "demo", "metadata": "only=a", "instances": json.dumps([one])}
    assert (await client.put(BATCH, params=params)).json() == {"updated": [A]}
    assert await metadata_by_ip(client) == {
        "10.0.0.5": {"reg": "1", "k": "v", "only": "a"},
        "10.0.0.6": {"reg": "1", "k": "v"},
    }


async def test_delete_removes_override_keys_only(client: httpx.AsyncClient) -> None:
    await two_instances(client)
    await client.put(BATCH, params={"serviceName": "demo", "metadata": '{"k1":"a","k2":"b"}'})
    one = json.dumps([{"ip": "10.0.0.5", "port": 8080}])
    removed = await client.delete(BATCH, params={"serviceName": "demo", "metadata": "k1=x,reg=y", "instances": one})
    assert removed.json() == {"updated": [A]}
    assert await metadata_by_ip(client) == {
        "10.0.0.5": {"reg": "1", "k2": "b"},  # the registered key cannot be removed this way
        "10.0.0.6": {"reg": "1", "k1": "a", "k2": "b"},
    }


async def test_batch_keeps_weight_and_enabled_of_the_instance(app: NacosApp, client: httpx.AsyncClient) -> None:
    await register(client, "10.0.0.5", "8080", weight="5")
    assert (await client.delete(BATCH, params={"serviceName": "demo", "metadata": "k=v"})).json() == {"updated": [A]}
    assert app.naming.services[DEMO].overrides == {}  # nothing to remove: no override is created
    await client.put(BATCH, params={"serviceName": "demo", "metadata": "k=v"})
    host = (await client.get(f"{NS}/instance/list", params={"serviceName": "demo"})).json()["hosts"][0]
    assert (host["weight"], host["enabled"], host["metadata"]) == (5.0, True, {"reg": "1", "k": "v"})


async def test_persistent_instances_are_reported_as_persist(client: httpx.AsyncClient) -> None:
    await register(client, "10.0.0.5", "8080", ephemeral="false")
    params = {"serviceName": "demo", "metadata": "k=v", "consistencyType": "persist"}
    assert (await client.put(BATCH, params=params)).json() == {"updated": ["10.0.0.5:8080:unknown:DEFAULT:persist"]}


async def test_unknown_service_updates_nothing_and_pushes_nothing(app: NacosApp, client: httpx.AsyncClient) -> None:
    changed = pushes(app)
    response = await client.put(BATCH, params={"serviceName": "nobody", "metadata": "k=v"})
    assert (response.status_code, response.json()) == (200, {"updated": []})
    assert changed == []
    assert "DEFAULT_GROUP@@nobody" not in {k.grouped for k in app.naming.services}


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"metadata": "k=v"}, "Param 'serviceName' is required."),
        ({"serviceName": "demo"}, "Param 'metadata' is required."),
        ({"serviceName": "demo", "metadata": "k"}, "metadata format incorrect:k"),
        (
            {"serviceName": "demo", "metadata": "k=v", "instances": "[{"},
            'Param \'instances\' is illegal, it should be a JSON array of {"ip","port","clusterName"} objects',
        ),
        (
            {"serviceName": "demo", "metadata": "k=v", "instances": '{"ip":"10.0.0.5","port":8080}'},
            'Param \'instances\' is illegal, it should be a JSON array of {"ip","port","clusterName"} objects',
        ),
        (
            {"serviceName": "demo", "metadata": "k=v", "instances": '[{"port":8080}]'},
            'Param \'instances\' is illegal, it should be a JSON array of {"ip","port","clusterName"} objects'
            ": every entry needs an 'ip'",
        ),
        (
            {"serviceName": "demo", "metadata": "k=v", "instances": '[{"ip":"10.0.0.5","port":8080.5}]'},
            'Param \'instances\' is illegal, it should be a JSON array of {"ip","port","clusterName"} objects'
            ": every entry needs a whole-number 'port'",
        ),
        (
            {"serviceName": "demo", "metadata": "k=v", "instances": '[{"ip":"10.0.0.5","port":70000}]'},
            "Param 'port' is illegal, the value should be between 0 and 65535.\n",
        ),
        (
            {"serviceName": "demo", "metadata": "k=v", "instances": '[{"ip":"10.0.0.5","port":1,"clusterName":"a b"}]'},
            "Param 'cluster' is illegal, illegal characters should not appear in the param.\n",
        ),
    ],
)
async def test_bad_input_is_400_and_changes_nothing(
    app: NacosApp, client: httpx.AsyncClient, params: dict[str, str], text: str
) -> None:
    await two_instances(client)
    changed = pushes(app)
    for method in ("PUT", "DELETE"):
        response = await client.request(method, BATCH, params=params)
        assert (response.status_code, response.text) == (400, text)
    assert changed == []
    assert app.naming.services[DEMO].overrides == {}
    assert await metadata_by_ip(client) == {"10.0.0.5": {"reg": "1"}, "10.0.0.6": {"reg": "1"}}


async def test_override_metadata_is_capped_and_a_refused_batch_changes_no_instance(
    app: NacosApp, client: httpx.AsyncClient
) -> None:
    await two_instances(client)
    first = json.dumps([{"ip": "10.0.0.6", "port": 9090, "clusterName": "c1"}])
    big = {"serviceName": "demo", "metadata": "a=" + "x" * 1000, "instances": first}
    assert (await client.put(BATCH, params=big)).json() == {"updated": [B]}
    before = dict(app.naming.services[DEMO].overrides)
    response = await client.put(BATCH, params={"serviceName": "demo", "metadata": "b=" + "y" * 100})
    assert (response.status_code, response.text) == (
        400,
        "Param 'metadata' is illegal, the override metadata of 10.0.0.6:9090 would exceed 1024 characters.",
    )
    assert app.naming.services[DEMO].overrides == before  # 10.0.0.5 would have fitted, yet it is unchanged


async def test_v2_put_and_delete_answer_in_the_envelope(client: httpx.AsyncClient) -> None:
    await two_instances(client, groupName="G1")
    params = {"serviceName": "demo", "groupName": "G1", "metadata": '{"k":"v"}'}
    put = await client.put(V2_BATCH, data=params)
    assert put.json() == {"code": 0, "message": "success", "data": {"updated": [A, B]}}
    hosts = (await client.get(f"{NS}/instance/list", params={"serviceName": "G1@@demo"})).json()["hosts"]
    assert [h["metadata"] for h in hosts] == [{"reg": "1", "k": "v"}] * 2
    deleted = await client.delete(V2_BATCH, params={**params, "instances": '[{"ip":"10.0.0.5","port":8080}]'})
    assert deleted.json() == {"code": 0, "message": "success", "data": {"updated": [A]}}
    hosts = (await client.get(f"{NS}/instance/list", params={"serviceName": "G1@@demo"})).json()["hosts"]
    assert [h["metadata"] for h in hosts] == [{"reg": "1"}, {"reg": "1", "k": "v"}]


@pytest.mark.parametrize("missing", ["serviceName", "metadata"])
async def test_v2_missing_parameters_use_the_form_texts(client: httpx.AsyncClient, missing: str) -> None:
    params = {"serviceName": "demo", "metadata": "k=v"}
    del params[missing]
    response = await client.put(V2_BATCH, params=params)
    assert response.status_code == 400
    assert response.json() == {
        "code": 10000,
        "message": "parameter missing",
        "data": f"Required parameter '{missing}' type String is not present",
    }


async def test_v2_bad_instances_is_a_400_envelope(client: httpx.AsyncClient) -> None:
    response = await client.put(V2_BATCH, params={"serviceName": "demo", "metadata": "k=v", "instances": "nope"})
    assert response.status_code == 400
    assert response.json()["code"] == 20002


# ------------------------------------------------------------------------------------------------ auth on


@pytest.fixture
async def auth_app(tmp_path: Path) -> AsyncIterator[NacosApp]:
    server = await app_with_user(tmp_path, "public:*:*", "r")
    yield server
    await server.stop()


async def test_metadata_batch_needs_write_permission(auth_app: NacosApp) -> None:
    async with asgi_client(auth_app) as client:
        admin = await login(client, "nacos", ADMIN_PASSWORD)
        reader = await login(client, "u1", USER_PASSWORD)
        await register(client, "10.0.0.5", "8080", accessToken=admin)
        for method in ("PUT", "DELETE"):
            for path in (BATCH, V2_BATCH):
                params = {"serviceName": "demo", "metadata": "k=v", "accessToken": reader}
                response = await client.request(method, path, params=params)
                assert (method, path, response.status_code) == (method, path, 403)
        assert auth_app.naming.services[DEMO].overrides == {}
        allowed = await client.put(BATCH, params={"serviceName": "demo", "metadata": "k=v", "accessToken": admin})
        assert allowed.json() == {"updated": [A]}
