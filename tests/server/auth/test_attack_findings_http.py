"""security.md §8 checklist, continued: the HTTP-edge holes an outside attack found (issue 13 items 1-5, 7, 10
and the aborted-body part of 13), plus issue 14 item 8 (refusals in the log).

Each test failed on the server before the fix. In-process tests use the ASGI client; the memory, socket and log
tests run a real `pynacos server` and measure what an operator would (RSS from /proc, the log file).
"""

from __future__ import annotations

import contextlib
import io
import re
import socket
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.config.models import ConfigKey
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.integration.server_process import ServerProcess
from tests.server.auth.conftest import KEY, USER_PASSWORD, login
from tests.server.support import make_zip

CFG = "/v1/cs/configs"
FORM = "application/x-www-form-urlencoded"
MiB = 1024 * 1024


# --------------------------------------------------------------------------------------------- helpers


async def narrow_user(app: NacosApp, resource: str, action: str = "rw") -> None:
    """User `u2` whose only permission is `resource` (namespace `dev` exists)."""
    if not app.namespaces.exists("dev"):
        await app.namespaces.create("dev", "dev", None)
    accounts = app.auth.accounts
    await accounts.create_user("u2", USER_PASSWORD)
    await accounts.add_role("narrow", "u2")
    await accounts.add_permission("narrow", resource, action)


