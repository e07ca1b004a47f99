"""The web console's server side, in process: its files (routes, gzip, ETag, cache and security headers),
`nacos.console.ui.enabled=false`, and the two admin pages (auth health, permission coverage).

The UI files are a fixed set written to a temporary directory (not the shipped ones, which another part
of the project changes), so every expectation here is about the serving, not about the pages.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Message

from pynacos.server.app import NacosApp
from pynacos.server.auth.failures import RecentFailures
from pynacos.server.auth.throttle import MAX_PER_IP, MAX_PER_USER_AND_IP, USER_UNDER_ATTACK, WINDOW, LoginThrottle
from pynacos.server.console import insight, ui
from pynacos.server.console.port import ConsoleListener
from pynacos.server.settings import Settings, SettingsError, check_startup
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, USER_PASSWORD, login
from tests.server.support import create_namespace, publish

APP_JS = ("// the console\n" + "export const x = 1;\n" * 200).encode()
INDEX = b"""<!doctype html>
<link rel="stylesheet" href="console-ui/app.css">
<script type="module" src="console-ui/app.js"></script>
<script src="console-ui/missing.js"></script>
<a href="https://example.com/console-ui/app.js">elsewhere</a>
"""
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
HEALTH = "/v3/console/auth/health"
COVERAGE = "/v3/console/auth/coverage"


def version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


@pytest.fixture
def static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "static"
    (root / "pages").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "app.js").write_bytes(APP_JS)
    (root / "app.css").write_bytes(b"body { margin: 0 }\n")
    (root / "pages" / "configs.js").write_bytes(b'import { x } from "../app.js";\n')
    (root / "logo.png").write_bytes(PNG)
    (root / ".hidden.js").write_bytes(b"secret")
    (root / "with space.js").write_bytes(b"unreachable")
    monkeypatch.setattr(ui, "STATIC", root)
    return root


async def client_for(settings: Settings, admin: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    app = await started(settings)
    if admin:
        await app.auth.accounts.create_admin(ADMIN_PASSWORD)
    try:
        async with asgi_client(app) as http_client:
            http_client.app = app  # type: ignore[attr-defined]
            yield http_client
    finally:
        await app.stop()


@pytest.fixture
async def client(static: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for http_client in client_for(Settings(home=str(tmp_path))):
        yield http_client


@pytest.fixture
async def auth_client(static: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY)
    async for http_client in client_for(settings, admin=True):
        app: NacosApp = http_client.app  # type: ignore[attr-defined]
        await app.auth.accounts.create_user("u1", USER_PASSWORD)
        await app.auth.accounts.add_role("dev-rw", "u1")
        await app.auth.accounts.add_permission("dev-rw", "dev:*:*", "rw")
        yield http_client


@pytest.fixture
async def open_client(static: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Every auth scope off: the admin pages answer anyone, so the tests read their content directly."""
    settings = Settings(home=str(tmp_path), auth_admin_enabled=False, auth_console_enabled=False)
    async for http_client in client_for(settings):
        yield http_client


