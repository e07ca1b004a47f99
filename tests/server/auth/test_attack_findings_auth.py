"""Part of the security.md §8 checklist: the auth findings of issue 13 (an outside attack with auth on).

6. Revocation undone by lowering the token TTL and restarting; tokens dated past a revocation by a far
   `exp`; two logins in one second sharing one token (so a logout killed both).
9. Ten wrong passwords from anywhere locked any account, `nacos` included.
11. A permission on group `G` also covered group `G:prod`.
13. The first-admin refusal told remote callers the bootstrap file's absolute path; look-alike user
    names (`NACOS`, zero-width spaces, fullwidth letters) could be created.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pynacos.server.app import NacosApp
from pynacos.server.auth import keys
from pynacos.server.auth.policy import namespaced
from pynacos.server.auth.rbac import resource_matches
from pynacos.server.auth.throttle import USER_UNDER_ATTACK, LoginThrottle
from pynacos.server.auth.tokens import MAX_TTL, TokenCodec, TokenRejected, TokenService
from pynacos.server.errors import TooManyRequests
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.integration.server_process import ServerProcess
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY, USER_PASSWORD, login

CFG = "/v1/cs/configs"
SWITCHES = "/v1/ns/operator/switches"  # needs a valid identity and no permission
USERS = "/v1/auth/users"
LIST_USERS = {"pageNo": "1", "pageSize": "10", "search": "accurate"}
TTL = "nacos.core.auth.plugin.nacos.token.expire.seconds"
SERVER_KEY = keys.decode(KEY)
NEW_PASSWORD = "Changed-Passw0rd!"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def payload_of(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def signed(claims: dict[str, object], key: bytes = SERVER_KEY) -> str:
    """A JWT with Nacos's header and exactly these claims, signed with `key` (a key holder's token)."""
    head = "eyJhbGciOiJIUzI1NiJ9"
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


async def authenticated(client: httpx.AsyncClient, token: str) -> int:
    """The status of a call any valid identity may make, with this token."""
    return (await client.get(SWITCHES, params={"accessToken": token})).status_code


async def change_password(client: httpx.AsyncClient, admin_token: str, username: str) -> None:
    changed = await client.put(
        USERS, params={"username": username, "newPassword": NEW_PASSWORD, "accessToken": admin_token}
    )
    assert changed.status_code == 200, changed.text


# --------------------------------------------------------------------------------------------- 6: revocation


@pytest.mark.integration
def test_lowering_the_ttl_and_restarting_does_not_revive_a_revoked_token(tmp_path: Path) -> None:
    properties = {"nacos.core.auth.enabled": "true", "nacos.core.auth.plugin.nacos.token.secret.key": KEY}
    server = ServerProcess(tmp_path / "home", {**properties, TTL: "18000"})
    server.start()
    try:
        with httpx.Client(base_url=server.base) as http:
            admin_password = http.post("/v1/auth/users/admin").json()["password"]
            admin = http.post("/v1/auth/login", data={"username": "nacos", "password": admin_password})
            admin_token = admin.json()["accessToken"]
            http.post(USERS, params={"username": "u1", "password": USER_PASSWORD, "accessToken": admin_token})
            old = http.post("/v1/auth/login", data={"username": "u1", "password": USER_PASSWORD}).json()["accessToken"]
            assert http.get(SWITCHES, params={"accessToken": old}).status_code == 200
            http.put(USERS, params={"username": "u1", "newPassword": NEW_PASSWORD, "accessToken": admin_token})
            assert http.get(SWITCHES, params={"accessToken": old}).status_code == 403
        server.stop()
        lines = [f"{k}={v}" for k, v in {**properties, TTL: "60"}.items()]  # the incident response
        (server.home / "conf" / "application.properties").write_text("\n".join(lines) + "\n")
        server.start()
        with httpx.Client(base_url=server.base) as http:
            assert http.get(SWITCHES, params={"accessToken": old}).status_code == 403
            new = http.post("/v1/auth/login", data={"username": "u1", "password": NEW_PASSWORD}).json()
            assert new["tokenTtl"] == 60
            assert http.get(SWITCHES, params={"accessToken": new["accessToken"]}).status_code == 200
    finally:
        server.stop()


@pytest.fixture
def rotated_settings(tmp_path: Path) -> Settings:
    """A server whose key was rotated: the old key still verifies the tokens it signed."""
    return Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY, token_previous_secret_key=PREVIOUS_KEY)


PREVIOUS_KEY = base64.b64encode(bytes(range(50, 90))).decode()


async def test_a_token_whose_exp_lies_beyond_now_plus_ttl_does_not_survive_a_password_change(
    rotated_settings: Settings,
) -> None:
    app = await started(rotated_settings)
    try:
        await app.auth.accounts.create_admin(ADMIN_PASSWORD)
        await app.auth.accounts.create_user("u3", USER_PASSWORD)
        far = signed({"sub": "u3", "exp": int(time.time()) + 3 * 18000}, keys.decode(PREVIOUS_KEY))
        async with asgi_client(app) as client:
            admin_token = await login(client, "nacos", ADMIN_PASSWORD)
            assert await authenticated(client, far) == 200  # a Nacos-style token (no iat) is read
            await change_password(client, admin_token, "u3")
            assert await authenticated(client, far) == 403
    finally:
        await app.stop()


async def test_a_token_that_no_legal_server_can_have_issued_is_refused(client: httpx.AsyncClient) -> None:
    now = int(time.time())
    assert await authenticated(client, signed({"sub": "nacos", "exp": now + 3600})) == 200
    assert await authenticated(client, signed({"sub": "nacos", "exp": now + 3600, "iat": now - 60})) == 200
    too_long = signed({"sub": "nacos", "exp": now + MAX_TTL + 3600})
    future = signed({"sub": "nacos", "exp": now + 7200, "iat": now + 3600})
    outlives = signed({"sub": "nacos", "exp": now + MAX_TTL + 10, "iat": now - 10})
    not_a_date = signed({"sub": "nacos", "exp": now + 3600, "iat": "yesterday"})
    for token in (too_long, future, outlives, not_a_date):
        response = await client.get(SWITCHES, params={"accessToken": token})
        assert (response.status_code, response.json()["message"]) == (403, "token invalid!")


async def test_new_tokens_keep_nacos_header_and_claims_and_add_iat_and_jti(client: httpx.AsyncClient) -> None:
    token = await login(client, "nacos", ADMIN_PASSWORD)
    assert token.split(".")[0] == "eyJhbGciOiJIUzI1NiJ9"
    claims = payload_of(token)
    assert list(claims) == ["sub", "exp", "iat", "jti"]
    assert claims["sub"] == "nacos"
    assert isinstance(claims["exp"], int)
    assert isinstance(claims["iat"], float)
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["exp"] - claims["iat"] <= 18000


async def test_two_logins_in_one_second_are_distinct_and_logout_kills_only_one(
    app: NacosApp, client: httpx.AsyncClient
) -> None:
    frozen = float(int(time.time())) + 0.25
    app.auth.tokens.clock = lambda: frozen
    first = await login(client, "nacos", ADMIN_PASSWORD)
    second = await login(client, "nacos", ADMIN_PASSWORD)
    assert first != second
    logout = await client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert logout.status_code == 200
    assert (await client.get(USERS, params={**LIST_USERS, "accessToken": first})).status_code == 403
    assert (await client.get(USERS, params={**LIST_USERS, "accessToken": second})).status_code == 200
    after_logout = await login(client, "nacos", ADMIN_PASSWORD)
    assert (await client.get(USERS, params={**LIST_USERS, "accessToken": after_logout})).status_code == 200


async def test_a_password_change_and_a_login_in_the_same_millisecond_are_ordered(
    app: NacosApp, client: httpx.AsyncClient, dev_user: str, admin_token: str
) -> None:
    frozen = time.time()
    app.auth.tokens.clock = lambda: frozen
    before = await login(client, dev_user, USER_PASSWORD)
    await change_password(client, admin_token, dev_user)
    after = await login(client, dev_user, NEW_PASSWORD)
    assert await authenticated(client, before) == 403
    assert await authenticated(client, after) == 200


def test_revocation_is_exact_within_one_millisecond_whatever_the_ttl_becomes() -> None:
    now = [1_700_000_000.5]
    service = TokenService(TokenCodec(SERVER_KEY), 18000, clock=lambda: now[0])
    before, _ = service.issue("u")
    service.revoke_user("u")
    after, _ = service.issue("u")
    for ttl in (18000, 60, 1, MAX_TTL):
        service.use(service.codec, ttl)
        with pytest.raises(TokenRejected):
            service.verify(before)
        assert service.verify(after).sub == "u"
    restarted = TokenService(TokenCodec(SERVER_KEY), 60, clock=lambda: now[0])
    restarted.not_before_ms = dict(service.not_before_ms)  # what the database gives a restarted server
    with pytest.raises(TokenRejected):
        restarted.verify(before)
    assert restarted.verify(after).sub == "u"


async def test_token_cache_reuse_still_works_and_a_revocation_ends_it(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY, token_cache_enable=True))
    try:
        await app.auth.accounts.create_admin(ADMIN_PASSWORD)
        await app.auth.accounts.create_user("u2", USER_PASSWORD)
        async with asgi_client(app) as client:
            first = await login(client, "u2", USER_PASSWORD)
            assert await login(client, "u2", USER_PASSWORD) == first
            await app.auth.accounts.set_password("u2", NEW_PASSWORD)
            fresh = await login(client, "u2", NEW_PASSWORD)
            assert fresh != first
            assert (await client.get(SWITCHES, params={"accessToken": first})).status_code == 403
            assert (await client.get(SWITCHES, params={"accessToken": fresh})).status_code == 200
    finally:
        await app.stop()


# --------------------------------------------------------------------------------------------- 9: lock-out


async def test_ten_failures_from_one_address_lock_that_address_and_not_the_user(app: NacosApp, dev_user: str) -> None:
    for username, password in ((dev_user, USER_PASSWORD), ("nacos", ADMIN_PASSWORD)):
        async with asgi_client(app, "203.0.113.9") as attacker:
            for _ in range(10):
                wrong = await attacker.post("/v1/auth/login", data={"username": username, "password": "Guess-1234"})
                assert wrong.status_code == 403
            locked = await attacker.post("/v1/auth/login", data={"username": username, "password": password})
            assert (locked.status_code, locked.text) == (429, "Too many login attempts")
            assert int(locked.headers["Retry-After"]) > 0
            per_request = await attacker.get(USERS, params={**LIST_USERS, "username": username, "password": password})
            assert per_request.status_code == 429
        async with asgi_client(app, "198.51.100.20") as owner:
            answer = await owner.post("/v1/auth/login", data={"username": username, "password": password})
            assert answer.status_code == 200
            per_request = await owner.get(USERS, params={**LIST_USERS, "username": username, "password": password})
            assert per_request.status_code in (200, 403)  # 403 for u1: no admin; what matters is: not 429
            assert per_request.status_code != 429


def test_many_addresses_guessing_one_user_get_one_guess_each_and_a_clean_address_still_gets_in() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    attackers = [f"10.1.{i // 200}.{i % 200}" for i in range(USER_UNDER_ATTACK)]
    for address in attackers:
        throttle.check("svc", address)
        throttle.failed("svc", address)
        now[0] += 0.1
    for address in attackers[:5]:
        with pytest.raises(TooManyRequests):
            throttle.check("svc", address)
    throttle.check("svc", "192.0.2.1")  # the owner's address never failed: never refused
    throttle.check("other", attackers[0])  # other users are untouched
    now[0] += 301
    throttle.check("svc", attackers[0])


def test_below_the_backstop_an_address_keeps_its_ten_tries() -> None:
    throttle = LoginThrottle(clock=lambda: 0.0)
    for _ in range(9):
        throttle.failed("svc", "10.0.0.1")
    throttle.check("svc", "10.0.0.1")
    throttle.failed("svc", "10.0.0.1")
    with pytest.raises(TooManyRequests):
        throttle.check("svc", "10.0.0.1")
    throttle.check("svc", "10.0.0.2")


# --------------------------------------------------------------------------------------------- 11: field-wise permissions


async def test_a_permission_on_group_g_does_not_cover_group_g_colon_prod(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str
) -> None:
    await app.namespaces.create("dev", "dev", None)
    accounts = app.auth.accounts
    await accounts.create_user("g-user", USER_PASSWORD)
    await accounts.add_role("g-rw", "g-user")
    await accounts.add_permission("g-rw", "dev:G:*", "rw")
    await accounts.create_user("prod-user", USER_PASSWORD)
    await accounts.add_role("prod-rw", "prod-user")
    await accounts.add_permission("prod-rw", "dev:G:prod:config/x", "rw")

    async def publish(token: str, group: str, data_id: str) -> int:
        form = {"dataId": data_id, "group": group, "tenant": "dev", "content": "c", "accessToken": token}
        return (await client.post(CFG, data=form)).status_code

    g_token = await login(client, "g-user", USER_PASSWORD)
    assert await publish(g_token, "G", "x") == 200
    assert await publish(g_token, "G:prod", "x") == 403
    prod_token = await login(client, "prod-user", USER_PASSWORD)
    assert await publish(prod_token, "G:prod", "x") == 200
    assert await publish(prod_token, "G:prod", "y") == 403
    assert await publish(prod_token, "G", "x") == 403


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("*", "dev:G:config/x", True),
        ("*", ":G:naming/svc", True),
        ("dev", "dev:G:config/x", True),
        ("dev:*", "dev:G:prod:config/x", True),
        ("dev:*", "devx:G:config/x", False),
        ("dev:G", "dev:G:config/x", True),
        ("dev:G", "dev:G:prod:config/x", False),
        ("dev:G:*", "dev:G:prod:config/x", False),
        ("dev:G*:*", "dev:G:prod:config/x", True),
        ("dev:G:prod:*", "dev:G:prod:config/x", True),
        ("dev:G:prod:*", "dev:G:config/x", False),
        ("dev:G:config/a:b", "dev:G:config/a:b", True),
        ("dev:G:config/*", "dev:G:config/a:b", True),
        ("dev:G:config/*", "dev:G:naming/a", False),
        ("dev:G:*/a", "dev:G:naming/a", True),
        ("dev:G:conf*", "dev:G:config/a", False),
        ("d*:*:*", "dev:G:config/x", True),
        ("de*", "dev:G:config/x", True),
        ("*:G:*", "dev:G:prod:config/x", False),
        ("public:G:*", ":G:config/x", True),
        (":G:*", "public:G:config/x", True),
        ("*", "console/users", False),
    ],
)
def test_permission_fields_never_leak_into_each_other(pattern: str, resource: str, expected: bool) -> None:
    assert resource_matches(pattern, resource) is expected


FIELD = st.text(alphabet="abGP:._-", min_size=1, max_size=8)
NAMESPACE = st.text(alphabet="abdev_-", max_size=5)


@given(NAMESPACE, FIELD, FIELD, FIELD, st.sampled_from(["config", "naming"]))
def test_a_group_permission_covers_exactly_that_group(
    namespace: str, group: str, other: str, name: str, kind: str
) -> None:
    resource = namespaced(namespace, other, kind, name)
    assert resource_matches(f"{namespace}:{group}:*", resource) is (group == other)
    assert resource_matches(f"{namespace}:{other}:{kind}/{name}", resource)
    assert resource_matches(f"{namespace}:*:*", resource)


@given(NAMESPACE, NAMESPACE, FIELD, FIELD)
def test_a_namespace_permission_never_reaches_another_namespace(mine: str, theirs: str, group: str, name: str) -> None:
    resource = namespaced(theirs, group, "config", name)
    same = (mine or "public") == (theirs or "public")
    assert resource_matches(f"{mine}:*:*", resource) is same
    assert resource_matches(f"{mine}:{group}:config/{name}", resource) is same


@given(NAMESPACE, FIELD, FIELD)
def test_a_joined_resource_string_means_what_its_fields_mean(namespace: str, group: str, name: str) -> None:
    """Third-party plugins and `permits` may still hand over plain strings: same answers."""
    structured = namespaced(namespace, group, "naming", name)
    plain = str.__str__(structured)
    for pattern in (f"{namespace}:{group}:*", f"{namespace}:{group}:naming/{name}", f"{namespace}:*", "*"):
        assert resource_matches(pattern, plain) is resource_matches(pattern, structured)


# --------------------------------------------------------------------------------------------- 13: small leaks


async def test_first_admin_refusal_to_a_remote_caller_does_not_show_the_data_path(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path), auth_enabled=True, token_secret_key=KEY))
    try:
        async with asgi_client(app, "10.1.2.3") as remote:
            refused = await remote.post("/v1/auth/users/admin")
        assert refused.status_code == 403
        assert "data directory" in refused.text
        assert str(tmp_path) not in refused.text
        assert "/" not in refused.text.replace("/nacos/", "")
    finally:
        await app.stop()


@pytest.mark.parametrize(
    "name",
    [
        "NACOS",  # the admin, in capitals
        "Nacos",
        "ｎａｃｏｓ",  # fullwidth
        "na\u200bcos",  # zero-width space
        "\u200bu1",
        "U1",  # u1 exists
        "u\u00a01",  # no-break space
        "u1\u2060",  # word joiner
        "ℌello",  # compatibility character (NFKC: H)
    ],
)
async def test_look_alike_user_names_are_refused(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str, dev_user: str, name: str
) -> None:
    created = await client.post(USERS, params={"username": name, "password": USER_PASSWORD, "accessToken": admin_token})
    assert created.status_code == 400, created.text
    assert name not in app.auth.accounts.directory.users


async def test_distinct_names_are_still_created_and_stored_look_alikes_keep_working(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str, dev_user: str
) -> None:
    for name in ("u2", "dev.ops", "サービス", "müller"):
        created = await client.post(
            USERS, params={"username": name, "password": USER_PASSWORD, "accessToken": admin_token}
        )
        assert created.json()["data"] == "create user ok!", name
    from pynacos.server.auth import passwords

    legacy = "ＬＥＧＡＣＹ"  # made before this rule (or by Nacos) and stored as it is
    hashed = passwords.hash_password(USER_PASSWORD)
    await app.auth.accounts.store.add_user(legacy, hashed)
    app.auth.accounts.directory.users[legacy] = hashed
    assert await login(client, legacy, USER_PASSWORD)
