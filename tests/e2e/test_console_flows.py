"""The console with auth on, one server for the module: configs (edit, diff, history, rollback), a
read-only user refused with a reason, tokens that stop working, and the auth health page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
    page.click("#create-config")
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
    page.select_option("#history-against", index=1)  # the first version: the same content as this one
    expect(detail.locator(".diff-summary")).to_contain_text("No changes")
    page.select_option("#history-against", index=0)
    expect(detail.locator("tr.d-add .code")).to_have_text(["pool.size=4"])
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


def test_admin_pages_namespaces_accounts_transfer_beta_and_instances(
    admin: Console, server: ServerProcess, tmp_path: Path
) -> None:
    page = admin.page
    token = create_admin(server.base)
    key = {"dataId": "shared.yaml", "groupName": "DEFAULT_GROUP", "namespaceId": "public"}
    call(server.base, "POST", "/v3/console/cs/config", token, data={**key, "content": "a: 1\n", "type": "yaml"})
    service = {"serviceName": "billing", "groupName": "DEFAULT_GROUP", "ephemeral": "false"}
    call(server.base, "POST", "/v3/console/ns/service", token, data=service)
    call(server.base, "POST", "/v3/admin/ns/instance", token, data={**service, "ip": "10.0.0.9", "port": "80"})

    admin.go("/namespaces")
    page.click("text=Create namespace…")
    page.fill(".modal input[name=id]", "qa")
    page.fill(".modal input[name=name]", "QA")
    page.click(".modal button:has-text('Create')")
    expect(page.locator("table.grid")).to_contain_text("QA")
    expect(page.locator("select[name=namespace] option[value=qa]")).to_have_count(1)

    admin.go("/configs")
    page.locator("tr", has_text="shared.yaml").locator("input[type=checkbox]").check()
    with page.expect_download() as download:
        page.click("text=Export selected")
    exported = tmp_path / "export.zip"
    download.value.save_as(exported)
    page.click("text=Clone selected…")
    page.select_option(".modal select[name=target]", "qa")
    page.click(".modal button:has-text('Clone')")
    expect(page.locator(".modal .msg")).to_contain_text("Cloned 1")
    page.click(".modal button:has-text('Cancel')")
    page.select_option("select[name=namespace]", "qa")
    expect(page.locator("td.data-id")).to_have_text(["shared.yaml"])
    page.click("text=Import…")
    page.set_input_files(".modal input[type=file]", str(exported))
    page.select_option(".modal select[name=policy]", "OVERWRITE")
    page.click(".modal button:has-text('Import')")
    expect(page.locator(".modal .msg")).to_contain_text("Imported 1")
    page.click(".modal button:has-text('Cancel')")
    page.select_option("select[name=namespace]", "public")

    admin.go("/config/edit?dataId=shared.yaml&groupName=DEFAULT_GROUP&namespaceId=public")
    page.fill("#cfg-content", "a: 2\n")
    page.fill("#cfg-beta-ips", "10.9.9.9")
    page.click("text=Review changes")
    page.click("#cfg-review button.publish")
    expect(page.locator("#cfg-beta")).to_contain_text("Served only to 10.9.9.9")
    expect(page.locator("#cfg-content")).to_have_value("a: 1\n")  # the published content is untouched
    page.click("#cfg-beta button:has-text('Stop the beta')")
    page.click(".modal button:has-text('Stop beta')")
    expect(page.locator("#cfg-beta")).to_be_empty()

    admin.go("/users")
    page.click("text=Create user…")
    page.fill("#new-user-name", "carol")
    page.fill("#new-user-password", "Carol-Passw0rd!")
    page.click(".modal button:has-text('Create')")
    expect(page.locator("table.grid")).to_contain_text("carol")
    admin.go("/roles")
    page.fill("#new-role", "qa-team")
    page.fill("#new-role-user", "carol")
    page.click("#role-form button")
    expect(page.locator("table.grid")).to_contain_text("qa-team")
    admin.go("/permissions")
    page.fill("#perm-role", "qa-team")
    page.fill("#perm-resource", "public:*:config/shared*")
    expect(page.locator("#perm-coverage")).to_contain_text("config public / DEFAULT_GROUP / shared.yaml")
    page.click("#perm-form button[type=submit]")
    expect(page.locator("table.grid")).to_contain_text("public:*:config/shared*")

    admin.go("/service?namespaceId=public&groupName=DEFAULT_GROUP&serviceName=billing")
    row = page.locator("section.cluster tr", has_text="10.0.0.9:80")
    row.locator("button:has-text('Disable')").click()
    expect(page.locator("section.cluster tr", has_text="10.0.0.9:80")).to_contain_text("Enable")
    instances = call(server.base, "GET", "/v3/console/ns/instance/list", token, params=service)["pageItems"]
    assert [i["enabled"] for i in instances] == [False]

    admin.go("/password")
    page.fill("#new-password", ADMIN_PASSWORD)
    page.fill("#new-password-again", ADMIN_PASSWORD)
    page.click("#password-form button")
    expect(page.locator("#password-msg")).to_contain_text("Password changed")
    kept = admin.token()
    assert call_status(server.base, "/v3/console/core/namespace/list", kept) == 200
    page.click("text=Log out")
    expect(page.locator("#login-reason")).to_have_text("You have logged out.")
    assert call_status(server.base, "/v3/console/core/namespace/list", kept) == 403  # revoked, not just forgotten


def call_status(base: str, path: str, token: str) -> int:
    return httpx.get(f"{base}{path}", headers={"accessToken": token}, timeout=10).status_code


def test_search_by_data_id_group_tag_and_content(admin: Console, server: ServerProcess) -> None:
    token = create_admin(server.base)
    for data_id, group, tags, content in [
        ("search-a.txt", "TEAM_A", "blue", "needle here"),
        ("search-b.txt", "TEAM_B", "green", "hay only"),
    ]:
        form = {"dataId": data_id, "groupName": group, "content": content, "configTags": tags}
        call(server.base, "POST", "/v3/console/cs/config", token, data=form)
    page = admin.page
    found = page.locator("td.data-id")
    for field, value, expected in [
        ("#search-dataId", "search-b", ["search-b.txt"]),
        ("#search-group", "TEAM_A", ["search-a.txt"]),
        ("#search-tag", "green", ["search-b.txt"]),
        ("#search-content", "needle", ["search-a.txt"]),
    ]:
        for other in ("#search-dataId", "#search-group", "#search-tag", "#search-content"):
            page.fill(other, "")
        page.fill(field, value)
        page.click("#config-search button[type=submit]")
        expect(found).to_have_text(expected)
