"""Config capacity: `/v1/cs/capacity` (2.x) and `/v3/admin/cs/capacity` (protocol-v3 G.2.3): defaults, live
usage, stored limits, Nacos's automatic expansion, refusals that change nothing, and admin-only access."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, USER_PASSWORD, login
from tests.server.naming.auth_setup import app_with_user
from tests.server.support import create_namespace, publish

V1 = "/v1/cs/capacity"
V3 = "/v3/admin/cs/capacity"
DEFAULTS = {"maxSize": 102400, "maxAggrCount": 10000, "maxAggrSize": 1024, "gmtCreate": None, "gmtModified": None}
KEYS = ["id", "quota", "usage", "maxSize", "maxAggrCount", "maxAggrSize", "gmtCreate", "gmtModified"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The admin scope off (on by default in 3.x) and a small namespace quota, to reach it cheaply."""
    return Settings(home=str(tmp_path), auth_admin_enabled=False, default_tenant_quota=3)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["code", "message", "data"] and (body["code"], body["message"]) == (0, "success")
    return body["data"]


def failed(response: httpx.Response, status: int, code: int, data: str) -> None:
    assert response.status_code == status, response.text
    message = {10000: "parameter missing", 20002: "parameter validate error"}[code]
    assert response.json() == {"code": code, "message": message, "data": data}


async def test_unset_capacity_shows_the_defaults_and_live_usage(client: httpx.AsyncClient) -> None:
    for data_id in ("a", "b"):
        assert await publish(client, data_id, group="G") == "200 true"
    assert await publish(client, "c", group="OTHER") == "200 true"
    await create_namespace(client, "dev")
    assert await publish(client, "d", group="G", tenant="dev") == "200 true"
    group = ok(await client.get(V3, params={"groupName": "G"}))
    assert list(group) == [*KEYS, "groupName"]
    assert group == {"id": None, "quota": 200, "usage": 2, **DEFAULTS, "groupName": "G"}
    namespace = ok(await client.get(V3, params={"namespaceId": "dev", "groupName": "G"}))  # the namespace wins
    assert namespace == {"id": None, "quota": 3, "usage": 1, **DEFAULTS, "namespaceId": "dev"}
    public = ok(await client.get(V3, params={"namespaceId": "public"}))
    assert (public["namespaceId"], public["usage"]) == ("public", 3)
    assert await publish(client, "e", group="G") == "200 true"
    assert ok(await client.get(V3, params={"groupName": "G"}))["usage"] == 3  # counted live


async def test_limits_are_stored_changed_one_at_a_time_and_kept_across_a_restart(settings: Settings) -> None:
    app = await started(settings)
    try:
        async with asgi_client(app) as client:
            assert ok(await client.post(V3, data={"groupName": "G", "quota": "5", "maxSize": "2048"})) is True
            assert ok(await client.post(V3, data={"groupName": "G", "maxAggrCount": "7"})) is True
            shown = ok(await client.get(V3, params={"groupName": "G"}))
            assert isinstance(shown["id"], str) and shown["id"].isdigit()
            assert (shown["quota"], shown["maxSize"], shown["maxAggrCount"], shown["maxAggrSize"]) == (5, 2048, 7, 1024)
            assert ok(await client.post(V3, data={"groupName": "G", "quota": "0"})) is True  # 0: the default again
            assert ok(await client.get(V3, params={"groupName": "G"}))["quota"] == 200
    finally:
        await app.stop()
    again = await started(settings)
    try:
        async with asgi_client(again) as client:
            kept = ok(await client.get(V3, params={"groupName": "G"}))
            assert (kept["id"], kept["quota"], kept["maxSize"], kept["maxAggrCount"]) == (shown["id"], 200, 2048, 7)
    finally:
        await again.stop()


async def test_a_row_created_over_the_default_quota_gets_room_to_grow(client: httpx.AsyncClient) -> None:
    """Nacos's initial expansion: usage 4 >= default 3, so the new row's quota is 4 + 3."""
    await create_namespace(client, "dev")
    for data_id in ("a", "b", "c", "d"):
        assert await publish(client, data_id, tenant="dev") == "200 true"
    assert ok(await client.post(V3, data={"namespaceId": "dev", "maxSize": "10"})) is True
    shown = ok(await client.get(V3, params={"namespaceId": "dev"}))
    assert (shown["quota"], shown["usage"], shown["maxSize"]) == (7, 4, 10)


