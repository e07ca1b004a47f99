"""Config v1 basics in-process: publish, get, delete, md5 and the exact bodies clients check."""

from __future__ import annotations

import hashlib

import httpx
import pytest

CFG = "/v1/cs/configs"


async def publish(client: httpx.AsyncClient, data_id: str = "a.yaml", content: str = "k: v", **extra: str) -> str:
    form = {"dataId": data_id, "group": "DEFAULT_GROUP", "content": content, **extra}
    response = await client.post(CFG, data=form)
    return f"{response.status_code} {response.text}"


async def test_publish_answers_true_and_get_returns_raw_content_with_headers(client: httpx.AsyncClient) -> None:
    assert await publish(client, type="yaml") == "200 true"
    response = await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})
    assert response.status_code == 200
    assert response.text == "k: v"
    assert response.headers["Content-MD5"] == hashlib.md5(b"k: v").hexdigest()
    assert response.headers["Config-Type"] == "yaml"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["Content-Type"] == "text/plain;charset=UTF-8"


async def test_missing_config_is_404_with_nacos_body(client: httpx.AsyncClient) -> None:
    response = await client.get(CFG, params={"dataId": "none", "group": "DEFAULT_GROUP"})
    assert response.status_code == 404
    assert response.text == "config data not exist\n"


async def test_public_namespace_aliases_all_reach_the_same_config(client: httpx.AsyncClient) -> None:
    assert await publish(client, tenant="public") == "200 true"
    for tenant in ("", "public", "PUBLIC", "null"):
        response = await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP", "tenant": tenant})
        assert response.text == "k: v", tenant


async def test_utf8_content_round_trips(client: httpx.AsyncClient) -> None:
    assert await publish(client, content="名字: 值 ✓") == "200 true"
    response = await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})
    assert response.text == "名字: 值 ✓"
    assert response.headers["Content-MD5"] == hashlib.md5("名字: 值 ✓".encode()).hexdigest()


async def test_delete_answers_true_even_when_absent(client: httpx.AsyncClient) -> None:
    await publish(client)
    for _ in range(2):
        response = await client.delete(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})
        assert (response.status_code, response.text) == (200, "true")
    response = await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})
    assert response.status_code == 404


async def test_delete_reads_params_from_form_body(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await client.request(
        "DELETE",
        CFG,
        content=b"dataId=a.yaml&group=DEFAULT_GROUP",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.text == "true"
    assert (await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})).status_code == 404


async def test_missing_data_id_is_400_with_spring_text(client: httpx.AsyncClient) -> None:
    response = await client.post(CFG, data={"group": "DEFAULT_GROUP", "content": "x"})
    assert response.status_code == 400
    assert response.text == (
        "caused: Required request parameter 'dataId' for method parameter type String is not present;"
    )


async def test_blank_content_is_refused_and_nothing_is_written(client: httpx.AsyncClient) -> None:
    assert await publish(client, content="  ") == "400 caused: content is blank :   ;"
    response = await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})
    assert response.status_code == 404


async def test_illegal_data_id_characters_are_refused_by_the_param_check(client: httpx.AsyncClient) -> None:
    response = await client.post(CFG, data={"dataId": "a/b", "group": "DEFAULT_GROUP", "content": "x"})
    assert response.status_code == 400
    assert response.text == "Param 'dataId' is illegal, illegal characters should not appear in the param.\r\n"


async def test_dot_names_are_refused(client: httpx.AsyncClient) -> None:
    for form in ({"dataId": ".", "group": "g"}, {"dataId": "d", "group": ".."}):
        response = await client.post(CFG, data={**form, "content": "x"})
        assert response.status_code == 400


async def test_too_long_group_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(CFG, data={"dataId": "d", "group": "g" * 129, "content": "x"})
    assert response.status_code == 400
    assert response.text == "Param 'group' is illegal, the param length should not exceed 128.\r\n"


async def test_content_over_max_content_is_refused(client: httpx.AsyncClient, app: object) -> None:
    limit = 10485760
    response = await client.post(CFG, data={"dataId": "big", "group": "g", "content": "x" * (limit + 1)})
    assert (response.status_code, response.text) == (400, f"caused: invalid content, over {limit};")
    response = await client.get(CFG, params={"dataId": "big", "group": "g"})
    assert response.status_code == 404


async def test_unknown_namespace_refuses_publish(client: httpx.AsyncClient) -> None:
    assert await publish(client, tenant="nope") == "400 caused: namespace 'nope' does not exist; create it first;"


async def test_cas_mismatch_is_refused_and_match_succeeds(client: httpx.AsyncClient) -> None:
    await publish(client, content="v1")
    form = {"dataId": "a.yaml", "group": "DEFAULT_GROUP", "content": "v2"}
    response = await client.post(CFG, data=form, headers={"casMd5": "0" * 32})
    assert (response.status_code, response.text) == (500, "caused: Cas publish fail, server md5 may have changed.;")
    response = await client.post(CFG, data=form, headers={"casMd5": hashlib.md5(b"v1").hexdigest()})
    assert response.text == "true"


@pytest.mark.parametrize("blank", ["", "  "])
async def test_blank_cas_md5_is_a_plain_publish(client: httpx.AsyncClient, blank: str) -> None:
    """As in Nacos: only a non-blank casMd5 asks for compare-and-set."""
    await publish(client, content="v1")
    form = {"dataId": "a.yaml", "group": "DEFAULT_GROUP", "content": "v2"}
    response = await client.post(CFG, data=form, headers={"casMd5": blank})
    assert (response.status_code, response.text) == (200, "true")


async def test_app_name_is_kept_when_absent_on_update(client: httpx.AsyncClient) -> None:
    await publish(client, appName="shop", config_tags="a,b")
    await publish(client, content="new")
    response = await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP", "show": "all"})
    body = response.json()
    assert (body["appName"], body["configTags"], body["content"]) == ("shop", "a,b", "new")
    assert isinstance(body["id"], str)


async def test_true_false_flags_accept_any_case(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/cs/listener", params={"ip": "1.2.3.4", "all": "True"})
    assert response.status_code == 200
    assert response.json() == {"collectStatus": 200, "lisentersGroupkeyStatus": {}}


async def test_beta_stop_never_deletes_the_formal_config(client: httpx.AsyncClient) -> None:
    """Without a beta version, stop and query answer as Nacos does when there is none."""
    await publish(client, content="formal")
    key = {"dataId": "a.yaml", "group": "DEFAULT_GROUP", "beta": "true"}
    stopped = await client.delete(CFG, params=key)
    assert stopped.json() == {"code": 200, "message": "stop beta ok", "data": True}
    queried = await client.get(CFG, params=key)
    assert queried.json() == {"code": 200, "message": "query beta ok", "data": None}
    formal = await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})
    assert (formal.status_code, formal.text) == (200, "formal")
    history = await client.get(CFG.replace("configs", "history"), params={**key, "search": "accurate"})
    assert [item["opType"].strip() for item in history.json()["pageItems"]] == ["I"]


@pytest.mark.parametrize("key", ["密钥", "k\r\nSet-Cookie: a=b", "with space"])
async def test_encrypted_data_key_must_be_printable_ascii(client: httpx.AsyncClient, key: str) -> None:
    """It is sent back in the Encrypted-Data-Key header, so it must be safe there."""
    status, text = (await publish(client, encryptedDataKey=key)).split(" ", 1)
    assert (status, text) == ("400", "caused: encryptedDataKey must be printable ASCII (it is sent back in a header);")
    assert (await client.get(CFG, params={"dataId": "a.yaml", "group": "DEFAULT_GROUP"})).status_code == 404
