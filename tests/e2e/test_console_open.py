"""The console with auth off (a visible warning, no login), and hostile data that stays text: a config,
service, instance and namespace carrying HTML and script, shown under the console's CSP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.support import AUTH_OFF, Console, call, running
from tests.integration.server_process import ServerProcess, free_port

SCRIPT = "<script>alert('content')</script>"
IMG = "<img src=x onerror=alert('meta')>"
KEY = {"dataId": "hostile.html", "groupName": "DEFAULT_GROUP", "namespaceId": "public"}


@pytest.fixture(scope="module")
def console_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, console_port: int) -> Iterator[ServerProcess]:
    properties = {**AUTH_OFF, "nacos.console.port": str(console_port)}
    with running(tmp_path_factory.mktemp("open") / "home", properties) as process:
        seed(process.base)
        yield process


def seed(base: str) -> None:
    content = f"{SCRIPT}\n{IMG}\n"
    call(
        base,
        "POST",
        "/v3/console/cs/config",
        data={**KEY, "content": content, "type": "html", "desc": IMG, "appName": "x"},
    )
    service = {"serviceName": "hostile", "groupName": "DEFAULT_GROUP", "ephemeral": "false"}
    call(base, "POST", "/v3/console/ns/service", data={**service, "metadata": json.dumps({"note": IMG})})
    instance = {**service, "ip": "10.0.0.7", "port": "8080", "metadata": json.dumps({SCRIPT: IMG})}
    call(base, "POST", "/v3/admin/ns/instance", data=instance)
    call(
        base,
        "POST",
        "/v3/console/core/namespace",
        data={"customNamespaceId": "evil", "namespaceName": IMG, "namespaceDesc": SCRIPT},
    )
    call(base, "POST", "/v3/auth/user", data={"username": "victim", "password": "Victim-Passw0rd!"})
    call(base, "POST", "/v3/auth/role", data={"role": SCRIPT, "username": "victim"})
    call(base, "POST", "/v3/auth/permission", data={"role": SCRIPT, "resource": f"evil:*:config/{IMG}", "action": "r"})


def assert_inert(console: Console) -> None:
    """Nothing from the data became an element: one script (the app's module), no image."""
    assert console.page.evaluate("document.querySelectorAll('script').length") == 1
    assert console.page.evaluate("document.querySelectorAll('img').length") == 0


def test_auth_off_shows_the_warning_and_no_login(console: Console, server: ServerProcess) -> None:
    response = console.open(server.base)
    page = console.page
    expect(page.locator("#auth-off-banner")).to_contain_text("anyone who can reach this port", ignore_case=True)
    assert page.locator("#login-form").count() == 0
    expect(page.locator(".user")).to_contain_text("auth off")
    expect(page.locator("nav.nav")).to_contain_text("Users")
    csp = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_html_and_script_in_data_stay_text(console: Console, server: ServerProcess) -> None:
    page = console.page
    console.open(server.base, "/configs")
    expect(page.locator("td.data-id")).to_contain_text(["hostile.html"])
    console.go("/config/edit?" + "&".join(f"{k}={v}" for k, v in KEY.items()))
    expect(page.locator("#cfg-content")).to_have_value(f"{SCRIPT}\n{IMG}\n")
    expect(page.locator("#cfg-desc")).to_have_value(IMG)
    page.fill("#cfg-content", f"{SCRIPT}\n<b>bold</b>\n")
    page.click("text=Review changes")
    expect(page.locator("#cfg-review tr.d-add .code")).to_have_text(["<b>bold</b>"])
    expect(page.locator("#cfg-review tr.d-del .code")).to_have_text([IMG])
    assert_inert(console)

    console.go("/service?namespaceId=public&groupName=DEFAULT_GROUP&serviceName=hostile")
    expect(page.locator("td.meta")).to_contain_text(f"{SCRIPT}={IMG}")
    expect(page.locator("#service-metadata")).to_have_value(f"note={IMG}")
    assert_inert(console)

    console.go("/namespaces")
    expect(page.locator("table.grid")).to_contain_text(IMG)
    expect(page.locator("table.grid")).to_contain_text(SCRIPT)
    expect(page.locator("select[name=namespace] option", has_text=IMG)).to_have_count(1)
    assert_inert(console)

    console.go("/roles")
    expect(page.locator("table.grid")).to_contain_text(SCRIPT)
    console.go("/permissions")
    expect(page.locator("table.grid")).to_contain_text(f"evil:*:config/{IMG}")
    assert_inert(console)


def test_a_data_id_with_markup_is_refused_by_the_server(server: ServerProcess, console: Console) -> None:
    answer = httpx.post(f"{server.base}/v3/console/cs/config", data={**KEY, "dataId": IMG, "content": "x"}, timeout=10)
    assert answer.status_code == 400


def test_content_checks_by_type(console: Console, server: ServerProcess) -> None:
    """The console's own checks, run in the browser as the editor runs them (JSON by the browser's parser)."""
    console.open(server.base)
    cases = {
        "json": ['{"a": 1}', '{"a": 1,}'],
        "xml": ["<a><b/></a>", "<a><b></a>"],
        "properties": ["a=1\nb : 2\nc 3\nlong=x\\\n  y", "a=1\na=2"],
        "yaml": ["a:\n  b: [1,\n    2]\nlist:\n  - x: 1\n    y: 2\ntext: |\n  k: 1\n  k: 1\n", "a: 1\n  b: 2"],
    }
    results = console.page.evaluate(
        """async cases => {
            const { validate } = await import("./console-ui/validate.js");
            const out = {};
            for (const [type, [good, bad]] of Object.entries(cases)) {
                out[type] = [validate(type, good).ok, validate(type, bad).ok];
            }
            out.tab = validate("yaml", "a:\\n\\tb: 1").message;
            return out;
        }""",
        cases,
    )
    assert results.pop("tab") == "Line 2: a tab in the indentation (YAML allows only spaces)"
    assert results == {kind: [True, False] for kind in cases}


def test_the_console_port_serves_the_console_at_its_root(
    console: Console, server: ServerProcess, console_port: int
) -> None:
    """Assets and API calls are relative to the page, so the same files work at `/nacos/` and at `/`."""
    root = f"http://127.0.0.1:{console_port}"
    console.open(root, "/configs")
    expect(console.page.locator("td.data-id")).to_contain_text(["hostile.html"])
    expect(console.page.locator("#auth-off-banner")).to_be_visible()
