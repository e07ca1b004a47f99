"""Config history over HTTP v1 (protocol A.3 history rows, A.6 routes)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
import pytest

from tests.server.support import GROUP, ISO_TIME, create_namespace, delete, publish, show_all

HISTORY = "/v1/cs/history"
MISMATCH = "caused: Please check dataId, group or namespaceId.;"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


async def history_list(client: httpx.AsyncClient, data_id: str = "a.yaml", **params: str) -> Any:
    query = {"search": "accurate", "dataId": data_id, "group": GROUP, **params}
    response = await client.get(HISTORY, params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def detail(client: httpx.AsyncClient, nid: str, data_id: str = "a.yaml", **params: str) -> httpx.Response:
    return await client.get(HISTORY, params={"nid": nid, "dataId": data_id, "group": GROUP, **params})


@pytest.fixture
async def lifecycle(client: httpx.AsyncClient) -> None:
    """Insert (v1, yaml, desc), update (v2), delete: history rows 1 (I), 2 (U), 3 (D) of config id 1."""
    assert await publish(client, content="v1", type="yaml", desc="first", config_tags="t", src_user="ann") == "200 true"
    assert await publish(client, content="v2", type="json", src_user="bob") == "200 true"
    assert await delete(client, username="cat") == "200 true"


async def test_list_is_newest_first_with_one_row_per_write(client: httpx.AsyncClient, lifecycle: None) -> None:
    body = await history_list(client)
    assert (body["totalCount"], body["pageNumber"], body["pagesAvailable"]) == (3, 1, 1)
    assert [(row["id"], row["opType"]) for row in body["pageItems"]] == [("3", "D"), ("2", "U"), ("1", "I")]


async def test_list_items_have_the_nacos_shape_without_content(client: httpx.AsyncClient, lifecycle: None) -> None:
    row = (await history_list(client))["pageItems"][2]
    created, modified = row.pop("createdTime"), row.pop("lastModifiedTime")
    assert re.fullmatch(ISO_TIME, created) and re.fullmatch(ISO_TIME, modified)
    assert row == {
        "id": "1",
        "lastId": -1,
        "dataId": "a.yaml",
        "group": GROUP,
        "tenant": "",
        "appName": "",
        "md5": None,
        "content": None,
        "srcIp": "127.0.0.1",
        "srcUser": "ann",
        "opType": "I",
        "publishType": "formal",
        "grayName": "",
        "extInfo": '{"src_user":"ann","type":"yaml","c_desc":"first","config_tags":"t"}',
        "encryptedDataKey": None,
    }


async def test_insert_row_stores_the_new_content(client: httpx.AsyncClient, lifecycle: None) -> None:
    body = (await detail(client, "1")).json()
    assert (body["opType"], body["content"], body["md5"], body["encryptedDataKey"]) == ("I", "v1", md5("v1"), "")


async def test_update_row_stores_the_previous_content_and_extra_info(
    client: httpx.AsyncClient, lifecycle: None
) -> None:
    body = (await detail(client, "2")).json()
    assert (body["opType"], body["content"], body["md5"], body["srcUser"]) == ("U", "v1", md5("v1"), "bob")
    assert body["extInfo"] == '{"src_user":"ann","type":"yaml","c_desc":"first","config_tags":"t"}'


async def test_delete_row_stores_the_deleted_content(client: httpx.AsyncClient, lifecycle: None) -> None:
    body = (await detail(client, "3")).json()
    assert (body["opType"], body["content"], body["md5"], body["srcUser"]) == ("D", "v2", md5("v2"), "cat")
    assert body["extInfo"] == '{"src_user":"bob","type":"json","config_tags":"t"}'


async def test_republishing_identical_content_still_writes_a_row(client: httpx.AsyncClient) -> None:
    await publish(client, content="same")
    await publish(client, content="same")
    assert [row["opType"] for row in (await history_list(client))["pageItems"]] == ["U", "I"]


async def test_list_pages_newest_first(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await publish(client, content=f"v{n}")
    body = await history_list(client, pageNo="2", pageSize="2")
    assert (body["totalCount"], body["pageNumber"], body["pagesAvailable"]) == (5, 2, 3)
    assert [row["id"] for row in body["pageItems"]] == ["3", "2"]
    assert (await history_list(client, pageNo="4", pageSize="2"))["pageItems"] == []


async def test_list_page_size_is_capped_at_500(client: httpx.AsyncClient) -> None:
    await publish(client)
    body = await history_list(client, pageSize="100000")
    assert (body["totalCount"], body["pagesAvailable"], len(body["pageItems"])) == (1, 1, 1)


async def test_list_defaults_to_the_first_page_of_100(client: httpx.AsyncClient) -> None:
    await publish(client)
    assert (await history_list(client))["pageNumber"] == 1


async def test_list_is_per_key_and_per_namespace(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    await publish(client, content="pub")
    await publish(client, content="dev", tenant="dev")
    await publish(client, "b.yaml", content="other")
    assert [row["tenant"] for row in (await history_list(client, tenant="dev"))["pageItems"]] == ["dev"]
    assert [row["tenant"] for row in (await history_list(client, tenant="public"))["pageItems"]] == [""]


async def test_list_with_non_positive_page_is_400(client: httpx.AsyncClient) -> None:
    query = {"search": "accurate", "dataId": "a.yaml", "group": GROUP, "pageNo": "0"}
    response = await client.get(HISTORY, params=query)
    assert (response.status_code, response.text) == (400, "caused: pageNo and pageSize must be greater than zero;")


async def test_detail_has_the_list_shape_with_content_filled(client: httpx.AsyncClient, lifecycle: None) -> None:
    response = await detail(client, "1")
    assert response.status_code == 200
    listed = (await history_list(client))["pageItems"][2]
    assert response.json() == {**listed, "md5": md5("v1"), "content": "v1", "encryptedDataKey": ""}


async def test_detail_of_an_unknown_nid_is_an_empty_200(client: httpx.AsyncClient) -> None:
    response = await detail(client, "42")
    assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize(
    "wrong",
    [{"dataId": "b.yaml"}, {"group": "OTHER"}, {"tenant": "dev"}],
)
async def test_detail_of_another_config_is_403(client: httpx.AsyncClient, wrong: dict[str, str]) -> None:
    await create_namespace(client, "dev")
    await publish(client)
    response = await client.get(HISTORY, params={"nid": "1", "dataId": "a.yaml", "group": GROUP, **wrong})
    assert (response.status_code, response.text) == (403, MISMATCH)


async def test_detail_needs_a_nid(client: httpx.AsyncClient) -> None:
    response = await client.get(HISTORY, params={"dataId": "a.yaml", "group": GROUP})
    assert response.status_code == 400
    assert response.text == "caused: Required request parameter 'nid' for method parameter type Long is not present;"


async def test_detail_with_a_non_numeric_nid_is_400(client: httpx.AsyncClient) -> None:
    response = await detail(client, "abc")
    assert response.status_code == 400


async def test_previous_is_the_row_before_the_latest_change_of_a_config(client: httpx.AsyncClient) -> None:
    await publish(client, content="v1")
    config_id = (await show_all(client))["id"]
    query = {"id": config_id, "dataId": "a.yaml", "group": GROUP}
    response = await client.get(HISTORY + "/previous", params=query)
    assert (response.status_code, response.content) == (200, b"")  # an I row has config id 0
    await publish(client, content="v2")
    await publish(client, content="v3")
    body = (await client.get(HISTORY + "/previous", params=query)).json()
    assert (body["id"], body["opType"], body["content"], body["md5"]) == ("3", "U", "v2", md5("v2"))
    await delete(client)
    body = (await client.get(HISTORY + "/previous", params=query)).json()
    assert (body["id"], body["opType"], body["content"]) == ("4", "D", "v3")


async def test_previous_of_another_config_is_403(client: httpx.AsyncClient) -> None:
    await publish(client, content="v1")
    await publish(client, content="v2")
    response = await client.get(HISTORY + "/previous", params={"id": "1", "dataId": "other", "group": GROUP})
    assert (response.status_code, response.text) == (403, MISMATCH)


async def test_previous_needs_an_id(client: httpx.AsyncClient) -> None:
    response = await client.get(HISTORY + "/previous", params={"dataId": "a.yaml", "group": GROUP})
    assert response.status_code == 400
    assert response.text == "caused: Required request parameter 'id' for method parameter type Long is not present;"


async def test_configs_of_a_namespace_lists_current_configs(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    await publish(client, "a.yaml", type="yaml", appName="shop")
    await publish(client, "b.yaml", tenant="dev")
    response = await client.get(HISTORY + "/configs", params={"tenant": ""})
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": "0",
            "dataId": "a.yaml",
            "group": GROUP,
            "content": None,
            "md5": None,
            "encryptedDataKey": None,
            "tenant": "",
            "appName": "shop",
            "type": "yaml",
            "lastModified": 0,
        }
    ]
    dev = (await client.get(HISTORY + "/configs", params={"tenant": "dev"})).json()
    assert [(c["dataId"], c["tenant"]) for c in dev] == [("b.yaml", "dev")]
    public = (await client.get(HISTORY + "/configs", params={"tenant": "public"})).json()
    assert [c["dataId"] for c in public] == ["a.yaml"]


async def test_configs_of_a_namespace_needs_the_tenant_parameter(client: httpx.AsyncClient) -> None:
    response = await client.get(HISTORY + "/configs")
    assert response.status_code == 400
    assert "'tenant'" in response.text


async def test_configs_of_a_namespace_checks_the_tenant(client: httpx.AsyncClient) -> None:
    response = await client.get(HISTORY + "/configs", params={"tenant": "bad/ns"})
    assert response.status_code == 400
    assert response.text == (
        "Param 'namespaceId/tenant' is illegal, illegal characters should not appear in the param.\r\n"
    )
