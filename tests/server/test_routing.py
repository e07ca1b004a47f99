"""The one router: request normalisation (security.md §3) and the HTTP conventions of protocol B.6."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.support import CFG, GROUP, publish, raw_request

KEY = {"dataId": "a.yaml", "group": GROUP}
QUERY = b"dataId=a.yaml&group=DEFAULT_GROUP"


@pytest.fixture
async def published(client: httpx.AsyncClient) -> None:
    assert await publish(client, type="yaml") == "200 true"


async def test_one_trailing_slash_reaches_the_same_route(client: httpx.AsyncClient, published: None) -> None:
    response = await client.get(CFG + "/", params=KEY)
    assert (response.status_code, response.text) == (200, "k: v")


async def test_empty_query_is_the_same_route(app: NacosApp) -> None:
    for path in (b"/nacos/v1/console/health/liveness", b"/nacos/v1/console/health/liveness/"):
        response = await raw_request(app, "GET", path, b"")
        assert (response.status, response.body) == (200, b"OK")


@pytest.mark.parametrize(
    "path",
    [
        b"/nacos/v1/cs/configs//",
        b"//nacos/v1/cs/configs",
        b"/nacos//v1/cs/configs",
        b"/nacos/./v1/cs/configs",
        b"/nacos/v1/cs/../cs/configs",
        b"/nacos/v1/cs/configs/.",
        b"/nacos/v1/cs/configs/..",
        b"/nacos/v1/cs/%2e/configs",
        b"/nacos/v1/cs/%2E%2E/cs/configs",
        b"/nacos/v1/cs%2fconfigs",
        b"/nacos/v1/cs/confi%67s",
        b"/nacos/v1/cs/configs%00",
        b"/nacos/v1/cs/configs;jsessionid=x",
        b"/nacos/v1;x/cs/configs",
        b"/nacos/v1\\cs\\configs",
        b"/nacos/v1/cs/configs\x01",
        b"/nacos/v1/cs/con figs",
        b"/nacos/v1/cs/configs\t",
        "/nacos/v1/cs/cönfigs".encode(),
        b"/nacos/v1/cs/configs#frag",
    ],
)
async def test_malformed_paths_are_400_before_routing(app: NacosApp, path: bytes) -> None:
    response = await raw_request(app, "GET", path, QUERY)
    assert response.status == 400
    assert response.body == b"caused: illegal request path;"


@pytest.mark.parametrize(
    "path",
    [
        b"/NACOS/V1/CS/CONFIGS",
        b"/nacos/v1/CS/configs",
        b"/nacos/V1/cs/configs",
        b"/v1/cs/configs",
        b"/nacos/nacos/v1/cs/configs",
        b"/nacosx/v1/cs/configs",
        b"/",
        b"/nacos/v1/cs/configs/extra",
    ],
)
async def test_case_variants_and_wrong_context_paths_are_404(app: NacosApp, path: bytes) -> None:
    response = await raw_request(app, "GET", path, QUERY)
    assert response.status == 404
    assert response.headers["content-type"] == "application/json"
    assert b'"status":404' in response.body and b'"error":"Not Found"' in response.body


async def test_a_custom_context_path_is_honoured(tmp_path: Path) -> None:
    server = await started(Settings(home=str(tmp_path), context_path="/cfg"))
    try:
        assert (await raw_request(server, "GET", b"/cfg/v1/console/health/liveness")).status == 200
        assert (await raw_request(server, "GET", b"/nacos/v1/console/health/liveness")).status == 404
    finally:
        await server.stop()


async def test_options_answers_allow_with_an_empty_body_and_runs_nothing(client: httpx.AsyncClient) -> None:
    response = await client.options(CFG, params={**KEY, "content": "x"})
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, POST"
    assert (await client.get(CFG, params=KEY)).status_code == 404


async def test_options_on_an_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.options("/v1/cs/nothing")).status_code == 404


async def test_head_on_a_get_route_has_no_body_and_no_config_headers(
    client: httpx.AsyncClient, published: None
) -> None:
    response = await client.head(CFG, params=KEY)
    assert (response.status_code, response.content) == (200, b"")
    for name in ("Content-MD5", "Config-Type", "Last-Modified", "Pragma"):
        assert name not in response.headers


async def test_head_on_an_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.head("/v1/cs/configs/listener/x")).status_code == 404


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO", "get", "Post"])
async def test_trace_unknown_and_lowercase_methods_are_405(app: NacosApp, method: str) -> None:
    response = await raw_request(app, method, b"/nacos/v1/cs/configs", QUERY)
    assert response.status == 405
    assert response.body == b""


async def test_a_known_method_the_route_lacks_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put(CFG, params=KEY)
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, POST"


async def test_method_override_headers_and_params_are_ignored(client: httpx.AsyncClient, published: None) -> None:
    response = await client.post(
        CFG, data={**KEY, "content": "new", "_method": "DELETE"}, headers={"X-HTTP-Method-Override": "DELETE"}
    )
    assert response.text == "true"
    assert (await client.get(CFG, params=KEY)).text == "new"


async def test_common_headers_are_on_every_answer(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/v1/console/health/liveness"), await client.get("/v1/unknown")):
        assert response.headers["Content-Security-Policy"] == "script-src 'self'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_parameter_repeated_with_the_same_value_is_fine(client: httpx.AsyncClient, published: None) -> None:
    response = await client.get(CFG, params=[("dataId", "a.yaml"), ("dataId", "a.yaml"), ("group", GROUP)])
    assert (response.status_code, response.text) == (200, "k: v")


async def test_a_parameter_repeated_with_different_values_is_400(client: httpx.AsyncClient, published: None) -> None:
    response = await client.get(CFG, params=[("dataId", "a.yaml"), ("dataId", "b.yaml"), ("group", GROUP)])
    assert (response.status_code, response.text) == (
        400,
        "caused: parameter 'dataId' is given twice with different values;",
    )


async def test_query_and_form_body_disagreeing_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(CFG, params={"dataId": "a.yaml"}, data={**KEY, "dataId": "b.yaml", "content": "x"})
    assert response.status_code == 400
    assert (await client.get(CFG, params=KEY)).status_code == 404


async def test_query_and_form_body_may_split_the_parameters(client: httpx.AsyncClient) -> None:
    response = await client.post(CFG, params={"dataId": "a.yaml"}, data={"group": GROUP, "content": "split"})
    assert response.text == "true"
    assert (await client.get(CFG, params=KEY)).text == "split"


@pytest.mark.parametrize(
    "names",
    [("tenant", "namespaceId"), ("tenant", "namespace"), ("namespaceId", "namespace")],
)
async def test_two_namespace_aliases_naming_different_namespaces_is_400(
    client: httpx.AsyncClient, names: tuple[str, str]
) -> None:
    response = await client.get(CFG, params={**KEY, names[0]: "dev", names[1]: "prod"})
    assert (response.status_code, response.text) == (
        400,
        "caused: namespaceId, tenant and namespace name different namespaces;",
    )


async def test_two_namespace_aliases_agreeing_are_fine(client: httpx.AsyncClient, published: None) -> None:
    response = await client.get(CFG, params={**KEY, "tenant": "", "namespaceId": ""})
    assert response.text == "k: v"


async def test_a_thousand_parameters_are_fine_but_not_more(client: httpx.AsyncClient, published: None) -> None:
    extra = [(f"p{n}", "x") for n in range(998)]
    response = await client.get(CFG, params=[*KEY.items(), *extra])
    assert response.status_code == 200
    response = await client.get(CFG, params=[*KEY.items(), *extra, ("one", "more")])
    assert (response.status_code, response.text) == (400, "caused: too many parameters, over 1000;")


async def test_invalid_utf8_in_the_query_is_400(app: NacosApp) -> None:
    response = await raw_request(app, "GET", b"/nacos/v1/cs/configs", b"dataId=%FF&group=g")
    assert response.status == 400


async def test_invalid_percent_encoding_in_the_form_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        CFG,
        content=b"dataId=a.yaml&group=DEFAULT_GROUP&content=100%ZZ",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400


async def test_form_bodies_count_for_put_and_delete(client: httpx.AsyncClient, published: None) -> None:
    response = await client.request(
        "DELETE", CFG, content=QUERY, headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    )
    assert response.text == "true"


async def test_non_form_bodies_are_not_read_as_parameters(client: httpx.AsyncClient, published: None) -> None:
    response = await client.request("DELETE", CFG, content=QUERY, headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert (await client.get(CFG, params=KEY)).status_code == 200


@pytest.fixture
async def small_app(tmp_path: Path) -> AsyncIterator[NacosApp]:
    """max_content 100 -> body limit 100 + 1 MiB."""
    server = await started(Settings(home=str(tmp_path), max_content=100))
    yield server
    await server.stop()


async def test_a_body_over_the_limit_is_413_and_nothing_is_written(small_app: NacosApp) -> None:
    limit = 100 + 1024 * 1024
    async with asgi_client(small_app) as client:
        body = b"dataId=big&group=g&content=" + b"x" * limit
        response = await client.post(CFG, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert (response.status_code, response.text) == (413, f"caused: request body over {limit} bytes;")
        assert (await client.get(CFG, params={"dataId": "big", "group": "g"})).status_code == 404


async def test_a_streamed_body_over_the_limit_is_413(small_app: NacosApp) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"dataId=big&group=g&content="
        for _ in range(20):
            yield b"x" * 65536

    async with asgi_client(small_app) as client:
        response = await client.post(
            CFG, content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 413


async def test_a_body_at_the_content_limit_is_accepted_even_percent_encoded(small_app: NacosApp) -> None:
    async with asgi_client(small_app) as client:
        assert await publish(client, "max", "é" * 50) == "200 true"  # 100 UTF-8 bytes, 300 bytes encoded
        assert await publish(client, "over", "é" * 51) == "400 caused: invalid content, over 100;"


async def test_unknown_path_is_spring_error_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/cs/nothing")
    assert response.status_code == 404
    body = response.json()
    assert (body["status"], body["error"], body["path"]) == (404, "Not Found", "/nacos/v1/cs/nothing")
