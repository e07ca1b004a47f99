"""ConfigClient and AsyncConfigClient against a real server over sockets."""

from __future__ import annotations

import asyncio
import http.server
import logging
import queue
import threading
import time
from pathlib import Path

import httpx
import pytest

from pynacos.client import (
    AsyncConfigClient,
    ClientSettings,
    ConfigChange,
    ConfigClient,
    Conflict,
    NotFound,
    ServerUnavailable,
)
from pynacos.client._protocol import md5_of
from tests.integration.server_process import ServerProcess, free_port


def test_publish_get_remove(plain_server: ServerProcess) -> None:
    with ConfigClient(plain_server.address) as client:
        assert client.get("crud.yaml") is None
        assert client.publish("crud.yaml", "DEFAULT_GROUP", "port: 8080", type="yaml") is True
        assert client.get("crud.yaml") == "port: 8080"
        assert client.remove("crud.yaml") is True
        assert client.get("crud.yaml") is None
        assert client.remove("crud.yaml") is True


def test_namespaces_are_separate(plain_server: ServerProcess) -> None:
    httpx.post(plain_server.base + "/v1/console/namespaces", data={"customNamespaceId": "ns-a", "namespaceName": "a"})
    with (
        ConfigClient(ClientSettings(plain_server.address, namespace="public")) as public,
        ConfigClient(ClientSettings(plain_server.address, namespace="ns-a")) as other,
    ):
        public.publish("ns.txt", "G", "public value")
        other.publish("ns.txt", "G", "other value")
        assert public.get("ns.txt", "G") == "public value"
        assert other.get("ns.txt", "G") == "other value"


def test_compare_and_set(plain_server: ServerProcess) -> None:
    with ConfigClient(plain_server.address) as client:
        client.publish("cas.txt", "DEFAULT_GROUP", "v1")
        assert client.publish("cas.txt", "DEFAULT_GROUP", "v2", cas_md5=md5_of("v1")) is True
        with pytest.raises(Conflict, match="Cas publish fail"):
            client.publish("cas.txt", "DEFAULT_GROUP", "v3", cas_md5=md5_of("v1"))
        assert client.get("cas.txt") == "v2"


def test_listener_sees_changes_and_deletion(plain_server: ServerProcess) -> None:
    changes: queue.Queue[ConfigChange] = queue.Queue()
    with ConfigClient(plain_server.address) as client, ConfigClient(plain_server.address) as writer:
        writer.publish("watched.txt", "DEFAULT_GROUP", "v1")
        assert client.add_listener("watched.txt", "DEFAULT_GROUP", changes.put) == "v1"
        writer.publish("watched.txt", "DEFAULT_GROUP", "v2")
        change = changes.get(timeout=5)
        assert (change.content, change.md5, change.data_id, change.namespace) == ("v2", md5_of("v2"), "watched.txt", "")
        writer.publish("watched.txt", "DEFAULT_GROUP", "v2")  # same content: no call
        writer.remove("watched.txt")
        assert changes.get(timeout=5).content is None
        assert changes.empty()


def test_a_second_key_joins_the_held_poll_at_once(plain_server: ServerProcess) -> None:
    changes: queue.Queue[ConfigChange] = queue.Queue()
    with ConfigClient(plain_server.address) as client, ConfigClient(plain_server.address) as writer:
        client.add_listener("first.txt", "DEFAULT_GROUP", changes.put)
        time.sleep(0.3)  # the poll for first.txt is held by now
        assert client.add_listener("second.txt", "DEFAULT_GROUP", changes.put) is None
        started = time.monotonic()
        writer.publish("second.txt", "DEFAULT_GROUP", "hello")
        assert changes.get(timeout=5).content == "hello"
        assert time.monotonic() - started < 2


def test_removed_listener_is_not_called(plain_server: ServerProcess) -> None:
    calls: list[ConfigChange] = []
    kept: queue.Queue[ConfigChange] = queue.Queue()
    with ConfigClient(plain_server.address) as client, ConfigClient(plain_server.address) as writer:
        client.add_listener("rm.txt", "DEFAULT_GROUP", calls.append)
        client.add_listener("rm.txt", "DEFAULT_GROUP", kept.put)
        client.remove_listener("rm.txt", "DEFAULT_GROUP", calls.append)
        writer.publish("rm.txt", "DEFAULT_GROUP", "x")
        assert kept.get(timeout=5).content == "x"
        assert calls == []