async def seed(client: httpx.AsyncClient, token: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Publish `(group, dataId)` configs in namespace dev as the admin; returns their ids."""
    for group, data_id in keys:
        form = {"tenant": "dev", "group": group, "dataId": data_id, "content": f"secret of {group}/{data_id}"}
        assert (await client.post(CFG, data=form, params={"accessToken": token})).text == "true"
    ids = {}
    for group, data_id in keys:
        params = {"show": "all", "tenant": "dev", "group": group, "dataId": data_id, "accessToken": token}
        ids[(group, data_id)] = int((await client.get(CFG, params=params)).json()["id"])
    return ids


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def bomb_zip(name: str, inflated: int) -> bytes:
    """One deflated entry of `inflated` bytes of `A`, written in chunks (never held whole)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(name, "w") as entry:
        chunk = b"A" * MiB
        for _ in range(inflated // MiB):
            entry.write(chunk)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- items 1, 2: ids


async def test_item_1_export_by_ids_needs_read_on_every_exported_config(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str
) -> None:
    await narrow_user(app, "dev:G:config/x", "r")
    ids = await seed(client, admin_token, [("G", "x"), ("SECRET", "s1"), ("SECRET", "s2")])
    token = await login(client, "u2", USER_PASSWORD)
    every_id = ",".join(str(i) for i in ids.values())
    for flag in ("export", "exportV2"):
        query = {flag: "true", "tenant": "dev", "group": "G", "dataId": "x", "accessToken": token}
        refused = await client.get(CFG, params={**query, "ids": every_id})
        assert refused.status_code == 403 and b"secret of" not in refused.content
        own = await client.get(CFG, params={**query, "ids": str(ids[("G", "x")])})
        assert own.status_code == 200
        with zipfile.ZipFile(io.BytesIO(own.content)) as archive:
            assert [n for n in archive.namelist() if not n.startswith(".")] == ["G/x"]


async def test_item_2_delete_by_ids_needs_write_on_every_deleted_config(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str
) -> None:
    await narrow_user(app, "dev:G:config/x", "rw")
    ids = await seed(client, admin_token, [("G", "x"), ("SECRET", "s1")])
    token = await login(client, "u2", USER_PASSWORD)
    query = {"delType": "ids", "tenant": "dev", "group": "G", "dataId": "x", "accessToken": token}
    refused = await client.delete(CFG, params={**query, "ids": f"{ids[('G', 'x')]},{ids[('SECRET', 's1')]}"})
    assert refused.status_code == 403
    for group, data_id in ids:  # nothing deleted, not even the permitted one
        answer = await client.get(
            CFG, params={"tenant": "dev", "group": group, "dataId": data_id, "accessToken": admin_token}
        )
        assert answer.status_code == 200
    allowed = await client.delete(CFG, params={**query, "ids": str(ids[("G", "x")])})
    assert allowed.json()["data"] is True
    gone = await client.get(CFG, params={"tenant": "dev", "group": "G", "dataId": "x", "accessToken": admin_token})
    assert gone.status_code == 404


# --------------------------------------------------------------------------------------------- item 3: archives, bodies


async def test_item_3_import_checks_every_entry_name_before_inflating_any(
    app: NacosApp, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await narrow_user(app, "dev:G:*")
    token = await login(client, "u2", USER_PASSWORD)
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, *args: object, **kwargs: object) -> object:
        opened.append(name if isinstance(name, str) else name.filename)
        return original(self, name, *args, **kwargs)  # type: ignore[arg-type]

    archive = make_zip({"G/ok": "fine", "SECRET/x": "A" * 1000})
    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    query = {"import": "true", "tenant": "dev", "group": "G", "accessToken": token}
    answer = await client.post(CFG, params=query, files={"file": ("c.zip", archive)})
    assert answer.status_code == 403
    assert opened == []
    assert app.configs.get(ConfigKey("dev", "G", "ok")) is None


async def test_item_3_archive_limits_refuse_bombs_whole(client: httpx.AsyncClient, admin_token: str) -> None:
    client.params = {"accessToken": admin_token}
    bomb = bomb_zip("G/bomb", 64 * MiB)
    answer = (await client.post(CFG, params={"import": "true"}, files={"file": ("b.zip", bomb)})).json()
    assert answer["code"] == 100004 and "inflates over" in answer["message"]
    many = make_zip({f"G/c{i}": "x" for i in range(10_001)})
    answer = (await client.post(CFG, params={"import": "true"}, files={"file": ("m.zip", many)})).json()
    assert answer["code"] == 100004 and "entries" in answer["message"]
    assert (await client.get(CFG, params={"group": "G", "dataId": "c1"})).status_code == 404


@pytest.mark.parametrize("kind", ["multipart import", "JSON clone", "urlencoded publish"])
async def test_item_3_every_body_type_is_held_to_the_body_limit(
    client: httpx.AsyncClient, admin_token: str, kind: str
) -> None:
    client.params = {"accessToken": admin_token}
    big = b"x" * (12 * MiB)
    if kind == "multipart import":
        answer = await client.post(CFG, params={"import": "true"}, files={"file": ("big.zip", big)})
    elif kind == "JSON clone":
        body = b'[{"cfgId":1,"dataId":"' + big + b'"}]'
        answer = await client.post(
            CFG,
            params={"clone": "true", "tenant": "public"},
            content=body,
            headers={"content-type": "application/json"},
        )
    else:
        answer = await client.post(CFG, content=b"dataId=a&group=G&content=" + big, headers={"content-type": FORM})
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"


async def test_item_4_public_routes_read_at_most_64_kib(client: httpx.AsyncClient) -> None:
    body = b"username=nacos&password=" + b"p" * (65 * 1024)
    answer = await client.post("/v1/auth/login", content=body, headers={"content-type": FORM})
    assert answer.status_code == 413


# --------------------------------------------------------------------------------------------- item 5: cross-site


async def test_item_5_first_admin_cannot_be_claimed_cross_site(app_without_admin: NacosApp) -> None:
    async with asgi_client(app_without_admin) as client:
        evil = await client.post(
            "/v1/auth/users/admin", params={"password": "Chosen-Passw0rd!"}, headers={"Origin": "http://evil.example"}
        )
        assert evil.status_code == 403 and "cross-site" in evil.text
        assert not app_without_admin.auth.accounts.directory.has_admin()
        own = await client.post("/v1/auth/users/admin", headers={"Origin": "http://127.0.0.1"})
        assert own.status_code == 200


@pytest.fixture
async def app_without_admin(tmp_path: Path) -> AsyncIterator[NacosApp]:
    server = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY))
    yield server
    await server.stop()


