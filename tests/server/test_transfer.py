"""Config export and import zips (protocol A.2, Export / Import)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import yaml

from tests.server.support import CFG, GROUP, create_namespace, make_zip, publish, read_zip, show_all


async def export(client: httpx.AsyncClient, v2: bool = False, **params: str) -> httpx.Response:
    response = await client.get(CFG, params={"exportV2" if v2 else "export": "true", **params})
    assert response.status_code == 200, response.text
    return response


async def import_zip(client: httpx.AsyncClient, data: bytes | None, **params: str) -> dict[str, Any]:
    files = {"file": ("configs.zip", data, "application/zip")} if data is not None else None
    response = await client.post(CFG, params={"import": "true", **params}, files=files)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def content(client: httpx.AsyncClient, data_id: str, group: str = GROUP, tenant: str = "") -> str | None:
    response = await client.get(CFG, params={"dataId": data_id, "group": group, "tenant": tenant})
    return response.text if response.status_code == 200 else None


@pytest.fixture
async def configs(client: httpx.AsyncClient) -> None:
    await publish(client, "a.yaml", "A", type="yaml", appName="shop", desc="the a")
    await publish(client, "b.properties", "k=v", group="G2", type="properties")
    await publish(client, "noext", "plain", appName="shop")


async def test_export_v1_is_a_zip_of_group_slash_data_id_with_app_names(
    client: httpx.AsyncClient, configs: None
) -> None:
    response = await export(client)
    assert response.headers["Content-Type"] == "application/zip"
    assert re.fullmatch(r"attachment;filename=nacos_config_export_\d{14}\.zip", response.headers["Content-Disposition"])
    assert read_zip(response.content) == {
        "DEFAULT_GROUP/a.yaml": "A",
        "G2/b.properties": "k=v",
        "DEFAULT_GROUP/noext": "plain",
        ".meta.yml": "DEFAULT_GROUP.a~yaml.app=shop\r\nDEFAULT_GROUP.noext.app=shop\r\n",
    }


async def test_export_v1_has_no_meta_file_without_app_names(client: httpx.AsyncClient) -> None:
    await publish(client, "x.json", "{}")
    assert read_zip((await export(client)).content) == {"DEFAULT_GROUP/x.json": "{}"}


async def test_export_v2_always_has_metadata(client: httpx.AsyncClient, configs: None) -> None:
    entries = read_zip((await export(client, v2=True)).content)
    metadata = entries.pop(".metadata.yml")
    assert entries == {"DEFAULT_GROUP/a.yaml": "A", "G2/b.properties": "k=v", "DEFAULT_GROUP/noext": "plain"}
    assert yaml.safe_load(metadata) == {
        "metadata": [
            {"appName": "shop", "dataId": "a.yaml", "desc": "the a", "group": GROUP, "type": "yaml"},
            {"dataId": "b.properties", "group": "G2", "type": "properties"},
            {"appName": "shop", "dataId": "noext", "group": GROUP, "type": "text"},
        ]
    }
    assert metadata.startswith("metadata:\n- appName: shop\n  dataId: a.yaml\n")


async def test_export_v2_of_nothing_has_empty_metadata(client: httpx.AsyncClient) -> None:
    entries = read_zip((await export(client, v2=True)).content)
    assert yaml.safe_load(entries[".metadata.yml"]) == {"metadata": []}


async def test_export_filters_by_group_data_id_and_app_name(client: httpx.AsyncClient, configs: None) -> None:
    assert set(read_zip((await export(client, group="G2")).content)) == {"G2/b.properties"}
    assert set(read_zip((await export(client, dataId="a*")).content)) == {"DEFAULT_GROUP/a.yaml", ".meta.yml"}
    names = set(read_zip((await export(client, v2=True, appName="shop")).content))
    assert names == {"DEFAULT_GROUP/a.yaml", "DEFAULT_GROUP/noext", ".metadata.yml"}


async def test_export_by_ids_ignores_the_other_filters(client: httpx.AsyncClient, configs: None) -> None:
    ids = (await show_all(client, "b.properties", group="G2"))["id"]
    assert set(read_zip((await export(client, ids=ids, group="nothing")).content)) == {"G2/b.properties"}


async def test_export_stays_in_its_namespace(client: httpx.AsyncClient, configs: None) -> None:
    await create_namespace(client, "dev")
    await publish(client, "d.txt", "D", tenant="dev")
    assert read_zip((await export(client, tenant="dev")).content) == {"DEFAULT_GROUP/d.txt": "D"}


@pytest.mark.parametrize("tenant", ["\x00", "a\x01", "a b"])
@pytest.mark.parametrize("v2", [False, True])
async def test_export_of_a_namespace_a_read_would_refuse_is_refused(
    client: httpx.AsyncClient, configs: None, tenant: str, v2: bool
) -> None:
    """Issue 14 item 5: `exportV2&tenant=%00` answered an empty zip where a read of the namespace is a 400."""
    response = await client.get(CFG, params={"exportV2" if v2 else "export": "true", "tenant": tenant})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")


async def test_export_then_import_into_another_namespace_round_trips(client: httpx.AsyncClient, configs: None) -> None:
    await create_namespace(client, "dev")
    body = await import_zip(client, (await export(client, v2=True)).content, namespace="dev")
    assert body == {"code": 200, "message": "import success", "data": {"succCount": 3, "skipCount": 0}}
    imported = await show_all(client, "a.yaml", tenant="dev")
    assert (imported["content"], imported["type"], imported["appName"], imported["desc"]) == (
        "A",
        "yaml",
        "shop",
        "the a",
    )
    assert await content(client, "b.properties", "G2", "dev") == "k=v"


async def test_import_v1_reads_app_names_from_meta_yml(client: httpx.AsyncClient) -> None:
    data = make_zip({"G/a.yaml": "A", "G/plain": "P", ".meta.yml": "G.a~yaml.app=shop\r\n\r\nG.plain.app=tool\r\n"})
    body = await import_zip(client, data)
    assert body["data"] == {"succCount": 2, "skipCount": 0}
    assert (await show_all(client, "a.yaml", group="G"))["appName"] == "shop"
    assert (await show_all(client, "plain", group="G"))["appName"] == "tool"


async def test_import_reports_unrecognized_entries(client: httpx.AsyncClient) -> None:
    data = make_zip({"G/a.yaml": "A", "toplevel.txt": "x", "G/sub/deep.txt": "y"})
    body = await import_zip(client, data)
    assert body["data"] == {
        "succCount": 1,
        "skipCount": 0,
        "unrecognizedCount": 2,
        "unrecognizedData": [{"itemName": "toplevel.txt"}, {"itemName": "G/sub/deep.txt"}],
    }


async def test_import_v2_reports_files_and_metadata_that_do_not_match(client: httpx.AsyncClient) -> None:
    metadata = yaml.safe_dump(
        {
            "metadata": [
                {"dataId": "a.yaml", "group": "G", "type": "yaml"},
                {"dataId": "lost.txt", "group": "G", "type": "text"},
            ]
        }
    )
    data = make_zip({"G/a.yaml": "A", "G/extra.txt": "E", ".metadata.yml": metadata})
    body = await import_zip(client, data)
    assert body["data"] == {
        "succCount": 1,
        "skipCount": 0,
        "unrecognizedCount": 2,
        "unrecognizedData": [{"itemName": "未在元数据中找到: G/extra.txt"}, {"itemName": "未在文件中找到: G/lost.txt"}],
    }
    assert await content(client, "extra.txt", "G") is None


@pytest.fixture
async def existing(client: httpx.AsyncClient) -> bytes:
    """b.yaml exists with OLD; the zip holds a.yaml, b.yaml (NEW) and c.yaml."""
    await publish(client, "b.yaml", "OLD")
    return make_zip({"DEFAULT_GROUP/a.yaml": "A", "DEFAULT_GROUP/b.yaml": "NEW", "DEFAULT_GROUP/c.yaml": "C"})


async def test_import_abort_with_a_conflict_imports_nothing(client: httpx.AsyncClient, existing: bytes) -> None:
    for params in ({"policy": "ABORT"}, {}):
        body = await import_zip(client, existing, **params)
        assert body == {
            "code": 200,
            "message": "import success",
            "data": {
                "succCount": 0,
                "skipCount": 2,
                "failData": [{"dataId": "b.yaml", "group": GROUP, "reason": "config already exists (policy ABORT)"}],
                "skipData": [{"dataId": "a.yaml", "group": GROUP}, {"dataId": "c.yaml", "group": GROUP}],
            },
        }
        assert (await content(client, "a.yaml"), await content(client, "b.yaml")) == (None, "OLD")


async def test_import_skip_keeps_existing_configs(client: httpx.AsyncClient, existing: bytes) -> None:
    body = await import_zip(client, existing, policy="SKIP")
    assert body["data"] == {"succCount": 2, "skipCount": 1, "skipData": [{"dataId": "b.yaml", "group": GROUP}]}
    assert [await content(client, d) for d in ("a.yaml", "b.yaml", "c.yaml")] == ["A", "OLD", "C"]


async def test_import_overwrite_replaces_existing_configs(client: httpx.AsyncClient, existing: bytes) -> None:
    body = await import_zip(client, existing, policy="OVERWRITE", src_user="importer")
    assert body["data"] == {"succCount": 3, "skipCount": 0}
    assert [await content(client, d) for d in ("a.yaml", "b.yaml", "c.yaml")] == ["A", "NEW", "C"]
    assert (await show_all(client, "b.yaml"))["createUser"] == "importer"


async def test_import_writes_history(client: httpx.AsyncClient, existing: bytes) -> None:
    await import_zip(client, existing, policy="OVERWRITE")
    query = {"search": "accurate", "dataId": "b.yaml", "group": GROUP}
    rows = (await client.get("/v1/cs/history", params=query)).json()["pageItems"]
    assert [row["opType"] for row in rows] == ["U", "I"]


async def test_import_of_a_file_that_is_not_a_zip_is_100004(client: httpx.AsyncClient) -> None:
    body = await import_zip(client, b"this is not a zip")
    assert body == {"code": 100004, "message": "解析数据失败", "data": {"succCount": 0}}


async def test_import_without_a_file_is_100005(client: httpx.AsyncClient) -> None:
    body = await import_zip(client, None)
    assert body == {"code": 100005, "message": "导入的文件数据为空", "data": {}}


async def test_import_of_a_zip_without_configs_is_100005(client: httpx.AsyncClient) -> None:
    body = await import_zip(client, make_zip({"toplevel.txt": "x"}))
    assert body == {"code": 100005, "message": "导入的文件数据为空", "data": {"succCount": 0}}


async def test_import_into_an_unknown_namespace_is_100001(client: httpx.AsyncClient) -> None:
    body = await import_zip(client, make_zip({"G/a": "A"}), namespace="ghost")
    assert body == {"code": 100001, "message": "目标 namespace 不存在", "data": {"succCount": 0}}
    assert await content(client, "a", "G", "ghost") is None


@pytest.mark.parametrize("namespace", ["", "public"])
async def test_import_into_the_public_namespace(client: httpx.AsyncClient, namespace: str) -> None:
    body = await import_zip(client, make_zip({"G/a": "A"}), namespace=namespace)
    assert body["data"] == {"succCount": 1, "skipCount": 0}
    assert await content(client, "a", "G") == "A"


@pytest.mark.parametrize(
    "entries",
    [
        {"G/a": "A", ".meta.yml": "no-equals-sign\r\n"},
        {"G/a": "A", ".meta.yml": "a=b=c\r\n"},
        {"G/a": "A", ".metadata.yml": "metadata:\n- dataId: a\n  group: G\n"},
        {"G/a": "A", ".metadata.yml": "metadata:\n- [not, a, mapping]\n"},
    ],
    ids=["v1-no-equals", "v1-two-equals", "v2-no-type", "v2-not-a-mapping"],
)
async def test_import_with_illegal_metadata_is_100002(client: httpx.AsyncClient, entries: dict[str, str]) -> None:
    body = await import_zip(client, make_zip(entries))
    assert body == {"code": 100002, "message": "导入的元数据非法", "data": {"succCount": 0}}
    assert await content(client, "a", "G") is None


async def test_import_skips_directories(client: httpx.AsyncClient) -> None:
    body = await import_zip(client, make_zip({"G/": b"", "G/a": "A"}))
    assert body["data"] == {"succCount": 1, "skipCount": 0}


async def test_import_reports_illegal_entries_in_fail_data_with_their_reason(client: httpx.AsyncClient) -> None:
    body = await import_zip(client, make_zip({"G/ok": "A", "G/bad name": "B", "G/blank": "  "}), policy="SKIP")
    assert (body["code"], body["message"]) == (200, "import success, 2 failed (see failData)")
    assert body["data"]["succCount"] == 1 and body["data"]["skipCount"] == 0
    failed = {item["dataId"]: item["reason"] for item in body["data"]["failData"]}
    assert set(failed) == {"bad name", "blank"}
    assert "dataId" in failed["bad name"] and "content" in failed["blank"]


async def test_import_that_imports_nothing_is_not_a_success(client: httpx.AsyncClient) -> None:
    """Issue 14 item 6: a zip whose only entry is over the size limit, or whose names are all illegal."""
    for entries in ({"G/big": "x" * (10 * 1024 * 1024 + 1)}, {"G/bad name": "B", "G/a b": "C"}):
        for policy in ("SKIP", "OVERWRITE", "ABORT"):
            body = await import_zip(client, make_zip(entries), policy=policy)
            assert body["code"] == 100003, body
            assert body["message"].startswith("未读取到合法数据")
            assert body["data"]["succCount"] == 0
            assert all(item["reason"] for item in body["data"]["failData"])
    big = await import_zip(client, make_zip({"G/big": "x" * (10 * 1024 * 1024 + 1)}))
    assert big["data"]["failData"] == [{"dataId": "big", "group": "G", "reason": "content over 10485760 bytes"}]
    assert (await client.get(CFG, params={"dataId": "big", "group": "G"})).status_code == 404


async def test_import_namespace_goes_through_the_param_check(client: httpx.AsyncClient) -> None:
    response = await client.post(
        CFG, params={"import": "true", "namespace": "a/b"}, files={"file": ("c.zip", make_zip({"G/a": "A"}))}
    )
    assert response.status_code == 400
    assert response.text == (
        "Param 'namespaceId/tenant' is illegal, illegal characters should not appear in the param.\r\n"
    )


async def test_import_with_a_malformed_multipart_body_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        CFG, params={"import": "true"}, content=b"garbage", headers={"Content-Type": "multipart/form-data"}
    )
    assert (response.status_code, response.text) == (
        400,
        "caused: malformed multipart body: Missing boundary in multipart.;",
    )
