"""Naming routes under auth: `<namespace>:<group>:naming/<service>` resources (auth.md §8)."""

from __future__ import annotations

import httpx

from pynacos.server.app import NacosApp
from tests.server.auth.conftest import USER_PASSWORD, login


async def test_naming_permission_scopes_register_and_list(app: NacosApp, client: httpx.AsyncClient) -> None:
    await app.namespaces.create("dev", "dev", None)
    accounts = app.auth.accounts
    await accounts.create_user("svc-owner", USER_PASSWORD)
    await accounts.add_role("shop-team", "svc-owner")
    await accounts.add_permission("shop-team", "dev:SHOP:naming/*", "rw")
    token = await login(client, "svc-owner", USER_PASSWORD)
    base = {"ip": "10.0.0.5", "port": "8080", "namespaceId": "dev", "accessToken": token}
    ok = await client.post("/v1/ns/instance", params={**base, "serviceName": "cart", "groupName": "SHOP"})
    assert ok.text == "ok"
    grouped = await client.get("/v1/ns/instance/list", params={**base, "serviceName": "SHOP@@cart"})
    assert grouped.status_code == 200
    other_group = await client.post("/v1/ns/instance", params={**base, "serviceName": "cart"})
    assert other_group.status_code == 403
    other_ns = await client.post(
        "/v1/ns/instance", params={**base, "serviceName": "cart", "groupName": "SHOP", "namespaceId": "public"}
    )
    assert other_ns.status_code == 403
    conflict = await client.post("/v1/ns/instance", params={**base, "serviceName": "PROD@@cart", "groupName": "SHOP"})
    assert conflict.status_code == 400


async def test_anonymous_naming_calls_are_refused_but_metrics_answer(client: httpx.AsyncClient) -> None:
    params = {"serviceName": "cart", "ip": "10.0.0.5", "port": "8080"}
    assert (await client.post("/v1/ns/instance", params=params)).status_code == 403
    assert (await client.get("/v1/ns/instance/list", params=params)).status_code == 403
    assert (await client.get("/v1/ns/operator/switches")).status_code == 403
    assert (await client.get("/v1/ns/operator/metrics")).json() == {"status": "UP"}
