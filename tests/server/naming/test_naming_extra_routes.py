"""Smaller naming routes: `/v1/ns/service/names`, `/service/selector/types`, `/health/server` and
`/v2/ns/catalog/instances` (protocol.md C.3, D.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import asgi_client
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login
from tests.server.naming.auth_setup import app_with_user

NS = "/v1/ns"
CATALOG = "/v2/ns/catalog/instances"


async def register(client: httpx.AsyncClient, name: str, ip: str = "10.0.0.5", **params: str) -> None:
    response = await client.post(f"{NS}/instance", params={"serviceName": name, "ip": ip, "port": "8080", **params})
    assert response.text == "ok"


async def three_services(app: NacosApp, client: httpx.AsyncClient) -> None:
    await app.namespaces.create("dev", "dev", None)
    await register(client, "alpha")
    await register(client, "G1@@beta")
    await register(client, "gamma", namespaceId="dev")


# ------------------------------------------------------------------------------------------ /service/names


async def test_names_without_namespace_lists_every_namespace(app: NacosApp, client: httpx.AsyncClient) -> None:
    await three_services(app, client)
    response = await client.get(f"{NS}/service/names")
    assert response.json() == {
        "META-INF/services": {"dev": ["DEFAULT_GROUP@@gamma"], "public": ["DEFAULT_GROUP@@alpha", "G1@@beta"]},
        "count": 3,
    }
    assert response.text.startswith('{"META-INF/services":{')


async def test_names_filter_by_namespace_and_literal_expr(app: NacosApp, client: httpx.AsyncClient) -> None:
    await three_services(app, client)

    async def names(**params: str) -> Any:
        return (await client.get(f"{NS}/service/names", params=params)).json()

    assert await names(namespaceId="public", expr="G1@@") == {"META-INF/services": {"public": ["G1@@beta"]}, "count": 1}
    assert await names(expr="a") == {
        "META-INF/services": {"dev": ["DEFAULT_GROUP@@gamma"], "public": ["DEFAULT_GROUP@@alpha", "G1@@beta"]},
        "count": 3,
    }
    # regex syntax is matched literally (Nacos runs it as a regex: `.*` would match everything)
    assert await names(namespaceId="public", expr=".*") == {"META-INF/services": {"public": []}, "count": 0}
    assert await names(expr="(a+)+$") == {"META-INF/services": {"dev": [], "public": []}, "count": 0}
    assert await names(namespaceId="nowhere") == {"META-INF/services": {"nowhere": []}, "count": 0}


async def test_names_of_an_empty_registry(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{NS}/service/names")).json() == {"META-INF/services": {}, "count": 0}


async def test_names_with_an_illegal_namespace_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{NS}/service/names", params={"namespaceId": "a b"})
    assert (response.status_code, response.text) == (
        400,
        "Param 'namespaceId/tenant' is illegal, illegal characters should not appear in the param.\n",
    )


# ------------------------------------------------------------------------------- selector types, health


async def test_selector_types_in_nacos_order(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{NS}/service/selector/types")
    assert (response.status_code, response.text) == (200, '{"code":200,"message":null,"data":["label","none"]}')


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=str(tmp_path), port=18848)


async def test_health_server_counts_services_and_names_the_http_port(client: httpx.AsyncClient) -> None:
    await register(client, "alpha")
    await register(client, "beta")
    response = await client.get(f"{NS}/health/server")
    assert response.json() == {"msg": "Hello! I am Nacos-Naming and healthy! total services: 2, local port:18848"}


# --------------------------------------------------------------------------------- /v2/ns/catalog/instances


async def catalog_fixture(client: httpx.AsyncClient) -> None:
    await register(client, "demo", "10.0.0.1")
    await register(client, "demo", "10.0.0.2", healthy="false")
    await register(client, "demo", "10.0.0.3", clusterName="c1", metadata='{"k":"v"}')
    disable = {"serviceName": "demo", "ip": "10.0.0.3", "port": "8080", "clusterName": "c1", "enabled": "false"}
    assert (await client.put(f"{NS}/instance", params={**disable, "metadata": '{"o":"1"}'})).text == "ok"


async def catalog(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.get(CATALOG, params={"serviceName": "demo", "pageNo": "1", "pageSize": "10", **params})


async def test_catalog_instances_lists_every_instance_as_clients_see_it(client: httpx.AsyncClient) -> None:
    await catalog_fixture(client)
    body = (await catalog(client)).json()
    assert (body["code"], body["message"], body["data"]["count"]) == (0, "success", 3)
    instances = body["data"]["instances"]
    assert [(i["ip"], i["healthy"], i["enabled"]) for i in instances] == [
        ("10.0.0.1", True, True),
        ("10.0.0.2", False, True),
        ("10.0.0.3", True, False),
    ]
    third = instances[2]
    assert third["instanceId"] == "10.0.0.3#8080#c1#DEFAULT_GROUP@@demo"
    assert (third["clusterName"], third["serviceName"], third["metadata"]) == (
        "c1",
        "DEFAULT_GROUP@@demo",
        {"k": "v", "o": "1"},
    )
    assert list(body["data"]) == ["instances", "count"]


async def test_catalog_instances_filters_then_pages_the_filtered_list(client: httpx.AsyncClient) -> None:
    await catalog_fixture(client)

    async def ips(**params: str) -> tuple[list[str], int]:
        data = (await catalog(client, **params)).json()["data"]
        return [i["ip"] for i in data.get("instances", [])], data["count"]

    assert await ips(healthyOnly="true") == (["10.0.0.1", "10.0.0.3"], 2)
    assert await ips(healthyOnly="false") == (["10.0.0.2"], 1)
    assert await ips(enabledOnly="false") == (["10.0.0.3"], 1)
    assert await ips(healthyOnly="on", enabledOnly="1") == (["10.0.0.1"], 1)
    # Nacos takes the page end from the unfiltered list (3) and throws here
    assert await ips(healthyOnly="true", pageNo="1", pageSize="3") == (["10.0.0.1", "10.0.0.3"], 2)
    assert await ips(pageNo="2", pageSize="2") == (["10.0.0.3"], 3)
    empty = (await catalog(client, pageNo="3", pageSize="2")).json()
    assert empty == {"code": 0, "message": "success", "data": {"count": 3}}


async def test_catalog_instances_of_an_unknown_service_is_an_empty_count(client: httpx.AsyncClient) -> None:
    response = await catalog(client, serviceName="G9@@nobody")
    assert response.json() == {"code": 0, "message": "success", "data": {"count": 0}}


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"serviceName": ""}, "Parameter 'serviceName' is missing"),
        ({"pageNo": ""}, "Parameter 'pageNo' is missing"),
        ({"pageSize": ""}, "Parameter 'pageSize' is missing"),
        ({"pageSize": "x"}, 'For input string: "x"'),
        ({"healthyOnly": "maybe"}, "Param 'healthyOnly' must be true or false, not 'maybe'"),
        ({"serviceName": "a@@b@@c"}, "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'"),
    ],
)
async def test_catalog_instances_errors_are_v1_text(
    client: httpx.AsyncClient, params: dict[str, str], text: str
) -> None:
    response = await catalog(client, **params)
    assert (response.status_code, response.text) == (400, text)


# ---------------------------------------------------------------------------------------------- auth on


@pytest.fixture
async def auth_app(tmp_path: Path) -> AsyncIterator[NacosApp]:
    server = await app_with_user(tmp_path, "dev:*:*", "r")
    yield server
    await server.stop()


async def test_names_needs_read_on_every_namespace_it_shows(auth_app: NacosApp) -> None:
    async with asgi_client(auth_app) as client:
        admin = await login(client, "nacos", ADMIN_PASSWORD)
        user = await login(client, "u1", USER_PASSWORD)
        await register(client, "gamma", namespaceId="dev", accessToken=admin)
        own = await client.get(f"{NS}/service/names", params={"namespaceId": "dev", "accessToken": user})
        assert own.json() == {"META-INF/services": {"dev": ["DEFAULT_GROUP@@gamma"]}, "count": 1}
        everywhere = await client.get(f"{NS}/service/names", params={"accessToken": user})
        assert everywhere.json() == own.json()  # only dev holds services yet
        await register(client, "alpha", accessToken=admin)
        for params in ({"accessToken": user}, {"namespaceId": "public", "accessToken": user}):
            assert (await client.get(f"{NS}/service/names", params=params)).status_code == 403
        assert (await client.get(f"{NS}/service/names")).status_code == 403
        catalog_params = {"serviceName": "gamma", "namespaceId": "dev", "pageNo": "1", "pageSize": "5"}
        assert (await client.get(CATALOG, params=catalog_params)).status_code == 403
        listed = await client.get(CATALOG, params={**catalog_params, "accessToken": user})
        assert listed.json()["data"]["count"] == 1


async def test_selector_types_and_health_server_are_open_as_in_nacos(auth_app: NacosApp) -> None:
    """Constant data and a liveness line: open with auth on, as in Nacos."""
    async with asgi_client(auth_app) as client:
        assert (await client.get(f"{NS}/service/selector/types")).status_code == 200
        health = await client.get(f"{NS}/health/server")
        assert health.json() == {"msg": "Hello! I am Nacos-Naming and healthy! total services: 0, local port:8848"}