def test_a_raising_callback_does_not_stop_listening(
    plain_server: ServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    good: queue.Queue[ConfigChange] = queue.Queue()

    def bad(change: ConfigChange) -> None:
        raise ValueError("callback bug")

    with ConfigClient(plain_server.address) as client, ConfigClient(plain_server.address) as writer:
        client.add_listener("boom.txt", "DEFAULT_GROUP", bad)
        client.add_listener("boom.txt", "DEFAULT_GROUP", good.put)
        writer.publish("boom.txt", "DEFAULT_GROUP", "1")
        assert good.get(timeout=5).content == "1"
        writer.publish("boom.txt", "DEFAULT_GROUP", "2")
        assert good.get(timeout=5).content == "2"
    assert "callback bug" in caplog.text


def test_close_ends_a_held_long_poll_at_once(plain_server: ServerProcess) -> None:
    client = ConfigClient(plain_server.address)
    client.add_listener("held.txt", "DEFAULT_GROUP", print)
    time.sleep(0.3)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1
    assert not any(t.name == "pynacos-config-listener" and t.is_alive() for t in threading.enumerate())


def test_snapshot_when_every_server_is_down(plain_server: ServerProcess, tmp_path: Path) -> None:
    with ConfigClient(ClientSettings(plain_server.address, snapshot_dir=tmp_path)) as client:
        client.publish("snap.txt", "DEFAULT_GROUP", "kept locally")
        assert client.get("snap.txt") == "kept locally"
    dead = f"127.0.0.1:{free_port()}"
    with ConfigClient(ClientSettings(dead, snapshot_dir=tmp_path, timeout=0.5)) as offline:
        assert offline.get("snap.txt") == "kept locally"
        with pytest.raises(ServerUnavailable, match="no server answered"):
            offline.get("other.txt")


def test_failover_to_the_live_server(plain_server: ServerProcess) -> None:
    dead = f"127.0.0.1:{free_port()}"
    with ConfigClient(ClientSettings([dead, plain_server.address])) as client:
        client.publish("fo.txt", "DEFAULT_GROUP", "ok")
        for _ in range(3):
            assert client.get("fo.txt") == "ok"


def test_a_wrong_context_path_is_not_found(plain_server: ServerProcess) -> None:
    with ConfigClient(ClientSettings(plain_server.address, context_path="/other")) as client, pytest.raises(NotFound):
        client.publish("x", "DEFAULT_GROUP", "y")


async def test_async_publish_get_listen_remove(plain_server: ServerProcess) -> None:
    changes: asyncio.Queue[ConfigChange] = asyncio.Queue()
    async with AsyncConfigClient(plain_server.address) as client, AsyncConfigClient(plain_server.address) as writer:
        assert await client.get("async.txt") is None
        assert await client.add_listener("async.txt", "DEFAULT_GROUP", changes.put) is None
        assert await writer.publish("async.txt", "DEFAULT_GROUP", "a1") is True
        assert (await asyncio.wait_for(changes.get(), 5)).content == "a1"
        assert await client.get("async.txt") == "a1"
        assert await writer.remove("async.txt") is True
        assert (await asyncio.wait_for(changes.get(), 5)).content is None


async def test_async_second_key_and_sync_callbacks(plain_server: ServerProcess) -> None:
    seen: list[str | None] = []
    got = asyncio.Event()

    def plain(change: ConfigChange) -> None:
        seen.append(change.content)
        got.set()

    async with AsyncConfigClient(plain_server.address) as client, AsyncConfigClient(plain_server.address) as writer:
        await client.add_listener("a-first.txt", "DEFAULT_GROUP", print)
        await asyncio.sleep(0.3)
        await client.add_listener("a-second.txt", "DEFAULT_GROUP", plain)
        client.remove_listener("a-first.txt", "DEFAULT_GROUP")
        started = time.monotonic()
        await writer.publish("a-second.txt", "DEFAULT_GROUP", "s")
        await asyncio.wait_for(got.wait(), 5)
        assert seen == ["s"] and time.monotonic() - started < 2
        with pytest.raises(Conflict):
            await writer.publish("a-second.txt", "DEFAULT_GROUP", "t", cas_md5="0" * 32)


async def test_async_aclose_cancels_the_listener_at_once(plain_server: ServerProcess) -> None:
    client = AsyncConfigClient(plain_server.address)
    await client.add_listener("a-held.txt", "DEFAULT_GROUP", print)
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await client.aclose()
    assert time.monotonic() - started < 1
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "pynacos-config-listener"]


def test_server_list_from_an_address_server_is_refreshed(plain_server: ServerProcess, tmp_path: Path) -> None:
    """An endpoint (Nacos address server) answers the server list; when it lists another server, the
    client moves there at the next refresh; when it fails, the client keeps the list it has."""
    other = ServerProcess(tmp_path / "home")
    other.start()
    listed = {"body": f"{plain_server.address}\n"}

    class AddressServer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = listed["body"].encode() if self.path == "/nacos/serverlist" else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), AddressServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"127.0.0.1:{httpd.server_address[1]}"
        settings = ClientSettings.from_env({"NACOS_ENDPOINT": endpoint}, endpoint_refresh_interval=0.3)
        assert (settings.servers, settings.endpoint) == ((plain_server.address,), endpoint)
        with ConfigClient(settings) as client:
            assert client.publish("ep", "DEFAULT_GROUP", "on the first server")
            listed["body"] = f"{other.address}\n"
            time.sleep(0.4)
            assert client.get("ep", "DEFAULT_GROUP") is None  # asked the other server: it has no such config
            assert client.publish("ep", "DEFAULT_GROUP", "on the other server")
            listed["body"] = ""  # the address server now answers 404: keep the list
            time.sleep(0.4)
            assert client.get("ep", "DEFAULT_GROUP") == "on the other server"
        with ConfigClient(plain_server.address) as direct:
            assert direct.get("ep", "DEFAULT_GROUP") == "on the first server"
    finally:
        httpd.shutdown()
        httpd.server_close()
        other.stop()


def test_wrong_credentials_against_a_server_with_auth_off_work_with_one_warning(
    plain_server: ServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """Nacos (and pynacos) check the password at login even with auth off; calls need no token, so
    they go on without one instead of failing (or logging the refused login every few seconds)."""
    caplog.set_level(logging.INFO, logger="pynacos.client")
    settings = ClientSettings(plain_server.address, username="ghost", password="Wrong-Passw0rd!")
    with ConfigClient(settings) as client:
        assert client.publish("auth-off.txt", "DEFAULT_GROUP", "fine")
        for _ in range(20):
            assert client.get("auth-off.txt") == "fine"
    lines = [r.getMessage() for r in caplog.records if r.name == "pynacos.client"]
    assert len(lines) == 2, lines
    assert "login as 'ghost' refused" in lines[0] and "going on without one" in lines[1]
    assert not any("Wrong-Passw0rd!" in line for line in lines)
