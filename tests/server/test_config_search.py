"""Config search (accurate/blur), show=all, catalog and batch delete by ids (protocol A.2, A.4, A.8)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from pynacos.server.config import validation
from tests.server.support import CFG, GROUP, create_namespace, publish, show_all


async def search(client: httpx.AsyncClient, mode: str = "accurate", **params: str) -> httpx.Response:
    query = {"search": mode, "dataId": "", "group": "", "pageNo": "1", "pageSize": "10", **params}
    return await client.get(CFG, params=query)


def item(config_id: str, data_id: str, content: str, group: str = GROUP, **extra: str) -> dict[str, Any]:
    return {
        "id": config_id,
        "dataId": data_id,
        "group": group,
        "content": content,
        "md5": None,
        "encryptedDataKey": "",
        "tenant": "",
        "appName": "",
        "type": "text",
        **extra,
    }


@pytest.fixture
async def three(client: httpx.AsyncClient) -> None:
    """a.yaml (yaml, app shop, tags x,y), b.json (json, tag z), c.txt in group OTHER."""
    assert await publish(client, "a.yaml", "A", type="yaml", appName="shop", config_tags="x,y") == "200 true"
    assert await publish(client, "b.json", "B", type="json", config_tags="z") == "200 true"
    assert await publish(client, "c.txt", "C", group="OTHER") == "200 true"


async def test_accurate_search_with_empty_data_id_lists_a_group_like_the_python_sdk(
    client: httpx.AsyncClient, three: None
) -> None:
    response = await search(client, group=GROUP, pageSize="1000")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "totalCount": 2,
        "pageNumber": 1,
        "pagesAvailable": 1,
        "pageItems": [
            item("1", "a.yaml", "A", type="yaml", appName="shop"),
            item("2", "b.json", "B", type="json"),
        ],
    }


async def test_accurate_search_matches_data_id_exactly(client: httpx.AsyncClient, three: None) -> None:
    assert [i["dataId"] for i in (await search(client, dataId="a.yaml")).json()["pageItems"]] == ["a.yaml"]
    assert (await search(client, dataId="a")).json()["totalCount"] == 0


async def test_blank_data_id_and_group_match_everything(client: httpx.AsyncClient, three: None) -> None:
    body = (await search(client)).json()
    assert [i["dataId"] for i in body["pageItems"]] == ["a.yaml", "b.json", "c.txt"]


async def test_paging_fills_counts_and_pages_available(client: httpx.AsyncClient, three: None) -> None:
    first = (await search(client, pageSize="2")).json()
    assert (first["totalCount"], first["pageNumber"], first["pagesAvailable"]) == (3, 1, 2)
    assert [i["dataId"] for i in first["pageItems"]] == ["a.yaml", "b.json"]
    second = (await search(client, pageNo="2", pageSize="2")).json()
    assert (second["pageNumber"], [i["dataId"] for i in second["pageItems"]]) == (2, ["c.txt"])


async def test_page_number_beyond_the_last_page_gives_no_items_but_counts(
    client: httpx.AsyncClient, three: None
) -> None:
    response = await search(client, pageNo="9", pageSize="2")
    assert response.json() == {"totalCount": 3, "pageNumber": 9, "pagesAvailable": 2, "pageItems": []}


async def test_empty_result_has_zero_pages(client: httpx.AsyncClient) -> None:
    response = await search(client, dataId="nothing")
    assert response.json() == {"totalCount": 0, "pageNumber": 1, "pagesAvailable": 0, "pageItems": []}


@pytest.mark.parametrize(("page_no", "page_size"), [("0", "10"), ("1", "0"), ("-1", "10"), ("1", "-5")])
@pytest.mark.parametrize("mode", ["accurate", "blur"])
async def test_page_number_or_size_not_positive_is_400_with_nacos_text(
    client: httpx.AsyncClient, mode: str, page_no: str, page_size: str
) -> None:
    response = await search(client, mode, dataId="d1", group="g1", pageNo=page_no, pageSize=page_size)
    assert response.status_code == 400
    assert response.text == (
        "caused: serialize page error, dataId=d1, group=g1;caused: pageNo and pageSize must be greater than zero;"
    )


async def test_missing_page_number_is_a_missing_parameter(client: httpx.AsyncClient) -> None:
    response = await client.get(CFG, params={"search": "accurate", "dataId": "", "group": "", "pageSize": "10"})
    assert response.status_code == 400
    assert response.text == "caused: Required request parameter 'pageNo' for method parameter type int is not present;"


async def test_search_needs_data_id_and_group_parameters_even_empty(client: httpx.AsyncClient) -> None:
    response = await client.get(CFG, params={"search": "blur", "group": "", "pageNo": "1", "pageSize": "10"})
    assert response.status_code == 400
    assert "'dataId'" in response.text


async def test_blur_star_is_a_wildcard_on_data_id_and_group(client: httpx.AsyncClient, three: None) -> None:
    async def ids(**params: str) -> list[str]:
        return [i["dataId"] for i in (await search(client, "blur", **params)).json()["pageItems"]]

    assert await ids(dataId="*") == ["a.yaml", "b.json", "c.txt"]
    assert await ids(dataId="a*") == ["a.yaml"]
    assert await ids(dataId="*.json") == ["b.json"]
    assert await ids(dataId="*.*") == ["a.yaml", "b.json", "c.txt"]
    assert await ids(group="OTH*") == ["c.txt"]
    assert await ids(group="*GROUP") == ["a.yaml", "b.json"]


async def test_blur_without_star_is_exact(client: httpx.AsyncClient, three: None) -> None:
    assert [i["dataId"] for i in (await search(client, "blur", dataId="b.json")).json()["pageItems"]] == ["b.json"]
    assert (await search(client, "blur", dataId="b")).json()["totalCount"] == 0


async def test_blur_filters_by_types(client: httpx.AsyncClient, three: None) -> None:
    body = (await search(client, "blur", dataId="*", types="yaml,json")).json()
    assert [i["dataId"] for i in body["pageItems"]] == ["a.yaml", "b.json"]
    body = (await search(client, "blur", types="text")).json()
    assert [i["dataId"] for i in body["pageItems"]] == ["c.txt"]


async def test_accurate_ignores_types(client: httpx.AsyncClient, three: None) -> None:
    assert (await search(client, types="yaml")).json()["totalCount"] == 3


@pytest.mark.parametrize("mode", ["accurate", "blur"])
async def test_config_tags_match_any_listed_tag(client: httpx.AsyncClient, three: None, mode: str) -> None:
    body = (await search(client, mode, config_tags="y,z")).json()
    assert [i["dataId"] for i in body["pageItems"]] == ["a.yaml", "b.json"]
    body = (await search(client, mode, config_tags="x")).json()
    assert [i["dataId"] for i in body["pageItems"]] == ["a.yaml"]
    assert (await search(client, mode, config_tags="nope")).json()["totalCount"] == 0


@pytest.mark.parametrize("mode", ["accurate", "blur"])
async def test_app_name_matches_exactly(client: httpx.AsyncClient, three: None, mode: str) -> None:
    assert [i["dataId"] for i in (await search(client, mode, appName="shop")).json()["pageItems"]] == ["a.yaml"]
    assert (await search(client, mode, appName="sho")).json()["totalCount"] == 0


async def test_search_stays_inside_the_namespace(client: httpx.AsyncClient, three: None) -> None:
    await create_namespace(client, "dev")
    assert await publish(client, "a.yaml", "DEV", tenant="dev") == "200 true"
    body = (await search(client, dataId="a.yaml", tenant="dev")).json()
    assert body["pageItems"] == [item("4", "a.yaml", "DEV", tenant="dev")]
    assert (await search(client, "blur", dataId="*", tenant="dev")).json()["totalCount"] == 1
    for public in ("", "public"):
        assert (await search(client, dataId="a.yaml", tenant=public)).json()["pageItems"][0]["content"] == "A"


@pytest.mark.parametrize("data_id", ["a/b", "a*"])
async def test_accurate_search_goes_through_the_param_check(client: httpx.AsyncClient, data_id: str) -> None:
    response = await search(client, dataId=data_id)
    assert response.status_code == 400
    assert response.text == "Param 'dataId' is illegal, illegal characters should not appear in the param.\r\n"


async def test_blur_search_is_not_param_checked(client: httpx.AsyncClient, three: None) -> None:
    response = await search(client, "blur", dataId="a/b*")
    assert (response.status_code, response.json()["totalCount"]) == (200, 0)


async def test_show_all_returns_every_field(client: httpx.AsyncClient) -> None:
    form = {"type": "yaml", "appName": "shop", "desc": "d", "use": "u", "effect": "e", "schema": "s"}
    assert await publish(client, config_tags="a,b", **form) == "200 true"
    body = await show_all(client)
    created, modified = body.pop("createTime"), body.pop("modifyTime")
    assert isinstance(created, int) and created == modified
    assert body == {
        "id": "1",
        "dataId": "a.yaml",
        "group": GROUP,
        "content": "k: v",
        "md5": hashlib.md5(b"k: v").hexdigest(),
        "encryptedDataKey": "",
        "tenant": "",
        "appName": "shop",
        "type": "yaml",
        "createUser": None,
        "createIp": "127.0.0.1",
        "desc": "d",
        "use": "u",
        "effect": "e",
        "schema": "s",
        "configTags": "a,b",
    }


async def test_show_all_keeps_creation_time_across_updates(client: httpx.AsyncClient) -> None:
    await publish(client, content="one")
    first = await show_all(client)
    await publish(client, content="two")
    second = await show_all(client)
    assert second["createTime"] == first["createTime"]
    assert second["modifyTime"] >= first["modifyTime"]
    assert second["id"] == first["id"]


async def test_show_all_of_a_missing_config_is_an_empty_200(client: httpx.AsyncClient) -> None:
    response = await client.get(CFG, params={"show": "all", "dataId": "none", "group": GROUP})
    assert (response.status_code, response.content) == (200, b"")


async def test_show_all_records_the_src_user(client: httpx.AsyncClient) -> None:
    await publish(client, src_user="alice")
    assert (await show_all(client))["createUser"] == "alice"


async def test_catalog_returns_the_advance_info(client: httpx.AsyncClient) -> None:
    await publish(client, type="json", desc="d", config_tags="t1")
    response = await client.get(CFG + "/catalog", params={"dataId": "a.yaml", "group": GROUP})
    body = response.json()
    data = body["data"]
    assert (body["code"], body["message"]) == (200, None)
    assert isinstance(data.pop("createTime"), int) and isinstance(data.pop("modifyTime"), int)
    assert data == {
        "createUser": None,
        "createIp": "127.0.0.1",
        "desc": "d",
        "use": None,
        "effect": None,
        "type": "json",
        "schema": None,
        "configTags": "t1",
    }


async def test_catalog_of_a_missing_config_has_null_data(client: httpx.AsyncClient) -> None:
    response = await client.get(CFG + "/catalog", params={"dataId": "none", "group": GROUP})
    assert response.json() == {"code": 200, "message": None, "data": None}


async def test_delete_by_ids_removes_each_and_skips_unknown(client: httpx.AsyncClient, three: None) -> None:
    response = await client.delete(CFG, params={"delType": "ids", "ids": "1,3,99"})
    assert (response.status_code, response.json()) == (200, {"code": 200, "message": None, "data": True})
    assert [i["dataId"] for i in (await search(client)).json()["pageItems"]] == ["b.json"]
    history = await client.get("/v1/cs/history", params={"search": "accurate", "dataId": "a.yaml", "group": GROUP})
    assert [row["opType"] for row in history.json()["pageItems"]] == ["D", "I"]


@pytest.mark.parametrize("ids", ["abc", "1,x", "²", "9223372036854775808", "-9223372036854775809", "1.5", "0x1"])
async def test_delete_by_ids_refuses_what_is_not_a_java_long_and_deletes_nothing(
    client: httpx.AsyncClient, three: None, ids: str
) -> None:
    """Issue 14 item 5: skipping bad entries answered `true` to a request that deleted nothing it named."""
    response = await client.delete(CFG, params={"delType": "ids", "ids": ids})
    assert response.status_code == 400
    assert "ids must be whole numbers within a Java long" in response.text
    assert len((await search(client)).json()["pageItems"]) == 3


def test_parse_ids_reads_java_longs_and_skips_blank_entries() -> None:
    assert validation.parse_ids(" 1, ,2,,9223372036854775807,-3,+4") == [1, 2, 2**63 - 1, -3, 4]
    assert validation.parse_ids("") == []


async def test_delete_by_ids_needs_ids(client: httpx.AsyncClient) -> None:
    response = await client.delete(CFG, params={"delType": "ids"})
    assert response.status_code == 400
    assert "'ids'" in response.text


async def test_delete_by_ids_accepts_repeated_ids(client: httpx.AsyncClient, three: None) -> None:
    response = await client.delete(CFG, params=[("delType", "ids"), ("ids", "1"), ("ids", "2")])
    assert response.json() == {"code": 200, "message": None, "data": True}
    assert [i["dataId"] for i in (await search(client)).json()["pageItems"]] == ["c.txt"]


async def test_other_search_values_fall_through_to_a_plain_get(client: httpx.AsyncClient, three: None) -> None:
    response = await client.get(CFG, params={"search": "Accurate", "dataId": "a.yaml", "group": GROUP})
    assert (response.status_code, response.text) == (200, "A")
