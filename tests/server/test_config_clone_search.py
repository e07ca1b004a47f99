"""Config clone (`POST ?clone=true`) and the v2 console search with a content filter (`searchDetail`)."""

from __future__ import annotations

import httpx

from tests.server.support import CFG, GROUP, create_namespace, publish, show_all

CLONE = {"clone": "true", "tenant": "dev"}


async def config_id(client: httpx.AsyncClient, data_id: str, **extra: str) -> int:
    return int((await show_all(client, data_id, **extra))["id"])


async def test_clone_copies_picked_configs_into_the_target_with_new_names(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    assert await publish(client, "a.yaml", "a: 1", type="yaml", appName="shop", desc="first") == "200 true"
    await publish(client, "b.txt", "b")
    picks = [
        {"cfgId": await config_id(client, "a.yaml"), "dataId": "", "group": ""},
        {"cfgId": await config_id(client, "b.txt"), "dataId": "b-copy.txt", "group": "COPIES"},
        None,
    ]
    answer = await client.post(CFG, params=CLONE, json=picks)
    assert answer.json() == {
        "code": 200,
        "message": "Clone Completed Successfully",
        "data": {"succCount": 2, "skipCount": 0},
    }
    copied = await show_all(client, "a.yaml", tenant="dev")
    assert (copied["content"], copied["type"], copied["appName"], copied["desc"]) == ("a: 1", "yaml", "shop", "first")
    renamed = await client.get(CFG, params={"dataId": "b-copy.txt", "group": "COPIES", "tenant": "dev"})
    assert renamed.text == "b"
    again = await client.post(CFG, params={**CLONE, "policy": "SKIP"}, json=picks[:1])
    assert again.json()["data"] == {"succCount": 0, "skipCount": 1, "skipData": [{"dataId": "a.yaml", "group": GROUP}]}


async def test_clone_refusals(client: httpx.AsyncClient) -> None:
    await publish(client, "a.yaml", "a")
    cfg_id = await config_id(client, "a.yaml")
    empty = await client.post(CFG, params=CLONE, json=[])
    assert empty.json() == {"code": 100006, "message": "没有选择任何配置", "data": {"succCount": 0}}
    missing_ns = await client.post(CFG, params={**CLONE, "tenant": "nope"}, json=[{"cfgId": cfg_id}])
    assert missing_ns.json() == {"code": 100001, "message": "目标 namespace 不存在", "data": {"succCount": 0}}
    await create_namespace(client, "dev")
    unknown = await client.post(CFG, params=CLONE, json=[{"cfgId": 999}])
    assert unknown.json() == {"code": 100005, "message": "导入的文件数据为空", "data": {"succCount": 0}}
    for body in (b"{", b'{"cfgId":1}', b'[{"cfgId":"x1"}]', b'[{"cfgId":true}]'):
        bad = await client.post(CFG, params=CLONE, content=body, headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
    assert (await client.get(CFG, params={"dataId": "a.yaml", "group": GROUP, "tenant": "dev"})).status_code == 404


async def test_search_detail_filters_on_content(client: httpx.AsyncClient) -> None:
    await publish(client, "db.properties", "url=jdbc:mysql://db")
    await publish(client, "app.yaml", "port: 8080")
    search = {"dataId": "", "group": "", "pageNo": "1", "pageSize": "10"}
    found = await client.get("/v2/cs/config/searchDetail", params={**search, "config_detail": "*mysql*"})
    assert found.json()["totalCount"] == 1
    assert found.json()["pageItems"][0]["dataId"] == "db.properties"
    exact = await client.get("/v2/cs/config/searchDetail", params={**search, "config_detail": "mysql"})
    assert exact.json()["totalCount"] == 0  # no `*`: the whole content must match, as Nacos's LIKE does
    every = await client.get("/v2/cs/config/searchDetail", params={**search, "config_detail": ""})
    assert every.json()["totalCount"] == 2
    accurate = {**search, "dataId": "app.yaml", "group": GROUP, "search": "accurate", "config_detail": "port: 8080"}
    assert (await client.get("/v2/cs/config/searchDetail", params=accurate)).json()["totalCount"] == 1
    missing = await client.get("/v2/cs/config/searchDetail", params=search)
    assert missing.status_code == 400
