"""The console with auth on, one server for the module: configs (edit, diff, history, rollback), a
read-only user refused with a reason, tokens that stop working, and the auth health page."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.support import ADMIN_PASSWORD, AUTH_ON, Console, call, create_admin, expired_token, running
from tests.integration.server_process import ServerProcess

READER_PASSWORD = "Reader-Passw0rd!"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running(tmp_path_factory.mktemp("console") / "home", AUTH_ON) as process:
        create_admin(process.base)
        yield process


@pytest.fixture
def admin(console: Console, server: ServerProcess) -> Console:
    console.login(server.base, "nacos", ADMIN_PASSWORD)
    return console


def config_content(server: ServerProcess, data_id: str, namespace: str = "public") -> str:
    token = create_admin(server.base)
    query = {"dataId": data_id, "groupName": "DEFAULT_GROUP", "namespaceId": namespace}
    return str(call(server.base, "GET", "/v3/console/cs/config", token, params=query)["content"])


def test_create_edit_with_diff_then_history_and_rollback(admin: Console, server: ServerProcess) -> None:
    page = admin.page
    page.click("text=Create configuration")
    page.fill("#cfg-dataId", "orders.properties")
    page.select_option("#cfg-type", "properties")
    page.fill("#cfg-content", "pool.size=4\npool.size=5\n")
    expect(page.locator("#cfg-validation")).to_contain_text("already defined on line 1")
    page.fill("#cfg-content", "pool.size=4\ntimeout=30\n")
    expect(page.locator("#cfg-validation")).to_contain_text("Valid PROPERTIES")
    page.click("text=Review changes")
    expect(page.locator("#cfg-review .diff-summary")).to_contain_text("2 line(s) added, 0 removed")
    page.click("#cfg-review button.publish")
    expect(page.locator("#editor-msg")).to_contain_text("Published.")
    assert config_content(server, "orders.properties") == "pool.size=4\ntimeout=30\n"

    page.fill("#cfg-content", "pool.size=8\ntimeout=30\nretries=2\n")
    page.click("text=Review changes")
    expect(page.locator("#cfg-review tr.d-del .code")).to_have_text(["pool.size=4"])
    expect(page.locator("#cfg-review tr.d-add .code")).to_have_text(["pool.size=8", "retries=2"])
    page.click("#cfg-review button.publish")
    expect(page.locator("#editor-msg")).to_contain_text("Published.")
    assert config_content(server, "orders.properties") == "pool.size=8\ntimeout=30\nretries=2\n"

    page.select_option("#cfg-type", "json")
    expect(page.locator("#cfg-validation")).to_contain_text("Invalid JSON")
    page.select_option("#cfg-type", "properties")

    page.click(".links >> text=History")
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("updated")
    expect(rows.nth(1)).to_contain_text("created")
    rows.nth(0).locator("button.compare").click()  # the update: it kept the content before it
    detail = page.locator("#history-detail")
    expect(detail.locator("tr.d-add .code")).to_have_text(["pool.size=4"])
    expect(detail.locator("tr.d-del .code")).to_have_text(["pool.size=8", "retries=2"])
    detail.locator("button.restore").click()
    expect(page.locator("#editor-msg")).to_contain_text("Published.")
    expect(page.locator("#cfg-content")).to_have_value("pool.size=4\ntimeout=30\n")
    assert config_content(server, "orders.properties") == "pool.size=4\ntimeout=30\n"


def test_a_read_only_user_is_refused_a_write_with_the_reason(console: Console, server: ServerProcess) -> None:
    token = create_admin(server.base)
    base = server.base
    call(base, "POST", "/v3/console/core/namespace", token, data={"customNamespaceId": "dev", "namespaceName": "dev"})
    key = {"dataId": "app.yaml", "groupName": "DEFAULT_GROUP", "namespaceId": "dev"}
    call(base, "POST", "/v3/console/cs/config", token, data={**key, "content": "level: info\n", "type": "yaml"})
    call(base, "POST", "/v3/auth/user", token, data={"username": "reader", "password": READER_PASSWORD})
    call(base, "POST", "/v3/auth/role", token, data={"role": "dev-readers", "username": "reader"})
    permission = {"role": "dev-readers", "resource": "dev:*:config/*", "action": "r"}
    call(base, "POST", "/v3/auth/permission", token, data=permission)

    console.login(base, "reader", READER_PASSWORD)
    page = console.page
    expect(page.locator("nav.nav")).not_to_contain_text("Users")
    expect(page.locator("main.main .notice.error")).to_contain_text("not allowed to read public:")  # public: no grant
    page.select_option("select[name=namespace]", "dev")
    page.click("td.data-id >> text=app.yaml")
    page.fill("#cfg-content", "level: debug\n")
    page.click("text=Review changes")
    page.click("#cfg-review button.publish")
    refusal = page.locator("#editor-msg .notice.error")
    expect(refusal).to_contain_text("not allowed to change dev:DEFAULT_GROUP:config/app.yaml")
    expect(refusal).to_contain_text("authorization failed")
    assert config_content(server, "app.yaml", "dev") == "level: info\n"

    console.go("/users")
    expect(page.locator("main.main .notice.error")).to_contain_text("for administrators")


def test_an_expired_or_revoked_token_returns_to_login_with_the_reason(admin: Console, server: ServerProcess) -> None:
    page = admin.page
    expected = expired_token("nacos")
    page.evaluate(
        "t => { const s = JSON.parse(sessionStorage.getItem('pynacos.session')); s.token = t;"
        " sessionStorage.setItem('pynacos.session', JSON.stringify(s)); }",
        expected,
    )
    admin.go("/services")
    expect(page.locator("#login-reason")).to_have_text("Your session expired. Please log in again.")
    assert page.evaluate("sessionStorage.getItem('pynacos.session')") is None

    admin.login(server.base, "nacos", ADMIN_PASSWORD)
    token = admin.token()
    logout = httpx.post(f"{server.base}/v1/auth/logout", headers={"accessToken": token}, timeout=10)
    assert logout.status_code == 200, logout.text
    admin.go("/namespaces")
    expect(page.locator("#login-reason")).to_contain_text("no longer valid")
    expect(page.locator("#login-form")).to_be_visible()


def test_auth_health_shows_a_wrong_password_from_another_client(admin: Console, server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as other:
        other.post("/v3/auth/user/login", data={"username": "intruder", "password": "guess-1"})
        refused = other.get("/v3/console/cs/config/list", params={"username": "intruder", "password": "guess-2"})
        assert refused.status_code == 403
    admin.go("/auth-health")
    page = admin.page
    expect(page.locator("#health-checks table")).to_be_visible()
    failures = page.locator("#health-failures")
    expect(failures).to_contain_text("intruder")
    expect(failures.locator("tr", has_text="intruder").first).to_contain_text("127.0.0.1")
