"""The gRPC SDK port over real sockets: connection lifecycle, Nacos's error codes, config requests and pushes,
and auth through the same guard and policies as HTTP (protocol.md E, issue 15)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.config import grpc as config_grpc
from pynacos.server.grpc import connections as connections_module
from pynacos.server.grpc import payload
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, USER_PASSWORD, login
from tests.server.grpc_support import GrpcTestClient
from tests.server.support import make_zip

CFG = "/v1/cs/configs"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, int]]:
    app = await started(Settings(home=str(tmp_path)))
    port = await app.start_grpc(port=0)
    yield app, port
    await app.stop()


@pytest.fixture
async def connected(served: tuple[NacosApp, int]) -> AsyncIterator[GrpcTestClient]:
    client = GrpcTestClient(served[1])
    await client.connect()
    yield client
    await client.close()


async def test_server_check_names_the_connection_before_any_setup(served: tuple[NacosApp, int]) -> None:
    client = GrpcTestClient(served[1])
    try:
        answer = await client.request("ServerCheckRequest", {"module": "internal"})
        assert answer.type == "ServerCheckResponse"
        assert answer.body["resultCode"] == 200 and answer.body["success"] is True
        assert answer.body["supportAbilityNegotiation"] is True
        assert answer.body["connectionId"].endswith("_127.0.0.1_" + answer.body["connectionId"].rsplit("_", 1)[1])
        unregistered = await client.request("HealthCheckRequest", {})
        assert (unregistered.type, unregistered.body["errorCode"]) == ("ErrorResponse", 301)
        assert unregistered.body["message"] == "Connection is unregistered."
        await client.connect()
        healthy = await client.request("HealthCheckRequest", {})
        assert (healthy.type, healthy.body["resultCode"], healthy.body["success"]) == ("HealthCheckResponse", 200, True)
        again = await client.request("ServerCheckRequest", {})
        assert again.body["connectionId"] == answer.body["connectionId"]  # one transport, one id
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("kind", "body", "code", "message"),
    [
        ("NoSuchRequest", {}, 302, "RequestHandler Not Found"),
        ("ServerLoaderInfoRequest", {}, 502, " invoke ServerLoaderInfoRequest from sdk is forbidden"),
        ("DistroDataRequest", {}, 502, " invoke DistroDataRequest from sdk is forbidden"),
    ],
)
async def test_error_codes_follow_nacos(
    connected: GrpcTestClient, kind: str, body: dict[str, str], code: int, message: str
) -> None:
    answer = await connected.request(kind, body)
    assert answer.type == "ErrorResponse"
    assert answer.body == {"resultCode": 500, "errorCode": code, "message": message, "success": False}


async def test_a_body_that_is_not_json_is_a_502(connected: GrpcTestClient) -> None:
    message = payload.encode("ConfigQueryRequest", {})
    message.body.value = b"{not json"
    answer = payload.parse(await connected._unary(message))
    assert (answer.type, answer.body["errorCode"]) == ("ErrorResponse", 502)


async def test_config_query_publish_remove(connected: GrpcTestClient, served: tuple[NacosApp, int]) -> None:
    missing = await connected.request("ConfigQueryRequest", {"dataId": "a", "group": "G", "tenant": ""})
    assert missing.body == {
        "resultCode": 500,
        "errorCode": 300,
        "message": "config data not exist",
        "lastModified": 0,
        "beta": False,
        "success": False,
    }
    published = await connected.request(
        "ConfigPublishRequest",
        {"dataId": "a", "group": "G", "content": "k: v", "additionMap": {"type": "yaml", "tag": None, "appName": None}},
    )
    assert published.body == {"resultCode": 200, "errorCode": 0, "success": True}
    found = (await connected.request("ConfigQueryRequest", {"dataId": "a", "group": "G"})).body
    assert (found["content"], found["contentType"], found["beta"], found["encryptedDataKey"]) == (
        "k: v",
        "yaml",
        False,
        "",
    )
    async with asgi_client(served[0]) as http:
        over_http = await http.get(CFG, params={"dataId": "a", "group": "G"})
        assert over_http.text == "k: v" and over_http.headers["content-md5"] == found["md5"]
    cas = await connected.request(
        "ConfigPublishRequest", {"dataId": "a", "group": "G", "content": "x", "casMd5": "0" * 32}
    )
    assert (cas.body["errorCode"], cas.body["success"]) == (500, False)
    removed = await connected.request("ConfigRemoveRequest", {"dataId": "a", "group": "G"})
    assert removed.body["success"] is True
    gone = await connected.request("ConfigQueryRequest", {"dataId": "a", "group": "G"})
    assert gone.body["errorCode"] == 300


async def test_bad_names_are_refused_as_a_param_check(connected: GrpcTestClient) -> None:
    answer = await connected.request("ConfigPublishRequest", {"dataId": "a b", "group": "G", "content": "x"})
    assert answer.type == "ConfigPublishResponse"
    assert answer.body["errorCode"] == 400 and answer.body["message"].startswith("Param check invalid:")


async def test_listeners_are_pushed_whichever_api_changes_the_config(
    connected: GrpcTestClient, served: tuple[NacosApp, int]
) -> None:
    context = {"dataId": "a", "group": "G", "tenant": "", "md5": ""}
    answer = await connected.request("ConfigBatchListenRequest", {"listen": True, "configListenContexts": [context]})
    assert answer.body["changedConfigs"] == []  # absent on both sides: the md5 "" matches
    async with asgi_client(served[0]) as http:
        before = len(connected.pushes)
        assert (await http.post(CFG, data={"dataId": "a", "group": "G", "content": "1"})).text == "true"
        pushed = await connected.wait_push("ConfigChangeNotifyRequest", timeout=2, after=before)
        assert {k: pushed.body[k] for k in ("dataId", "group", "tenant", "module")} == {
            "dataId": "a",
            "group": "G",
            "tenant": "",
            "module": "config",
        }
        assert pushed.body["headers"] == {} and pushed.body["requestId"].isdigit()
        before = len(connected.pushes)
        await connected.request("ConfigPublishRequest", {"dataId": "a", "group": "G", "content": "2"})
        await connected.wait_push("ConfigChangeNotifyRequest", timeout=2, after=before)
        before = len(connected.pushes)
        zip_body = {"file": ("c.zip", make_zip({"G/a": "3"}))}
        await http.post(CFG, params={"import": "true", "policy": "OVERWRITE"}, files=zip_body)
        await connected.wait_push("ConfigChangeNotifyRequest", timeout=2, after=before)
    stale = await connected.request("ConfigBatchListenRequest", {"listen": True, "configListenContexts": [context]})
    assert stale.body["changedConfigs"] == [{"group": "G", "dataId": "a", "tenant": ""}]


async def test_a_closed_connection_is_forgotten_with_its_listeners(served: tuple[NacosApp, int]) -> None:
    app, port = served
    client = GrpcTestClient(port)
    await client.connect()
    context = {"dataId": "a", "group": "G", "tenant": "", "md5": ""}
    await client.request("ConfigBatchListenRequest", {"listen": True, "configListenContexts": [context]})
    assert len(app.connections.registered) == 1 and app.config_grpc.listeners
    await client.close()
    for _ in range(100):
        if not app.connections.registered:
            break
        await asyncio.sleep(0.05)
    assert not app.connections.registered and not app.config_grpc.listeners


async def test_a_silent_client_is_ejected_with_unavailable(
    served: tuple[NacosApp, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, port = served
    monkeypatch.setattr(connections_module, "IDLE_LIMIT", 0.2)
    monkeypatch.setattr(connections_module, "DETECT_TIMEOUT", 0.5)
    client = GrpcTestClient(port)
    client.ack = False  # never answers the ClientDetectionRequest
    await client.connect()
    try:
        ejector = asyncio.create_task(app.connections.eject_silent_forever())
        await client.wait_push("ClientDetectionRequest", timeout=5)
        for _ in range(100):
            if client.stream_error is not None:
                break
            await asyncio.sleep(0.05)
        assert client.stream_error is not None and client.stream_error.code() == grpc.StatusCode.UNAVAILABLE
        assert not app.connections.registered
        answer = await client.request("HealthCheckRequest", {})
        assert answer.body["errorCode"] == 301
        ejector.cancel()
    finally:
        await client.close()


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, int]]:
    app = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY))
    await app.auth.accounts.create_admin(ADMIN_PASSWORD)
    await app.auth.accounts.create_user("u1", USER_PASSWORD)
    await app.auth.accounts.add_role("g-only", "u1")
    await app.auth.accounts.add_permission("g-only", ":G:*", "rw")
    port = await app.start_grpc(port=0)
    yield app, port
    await app.stop()


async def test_auth_uses_the_http_policies_and_revocation_reaches_live_connections(
    secured: tuple[NacosApp, int],
) -> None:
    app, port = secured
    async with asgi_client(app) as http:
        admin = await login(http, "nacos", ADMIN_PASSWORD)
        token = await login(http, "u1", USER_PASSWORD)
        client = GrpcTestClient(port, token=token)
        await client.connect()
        try:
            query = {"dataId": "a", "group": "G"}
            anonymous = await client.request("ConfigQueryRequest", query, headers={"accessToken": ""})
            assert anonymous.type == "ConfigQueryResponse"
            assert (anonymous.body["resultCode"], anonymous.body["errorCode"]) == (500, 403)
            assert anonymous.body["lastModified"] == 0 and anonymous.body["beta"] is False
            assert (await client.request("ConfigPublishRequest", {**query, "content": "x"})).body["success"] is True
            other = await client.request("ConfigPublishRequest", {"dataId": "a", "group": "SECRET", "content": "x"})
            assert other.body["errorCode"] == 403 and other.body["message"] == "authorization failed!"
            listen = {"listen": True, "configListenContexts": [{"dataId": "s", "group": "SECRET", "md5": ""}]}
            assert (await client.request("ConfigBatchListenRequest", listen)).body["errorCode"] == 403
            changed = await http.put(
                "/v1/auth/users", params={"username": "u1", "newPassword": "Other-Passw0rd!", "accessToken": admin}
            )
            assert changed.status_code == 200
            revoked = await client.request("ConfigQueryRequest", query)
            assert revoked.body["errorCode"] == 403
        finally:
            await client.close()


async def test_shutdown_asks_clients_to_reconnect_elsewhere_then_closes_their_streams(
    served: tuple[NacosApp, int],
) -> None:
    app, port = served
    client = GrpcTestClient(port)
    await client.connect()
    try:
        assert app.grpc is not None
        await app.grpc.stop("127.0.0.1", 8848)
        reset = await client.wait_push("ConnectResetRequest", timeout=5)
        assert reset.body["serverPort"] == "8848" and reset.body["module"] == "internal"
        for _ in range(100):
            if client.stream_error is not None:
                break
            await asyncio.sleep(0.05)
        assert client.stream_error is not None and client.stream_error.code() == grpc.StatusCode.UNAVAILABLE
        assert not app.connections.registered
    finally:
        await client.close()


async def test_listens_per_connection_are_bounded(connected: GrpcTestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_grpc, "MAX_LISTENS", 2)
    contexts = [{"dataId": f"d{i}", "group": "G", "tenant": "", "md5": ""} for i in range(3)]
    two = await connected.request("ConfigBatchListenRequest", {"listen": True, "configListenContexts": contexts[:2]})
    assert two.body["success"] is True
    again = await connected.request("ConfigBatchListenRequest", {"listen": True, "configListenContexts": contexts[:2]})
    assert again.body["success"] is True  # listening again to the same keys adds nothing
    third = await connected.request("ConfigBatchListenRequest", {"listen": True, "configListenContexts": contexts})
    assert (third.type, third.body["errorCode"]) == ("ConfigChangeBatchListenResponse", 400)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_when_enabled_and_plaintext_refused(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    settings = Settings(
        home=str(tmp_path / "home"), grpc_tls=True, grpc_tls_cert_chain=str(cert), grpc_tls_private_key=str(key)
    )
    app = await started(settings)
    try:
        port = await app.start_grpc(port=0)
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
            call = channel.unary_unary(
                "/Request/request",
                request_serializer=payload.serialize,
                response_deserializer=payload.Payload.FromString,
            )
            answer = payload.parse(await call(payload.encode("ServerCheckRequest", {}), timeout=10))
            assert answer.type == "ServerCheckResponse" and answer.body["success"] is True
        plaintext = GrpcTestClient(port)
        try:
            with pytest.raises(grpc.RpcError):
                await plaintext.request("ServerCheckRequest", {})
        finally:
            await plaintext.close()
    finally:
        await app.stop()


async def test_connections_per_client_address_are_bounded(served: tuple[NacosApp, int]) -> None:
    app, port = served
    app.connections.max_per_ip = 1
    first, second = GrpcTestClient(port), GrpcTestClient(port)
    try:
        await first.connect()
        with pytest.raises(AssertionError):  # no SetupAck: the second stream is refused
            await second.connect()
        assert second.stream_error is not None and second.stream_error.code() == grpc.StatusCode.UNAVAILABLE
        assert len(app.connections.registered) == 1
    finally:
        await first.close()
        await second.close()
