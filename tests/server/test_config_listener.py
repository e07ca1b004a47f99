"""HTTP long polling (protocol A.5): wire format, immediate and held answers, limits, listener queries."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.config import http as config_http
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.support import GROUP, create_namespace, delete, publish

LISTENER = "/v1/cs/configs/listener"
W, L = "\x02", "\x01"
HOLD = {"Long-Pulling-Timeout": "30000"}
NO_HANGUP = {**HOLD, "Long-Pulling-Timeout-No-Hangup": "true"}
NO_CACHE = {"pragma": "no-cache", "expires": "Thu, 01 Jan 1970 00:00:00 GMT", "cache-control": "no-cache,no-store"}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def line(data_id: str, md5_value: str = "", tenant: str | None = "", group: str = GROUP) -> str:
    """One `Listening-Configs` line; tenant None gives the 3-field form."""
    fields = [data_id, group, md5_value] + ([] if tenant is None else [tenant])
    return W.join(fields) + L


async def listen(client: httpx.AsyncClient, configs: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(LISTENER, data={"Listening-Configs": configs}, headers=headers or {})


async def held(
    app: NacosApp, client: httpx.AsyncClient, configs: str, headers: dict[str, str] | None = None
) -> asyncio.Task[httpx.Response]:
    """Start a long poll and return once the server holds it."""
    before = app.hub.held
    task = asyncio.create_task(listen(client, configs, headers or HOLD))
    for _ in range(500):
        await asyncio.sleep(0.002)
        if task.done() or app.hub.held > before:
            break
    assert not task.done(), "the long poll was answered instead of held"
    return task


def assert_changed(response: httpx.Response, body: str) -> None:
    assert response.status_code == 200
    assert response.text == body
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    for name, value in NO_CACHE.items():
        assert response.headers[name] == value


async def test_stale_md5_is_answered_at_once_with_the_encoded_key(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await listen(client, line("a.yaml", "stale"), HOLD)
    assert_changed(response, "a.yaml%02DEFAULT_GROUP%01\n")


async def test_an_empty_client_md5_for_an_existing_config_is_a_change(client: httpx.AsyncClient) -> None:
    await publish(client)
    assert_changed(await listen(client, line("a.yaml"), HOLD), "a.yaml%02DEFAULT_GROUP%01\n")


async def test_every_changed_key_is_listed_and_unchanged_keys_are_not(client: httpx.AsyncClient) -> None:
    await create_namespace(client, "dev")
    await publish(client, "a.yaml", "A")
    await publish(client, "b.json", "B", tenant="dev")
    await publish(client, "c.txt", "C")
    configs = line("a.yaml", "old") + line("b.json", "old", "dev") + line("c.txt", md5("C"))
    response = await listen(client, configs, HOLD)
    assert_changed(response, "a.yaml%02DEFAULT_GROUP%01b.json%02DEFAULT_GROUP%02dev%01\n")


async def test_a_key_is_answered_with_the_tenant_the_client_sent(client: httpx.AsyncClient, app: NacosApp) -> None:
    """`public` is the public namespace, but the client matches the answer against what it sent."""
    await publish(client)
    assert_changed(
        await listen(client, line("a.yaml", "stale", "public"), HOLD), "a.yaml%02DEFAULT_GROUP%02public%01\n"
    )
    task = await held(app, client, line("a.yaml", md5("k: v"), "public"))
    await publish(client, content="new")
    assert_changed(await task, "a.yaml%02DEFAULT_GROUP%02public%01\n")


async def test_a_deleted_config_differs_from_any_client_md5(client: httpx.AsyncClient) -> None:
    response = await listen(client, line("gone.yaml", md5("x")), HOLD)
    assert_changed(response, "gone.yaml%02DEFAULT_GROUP%01\n")


async def test_answer_follows_java_url_encoder_rules(client: httpx.AsyncClient) -> None:
    await publish(client, "app:v1_x-y.z", "c", group="G:1")
    response = await listen(client, line("app:v1_x-y.z", "", group="G:1"), HOLD)
    assert_changed(response, "app%3Av1_x-y.z%02G%3A1%01\n")


def test_java_url_encode_keeps_star_and_escapes_tilde_and_space() -> None:
    assert config_http.java_url_encode("a*b~c d/é") == "a*b%7Ec+d%2F%C3%A9"


async def test_three_field_lines_mean_the_public_namespace(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await listen(client, line("a.yaml", "old", None), HOLD)
    assert_changed(response, "a.yaml%02DEFAULT_GROUP%01\n")


async def test_public_namespace_spellings_in_the_fourth_field_reach_the_same_config(
    client: httpx.AsyncClient,
) -> None:
    await publish(client)
    for tenant, answered in (("", ""), ("public", "%02public")):
        response = await listen(client, line("a.yaml", "old", tenant), HOLD)
        assert_changed(response, f"a.yaml%02DEFAULT_GROUP{answered}%01\n")  # as the client spelled it


async def test_a_trailing_fragment_without_terminator_is_ignored(client: httpx.AsyncClient) -> None:
    await publish(client)
    await publish(client, "b.yaml")
    configs = line("a.yaml", "old") + W.join(["b.yaml", GROUP, "old", ""])
    response = await listen(client, configs, HOLD)
    assert_changed(response, "a.yaml%02DEFAULT_GROUP%01\n")


async def test_listening_configs_may_come_in_the_query(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await client.post(LISTENER, params={"Listening-Configs": line("a.yaml", "old")}, headers=HOLD)
    assert_changed(response, "a.yaml%02DEFAULT_GROUP%01\n")


@pytest.mark.parametrize(
    "configs",
    [
        "",
        "   ",
        "no-terminator",
        W.join(["a.yaml", GROUP]) + L,
        W.join(["a.yaml", GROUP, "m", "", "extra"]) + L,
        line("a.yaml", "m") + W.join(["only-one-field"]) + L,
    ],
    ids=["empty", "blank", "fragment-only", "two-fields", "five-fields", "bad-second-line"],
)
async def test_malformed_listening_configs_is_400(client: httpx.AsyncClient, configs: str) -> None:
    response = await listen(client, configs, HOLD)
    assert (response.status_code, response.text) == (400, "caused: invalid probeModify;")


async def test_missing_listening_configs_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(LISTENER, data={"other": "x"}, headers=HOLD)
    assert (response.status_code, response.text) == (400, "caused: invalid probeModify;")


async def test_more_than_ten_thousand_keys_is_400(client: httpx.AsyncClient) -> None:
    configs = "".join(line(f"d{n}") for n in range(10001))
    response = await listen(client, configs, HOLD)
    assert (response.status_code, response.text) == (400, "caused: invalid probeModify;")


async def test_each_line_goes_through_the_param_check(client: httpx.AsyncClient) -> None:
    response = await listen(client, line("a/b"), HOLD)
    assert response.status_code == 400
    assert response.text == "Param 'dataId' is illegal, illegal characters should not appear in the param.\r\n"


async def test_no_hangup_answers_an_empty_200_at_once(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await listen(client, line("a.yaml", md5("k: v")), NO_HANGUP)
    assert (response.status_code, response.content) == (200, b"")
    assert "pragma" not in response.headers


async def test_no_hangup_only_counts_the_word_true(client: httpx.AsyncClient, app: NacosApp) -> None:
    await publish(client)
    task = await held(app, client, line("a.yaml", md5("k: v")), {**HOLD, "Long-Pulling-Timeout-No-Hangup": "yes"})
    await publish(client, content="new")
    assert_changed(await task, "a.yaml%02DEFAULT_GROUP%01\n")


async def test_no_hangup_still_reports_changes(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await listen(client, line("a.yaml", "old"), NO_HANGUP)
    assert_changed(response, "a.yaml%02DEFAULT_GROUP%01\n")


async def test_held_request_is_answered_when_the_config_is_published(client: httpx.AsyncClient, app: NacosApp) -> None:
    await publish(client, content="v1")
    task = await held(app, client, line("a.yaml", md5("v1")))
    await publish(client, content="v2")
    assert_changed(await asyncio.wait_for(task, 5), "a.yaml%02DEFAULT_GROUP%01\n")


async def test_held_request_is_answered_when_a_missing_config_appears(client: httpx.AsyncClient, app: NacosApp) -> None:
    task = await held(app, client, line("a.yaml", ""))
    await publish(client)
    assert_changed(await asyncio.wait_for(task, 5), "a.yaml%02DEFAULT_GROUP%01\n")


async def test_held_request_is_answered_when_the_config_is_deleted(client: httpx.AsyncClient, app: NacosApp) -> None:
    await publish(client)
    task = await held(app, client, line("a.yaml", md5("k: v")))
    await delete(client)
    assert_changed(await asyncio.wait_for(task, 5), "a.yaml%02DEFAULT_GROUP%01\n")


async def test_held_answer_names_only_the_key_that_changed(client: httpx.AsyncClient, app: NacosApp) -> None:
    await create_namespace(client, "dev")
    await publish(client, "a.yaml", "A")
    await publish(client, "b.yaml", "B", tenant="dev")
    task = await held(app, client, line("a.yaml", md5("A")) + line("b.yaml", md5("B"), "dev"))
    await publish(client, "b.yaml", "B2", tenant="dev")
    assert_changed(await asyncio.wait_for(task, 5), "b.yaml%02DEFAULT_GROUP%02dev%01\n")


async def test_republishing_identical_content_does_not_wake_a_held_request(
    client: httpx.AsyncClient, app: NacosApp
) -> None:
    await publish(client, content="v1")
    task = await held(app, client, line("a.yaml", md5("v1")))
    await publish(client, content="v1")
    await asyncio.sleep(0.05)
    assert not task.done()
    await publish(client, content="v2")
    assert_changed(await asyncio.wait_for(task, 5), "a.yaml%02DEFAULT_GROUP%01\n")


async def test_changes_to_other_keys_do_not_wake_a_held_request(client: httpx.AsyncClient, app: NacosApp) -> None:
    await publish(client, content="v1")
    task = await held(app, client, line("a.yaml", md5("v1")))
    await publish(client, "b.yaml", "other")
    await publish(client, "a.yaml", "other-group", group="G2")
    await asyncio.sleep(0.05)
    assert not task.done()
    await publish(client, content="v2")
    await asyncio.wait_for(task, 5)


async def test_held_request_times_out_with_an_empty_200(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_http, "hold_seconds", lambda header: 0.05)
    await publish(client)
    response = await listen(client, line("a.yaml", md5("k: v")), HOLD)
    assert (response.status_code, response.content) == (200, b"")
    assert "pragma" not in response.headers


def test_hold_time_is_timeout_minus_500_ms_at_least_10_s_at_most_120_s() -> None:
    assert config_http.hold_seconds("30000") == 29.5
    assert config_http.hold_seconds(" 30000 ") == 29.5
    assert config_http.hold_seconds("1000") == 10.0
    assert config_http.hold_seconds("0") == 10.0
    assert config_http.hold_seconds("9999999") == 120.0


@pytest.mark.parametrize("stale", [False, True], ids=["unchanged", "changed"])
async def test_non_numeric_timeout_is_400(client: httpx.AsyncClient, stale: bool) -> None:
    await publish(client)
    configs = line("a.yaml", "old" if stale else md5("k: v"))
    response = await listen(client, configs, {"Long-Pulling-Timeout": "soon"})
    assert response.status_code == 400
    assert response.text == "caused: Long-Pulling-Timeout must be a whole number of milliseconds;"


async def test_short_poll_without_timeout_answers_changes_in_the_body(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await listen(client, line("a.yaml", "old"), {"Client-Version": "2.1.0"})
    assert (response.status_code, response.text) == (200, "a.yaml%02DEFAULT_GROUP%01\n")
    assert "probe-modify-response" not in response.headers


async def test_short_poll_without_changes_is_an_empty_200(client: httpx.AsyncClient) -> None:
    await publish(client)
    response = await listen(client, line("a.yaml", md5("k: v")))
    assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize("version", [None, "1.4.2", "2.0.3"])
async def test_short_poll_from_old_clients_also_sets_probe_headers(
    client: httpx.AsyncClient, version: str | None
) -> None:
    await publish(client)
    await publish(client, "b.yaml")
    headers = {"Client-Version": version} if version else {}
    response = await listen(client, line("a.yaml", "old") + line("b.yaml", "old"), headers)
    assert response.headers["Probe-Modify-Response"] == "a.yaml:DEFAULT_GROUP;b.yaml:DEFAULT_GROUP;"
    assert response.headers["Probe-Modify-Response-New"] == "a.yaml%02DEFAULT_GROUP%01b.yaml%02DEFAULT_GROUP%01"
    assert response.text == "a.yaml%02DEFAULT_GROUP%01b.yaml%02DEFAULT_GROUP%01\n"


async def test_listeners_of_a_config_show_each_client_ip_and_md5(app: NacosApp) -> None:
    await_client = asgi_client(app, "10.0.0.7")
    async with asgi_client(app) as client, await_client as other:
        await publish(client, content="v1")
        first = await held(app, client, line("a.yaml", md5("v1")))
        second = await held(app, other, line("a.yaml", md5("v1"), None) + line("b.yaml", ""))
        response = await client.get(LISTENER, params={"dataId": "a.yaml", "group": GROUP})
        assert response.json() == {
            "collectStatus": 200,
            "lisentersGroupkeyStatus": {"127.0.0.1": md5("v1"), "10.0.0.7": md5("v1")},
        }
        blank_group = await client.get(LISTENER, params={"dataId": "b.yaml", "group": ""})
        assert blank_group.json()["lisentersGroupkeyStatus"] == {"10.0.0.7": ""}
        await publish(client, content="v2")
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        response = await client.get(LISTENER, params={"dataId": "a.yaml", "group": GROUP})
        assert response.json() == {"collectStatus": 200, "lisentersGroupkeyStatus": {}}


async def test_listener_query_needs_data_id_and_group(client: httpx.AsyncClient) -> None:
    response = await client.get(LISTENER, params={"dataId": "a.yaml"})
    assert response.status_code == 400
    assert "'group'" in response.text


async def test_configs_of_a_listener_ip_hide_namespaced_keys_unless_asked(
    client: httpx.AsyncClient, app: NacosApp
) -> None:
    await create_namespace(client, "dev")
    await publish(client, "a.yaml", "m1")
    await publish(client, "b.yaml", "m2", tenant="dev")
    m1, m2 = md5("m1"), md5("m2")
    task = await held(app, client, line("a.yaml", m1) + line("b.yaml", m2, "dev"))

    async def status(**params: str) -> dict[str, str]:
        response = await client.get("/v1/cs/listener", params={"ip": "127.0.0.1", **params})
        body: dict[str, str] = response.json()["lisentersGroupkeyStatus"]
        return body

    assert await status() == {"a.yaml+DEFAULT_GROUP": m1}
    assert await status(all="false") == {"a.yaml+DEFAULT_GROUP": m1}
    everything = {"a.yaml+DEFAULT_GROUP": m1, "b.yaml+DEFAULT_GROUP+dev": m2}
    assert await status(all="true") == everything
    assert await status(tenant="dev") == everything
    assert await status(tenant="other") == {"a.yaml+DEFAULT_GROUP": m1}
    assert (await client.get("/v1/cs/listener", params={"ip": "10.9.9.9"})).json() == {
        "collectStatus": 200,
        "lisentersGroupkeyStatus": {},
    }
    await publish(client, "a.yaml", "x")
    await asyncio.wait_for(task, 5)


async def test_configs_of_a_listener_needs_an_ip(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/cs/listener")
    assert response.status_code == 400
    assert "'ip'" in response.text


@pytest.fixture
async def limited_app(tmp_path: Path) -> AsyncIterator[NacosApp]:
    server = await started(Settings(home=str(tmp_path), longpoll_max_per_ip=2))
    yield server
    await server.stop()


async def test_per_ip_long_poll_limit_answers_503_and_spares_other_ips(limited_app: NacosApp) -> None:
    async with asgi_client(limited_app) as client, asgi_client(limited_app, "10.0.0.9") as other:
        await publish(client)
        held_requests = [await held(limited_app, client, line("a.yaml", md5("k: v"))) for _ in range(2)]
        response = await listen(client, line("a.yaml", md5("k: v")), HOLD)
        assert response.status_code == 503
        assert response.text == "caused: too many held long polls from 127.0.0.1 (limit 2);"
        third = await held(limited_app, other, line("a.yaml", md5("k: v")))
        await publish(client, content="new")
        answers = await asyncio.wait_for(asyncio.gather(*held_requests, third), 5)
        assert [a.text for a in answers] == ["a.yaml%02DEFAULT_GROUP%01\n"] * 3
        assert limited_app.hub.held == 0
        again = await listen(client, line("a.yaml", "old"), HOLD)
        assert again.status_code == 200


async def test_a_cancelled_long_poll_releases_its_slot(client: httpx.AsyncClient, app: NacosApp) -> None:
    await publish(client)
    task = await held(app, client, line("a.yaml", md5("k: v")))
    assert app.hub.held == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if app.hub.held == 0:
            break
        await asyncio.sleep(0.01)
    assert app.hub.held == 0