async def test_item_5_auth_off_refuses_cross_site_writes_and_foreign_hosts(tmp_path: Path) -> None:
    app = await started(
        Settings(home=str(tmp_path), allowed_origins=("https://ops.example",), allowed_hosts=("nacos.internal",))
    )
    try:
        async with asgi_client(app) as client:
            form = {"dataId": "a", "group": "G", "content": "x"}
            assert (await client.post(CFG, data=form, headers={"Origin": "http://evil.example"})).status_code == 403
            assert (await client.post(CFG, data=form, headers={"Origin": "null"})).status_code == 403
            assert (await client.post(CFG, data=form, headers={"Sec-Fetch-Site": "cross-site"})).status_code == 403
            assert (await client.get(CFG, params={"dataId": "a", "group": "G"})).status_code == 404  # nothing published
            assert (await client.post(CFG, data=form)).text == "true"  # SDKs send no Origin
            assert (await client.post(CFG, data=form, headers={"Origin": "http://127.0.0.1"})).text == "true"
            assert (await client.post(CFG, data=form, headers={"Origin": "https://ops.example"})).text == "true"
            rebinding = await client.get(
                CFG, params={"dataId": "a", "group": "G"}, headers={"Host": "evil.example:8848"}
            )
            assert rebinding.status_code == 403 and "DNS rebinding" in rebinding.text
            for host in ("127.0.0.1:8848", "[::1]:8848", "localhost", "nacos.internal:8848"):
                answer = await client.get(CFG, params={"dataId": "a", "group": "G"}, headers={"Host": host})
                assert answer.status_code == 200, host
    finally:
        await app.stop()


async def test_item_5_a_get_that_changes_state_is_checked_as_a_write(tmp_path: Path) -> None:
    """Nacos 2.x's loader resets are GETs: with auth off a page elsewhere could make every client reconnect."""
    app = await started(Settings(home=str(tmp_path)))
    async with asgi_client(app) as client:
        for path in ("/v2/core/loader/reloadCurrent", "/v2/core/loader/smartReloadCluster"):
            refused = await client.get(path, params={"count": "0"}, headers={"Sec-Fetch-Site": "cross-site"})
            assert refused.status_code == 403 and "cross-site" in refused.text, path
            foreign = await client.get(path, params={"count": "0"}, headers={"Origin": "http://evil.example"})
            assert foreign.status_code == 403, path
        plain_read = await client.get("/v2/core/loader/current", headers={"Sec-Fetch-Site": "cross-site"})
        assert plain_read.status_code == 200  # a read stays open to links from elsewhere
    await app.stop()


# --------------------------------------------------------------------------------------------- item 7: client address


async def test_item_7_forwarded_address_is_the_right_most_untrusted_hop(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path), trusted_proxies=("127.0.0.1", "10.0.0.0/8")))
    try:
        async with asgi_client(app) as client:
            form = {"dataId": "a", "group": "G", "content": "formal"}
            assert (await client.post(CFG, data=form)).text == "true"
            beta = await client.post(CFG, data={**form, "content": "beta"}, headers={"betaIps": "192.0.2.7"})
            assert beta.text == "true"

            async def served(forwarded: str) -> str:
                answer = await client.get(
                    CFG, params={"dataId": "a", "group": "G"}, headers={"X-Forwarded-For": forwarded}
                )
                return answer.text

            assert await served("192.0.2.7") == "beta"
            assert await served("192.0.2.7, 10.1.2.3") == "beta"  # a trusted proxy's hop is skipped
            assert await served("192.0.2.7, 198.51.100.1") == "formal"  # the client wrote the left-most entry
            assert await served("not-an-ip, 192.0.2.7") == "beta"
            assert await served("192.0.2.7, not-an-ip") == "formal"  # a malformed hop names nobody: the peer
    finally:
        await app.stop()