async def test_bad_input_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    neither = "At least one of the parameters (groupName or namespaceId) must be provided"
    failed(await client.get(V3), 400, 10000, neither)
    failed(await client.post(V3, data={"quota": "5"}), 400, 10000, neither)
    failed(
        await client.post(V3, data={"groupName": "G"}),
        400,
        10000,
        "The parameters quota, maxSize, maxAggrCount, maxAggrSize cannot be empty at the same time",
    )
    for value in ("-1", "abc", "2147483648", "1.5", "٣", "9" * 5000):
        failed(
            await client.post(V3, data={"groupName": "G", "quota": value}),
            400,
            20002,
            f"parameter 'quota' must be a whole number from 0 to 2147483647, not '{value[:64]}'",
        )
    failed(await client.post(V3, data={"groupName": "a b", "quota": "1"}), 400, 20002, "invalid group : a b")
    failed(
        await client.post(V3, data={"namespaceId": "nope", "quota": "1"}),
        400,
        20002,
        "namespace 'nope' does not exist",
    )
    assert ok(await client.get(V3, params={"groupName": "G"}))["id"] is None  # no row was written


async def test_v1_capacity_in_the_2x_shapes(client: httpx.AsyncClient) -> None:
    assert await publish(client, "a", group="G") == "200 true"
    both = await client.get(V1)
    assert (both.status_code, both.text) == (
        400,
        "caused: The parameter group and tenant cannot be empty at the same time;",
    )
    blank = await client.get(V1, params={"tenant": ""})
    assert (blank.status_code, blank.text) == (400, "caused: tenant cannot be an empty string;")
    shown = (await client.get(V1, params={"group": "G"})).json()
    assert shown == {
        "code": 200,
        "message": None,
        "data": {"id": None, "quota": 200, "usage": 1, **DEFAULTS, "group": "G"},
    }
    server = (await client.get(V1, params={"group": ""})).json()["data"]  # Nacos's cluster row
    assert (server["quota"], server["usage"], server["group"]) == (100000, 1, "")
    updated = (await client.post(V1, data={"tenant": "public", "quota": "9"})).json()
    assert updated == {
        "code": 200,
        "message": "successfully updated the capacity information configuration of tenant to public",
        "data": True,
    }
    tenant = (await client.get(V1, params={"tenant": "public"})).json()["data"]
    assert (tenant["quota"], tenant["usage"], tenant["tenant"]) == (9, 1, "public")
    nothing = await client.post(V1, data={"group": "G"})
    assert nothing.status_code == 400 and "cannot be empty at the same time" in nothing.text
    assert (await client.get(V1, params={"group": "G"})).json()["data"]["id"] is None


async def test_capacity_needs_an_admin(tmp_path: Path) -> None:
    """Admin scope on (3.x default) and client auth on: no token, a user holding rw on a namespace, the admin."""
    app = await app_with_user(tmp_path, "dev:*:*", "rw")
    try:
        async with asgi_client(app) as client:
            user = {"accessToken": await login(client, "u1", USER_PASSWORD)}
            admin = {"accessToken": await login(client, "nacos", ADMIN_PASSWORD)}
            for path, form in ((V3, {"namespaceId": "dev", "quota": "1"}), (V1, {"tenant": "dev", "quota": "1"})):
                anonymous = await client.post(path, data=form)
                assert anonymous.status_code == 403 and anonymous.json()["path"] == "/nacos" + path
                refused = await client.post(path, data={**form, **user})
                assert refused.status_code == 403 and "authorization failed!" in refused.json()["message"]
                assert (await client.get(path, params={**form, **user})).status_code == 403
                shown = (await client.get(path, params={**form, **admin})).json()["data"]
                assert (shown["id"], shown["quota"]) == (None, 200)  # nothing was written by the refusals
            assert ok(await client.post(V3, data={"namespaceId": "dev", "quota": "4", **admin})) is True
    finally:
        await app.stop()


async def test_admin_scope_guards_v3_capacity_with_client_auth_off(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path), token_secret_key=KEY))
    try:
        async with asgi_client(app) as client:
            refused = await client.get(V3, params={"groupName": "G"})
            assert refused.status_code == 403 and "Code: 401" in refused.json()["message"]
            assert (await client.get(V1, params={"group": "G"})).status_code == 200  # v1: client scope, off
    finally:
        await app.stop()
