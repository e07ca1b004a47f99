"""Gray configs (protocol.md A.1-A.4): beta versions by client IP, tag versions by tag, next to the formal one."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.config.gray import BETA, BETA_PRIORITY, GrayRule
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.support import CFG, GROUP, publish

BETA_IP, OTHER_IP = "10.0.0.1", "10.0.0.2"
KEY = {"dataId": "a.yaml", "group": GROUP}
LISTENER = "/v1/cs/configs/listener"
W, L = "\x02", "\x01"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
async def clients(app: NacosApp) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """A client inside the beta list and one outside it."""
    async with asgi_client(app, BETA_IP) as beta, asgi_client(app, OTHER_IP) as other:
        yield beta, other


async def publish_beta(client: httpx.AsyncClient, content: str, ips: str = BETA_IP, **extra: str) -> httpx.Response:
    return await client.post(CFG, data={**KEY, "content": content, **extra}, headers={"betaIps": ips})


async def read(client: httpx.AsyncClient, **extra: str) -> httpx.Response:
    headers = {"Vipserver-Tag": extra.pop("header_tag")} if "header_tag" in extra else {}
    return await client.get(CFG, params={**KEY, **extra}, headers=headers)


async def test_beta_clients_get_the_beta_version_and_others_the_formal_one(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    beta, other = clients
    assert await publish(other, content="formal") == "200 true"
    answer = await publish_beta(other, "beta", ips=f"{BETA_IP}, 10.9.9.9")
    assert (answer.status_code, answer.text) == (200, "true")
    served = await read(beta)
    assert (served.status_code, served.text) == (200, "beta")
    assert served.headers["isBeta"] == "true"
    assert served.headers["Content-MD5"] == md5("beta")
    assert served.headers["Config-Type"] == "text"
    formal = await read(other)
    assert (formal.text, formal.headers["Content-MD5"]) == ("formal", md5("formal"))
    assert "isBeta" not in formal.headers


async def test_beta_query_stop_and_history(clients: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    beta, other = clients
    await publish(other, content="formal")
    await publish_beta(other, "beta-1", appName="shop")
    await publish_beta(other, "beta-2", appName="shop")
    queried = (await other.get(CFG, params={**KEY, "beta": "true"})).json()
    assert queried["message"] == "query beta ok"
    data = queried["data"]
    assert list(data) == [
        "id", "dataId", "group", "content", "md5", "encryptedDataKey", "tenant", "appName", "type", "betaIps",
    ]  # fmt: skip
    assert (data["content"], data["md5"], data["betaIps"], data["appName"]) == (
        "beta-2",
        md5("beta-2"),
        BETA_IP,
        "shop",
    )
    assert isinstance(data["id"], str) and data["type"] is None
    stopped = await other.delete(CFG, params={**KEY, "beta": "true"})
    assert stopped.json() == {"code": 200, "message": "stop beta ok", "data": True}
    assert (await read(beta)).text == "formal"
    assert (await other.get(CFG, params={**KEY, "beta": "true"})).json()["data"] is None
    history = await other.get("/v1/cs/history", params={**KEY, "search": "accurate"})
    rows = [(i["opType"].strip(), i["publishType"], i["grayName"]) for i in history.json()["pageItems"]]
    assert rows == [("D", "gray", "beta"), ("U", "gray", "beta"), ("I", "gray", "beta"), ("I", "formal", "")]
    newest = history.json()["pageItems"][0]
    ext_info = json.loads(newest["extInfo"])
    assert ext_info["gray_name"] == "beta"
    assert json.loads(ext_info["gray_rule"]) == {
        "type": "beta", "expr": BETA_IP, "version": "1.0.0", "priority": "2147483647",
    }  # fmt: skip


async def test_tag_versions_by_param_or_header(client: httpx.AsyncClient) -> None:
    await publish(client, content="formal")
    assert await publish(client, content="for-blue", tag="blue") == "200 true"
    by_param = await read(client, tag="blue")
    assert (by_param.text, by_param.headers["tag"], by_param.headers["Content-MD5"]) == (
        "for-blue",
        "blue",
        md5("for-blue"),
    )
    assert (await read(client, header_tag="blue")).text == "for-blue"
    unknown_param = await read(client, tag="red")
    assert (unknown_param.status_code, unknown_param.text) == (404, "config data not exist\n")
    assert (await read(client, header_tag="red")).text == "formal"  # an unmatched header falls back
    assert await publish(client, content="x", tag="red") == "200 true"
    assert await publish(client, content="y", dataId="a.yaml", group=GROUP, tag="red") == "200 true"
    assert (await client.delete(CFG, params={**KEY, "tag": "blue"})).text == "true"
    assert (await read(client, tag="blue")).status_code == 404
    assert (await read(client, tag="red")).text == "y"
    assert (await read(client)).text == "formal"


async def test_beta_outranks_a_tag_and_a_formal_delete_leaves_gray_versions(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    beta, other = clients
    await publish(other, content="formal")
    await publish(other, content="tagged", tag="blue")
    await publish_beta(other, "beta")
    assert (await read(beta, tag="blue")).text == "beta"
    assert (await read(other, tag="blue")).text == "tagged"
    assert (await other.delete(CFG, params=KEY)).text == "true"
    assert (await read(other)).status_code == 404
    assert (await read(beta)).text == "beta"
    assert (await read(other, header_tag="blue")).text == "tagged"


async def test_listeners_compare_against_the_version_they_are_served(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    beta, other = clients
    await publish(other, content="formal")
    await publish_beta(other, "beta")
    listening = {"Listening-Configs": f"a.yaml{W}{GROUP}{W}{md5('formal')}{L}"}
    no_hangup = {"Long-Pulling-Timeout": "30000", "Long-Pulling-Timeout-No-Hangup": "true"}
    assert (await other.post(LISTENER, data=listening, headers=no_hangup)).text == ""
    assert (await beta.post(LISTENER, data=listening, headers=no_hangup)).text == f"a.yaml%02{GROUP}%01\n"
    listening_beta = {"Listening-Configs": f"a.yaml{W}{GROUP}{W}{md5('beta')}{L}"}
    assert (await beta.post(LISTENER, data=listening_beta, headers=no_hangup)).text == ""
    held = asyncio.create_task(beta.post(LISTENER, data=listening_beta, headers={"Long-Pulling-Timeout": "30000"}))
    await asyncio.sleep(0.2)
    await publish_beta(other, "beta-2")
    assert (await asyncio.wait_for(held, 5)).text == f"a.yaml%02{GROUP}%01\n"


@pytest.mark.parametrize(
    ("extra", "headers", "status", "text"),
    [
        ({}, {"betaIps": "db.internal"}, 400, "caused: config gray rule format invalid: betaIps holds 'db.internal', not an IP address;"),
        ({"tag": "bad tag"}, {}, 400, "caused: invalid tag : bad tag;"),
        ({"tag": "a" * 17}, {}, 400, "caused: too long tag, over 16;"),
        ({"tag": "ok"}, {"casMd5": "0" * 32}, 200, "true"),  # no such gray yet: inserted, as Nacos does
    ],
)  # fmt: skip
async def test_bad_gray_publishes_are_refused_and_store_nothing(
    client: httpx.AsyncClient, extra: dict[str, str], headers: dict[str, str], status: int, text: str
) -> None:
    await publish(client, content="formal")
    answer = await client.post(CFG, data={**KEY, "content": "gray", **extra}, headers=headers)
    assert (answer.status_code, answer.text) == (status, text)
    if status != 200:
        assert (await client.get(CFG, params={**KEY, "beta": "true"})).json()["data"] is None
        history = await client.get("/v1/cs/history", params={**KEY, "search": "accurate"})
        assert history.json()["totalCount"] == 1


async def test_gray_cas_and_version_limit(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path), max_gray_versions=2))
    async with asgi_client(app) as client:
        await publish(client, content="formal")
        for tag in ("a", "b"):
            assert await publish(client, content=tag, tag=tag) == "200 true"
        over = await client.post(CFG, data={**KEY, "content": "c", "tag": "c"})
        assert (over.status_code, over.text) == (400, "caused: gray config version is over max count :2;")
        assert await publish(client, content="a2", tag="a") == "200 true"  # replacing one is fine
        stale = await client.post(CFG, data={**KEY, "content": "a3", "tag": "a"}, headers={"casMd5": md5("a")})
        assert (stale.status_code, stale.text) == (
            500,
            "caused: Cas publish gray config fail, server md5 may have changed.;",
        )
        fresh = await client.post(CFG, data={**KEY, "content": "a3", "tag": "a"}, headers={"casMd5": md5("a2")})
        assert fresh.text == "true"
    await app.stop()


async def test_gray_versions_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path))
    app = await started(settings)
    async with asgi_client(app) as client:
        await publish(client, content="formal")
        await publish_beta(client, "beta")
        await publish(client, content="tagged", tag="blue")
    await app.stop()
    app = await started(settings)
    async with asgi_client(app, BETA_IP) as beta, asgi_client(app, OTHER_IP) as other:
        assert (await read(beta)).text == "beta"
        assert (await read(other)).text == "formal"
        assert (await read(other, tag="blue")).text == "tagged"
    await app.stop()


async def test_v2_publishes_and_reads_gray_versions(clients: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    beta, other = clients
    form = {"dataId": "a.yaml", "group": GROUP}
    assert (await other.post("/v2/cs/config", data={**form, "content": "formal"})).json()["data"] is True
    answer = await other.post("/v2/cs/config", data={**form, "content": "beta"}, headers={"betaIps": BETA_IP})
    assert answer.json() == {"code": 0, "message": "success", "data": True}
    await other.post("/v2/cs/config", data={**form, "content": "tagged", "tag": "blue"})
    served = await beta.get("/v2/cs/config", params=form)
    assert (served.json()["data"], served.headers["isBeta"]) == ("beta", "true")
    assert (await other.get("/v2/cs/config", params=form)).json()["data"] == "formal"
    assert (await other.get("/v2/cs/config", params={**form, "tag": "blue"})).json()["data"] == "tagged"
    assert (await other.delete("/v2/cs/config", params={**form, "tag": "blue"})).json()["data"] is True
    assert (await other.get("/v2/cs/config", params={**form, "tag": "blue"})).status_code == 404
    assert (await other.get("/v2/cs/config", params=form)).json()["data"] == "formal"


@pytest.mark.parametrize(
    ("beta_ips", "client_ip", "served"),
    [
        ("0:0:0:0:0:0:0:1", "::1", True),  # Java's spelling of an IPv6 address
        ("10.0.0.1", "::ffff:10.0.0.1", True),  # a client reaching a dual-stack listener
        ("10.0.0.1,10.0.0.2", "10.0.0.2", True),
        ("10.0.0.1", "10.0.0.10", False),
        ("db.internal,10.0.0.1", "10.0.0.1", True),  # a stored non-address entry (a Nacos-written row) is skipped
    ],
)
def test_beta_ips_are_compared_as_addresses(beta_ips: str, client_ip: str, served: bool) -> None:
    assert GrayRule(BETA, beta_ips, BETA_PRIORITY).matches(client_ip, None) is served