# --------------------------------------------------------------------------------------------- real server process


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """Auth on, access log on, debug logging; yields (server, admin token)."""
    properties = {
        "nacos.core.auth.enabled": "true",
        "nacos.core.auth.plugin.nacos.token.secret.key": KEY,
        "server.address": "127.0.0.1",
        "pynacos.access.log": "true",
        "pynacos.log.level": "debug",
    }
    server = ServerProcess(tmp_path_factory.mktemp("attack") / "home", properties)
    server.start()
    try:
        with httpx.Client(base_url=server.base) as http:
            password = http.post("/v1/auth/users/admin").json()["password"]
            answer = http.post("/v1/auth/login", data={"username": "nacos", "password": password})
            yield server, answer.json()["accessToken"]
    finally:
        server.stop()


def send_head(server: ServerProcess, head: str, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sock.sendall(head.encode("latin-1"))
    return sock


def post_head(server: ServerProcess, target: str, length: int, extra: str = "") -> str:
    return (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\nContent-Length: {length}\r\n{extra}\r\n"
    )


def read_answer(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionError):
        pass
    return data


def hold_bodies(server: ServerProcess, target: str, count: int, size: int) -> list[socket.socket]:
    """`count` connections each sending all but the last byte of a `size`-byte body (never finished)."""
    sockets: list[socket.socket] = []

    def one() -> None:
        sock = send_head(server, post_head(server, target, size), timeout=4)
        sockets.append(sock)
        with contextlib.suppress(OSError):
            sock.sendall(b"x" * (size - 1))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sockets


@pytest.mark.integration
@pytest.mark.parametrize("target", ["/nacos/v1/auth/login", "/nacos/v1/cs/configs"])
def test_item_4_held_unauthenticated_bodies_pin_little_memory(live: tuple[ServerProcess, str], target: str) -> None:
    server, _ = live
    assert server.process is not None
    before = rss_kib(server.process.pid)
    sockets = hold_bodies(server, target, 40, 10 * MiB)
    try:
        grown_mb = (rss_kib(server.process.pid) - before) / 1024
        assert grown_mb < 64, f"RSS grew {grown_mb:.0f} MB with 40 held 10 MiB bodies"
    finally:
        for sock in sockets:
            sock.close()
    with httpx.Client(base_url=server.base, timeout=10) as http:  # the server still answers
        assert http.get("/v1/console/health/readiness").status_code == 200


@pytest.mark.integration
def test_item_4_credentials_in_the_query_are_checked_before_the_body_is_read(live: tuple[ServerProcess, str]) -> None:
    server, _ = live
    sock = send_head(server, post_head(server, "/nacos/v1/cs/configs?accessToken=forged", 10 * MiB), timeout=5)
    try:
        started_at = time.monotonic()
        answer = read_answer(sock)
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
        assert time.monotonic() - started_at < 4
    finally:
        sock.close()


@pytest.mark.integration
def test_item_4_a_trickled_body_is_cut_after_the_grace_time(live: tuple[ServerProcess, str]) -> None:
    server, token = live
    sock = send_head(server, post_head(server, f"/nacos/v1/cs/configs?accessToken={token}", 1000), timeout=1)
    started_at = time.monotonic()
    answer = b""
    try:
        while time.monotonic() - started_at < 25 and not answer:
            try:
                sock.sendall(b"x")
            except OSError:
                break
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
    finally:
        sock.close()
    elapsed = time.monotonic() - started_at
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert 9 < elapsed < 20


@pytest.mark.integration
def test_item_7_forwarded_headers_from_loopback_are_not_believed_by_default(live: tuple[ServerProcess, str]) -> None:
    server, token = live
    with httpx.Client(base_url=server.base, params={"accessToken": token}, timeout=10) as http:
        form = {"dataId": "xff", "group": "G", "content": "formal"}
        assert http.post(CFG, data=form).text == "true"
        assert http.post(CFG, data={**form, "content": "beta"}, headers={"betaIps": "192.0.2.9"}).text == "true"
        spoofed = http.get(CFG, params={"dataId": "xff", "group": "G"}, headers={"X-Forwarded-For": "192.0.2.9"})
        assert spoofed.text == "formal"
        real = http.get(CFG, params={"dataId": "xff", "group": "G"}, headers={"betaIps": "x"})
        assert real.text == "formal"


@pytest.mark.integration
def test_item_10_access_log_holds_no_credential_and_no_content(live: tuple[ServerProcess, str]) -> None:
    server, token = live
    secret_content = "db.password=" + "Z" * 24
    with httpx.Client(timeout=10) as http:
        query = f"Authorization=Bearer%20{token}&dataId=log&group=G&content={secret_content}"
        assert http.post(f"{server.base}{CFG}?{query}").text == "true"
        for name in ("AccessToken", "PASSWORD", "passwor%64", "Username"):
            http.get(f"{server.base}/v1/cs/configs?dataId=log&group=G&{name}=SECRET{name}")
    deadline = time.monotonic() + 10
    while "dataId=log" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log()
    assert "dataId=log" in log
    assert token not in log and "Z" * 24 not in log
    for name in ("AccessToken", "PASSWORD", "passwor%64"):
        assert f"SECRET{name}" not in log
    assert "SECRETUsername" in log  # a user name is not a credential


@pytest.mark.integration
def test_item_13_aborted_bodies_log_no_traceback(live: tuple[ServerProcess, str]) -> None:
    server, token = live
    before = len(server.log())
    for _ in range(100):
        sock = send_head(server, post_head(server, f"/nacos/v1/cs/configs?accessToken={token}", 1000))
        sock.sendall(b"dataId=a&group=G")
        sock.close()
    with httpx.Client(base_url=server.base, timeout=10) as http:  # one more request: the aborts are handled
        assert http.get("/v1/console/health/readiness").status_code == 200
    time.sleep(0.5)
    added = server.log()[before:]
    assert "Traceback" not in added and "unexpected error" not in added
    assert added.count("went away") <= 2


@pytest.mark.integration
def test_14_8_refusals_are_logged_at_debug_and_oversized_requests_with_the_client(
    live: tuple[ServerProcess, str],
) -> None:
    server, token = live
    before = len(server.log())
    with httpx.Client(base_url=server.base, params={"accessToken": token}, timeout=10) as http:
        for _ in range(20):
            assert http.get(CFG, params={"dataId": "a b", "group": "G"}).status_code == 400
    for _ in range(20):
        sock = send_head(server, f"GET /nacos/{'a' * 9000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_answer(sock).startswith(b"HTTP/1.1 414")
        sock.close()
    time.sleep(0.5)
    added = server.log()[before:]
    refusals = [line for line in added.splitlines() if "refused GET /v1/cs/configs" in line]
    assert len(refusals) == 1 and "DEBUG" in refusals[0] and "400" in refusals[0]
    oversized = [line for line in added.splitlines() if re.search(r"refused a request from 127\.0\.0\.1: .*414", line)]
    assert len(oversized) == 1
    assert "Invalid HTTP request received." not in added


@pytest.mark.integration
def test_item_3_zip_bomb_import_grows_rss_little(live: tuple[ServerProcess, str]) -> None:
    server, token = live
    assert server.process is not None
    bomb = bomb_zip("G/bomb", 600 * MiB)
    assert len(bomb) < 700 * 1024
    before = rss_kib(server.process.pid)
    with httpx.Client(base_url=server.base, params={"accessToken": token}, timeout=60) as http:
        answer = http.post(CFG, params={"import": "true"}, files={"file": ("b.zip", bomb)}).json()
    grown_mb = (rss_kib(server.process.pid) - before) / 1024
    assert answer["code"] == 100004
    assert grown_mb < 50, f"RSS grew {grown_mb:.0f} MB"
