"""Config HTTP v2 (protocol A.7): the Result envelope, its error codes, and the v2 history routes."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
import pytest

from tests.server.support import GROUP, ISO_TIME, create_namespace, publish, show_all

CONFIG = "/v2/cs/config"
KEY = {"dataId": "a.yaml", "group": GROUP}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def missing(name: str, kind: str = "String") -> dict[str, Any]:
    detail = f"Required request parameter '{name}' for method parameter type {kind} is not present"
    return {"code": 10000, "message": "parameter missing", "data": detail}


async def publish_v2(client: httpx.AsyncClient, content: str = "k: v", **extra: str) -> httpx.Response:
    return await client.post(CONFIG, data={**KEY, "content": content, **extra})


async def test_publish_answers_the_success_envelope(client: httpx.AsyncClient) -> None:
    response = await publish_v2(client, type="yaml")
    assert response.status_code == 200
    assert response.json() == {"code": 0, "message": "success", "data": True}


async def test_get_wraps_the_content_and_sends_the_v1_headers(client: httpx.AsyncClient) -> None:
    await publish_v2(client, type="yaml")
    response = await client.get(CONFIG, params=KEY)
    assert response.status_code == 200
    assert response.content == b'{"code":0,"message":"success","data":"k: v"}'
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert response.headers["Content-MD5"] == md5("k: v")
    assert response.headers["Config-Type"] == "yaml"
    assert response.headers["Pragma"] == "no-cache"
    assert "Last-Modified" in response.headers
    assert "Encrypted-Data-Key" not in response.headers


async def test_get_of_a_missing_config_is_404_20004_with_a_trailing_newline(client: httpx.AsyncClient) -> None:
    response = await client.get(CONFIG, params={"dataId": "none", "group": GROUP})
    assert response.status_code == 404
    assert response.content == b'{"code":20004,"message":"resource not found","data":"config data not exist"}\n'
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"


async def test_get_with_an_unmatched_tag_is_404(client: httpx.AsyncClient) -> None:
    await publish_v2(client)
    response = await client.get(CONFIG, params={**KEY, "tag": "t1"})
    assert response.status_code == 404


async def test_v1_and_v2_share_the_same_configs(client: httpx.AsyncClient) -> None:
    await publish(client, content="from v1")
    assert (await client.get(CONFIG, params=KEY)).json()["data"] == "from v1"
    await publish_v2(client, "from v2")
    assert (await client.get("/v1/cs/configs", params=KEY)).text == "from v2"


async def test_namespace_id_is_the_v2_namespace_parameter(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    await publish_v2(client, "dev content", namespaceId="dev")
    assert (await client.get(CONFIG, params={**KEY, "namespaceId": "dev"})).json()["data"] == "dev content"
    assert (await client.get(CONFIG, params=KEY)).status_code == 404
    await publish_v2(client, "public content", namespaceId="public")
    assert (await client.get(CONFIG, params={**KEY, "namespaceId": ""})).json()["data"] == "public content"


@pytest.mark.parametrize("name", ["dataId", "group"])
async def test_get_without_a_key_part_is_400_10000(client: httpx.AsyncClient, name: str) -> None:
    params = {k: v for k, v in KEY.items() if k != name}
    response = await client.get(CONFIG, params=params)
    assert (response.status_code, response.json()) == (400, missing(name))


@pytest.mark.parametrize("name", ["dataId", "group", "content"])
@pytest.mark.parametrize("value", [None, "", "  "], ids=["absent", "empty", "blank"])
async def test_publish_without_a_required_field_is_400_10000(
    client: httpx.AsyncClient, name: str, value: str | None
) -> None:
    form = {**KEY, "content": "x"}
    if value is None:
        del form[name]
    else:
        form[name] = value
    response = await client.post(CONFIG, data=form)
    assert response.status_code == 400
    assert response.json() == {
        "code": 10000,
        "message": "parameter missing",
        "data": f"Required parameter '{name}' type String is not present",
    }


async def test_publish_validation_failure_is_400_20002(client: httpx.AsyncClient) -> None:
    response = await publish_v2(client, desc="d" * 129)
    assert response.status_code == 400
    assert response.json() == {"code": 20002, "message": "parameter validate error", "data": "too long desc, over 128"}


async def test_get_with_an_invalid_data_id_is_refused_by_the_param_check(client: httpx.AsyncClient) -> None:
    response = await client.get(CONFIG, params={"dataId": "a b", "group": GROUP})
    assert response.status_code == 400
    assert response.text == "Param 'dataId' is illegal, illegal characters should not appear in the param.\r\n"


async def test_cas_mismatch_is_500_20005_and_match_succeeds(client: httpx.AsyncClient) -> None:
    await publish_v2(client, "v1")
    response = await client.post(CONFIG, data={**KEY, "content": "v2"}, headers={"casMd5": "0" * 32})
    assert response.status_code == 500
    assert response.json() == {
        "code": 20005,
        "message": "resource conflict",
        "data": "Cas publish fail, server md5 may have changed.",
    }
    response = await client.post(CONFIG, data={**KEY, "content": "v2"}, headers={"casMd5": md5("v1")})
    assert response.json()["data"] is True


async def test_cas_on_a_missing_config_inserts(client: httpx.AsyncClient) -> None:
    response = await client.post(CONFIG, data={**KEY, "content": "v1"}, headers={"casMd5": "0" * 32})
    assert response.json() == {"code": 0, "message": "success", "data": True}


async def test_publish_reads_v2_field_names(client: httpx.AsyncClient) -> None:
    await publish_v2(client, srcUser="ann", configTags="a,b", appName="shop", desc="d", type="json")
    body = await show_all(client)
    assert (body["createUser"], body["configTags"], body["appName"], body["desc"], body["type"]) == (
        "ann",
        "a,b",
        "shop",
        "d",
        "json",
    )


async def test_delete_answers_true_and_removes(client: httpx.AsyncClient) -> None:
    await publish_v2(client)
    for _ in range(2):
        response = await client.delete(CONFIG, params=KEY)
        assert (response.status_code, response.json()) == (200, {"code": 0, "message": "success", "data": True})
    assert (await client.get(CONFIG, params=KEY)).status_code == 404


async def test_delete_with_a_tag_leaves_the_formal_config(client: httpx.AsyncClient) -> None:
    await publish_v2(client)
    response = await client.delete(CONFIG, params={**KEY, "tag": "t1"})
    assert response.json()["data"] is True
    assert (await client.get(CONFIG, params=KEY)).status_code == 200


async def test_delete_without_group_is_400_10000(client: httpx.AsyncClient) -> None:
    response = await client.delete(CONFIG, params={"dataId": "a.yaml"})
    assert (response.status_code, response.json()) == (400, missing("group"))


@pytest.fixture
async def lifecycle(client: httpx.AsyncClient) -> None:
    """v2 writes: I v1 (nid 1), U v1->v2 (nid 2), U v2->v3 (nid 3), D v3 (nid 4)."""
    for content, extra in (("v1", {"type": "yaml"}), ("v2", {"type": "json"}), ("v3", {})):
        assert (await publish_v2(client, content, **extra)).json()["data"] is True
    assert (await client.delete(CONFIG, params=KEY)).json()["data"] is True


async def test_history_list_is_a_page_in_the_envelope(client: httpx.AsyncClient, lifecycle: None) -> None:
    response = await client.get("/v2/cs/history/list", params=KEY)
    body = response.json()
    assert (body["code"], body["message"]) == (0, "success")
    page = body["data"]
    assert (page["totalCount"], page["pageNumber"], page["pagesAvailable"]) == (4, 1, 1)
    assert [(row["id"], row["opType"]) for row in page["pageItems"]] == [("4", "D"), ("3", "U"), ("2", "U"), ("1", "I")]
    assert page["pageItems"][0]["content"] is None


async def test_history_list_pages(client: httpx.AsyncClient, lifecycle: None) -> None:
    page = (await client.get("/v2/cs/history/list", params={**KEY, "pageNo": "2", "pageSize": "3"})).json()["data"]
    assert (page["pagesAvailable"], [row["id"] for row in page["pageItems"]]) == (2, ["1"])


async def test_history_list_without_data_id_is_400_10000(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/cs/history/list", params={"group": GROUP})
    assert (response.status_code, response.json()) == (400, missing("dataId"))


async def test_history_detail_has_content(client: httpx.AsyncClient, lifecycle: None) -> None:
    response = await client.get("/v2/cs/history", params={**KEY, "nid": "2"})
    data = response.json()["data"]
    assert (data["id"], data["opType"], data["content"], data["md5"]) == ("2", "U", "v1", md5("v1"))


async def test_history_detail_of_an_unknown_nid_is_404_20004(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/cs/history", params={**KEY, "nid": "77"})
    assert response.status_code == 404
    assert response.json() == {
        "code": 20004,
        "message": "resource not found",
        "data": "certain config history for nid = 77 not exist",
    }


async def test_history_detail_of_another_config_is_403_10001(client: httpx.AsyncClient, lifecycle: None) -> None:
    response = await client.get("/v2/cs/history", params={"dataId": "b.yaml", "group": GROUP, "nid": "1"})
    assert response.status_code == 403
    assert response.json() == {
        "code": 10001,
        "message": "access denied",
        "data": "Please check dataId, group or namespaceId.",
    }


async def test_history_detail_without_nid_is_400_10000_long(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/cs/history", params=KEY)
    assert (response.status_code, response.json()) == (400, missing("nid", "Long"))


async def test_history_detail_with_a_non_numeric_nid_is_400_20002(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/cs/history", params={**KEY, "nid": "x"})
    assert (response.status_code, response.json()["code"]) == (400, 20002)


async def diff(client: httpx.AsyncClient, nid: str) -> dict[str, Any]:
    response = await client.get("/v2/cs/history/detail", params={**KEY, "nid": nid})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (0, "success")
    data: dict[str, Any] = body["data"]
    return data


async def test_history_diff_of_an_insert_has_empty_original_and_the_row_as_updated(
    client: httpx.AsyncClient, lifecycle: None
) -> None:
    data = await diff(client, "1")
    created, modified = data.pop("createdTime"), data.pop("lastModifiedTime")
    assert re.fullmatch(ISO_TIME, created) and re.fullmatch(ISO_TIME, modified)
    assert data == {
        "id": 1,
        "lastId": -1,
        "dataId": "a.yaml",
        "group": GROUP,
        "tenant": "",
        "opType": "I",
        "publishType": "formal",
        "grayName": "",
        "appName": "",
        "srcIp": "127.0.0.1",
        "srcUser": None,
        "originalMd5": "",
        "originalContent": "",
        "originalEncryptedDataKey": "",
        "originalExtInfo": "",
        "updatedMd5": md5("v1"),
        "updatedContent": "v1",
        "updatedEncryptedDataKey": "",
        "updateExtInfo": '{"type":"yaml"}',
    }


async def test_history_diff_of_an_update_is_answered_by_the_next_row(
    client: httpx.AsyncClient, lifecycle: None
) -> None:
    data = await diff(client, "2")
    assert (data["opType"], data["originalContent"], data["originalMd5"]) == ("U", "v1", md5("v1"))
    assert (data["updatedContent"], data["updatedMd5"]) == ("v2", md5("v2"))
    assert (data["originalExtInfo"], data["updateExtInfo"]) == ('{"type":"yaml"}', '{"type":"json"}')


async def test_history_diff_of_the_last_update_is_answered_by_the_current_config(
    client: httpx.AsyncClient,
) -> None:
    await publish_v2(client, "v1")
    await publish_v2(client, "v2")
    data = await diff(client, "2")
    assert (data["originalContent"], data["updatedContent"], data["updatedMd5"]) == ("v1", "v2", md5("v2"))
    assert (data["originalExtInfo"], data["updateExtInfo"]) == ('{"type":"text"}', None)


async def test_history_diff_of_a_delete_has_no_updated_side(client: httpx.AsyncClient, lifecycle: None) -> None:
    data = await diff(client, "4")
    assert (data["opType"], data["originalContent"], data["originalMd5"]) == ("D", "v3", md5("v3"))
    assert data["originalExtInfo"] == '{"type":"text"}'
    assert (data["updatedMd5"], data["updatedContent"], data["updatedEncryptedDataKey"], data["updateExtInfo"]) == (
        None,
        None,
        None,
        None,
    )


async def test_history_diff_of_an_unknown_nid_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/cs/history/detail", params={**KEY, "nid": "5"})
    assert (response.status_code, response.json()["code"]) == (404, 20004)


async def test_history_previous_is_the_row_before_the_latest_change(client: httpx.AsyncClient, lifecycle: None) -> None:
    response = await client.get("/v2/cs/history/previous", params={**KEY, "id": "1"})
    data = response.json()["data"]
    assert (data["id"], data["opType"], data["content"]) == ("4", "D", "v3")


async def test_history_previous_without_a_row_is_404(client: httpx.AsyncClient) -> None:
    await publish_v2(client)
    response = await client.get("/v2/cs/history/previous", params={**KEY, "id": "1"})
    assert response.status_code == 404
    assert response.json() == {
        "code": 20004,
        "message": "resource not found",
        "data": "previous config history for id = 1 not exist",
    }


async def test_history_previous_of_another_config_is_403(client: httpx.AsyncClient, lifecycle: None) -> None:
    response = await client.get("/v2/cs/history/previous", params={"dataId": "x", "group": GROUP, "id": "1"})
    assert (response.status_code, response.json()["code"]) == (403, 10001)


async def test_history_configs_lists_a_namespace(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    await publish_v2(client, namespaceId="dev", type="yaml")
    response = await client.get("/v2/cs/history/configs", params={"namespaceId": "dev"})
    assert response.json() == {
        "code": 0,
        "message": "success",
        "data": [
            {
                "id": "0",
                "dataId": "a.yaml",
                "group": GROUP,
                "content": None,
                "md5": None,
                "encryptedDataKey": None,
                "tenant": "dev",
                "appName": "",
                "type": "yaml",
                "lastModified": 0,
            }
        ],
    }
    public = await client.get("/v2/cs/history/configs", params={"namespaceId": ""})
    assert public.json()["data"] == []


async def test_history_configs_needs_a_namespace_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/cs/history/configs")
    assert (response.status_code, response.json()) == (400, missing("namespaceId"))
