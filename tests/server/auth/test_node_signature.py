"""Signed node-to-node messages (auth/node_signature.py, security.md §5.3) and the guard's `Internal` check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.app import NacosApp
from pynacos.server.auth.node_signature import (
    MAX_SKEW_MS,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIME_HEADER,
    SignatureCheck,
    node_key,
    signed_headers,
)
from pynacos.server.auth.policy import INTERNAL
from pynacos.server.http import Call
from pynacos.server.routing import Router, route
from pynacos.server.settings import Settings
from tests.conftest import started
from tests.server.auth.conftest import ADMIN_PASSWORD
from tests.server.auth.conftest import KEY as TOKEN_KEY

KEY = node_key("v" * 40)
NOW = 1_800_000_000.0
BODY = b"dataId=a&group=G"


def check() -> SignatureCheck:
    return SignatureCheck(clock=lambda: NOW)


def signed() -> dict[str, str]:
    return signed_headers(KEY, "POST", "/v1/cs/communication/dataChange", b"", BODY, now_ms=int(NOW * 1000))


def verify(checker: SignatureCheck, headers: dict[str, str], **overrides: object) -> str | None:
    call = {"key": KEY, "method": "POST", "path": "/v1/cs/communication/dataChange", "query": b"", "body": BODY}
    call.update(overrides)
    return checker.verify(headers=headers, **call)  # type: ignore[arg-type]


def test_the_key_is_derived_not_the_value_itself() -> None:
    assert len(KEY) == 32 and ("v" * 40).encode()[:32] != KEY
    assert node_key("v" * 40) == KEY and node_key("w" * 40) != KEY


def test_a_fresh_signed_message_passes_once() -> None:
    checker, headers = check(), signed()
    assert verify(checker, headers) is None
    assert verify(checker, headers) == "replayed"


@pytest.mark.parametrize(
    "override",
    [
        {"key": node_key("w" * 40)},
        {"method": "PUT"},
        {"path": "/v1/auth/cluster/changed"},
        {"query": b"x=1"},
        {"body": b"dataId=b&group=G"},
    ],
)
def test_anything_changed_breaks_the_signature(override: dict[str, object]) -> None:
    assert verify(check(), signed(), **override) == "bad signature"


def test_times_far_from_this_clock_and_missing_headers_are_refused() -> None:
    for shift in (MAX_SKEW_MS + 1, -(MAX_SKEW_MS + 1)):
        old = signed_headers(KEY, "POST", "/p", b"", b"", now_ms=int(NOW * 1000) + shift)
        assert "away from this node's clock" in (check().premature(old) or "")
    headers = signed()
    for name in (TIME_HEADER, NONCE_HEADER, SIGNATURE_HEADER):
        assert verify(check(), {k: v for k, v in headers.items() if k != name}) == "unsigned"


# ------------------------------------------------------------------------------ the guard: `Internal` routes


@pytest.fixture(params=[True, False], ids=["auth-on", "auth-off"])
async def node_app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A router with one Internal route, under the real guard of a started app (auth on or off)."""
    settings = Settings(
        home=str(tmp_path),
        auth_enabled=request.param,
        token_secret_key=TOKEN_KEY,
        identity_key="X-Node",
        identity_value="v" * 40,
        user_agent_auth_white=True,
    )
    app = await started(settings)
    await app.auth.accounts.create_admin(ADMIN_PASSWORD)

    async def handler(call: Call) -> Response:
        return http.text(f"ok {call.params.get('dataId')}")

    router = Router("/nacos", [route(PATH, "POST", handler, INTERNAL)], app.auth.guard, app.metrics, lambda: True)
    transport = httpx.ASGITransport(app=router, client=("10.0.0.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1/nacos") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    await app.stop()


PATH = "/v1/cs/communication/dataChange"


async def post_signed(client: httpx.AsyncClient, key: bytes = KEY, **extra_headers: str) -> httpx.Response:
    request = client.build_request("POST", PATH, data={"dataId": "a", "group": "G"})
    request.headers.update(signed_headers(key, "POST", PATH, request.url.query, request.content))
    request.headers.update(extra_headers)
    return await client.send(request)


async def test_internal_routes_take_signed_messages_whatever_the_switches(node_app: httpx.AsyncClient) -> None:
    passed = await post_signed(node_app)
    assert (passed.status_code, passed.text) == (200, "ok a")


async def test_internal_routes_refuse_the_identity_header_tokens_and_forgeries(node_app: httpx.AsyncClient) -> None:
    """Nothing else opens them: the static identity header, the `Nacos-Server` User-Agent (whitelisted here),
    an admin token, another key, a replay."""
    admin, _ = node_app.app.auth.tokens.issue("nacos")  # type: ignore[attr-defined]
    form = {"dataId": "a", "group": "G"}
    attempts = [
        await node_app.post(PATH, data=form, headers={"X-Node": "v" * 40}),
        await node_app.post(PATH, data=form, headers={"User-Agent": "Nacos-Server:v2.5.1"}),
        await node_app.post(PATH, data=form, headers={"Authorization": f"Bearer {admin}"}),
        await post_signed(node_app, key=node_key("w" * 40)),
    ]
    replayed = node_app.build_request("POST", PATH, data=form)
    replayed.headers.update(signed_headers(KEY, "POST", PATH, b"", replayed.content))
    assert (await node_app.send(replayed)).status_code == 200
    attempts.append(await node_app.send(replayed))
    for refused in attempts:
        assert refused.status_code == 403
        message = refused.json()["message"]
        assert "nacos.core.auth.server.identity.value" in message and "v" * 40 not in message


async def test_a_node_without_an_identity_value_refuses_every_node_message(app: NacosApp) -> None:
    router = Router(
        "/nacos", [route(PATH, "POST", lambda call: None, INTERNAL)], app.auth.guard, app.metrics, lambda: True
    )  # type: ignore[arg-type,return-value]
    transport = httpx.ASGITransport(app=router)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1/nacos") as client:
        response = await post_signed(client, key=node_key(""))
    assert response.status_code == 403 and "has no nacos.core.auth.server.identity.value" in response.json()["message"]