async def raw_get(
    client: httpx.AsyncClient, path: str, headers: list[tuple[bytes, bytes]] | None = None, method: str = "GET"
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An ASGI call without httpx: the exact header list (duplicates kept) and the body as sent (not un-gzipped)."""
    app: NacosApp = client.app  # type: ignore[attr-defined]
    raw_path = path.split("?")[0].encode()
    query = path.partition("?")[2].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path.decode(),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    header_list = [(k.decode().lower(), v.decode()) for k, v in sent[0]["headers"]]
    return sent[0]["status"], header_list, b"".join(m.get("body", b"") for m in sent[1:])


def one(headers: list[tuple[str, str]], name: str) -> str:
    values = [value for key, value in headers if key == name]
    assert len(values) == 1, (name, values)
    return values[0]


# ------------------------------------------------------------------------------------------------ the files


async def test_index_is_served_at_the_root_and_as_index_html_with_versioned_asset_links(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/index.html"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
    page = response.text
    assert f'href="console-ui/app.css?v={version(b"body { margin: 0 }" + bytes([10]))}"' in page
    assert f'src="console-ui/app.js?v={version(APP_JS)}"' in page
    assert 'src="console-ui/missing.js"' in page  # no such file: left as written
    assert "https://example.com/console-ui/app.js" in page  # not ours: left as written
    assert (await client.get("/v1/console/server/state")).json()["console_ui_enabled"] == "true"


async def test_context_path_without_the_slash_redirects_to_the_console(client: httpx.AsyncClient) -> None:
    """`/nacos` is where Nacos users type; the router redirects a GET of it (only) to `/nacos/`."""
    status, headers, _ = await raw_get(client, "/nacos")
    assert (status, dict(headers)["location"]) == (302, "/nacos/")
    assert (await raw_get(client, "/nacos", method="POST"))[0] == 404
    assert (await raw_get(client, "/nacosx"))[0] == 404


async def test_assets_have_their_types_and_a_year_of_cache_only_when_versioned(client: httpx.AsyncClient) -> None:
    cases = {
        "/console-ui/app.js": "text/javascript; charset=utf-8",
        "/console-ui/app.css": "text/css; charset=utf-8",
        "/console-ui/logo.png": "image/png",
        "/console-ui/pages/configs.js": "text/javascript; charset=utf-8",
    }
    for path, media_type in cases.items():
        response = await client.get(path)
        assert (response.status_code, response.headers["content-type"]) == (200, media_type), path
        assert response.headers["cache-control"] == "no-cache"  # an import without ?v= revalidates
    assert (await client.get("/console-ui/logo.png")).content == PNG
    current = await client.get("/console-ui/app.js", params={"v": version(APP_JS)})
    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert current.content == APP_JS
    stale = await client.get("/console-ui/app.js", params={"v": "00000000"})
    assert stale.headers["cache-control"] == "no-cache"


async def test_text_is_gzipped_when_the_request_accepts_it(client: httpx.AsyncClient) -> None:
    status, headers, body = await raw_get(client, "/nacos/console-ui/app.js", [(b"accept-encoding", b"br, gzip")])
    assert status == 200
    assert one(headers, "content-encoding") == "gzip"
    assert one(headers, "vary") == "Accept-Encoding"
    assert gzip.decompress(body) == APP_JS
    assert int(one(headers, "content-length")) == len(body) < len(APP_JS)
    _, headers, _ = await raw_get(client, "/nacos/console-ui/app.js", [(b"accept-encoding", b"*;q=0, gzip;q=0.5")])
    assert one(headers, "content-encoding") == "gzip"
    for refused in (b"", b"identity", b"gzip;q=0", b"gzip; q=0.000, *", b"br"):
        status, headers, body = await raw_get(client, "/nacos/console-ui/app.js", [(b"accept-encoding", refused)])
        assert body == APP_JS and "content-encoding" not in dict(headers), refused
        assert one(headers, "vary") == "Accept-Encoding"
    _, headers, body = await raw_get(client, "/nacos/console-ui/logo.png", [(b"accept-encoding", b"gzip")])
    assert body == PNG and "content-encoding" not in dict(headers)  # gzip would not make it smaller


async def test_etag_answers_304_and_differs_per_encoding(client: httpx.AsyncClient) -> None:
    _, headers, _ = await raw_get(client, "/nacos/console-ui/app.js")
    plain = one(headers, "etag")
    _, headers, _ = await raw_get(client, "/nacos/console-ui/app.js", [(b"accept-encoding", b"gzip")])
    zipped = one(headers, "etag")
    assert plain != zipped and plain.startswith('"') and zipped.startswith('"')
    for sent in (plain, f"W/{plain}", f'"other", {plain}', "*"):
        status, headers, body = await raw_get(client, "/nacos/console-ui/app.js", [(b"if-none-match", sent.encode())])
        assert (status, body) == (304, b""), sent
        assert one(headers, "etag") == plain
        assert "content-length" not in dict(headers)
    status, _, body = await raw_get(client, "/nacos/console-ui/app.js", [(b"if-none-match", zipped.encode())])
    assert (status, body) == (200, APP_JS)  # the gzip variant's tag does not validate the plain one
    status, _, _ = await raw_get(
        client, "/nacos/", [(b"if-none-match", zipped.encode()), (b"accept-encoding", b"gzip")]
    )
    assert status == 200  # index.html has its own tag
    _, headers, _ = await raw_get(client, "/nacos/", [(b"accept-encoding", b"gzip")])
    status, _, _ = await raw_get(
        client, "/nacos/", [(b"if-none-match", one(headers, "etag").encode()), (b"accept-encoding", b"gzip")]
    )
    assert status == 304


async def test_every_ui_answer_has_one_strict_csp_and_the_frame_headers(client: httpx.AsyncClient) -> None:
    for path in ("/nacos/", "/nacos/index.html", "/nacos/console-ui/app.js", "/nacos/console-ui/logo.png"):
        for extra in ([], [(b"if-none-match", b"*")]):
            _, headers, _ = await raw_get(client, path, extra)
            assert one(headers, "content-security-policy") == CSP, path
            assert one(headers, "x-frame-options") == "DENY"
            assert one(headers, "referrer-policy") == "no-referrer"
            assert one(headers, "x-content-type-options") == "nosniff"
    _, headers, _ = await raw_get(client, "/nacos/v1/console/health/liveness")
    assert one(headers, "content-security-policy") == "script-src 'self'"  # other answers keep the common one


async def test_only_files_present_at_start_up_are_served(client: httpx.AsyncClient, static: Path) -> None:
    (static / "late.js").write_bytes(b"added after start-up")
    for path in ("/nacos/console-ui/late.js", "/nacos/console-ui/nothing.js", "/nacos/console-ui/.hidden.js"):
        assert (await raw_get(client, path))[0] == 404, path
    assert (await raw_get(client, "/nacos/console-ui/with%20space.js"))[0] == 400
    assert (await raw_get(client, "/nacos/console-ui/pages"))[0] == 404  # a directory is not a file
    assert (await raw_get(client, "/nacos/console-ui"))[0] == 404


async def test_dot_segments_and_encoded_paths_are_refused_by_the_router(client: httpx.AsyncClient) -> None:
    for path in (
        "/nacos/console-ui/../index.html",
        "/nacos/console-ui/pages/../app.js",
        "/nacos/console-ui/./app.js",
        "/nacos/console-ui/%2e%2e/index.html",
        "/nacos/console-ui/%61pp.js",
        "/nacos/console-ui//app.js",
        "/nacos/console-ui/..%2fsettings.py",
    ):
        status, _, body = await raw_get(client, path)
        assert status == 400, path
        assert APP_JS not in body


async def test_head_is_empty_and_other_methods_are_405(client: httpx.AsyncClient) -> None:
    status, _, body = await raw_get(client, "/nacos/console-ui/app.js", method="HEAD")
    assert (status, body) == (200, b"")
    assert (await client.post("/console-ui/app.js")).status_code == 405
    assert (await client.delete("/")).status_code == 405


async def test_turned_off_the_pages_say_so_and_no_asset_is_served(static: Path, tmp_path: Path) -> None:
    async for client in client_for(Settings(home=str(tmp_path), console_ui_enabled=False)):
        for path in ("/", "/index.html"):
            response = await client.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.text == (
                "The pynacos web console is turned off (nacos.console.ui.enabled=false). "
                "The HTTP and gRPC APIs are unaffected."
            )
            assert response.headers["content-security-policy"] == CSP
        assert (await client.get("/console-ui/app.js")).status_code == 404
        assert (await client.get("/v1/console/health/liveness")).text == "OK"
        assert (await client.get("/v1/console/server/state")).json()["console_ui_enabled"] == "false"


async def test_with_auth_on_the_files_are_public_and_the_admin_pages_need_an_admin(
    auth_client: httpx.AsyncClient,
) -> None:
    assert (await auth_client.get("/")).status_code == 200
    assert (await auth_client.get("/console-ui/app.js")).status_code == 200
    user = {"accessToken": await login(auth_client, "u1", USER_PASSWORD)}
    admin = {"accessToken": await login(auth_client, "nacos", ADMIN_PASSWORD)}
    for path in (HEALTH, f"{COVERAGE}?resource=*"):
        assert (await auth_client.get(path)).status_code == 403, path
        assert (await auth_client.get(path, headers=user)).status_code == 403, path
        answer = await auth_client.get(path, headers=admin)
        assert answer.status_code == 200, path
        assert answer.json()["code"] == 0


# --------------------------------------------------------------------------------------------- auth health


async def test_auth_health_shows_checks_failures_and_locks_without_secrets(auth_client: httpx.AsyncClient) -> None:
    app: NacosApp = auth_client.app  # type: ignore[attr-defined]
    user_token = await login(auth_client, "u1", USER_PASSWORD)
    for _ in range(3):
        await auth_client.get("/v1/cs/configs", params={"dataId": "a", "group": "G", "accessToken": "forged"})
    await auth_client.get(
        "/v1/cs/configs", params={"dataId": "a", "group": "G", "tenant": "prod"}, headers={"accessToken": user_token}
    )
    for _ in range(MAX_PER_USER_AND_IP):
        app.auth.throttle.failed("victim", "10.1.2.3")
    admin = {"accessToken": await login(auth_client, "nacos", ADMIN_PASSWORD)}
    response = await auth_client.get(HEALTH, headers=admin)
    assert response.status_code == 200
    data = response.json()["data"]
    assert list(data) == ["checks", "failures", "throttled"]
    checks = {check["name"]: check for check in data["checks"]}
    assert all(list(check) == ["name", "status", "detail", "fix"] for check in data["checks"])
    assert checks["auth"]["status"] == "ok"
    assert checks["secret-key"]["status"] == "ok" and "320-bit" in checks["secret-key"]["detail"]
    assert checks["token-lifetime"] == {
        "name": "token-lifetime",
        "status": "ok",
        "detail": "token lifetime 18000 s",
        "fix": "",
    }
    failures = {(f["reason"], f["user"]): f for f in data["failures"]}
    forged = failures[("token invalid!", "")]
    assert (forged["client"], forged["count"]) == ("127.0.0.1", 3)
    assert isinstance(forged["lastSeen"], int) and forged["lastSeen"] > 1_600_000_000_000
    assert failures[("authorization failed!", "u1")]["count"] == 1
    [lock] = data["throttled"]
    assert (lock["user"], lock["client"]) == ("victim", "10.1.2.3")
    assert 0 < lock["until"] - forged["lastSeen"] <= (WINDOW + 5) * 1000
    for secret in (KEY, ADMIN_PASSWORD, USER_PASSWORD, user_token, admin["accessToken"]):
        assert secret not in response.text


async def test_auth_health_runs_doctors_checks_on_the_live_settings(static: Path, tmp_path: Path) -> None:
    settings = Settings(
        home=str(tmp_path),
        auth_admin_enabled=False,
        auth_console_enabled=False,
        token_expire_seconds=100_000,
        user_agent_auth_white=True,
        token_secret_key=KEY + "A",
        identity_key="x-node",
        identity_value="security",
    )
    async for client in client_for(settings):
        data = (await client.get(HEALTH)).json()["data"]
        by_name: dict[str, list[dict[str, str]]] = {}
        for check in data["checks"]:
            by_name.setdefault(check["name"], []).append(check)
        assert by_name["auth"][0]["status"] == "warn" and "turn auth on" in by_name["auth"][0]["fix"]
        assert by_name["token-lifetime"][0]["status"] == "warn"
        assert any("userAgentAuthWhite" in c["detail"] for c in by_name["settings"])
        assert {c["name"] for c in by_name["admin-scope"] + by_name["console-scope"]} == {
            "admin-scope",
            "console-scope",
        }
        key = by_name["secret-key"][0]
        assert key["status"] == "warn" and "not standard Base64" in key["detail"]
        identity = by_name["server-identity"][0]
        assert identity["status"] == "fail" and "published" in identity["detail"]
        text = str(data)
        assert KEY not in text and "'security'" not in text and "x-node" not in text
        app: NacosApp = client.app  # type: ignore[attr-defined]
        app.auth.reload(settings.replace(token_expire_seconds=20))  # the page follows a reload
        data = (await client.get(HEALTH)).json()["data"]
        assert "20 s" in next(c for c in data["checks"] if c["name"] == "token-lifetime")["detail"]


def test_recent_failures_are_grouped_and_bounded() -> None:
    now = [1000.0]
    recent = RecentFailures(limit=3, clock=lambda: now[0])
    for user in ("a", "b", "a", "c"):
        now[0] += 1
        recent.add("user not found!", "10.0.0.1", user)
    assert [(g.user, g.count, g.last_seen) for g in recent.groups()] == [("c", 1, 1004), ("a", 2, 1003), ("b", 1, 1002)]
    recent.add("user not found!", "10.0.0.1", "d")
    assert [g.user for g in recent.groups()] == ["d", "c", "a"]  # b was seen least recently


def test_throttle_lists_the_locks_in_force_without_changing_them() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(MAX_PER_USER_AND_IP):
        throttle.failed("u", "1.1.1.1")
        now[0] += 1
    assert [(lock.user, lock.client, lock.seconds_left) for lock in throttle.locks()] == [("u", "1.1.1.1", WINDOW - 10)]
    for i in range(MAX_PER_IP):
        throttle.failed(f"n{i}", "2.2.2.2")
    assert ("2.2.2.2", None) in {(lock.client, lock.user) for lock in throttle.locks()}
    for i in range(USER_UNDER_ATTACK):
        throttle.failed("target", f"3.3.{i}.1")
    attacked = {lock.client for lock in throttle.locks() if lock.user == "target"}
    assert len(attacked) == USER_UNDER_ATTACK  # each failing address gets one try per window
    now[0] += WINDOW + 1
    assert throttle.locks() == []
    now[0] -= WINDOW + 1
    assert throttle.locks() != []  # reading trimmed nothing


# -------------------------------------------------------------------------------------------------- coverage


async def test_coverage_lists_what_the_guard_would_let_a_pattern_reach(open_client: httpx.AsyncClient) -> None:
    await create_namespace(open_client, "dev")
    for data_id, group, tenant in (("a.yaml", "G", "dev"), ("b.yaml", "G:prod", "dev"), ("c.yaml", "G", "")):
        assert await publish(open_client, data_id, group=group, tenant=tenant) == "200 true"
    service = {"serviceName": "svc", "ip": "10.0.0.1", "port": "80", "groupName": "G", "namespaceId": "dev"}
    assert (await open_client.post("/v1/ns/instance", params=service)).text == "ok"

    async def covered(pattern: str, action: str = "r") -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
        response = await open_client.get(COVERAGE, params={"resource": pattern, "action": action})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["truncated"] is False
        configs: set[tuple[str, ...]] = {(c["namespaceId"], c["groupName"], c["dataId"]) for c in data["configs"]}
        return configs, {(s["namespaceId"], s["groupName"], s["serviceName"]) for s in data["services"]}

    everything = await covered("*")
    assert everything == (
        {("dev", "G", "a.yaml"), ("dev", "G:prod", "b.yaml"), ("public", "G", "c.yaml")},
        {("dev", "G", "svc")},
    )
    assert await covered("dev:G:*", "w") == ({("dev", "G", "a.yaml")}, {("dev", "G", "svc")})  # `*` stays in its field
    assert await covered("dev:*:config/*", "rw") == ({("dev", "G", "a.yaml"), ("dev", "G:prod", "b.yaml")}, set())
    assert await covered(":G:config/c.yaml") == ({("public", "G", "c.yaml")}, set())  # "" is public
    assert await covered("public:*:naming/*") == (set(), set())
    assert await covered("dev:G:config/a.y*") == ({("dev", "G", "a.yaml")}, set())
    assert await covered("dev:G:config/a.yam.") == (set(), set())  # `.` is not a wildcard


async def test_coverage_stops_at_its_limit_and_says_so(
    open_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(insight, "MAX_COVERED", 2)
    for data_id in ("a", "b", "c"):
        await publish(open_client, data_id)
    data = (await open_client.get(COVERAGE, params={"resource": "*"})).json()["data"]
    assert (len(data["configs"]), data["truncated"]) == (2, True)
    data = (await open_client.get(COVERAGE, params={"resource": "*:*:config/a"})).json()["data"]
    assert (len(data["configs"]), data["truncated"]) == (1, False)


async def test_coverage_refuses_a_pattern_no_permission_could_hold(open_client: httpx.AsyncClient) -> None:
    cases = {
        "": "resource is required",
        "   ": "resource is required",
        "dev:" + "g" * 130: "too long resource, over 128",
        "dev:G\u200b:*": "must not contain",
        "dev: G:*": "must not contain",
    }
    for pattern, reason in cases.items():
        response = await open_client.get(COVERAGE, params={"resource": pattern})
        assert response.status_code == 400, pattern
        body = response.json()
        assert body["code"] == 20002 and reason in body["data"], (pattern, body)
    wrong_action = await open_client.get(COVERAGE, params={"resource": "*", "action": "x"})
    assert wrong_action.status_code == 400 and "expected r, w or rw" in wrong_action.json()["data"]
    no_pattern = await open_client.get(COVERAGE)
    assert no_pattern.status_code == 400


def test_index_links_are_rewritten_only_for_known_assets() -> None:
    assets = {"app.js": ui.Asset.of(b"x", "text/javascript"), "pages/a.js": ui.Asset.of(b"y", "text/javascript")}
    html = b'<script src="console-ui/app.js"></script><script src="console-ui/pages/a.js"></script>' + (
        b'<script src="console-ui/app.js?v=1"></script><script src="/x/console-ui/app.js"></script>'
    )
    out = ui.versioned_index(html, assets).decode()
    assert re.findall(r'src="([^"]+)"', out) == [
        f"console-ui/app.js?v={version(b'x')}",
        f"console-ui/pages/a.js?v={version(b'y')}",
        "console-ui/app.js?v=1",
        "/x/console-ui/app.js",
    ]


@pytest.mark.parametrize("port", [8848, 9848, 0, 70000])
def test_a_console_port_must_be_a_port_of_its_own(tmp_path: Path, port: int) -> None:
    with pytest.raises(SettingsError, match="nacos.console.port"):
        check_startup(Settings(home=str(tmp_path), console_port=port))
    check_startup(Settings(home=str(tmp_path), console_port=8080))


async def test_the_console_router_serves_only_the_console_under_its_context_path(static: Path, tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path), console_port=18080, console_context_path="/console")
    async for client in client_for(settings):
        app: NacosApp = client.app  # type: ignore[attr-defined]
        router = app.console_router()
        paths = {entry.path for entry in router.routes()}
        assert {"/", "/index.html", "/console-ui/app.js", HEALTH, "/v3/auth/user/login"} <= paths
        assert {"/v1/console/server/state", "/v1/console/health/readiness", "/v2/console/health/liveness"} <= paths
        assert not [
            p
            for p in paths
            if not p.startswith(("/v3/console/", "/v3/auth/", "/console-ui/", "/v1/console/", "/v2/console/"))
            and p not in ("/", "/index.html")
        ]
        assert {entry.path for entry in router.routes()} <= {entry.path for entry in app.routes}
        transport = httpx.ASGITransport(app=ConsoleListener(router))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as console:
            assert (await console.get("/console/")).headers["content-security-policy"] == CSP
            assert (await console.get("/console/v1/console/server/state")).status_code == 200
            assert (
                await console.get("/console/v1/cs/configs", params={"dataId": "a", "group": "G"})
            ).status_code == 404
            assert (await console.get("/")).status_code == 404  # outside its context path
