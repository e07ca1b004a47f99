"""The auth check on every route: policies, resources, identity sources, bypasses (auth.md §2, §8, §9)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.datastructures import Headers

from pynacos.server.app import NacosApp
from pynacos.server.auth.policy import Admin, Authenticated, Internal, Public, Secured
from pynacos.server.auth.rbac import resource_matches
from pynacos.server.errors import AuthFailed
from pynacos.server.http import Call, Params
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login

CFG = "/v1/cs/configs"
OPEN_ROUTES = {
    "/v1/ns/operator/metrics",
    "/v1/ns/ops/metrics",
    "/v2/ns/operator/metrics",
    "/v2/ns/ops/metrics",
    # open in Nacos too: constant data (checker types, selector types) and a liveness line
    "/v1/ns/health/checkers",
    "/v1/ns/service/selector/types",
    "/v1/ns/health/server",
    "/v1/auth/login",
    "/v1/auth/users/login",
    "/v3/auth/user/login",
    "/v1/auth/users/admin",
    "/v1/auth/admin",
    "/v3/auth/user/admin",
}


def test_every_route_has_an_explicit_policy_and_only_known_routes_are_public(app: NacosApp) -> None:
    assert app.router is not None
    for entry in app.router.routes():
        assert isinstance(entry.policy, Public | Authenticated | Secured | Admin | Internal), entry.path
        if isinstance(entry.policy, Public):
            assert (
                entry.path in OPEN_ROUTES
                or entry.path.startswith(("/v1/console/health", "/v2/console/health", "/v1/console/server/"))
                or entry.path.startswith("/v3/admin/core/state")  # state, liveness, readiness: open in Nacos
                or entry.path.startswith(("/v3/console/server/", "/v3/console/health/"))  # the same, for the console
                or entry.path in ("/actuator/health", "/actuator/prometheus", "/v1/cs/health")
                or entry.path in ("/", "/index.html")  # the web console's files (console/ui.py): no data in them
                or entry.path.startswith("/console-ui/")
            ), entry.path


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("dev:*:*", "dev:DEFAULT_GROUP:config/a", True),
        ("dev.ns:*:*", "devXns:g:config/a", False),
        ("ns*:*:*", "ns2:g:config/a", True),
        ("dev:(a|b):*", "dev:a:config/x", False),
        ("public:*:*", ":g:config/a", True),
        (":*:*", ":g:config/a", True),
        ("dev:DEFAULT_GROUP:*", "dev:*:config/*", False),
    ],
)
def test_star_is_the_only_wildcard(pattern: str, resource: str, expected: bool) -> None:
    assert resource_matches(pattern, resource) is expected


async def test_no_credentials_get_spring_error_json(client: httpx.AsyncClient) -> None:
    response = await client.get(CFG, params={"dataId": "a", "group": "g"})
    assert response.status_code == 403
    body = response.json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert (body["status"], body["error"], body["message"], body["path"]) == (
        403,
        "Forbidden",
        "user not found!",
        "/nacos/v1/cs/configs",
    )


async def test_user_reads_and_writes_own_namespace_only(client: httpx.AsyncClient, user_token: str) -> None:
    form = {"dataId": "a", "group": "g", "content": "x", "accessToken": user_token}
    assert (await client.post(CFG, data={**form, "tenant": "dev"})).text == "true"
    denied = await client.post(CFG, data={**form, "tenant": "prod"})
    assert (denied.status_code, denied.json()["message"]) == (403, "authorization failed!")
    assert (await client.post(CFG, data=form)).status_code == 403
    ok = await client.get(CFG, params={"dataId": "a", "group": "g", "tenant": "dev", "accessToken": user_token})
    assert ok.text == "x"


async def test_user_cannot_reach_console_resources(client: httpx.AsyncClient, user_token: str) -> None:
    response = await client.get("/v1/auth/users", params={"pageNo": 1, "pageSize": 9, "accessToken": user_token})
    assert response.status_code == 403
    created = await client.post(
        "/v1/console/namespaces", data={"customNamespaceId": "x", "namespaceName": "x", "accessToken": user_token}
    )
    assert created.status_code == 403


async def test_namespace_alias_conflict_is_refused_before_authorisation(
    client: httpx.AsyncClient, user_token: str
) -> None:
    params = {"dataId": "d", "group": "g", "namespaceId": "dev", "tenant": "prod", "accessToken": user_token}
    response = await client.get(CFG, params=params)
    assert response.status_code == 400


async def test_listening_needs_read_on_every_listened_key(client: httpx.AsyncClient, user_token: str) -> None:
    line = "a\x02g\x02\x02prod\x01"
    response = await client.post(
        "/v1/cs/configs/listener",
        data={"Listening-Configs": line, "accessToken": user_token},
        headers={"Long-Pulling-Timeout-No-Hangup": "true", "Long-Pulling-Timeout": "30000"},
    )
    assert response.status_code == 403
    response = await client.post(
        "/v1/cs/configs/listener",
        data={"Listening-Configs": "a\x02g\x02\x02dev\x01", "accessToken": user_token},
        headers={"Long-Pulling-Timeout-No-Hangup": "true", "Long-Pulling-Timeout": "30000"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("how", ["param", "header", "PARAM-CASE", "bearer"])
async def test_token_is_read_from_every_nacos_source(client: httpx.AsyncClient, admin_token: str, how: str) -> None:
    params: dict[str, str] = {"pageNo": "1", "pageSize": "5"}
    headers: dict[str, str] = {}
    if how == "param":
        params["accessToken"] = admin_token
    elif how == "PARAM-CASE":
        params["ACCESSTOKEN"] = admin_token
    elif how == "header":
        headers["accessToken"] = admin_token
    else:
        headers["Authorization"] = f"Bearer {admin_token}"
    response = await client.get("/v1/auth/users", params=params, headers=headers)
    assert response.status_code == 200


async def test_conflicting_tokens_are_refused(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.get(
        "/v1/auth/users",
        params={"pageNo": 1, "pageSize": 5, "accessToken": "other"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert (response.status_code, response.text) == (400, "caused: conflicting credentials;")
    same = await client.get(
        "/v1/auth/users",
        params={"pageNo": 1, "pageSize": 5, "accessToken": admin_token},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert same.status_code == 200


async def test_username_and_password_work_in_place_of_a_token(client: httpx.AsyncClient) -> None:
    params = {"pageNo": "1", "pageSize": "5", "username": "nacos", "password": ADMIN_PASSWORD}
    assert (await client.get("/v1/auth/users", params=params)).status_code == 200
    params["password"] = "wrong-one"
    assert (await client.get("/v1/auth/users", params=params)).status_code == 403


async def test_invalid_token_never_falls_back_to_password(client: httpx.AsyncClient) -> None:
    params = {"pageNo": "1", "pageSize": "5", "username": "nacos", "password": ADMIN_PASSWORD, "accessToken": "x.y.z"}
    assert (await client.get("/v1/auth/users", params=params)).status_code == 403


async def test_head_gets_the_same_decision_and_no_data_headers(client: httpx.AsyncClient, admin_token: str) -> None:
    await client.post(CFG, data={"dataId": "a", "group": "g", "content": "x", "accessToken": admin_token})
    anonymous = await client.head(CFG, params={"dataId": "a", "group": "g"})
    assert anonymous.status_code == 403
    for name in ("Content-MD5", "Config-Type", "Encrypted-Data-Key"):
        assert name not in anonymous.headers


async def test_user_agent_nacos_server_grants_nothing_by_default(client: httpx.AsyncClient) -> None:
    headers = {"User-Agent": "Nacos-Server:v2.5.1"}
    listing = await client.get("/v1/auth/users", params={"pageNo": 1, "pageSize": 5}, headers=headers)
    assert listing.status_code == 403
    created = await client.post("/v1/auth/users", data={"username": "x", "password": "Passw0rd!"}, headers=headers)
    assert created.status_code == 403


async def test_server_identity_header_passes_when_configured(tmp_path: object) -> None:
    from pynacos.server.settings import Settings
    from tests.server.auth.conftest import KEY

    settings = Settings(
        home=str(tmp_path), auth_enabled=True, token_secret_key=KEY, identity_key="X-Node", identity_value="v" * 40
    )
    app = await started(settings)
    try:
        async with asgi_client(app) as client:
            ok = await client.get("/v1/auth/users", params={"pageNo": 1, "pageSize": 5}, headers={"X-Node": "v" * 40})
            assert ok.status_code == 200
            bad = await client.get("/v1/auth/users", params={"pageNo": 1, "pageSize": 5}, headers={"X-Node": "v"})
            assert bad.status_code == 403
    finally:
        await app.stop()


async def test_server_identity_never_opens_the_console_scope(tmp_path: Path) -> None:
    """3.x never lets the node identity through on its console: a leaked node secret is not a console login."""
    from pynacos.server.settings import Settings
    from tests.server.auth.conftest import KEY

    settings = Settings(
        home=str(tmp_path), auth_enabled=True, token_secret_key=KEY, identity_key="X-Node", identity_value="v" * 40
    )
    app = await started(settings)
    try:
        guard = app.auth.guard

        @dataclass(frozen=True)
        class ConsoleRoute:
            path: str = "/v3/console/core/namespace"
            policy: Secured = Secured("r", resource="console/namespaces")

        call = Call(None, "GET", ConsoleRoute.path, Params([]), "127.0.0.1", header_map=Headers({"X-Node": "v" * 40}))
        with pytest.raises(AuthFailed):
            await guard.check(ConsoleRoute(), call)

        @dataclass(frozen=True)
        class UsersRoute:
            path: str = "/v3/auth/user/list"
            policy: Secured = Secured("r", resource="console/users")

        node = Headers({"X-Node": "v" * 40})
        on_main_port = Call(None, "GET", UsersRoute.path, Params([]), "127.0.0.1", header_map=node)
        await guard.check(UsersRoute(), on_main_port)  # the node identity: as on the server port of 3.x
        on_console_port = Call(
            None, "GET", UsersRoute.path, Params([]), "127.0.0.1", header_map=node, console_port=True
        )
        with pytest.raises(AuthFailed):
            await guard.check(UsersRoute(), on_console_port)
    finally:
        await app.stop()


async def test_user_agent_whitelist_when_switched_on(tmp_path: object) -> None:
    from pynacos.server.settings import Settings
    from tests.server.auth.conftest import KEY

    app = await started(
        Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY, user_agent_auth_white=True)
    )
    try:
        async with asgi_client(app) as client:
            response = await client.get(
                "/v1/auth/users", params={"pageNo": 1, "pageSize": 5}, headers={"User-Agent": "Nacos-Server"}
            )
            assert response.status_code == 200
    finally:
        await app.stop()


async def test_password_change_revokes_old_tokens_and_new_login_works(
    app: NacosApp, client: httpx.AsyncClient, dev_user: str
) -> None:
    import time

    token = await login(client, dev_user, USER_PASSWORD)
    time.sleep(1.01)  # two tokens issued in one second are identical bytes
    await app.auth.accounts.set_password(dev_user, "Newer-Passw0rd!")
    params = {"dataId": "a", "group": "g", "tenant": "dev", "accessToken": token}
    response = await client.get(CFG, params=params)
    assert (response.status_code, response.json()["message"]) == (403, "token invalid!")
    fresh = await login(client, dev_user, "Newer-Passw0rd!")
    assert (await client.get(CFG, params={**params, "accessToken": fresh})).status_code == 404


async def test_deleted_user_token_fails_at_once(app: NacosApp, client: httpx.AsyncClient, user_token: str) -> None:
    await app.auth.accounts.delete_user("u1")
    response = await client.get(CFG, params={"dataId": "a", "group": "g", "tenant": "dev", "accessToken": user_token})
    assert response.status_code == 403


async def test_permission_change_applies_on_the_next_request(
    app: NacosApp, client: httpx.AsyncClient, user_token: str
) -> None:
    params = {"dataId": "a", "group": "g", "tenant": "prod", "accessToken": user_token}
    assert (await client.get(CFG, params=params)).status_code == 403
    await app.auth.accounts.add_permission("dev-rw", "prod:*:*", "r")
    assert (await client.get(CFG, params=params)).status_code == 404


async def test_ten_failures_from_one_address_lock_the_username_there_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    """Other addresses stay open: tests/server/auth/test_attack_findings_auth.py (issue 13, item 9)."""
    for _ in range(10):
        response = await client.post("/v1/auth/login", data={"username": "nacos", "password": "wrong-pass"})
        assert response.status_code == 403
    locked = await client.post("/v1/auth/login", data={"username": "nacos", "password": ADMIN_PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert locked.text == "Too many login attempts"


async def test_successful_logins_are_never_throttled(client: httpx.AsyncClient) -> None:
    for _ in range(30):
        assert (await client.post("/v1/auth/login", data={"username": "nacos", "password": ADMIN_PASSWORD})).is_success


async def test_repeated_failures_are_logged_once_and_without_secrets(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(8):
        await client.get(CFG, params={"dataId": "a", "group": "g", "accessToken": "secret.token.value"})
    lines = [r.getMessage() for r in caplog.records if "auth refused" in r.getMessage()]
    assert len(lines) == 1
    server_lines = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("pynacos"))
    assert "secret.token.value" not in server_lines


async def test_auth_off_lets_everything_through(tmp_path: object) -> None:
    """Every switch off, the 3.x admin and console scopes too (while one is on, accounts are guarded)."""
    from pynacos.server.settings import Settings

    app = await started(Settings(home=str(tmp_path), auth_admin_enabled=False, auth_console_enabled=False))
    try:
        async with asgi_client(app) as client:
            assert (await client.get("/v1/auth/users", params={"pageNo": 1, "pageSize": 5})).status_code == 200
    finally:
        await app.stop()


async def test_unknown_user_and_wrong_password_take_similar_time(app: NacosApp, client: httpx.AsyncClient) -> None:
    """Measured in this process's CPU time (the BCrypt runs on a worker thread of it), with the two kinds of
    attempt interleaved after a warm-up: wall time on a shared 2-core machine running the suite in parallel
    measures the other processes, not whether both paths do the same work. The known user is made first: a new
    server has no account (not even `nacos`), and two unknown users would compare one path with itself."""
    import statistics
    import time

    await app.auth.accounts.create_user("known-user", "Right-passw0rd")

    async def timed(username: str) -> float:
        started = time.process_time()
        await client.post("/v1/auth/login", data={"username": username, "password": "wrong-pass"})
        return time.process_time() - started

    await timed("warm-up")  # the dummy hash is made at first use
    known, unknown = [], []
    for i in range(6):  # 6 failures for known-user stay under the 10-failure lock
        known.append(await timed("known-user"))
        unknown.append(await timed(f"ghost{i}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, (known, unknown)


async def test_forwarded_for_from_an_untrusted_peer_does_not_move_the_ip_counter(app: NacosApp) -> None:
    async with asgi_client(app, "10.9.9.9") as client:
        for i in range(3):
            await client.post(
                "/v1/auth/login",
                data={"username": f"x{i}", "password": "bad-pass1"},
                headers={"X-Forwarded-For": "1.2.3.4"},
            )
    assert "1.2.3.4" not in app.auth.throttle._ips
    assert len(app.auth.throttle._ips["10.9.9.9"]) == 3
