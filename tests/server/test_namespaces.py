"""Namespaces over the v1 console routes and v2 (protocol B.1)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.support import create_namespace, publish

V1 = "/v1/console/namespaces"
V2 = "/v2/console/namespace"
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def namespace(ns_id: str, name: str, desc: str | None = None, count: int = 0, kind: int = 2) -> dict[str, Any]:
    return {
        "namespace": ns_id,
        "namespaceShowName": name,
        "namespaceDesc": desc,
        "quota": 200,
        "configCount": count,
        "type": kind,
    }


PUBLIC = namespace("", "public", "Default Namespace", kind=0)


async def v1_create(client: httpx.AsyncClient, ns_id: str, name: str = "Name", **extra: str) -> str:
    response = await client.post(V1, data={"customNamespaceId": ns_id, "namespaceName": name, **extra})
    return f"{response.status_code} {response.text}"


async def v1_list(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    body = (await client.get(V1)).json()
    assert (body["code"], body["message"]) == (200, None)
    data: list[dict[str, Any]] = body["data"]
    return data


async def test_list_starts_with_the_synthetic_public_namespace(client: httpx.AsyncClient) -> None:
    response = await client.get(V1)
    assert response.status_code == 200
    assert response.json() == {"code": 200, "message": None, "data": [PUBLIC]}


async def test_list_shows_custom_namespaces_in_creation_order_with_config_counts(client: httpx.AsyncClient) -> None:
    assert await v1_create(client, "zeta", "Zeta", namespaceDesc="last letter") == "200 true"
    assert await v1_create(client, "alpha", "Alpha") == "200 true"
    await publish(client, "a", tenant="zeta")
    await publish(client, "b", tenant="zeta")
    await publish(client, "c")
    assert await v1_list(client) == [
        {**PUBLIC, "configCount": 1},
        namespace("zeta", "Zeta", "last letter", count=2),
        namespace("alpha", "Alpha"),
    ]


async def test_show_all_returns_one_bare_namespace(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev", "Dev")
    response = await client.get(V1, params={"show": "all", "namespaceId": "dev"})
    assert (response.status_code, response.json()) == (200, namespace("dev", "Dev"))


@pytest.mark.parametrize("ns_id", ["", "public"])
async def test_show_all_of_the_public_namespace(client: httpx.AsyncClient, ns_id: str) -> None:
    response = await client.get(V1, params={"show": "all", "namespaceId": ns_id})
    assert response.json() == PUBLIC


async def test_show_all_of_an_unknown_namespace_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(V1, params={"show": "all", "namespaceId": "nope"})
    assert (response.status_code, response.text) == (404, "caused: namespaceId [ nope ] not exist;")


async def test_show_all_needs_the_namespace_id(client: httpx.AsyncClient) -> None:
    response = await client.get(V1, params={"show": "all"})
    assert response.status_code == 400
    assert "'namespaceId'" in response.text


@pytest.mark.parametrize(
    ("ns_id", "expected"),
    [("dev", "true"), ("other", "false"), ("", "false"), ("  ", "false"), ("public", "false")],
)
async def test_check_namespace_id_exist(client: httpx.AsyncClient, ns_id: str, expected: str) -> None:
    await create_namespace(client, "dev")
    response = await client.get(V1, params={"checkNamespaceIdExist": "true", "customNamespaceId": ns_id})
    assert (response.status_code, response.text) == (200, expected)


async def test_create_with_an_empty_id_makes_a_uuid(client: httpx.AsyncClient) -> None:
    assert await v1_create(client, "", "Generated") == "200 true"
    created = (await v1_list(client))[1]
    assert re.fullmatch(UUID4, created["namespace"])
    assert created["namespaceShowName"] == "Generated"


@pytest.mark.parametrize(
    ("ns_id", "name"),
    [("dev", "Again"), ("public", "P"), ("PUBLIC", "P"), ("null", "N"), ("fresh", ""), ("fresh", "   ")],
    ids=["existing", "public", "PUBLIC", "null", "empty-name", "blank-name"],
)
async def test_create_answers_false_when_refused(client: httpx.AsyncClient, ns_id: str, name: str) -> None:
    await create_namespace(client, "dev", "Dev")
    assert await v1_create(client, ns_id, name) == "200 false"
    assert [ns["namespace"] for ns in await v1_list(client)] == ["", "dev"]
    assert (await v1_list(client))[1]["namespaceShowName"] == "Dev"


@pytest.mark.parametrize(
    ("form", "text"),
    [
        (
            {"customNamespaceId": "a.b", "namespaceName": "n"},
            "Param 'namespaceId/tenant' is illegal, illegal characters should not appear in the param.",
        ),
        (
            {"customNamespaceId": "x" * 65, "namespaceName": "n"},
            "Param 'namespaceId/tenant' is illegal, the param length should not exceed 64.",
        ),
        (
            {"customNamespaceId": "ok", "namespaceName": "a#b"},
            "Param 'namespaceShowName' is illegal, illegal characters should not appear in the param.",
        ),
        (
            {"customNamespaceId": "ok", "namespaceName": "n" * 257},
            "Param 'namespaceShowName' is illegal, the param length should not exceed 256.",
        ),
    ],
    ids=["id-chars", "id-length", "name-chars", "name-length"],
)
async def test_create_goes_through_the_param_check(client: httpx.AsyncClient, form: dict[str, str], text: str) -> None:
    response = await client.post(V1, data=form)
    assert (response.status_code, response.text) == (400, text + "\r\n")


@pytest.mark.parametrize("missing", ["customNamespaceId", "namespaceName"])
async def test_create_needs_both_parameters(client: httpx.AsyncClient, missing: str) -> None:
    form = {"customNamespaceId": "dev", "namespaceName": "Dev"}
    del form[missing]
    response = await client.post(V1, data=form)
    assert response.status_code == 400
    assert (
        response.text
        == f"caused: Required request parameter '{missing}' for method parameter type String is not present;"
    )


async def test_update_sets_name_and_description(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev", "Dev")
    form = {"namespace": "dev", "namespaceShowName": "Development", "namespaceDesc": "d"}
    response = await client.put(V1, data=form)
    assert (response.status_code, response.text) == (200, "true")
    assert (await v1_list(client))[1] == namespace("dev", "Development", "d")


async def test_update_of_an_unknown_namespace_is_refused_and_creates_nothing(client: httpx.AsyncClient) -> None:
    """Issue 14 item 5: Nacos answers `true` and changes nothing, which reads as success."""
    response = await client.put(V1, data={"namespace": "ghost", "namespaceShowName": "Ghost"})
    assert (response.status_code, response.text) == (400, "caused: namespaceId [ ghost ] not exist;")
    v2 = await client.put(V2, data={"namespaceId": "ghost", "namespaceName": "Ghost"})
    assert (v2.status_code, v2.json()["code"]) == (400, 22001)
    assert await v1_list(client) == [PUBLIC]


async def test_names_and_descriptions_longer_than_their_columns_are_refused(client: httpx.AsyncClient) -> None:
    """tenant_info holds 128-character names and 256-character descriptions: SQLite alone would keep more."""
    assert await v1_create(client, "dev", "n" * 129) == "200 false"
    form = {"customNamespaceId": "dev", "namespaceName": "Dev", "namespaceDesc": "d" * 257}
    assert (await client.post(V1, data=form)).text == "false"
    assert await v1_create(client, "dev", "n" * 128) == "200 true"
    assert (await v1_list(client))[1]["namespaceShowName"] == "n" * 128


async def test_update_with_an_illegal_name_answers_false(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev", "Dev")
    response = await client.put(V1, data={"namespace": "dev", "namespaceShowName": "bad@name"})
    assert (response.status_code, response.text) == (200, "false")
    assert (await v1_list(client))[1]["namespaceShowName"] == "Dev"


async def test_delete_keeps_the_configs_of_the_namespace(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    await publish(client, "kept", content="still here", tenant="dev")
    response = await client.delete(V1, params={"namespaceId": "dev"})
    assert (response.status_code, response.text) == (200, "true")
    assert await v1_list(client) == [PUBLIC]
    config = await client.get("/v1/cs/configs", params={"dataId": "kept", "group": "DEFAULT_GROUP", "tenant": "dev"})
    assert config.text == "still here"


async def test_delete_of_an_unknown_namespace_answers_true(client: httpx.AsyncClient) -> None:
    response = await client.delete(V1, params={"namespaceId": "ghost"})
    assert response.text == "true"


@pytest.mark.parametrize("ns_id", ["", "public"])
async def test_the_public_namespace_cannot_be_deleted(client: httpx.AsyncClient, ns_id: str) -> None:
    response = await client.delete(V1, params={"namespaceId": ns_id})
    assert (response.status_code, response.text) == (200, "false")
    assert await v1_list(client) == [PUBLIC]


async def test_delete_reads_the_form_body(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    response = await client.request(
        "DELETE", V1, content=b"namespaceId=dev", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.text == "true"
    assert await v1_list(client) == [PUBLIC]


async def test_namespaces_survive_a_restart(settings: Settings) -> None:
    first = await started(settings)
    async with asgi_client(first) as client:
        await create_namespace(client, "dev", "Dev")
        await client.put(V1, data={"namespace": "dev", "namespaceShowName": "Dev2", "namespaceDesc": "d"})
    await first.stop()
    second = await started(settings)
    try:
        async with asgi_client(second) as client:
            assert await v1_list(client) == [PUBLIC, namespace("dev", "Dev2", "d")]
    finally:
        await second.stop()


# --- v2 -------------------------------------------------------------------------------------------


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "success", "data": data}


async def test_v2_list(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev", "Dev")
    response = await client.get(V2 + "/list")
    assert (response.status_code, response.json()) == (200, ok([PUBLIC, namespace("dev", "Dev")]))


async def test_v2_get(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev", "Dev")
    assert (await client.get(V2, params={"namespaceId": "dev"})).json() == ok(namespace("dev", "Dev"))
    assert (await client.get(V2, params={"namespaceId": ""})).json() == ok(PUBLIC)


async def test_v2_get_of_an_unknown_namespace_is_404_22001(client: httpx.AsyncClient) -> None:
    response = await client.get(V2, params={"namespaceId": "nope"})
    assert response.status_code == 404
    assert response.json() == {
        "code": 22001,
        "message": "namespace not exist",
        "data": "namespaceId [ nope ] not exist",
    }


async def test_v2_get_needs_the_namespace_id(client: httpx.AsyncClient) -> None:
    response = await client.get(V2)
    assert response.status_code == 400
    assert response.json() == {
        "code": 10000,
        "message": "parameter missing",
        "data": "Required request parameter 'namespaceId' for method parameter type String is not present",
    }


async def test_v2_create_update_delete(client: httpx.AsyncClient) -> None:
    form = {"namespaceId": "dev", "namespaceName": "Dev", "namespaceDesc": "d"}
    assert (await client.post(V2, data=form)).json() == ok(True)
    assert (await client.get(V2, params={"namespaceId": "dev"})).json()["data"] == namespace("dev", "Dev", "d")
    form = {"namespaceId": "dev", "namespaceName": "Development"}
    assert (await client.put(V2, data=form)).json() == ok(True)
    assert (await client.get(V2, params={"namespaceId": "dev"})).json()["data"] == namespace("dev", "Development")
    assert (await client.delete(V2, params={"namespaceId": "dev"})).json() == ok(True)
    assert (await client.get(V2, params={"namespaceId": "dev"})).status_code == 404


async def test_v2_create_with_an_empty_id_makes_a_uuid(client: httpx.AsyncClient) -> None:
    assert (await client.post(V2, data={"namespaceId": "", "namespaceName": "Gen"})).json() == ok(True)
    assert re.fullmatch(UUID4, (await v1_list(client))[1]["namespace"])


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("missing", ["namespaceId", "namespaceName"])
async def test_v2_write_without_a_field_is_400_10000(client: httpx.AsyncClient, method: str, missing: str) -> None:
    form = {"namespaceId": "dev", "namespaceName": "Dev"}
    del form[missing]
    response = await client.request(method, V2, data=form)
    assert response.status_code == 400
    assert response.json() == {
        "code": 10000,
        "message": "parameter missing",
        "data": f"required parameter '{missing}' is missing",
    }


async def test_v2_create_of_an_existing_id_is_400_22000(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    response = await client.post(V2, data={"namespaceId": "dev", "namespaceName": "Again"})
    assert response.status_code == 400
    assert response.json() == {
        "code": 22000,
        "message": "illegal namespace",
        "data": "the namespaceId is existed, namespaceId: dev",
    }


async def test_v2_create_of_the_public_id_is_400_22000(client: httpx.AsyncClient) -> None:
    response = await client.post(V2, data={"namespaceId": "public", "namespaceName": "P"})
    assert response.status_code == 400
    assert response.json() == {
        "code": 22000,
        "message": "illegal namespace",
        "data": "namespaceId [public] mismatch the pattern",
    }


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_v2_blank_name_is_400_22000(client: httpx.AsyncClient, method: str) -> None:
    await create_namespace(client, "dev")
    response = await client.request(
        method, V2, data={"namespaceId": "dev" if method == "PUT" else "x", "namespaceName": " "}
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 22000,
        "message": "illegal namespace",
        "data": "namespaceName [ ] contains illegal char",
    }


async def test_v2_illegal_name_is_refused_by_the_param_check(client: httpx.AsyncClient) -> None:
    response = await client.post(V2, data={"namespaceId": "x", "namespaceName": "a*b"})
    assert response.status_code == 400
    assert response.text == (
        "Param 'namespaceShowName' is illegal, illegal characters should not appear in the param.\r\n"
    )
