"""Regenerate the screenshots of docs/console.md: `.venv/bin/python docs/console_screenshots.py`.

Starts a throw-away pynacos server (auth on, a sample admin, configs, a service and a read-only role)
in a temporary directory, drives Debian's Chromium through Playwright (its executable path; no
browser download) and writes PNGs of 1100x700 into docs/console/. Nothing here is a test: the tests
of the same pages are in tests/e2e/.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).parent / "console"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
KEY = base64.b64encode(bytes(range(140, 180))).decode()
PASSWORD = "Screenshot-Admin-1"
PROPERTIES = {"nacos.core.auth.enabled": "true", "nacos.core.auth.plugin.nacos.token.secret.key": KEY}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(home: Path, port: int) -> subprocess.Popen[bytes]:
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "application.properties").write_text("".join(f"{k}={v}\n" for k, v in PROPERTIES.items()))
    args = [sys.executable, "-m", "pynacos", "server", "--home", str(home), "--port", str(port)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/nacos/v1/console/health/readiness", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def seed(base: str) -> None:
    """Sample data: what a small team's console looks like after a week."""
    http = httpx.Client(base_url=base, timeout=10)
    http.post("/v3/auth/user/admin", data={"password": PASSWORD}).raise_for_status()
    token = http.post("/v3/auth/user/login", data={"username": "nacos", "password": PASSWORD}).json()["accessToken"]
    http.headers["accessToken"] = token

    def ok(method: str, path: str, **kwargs: Any) -> None:
        answer = http.request(method, path, **kwargs)
        assert answer.status_code == 200 and answer.json().get("code") == 0, (path, answer.text)

    ok("POST", "/v3/console/core/namespace", data={"customNamespaceId": "staging", "namespaceName": "Staging"})
    configs = [
        ("orders-service.yaml", "yaml", "server:\n  port: 8080\ndatasource:\n  pool: 10\n  timeout: 30s\n"),
        ("payments.properties", "properties", "gateway.url=https://pay.example.com\nretries=3\n"),
        ("feature-flags.json", "json", '{\n  "newCheckout": false,\n  "darkMode": true\n}\n'),
        ("logging.xml", "xml", '<configuration>\n  <root level="INFO"/>\n</configuration>\n'),
    ]
    for data_id, kind, content in configs:
        ok("POST", "/v3/console/cs/config", data={"dataId": data_id, "groupName": "DEFAULT_GROUP", "content": content,
                                                   "type": kind, "appName": "shop"})  # fmt: skip
    ok("POST", "/v3/console/cs/config", data={"dataId": "orders-service.yaml", "groupName": "DEFAULT_GROUP",
       "type": "yaml", "content": "server:\n  port: 8080\ndatasource:\n  pool: 20\n  timeout: 30s\n"})  # fmt: skip
    service = {"serviceName": "orders", "groupName": "DEFAULT_GROUP", "ephemeral": "false"}
    ok("POST", "/v3/console/ns/service", data={**service, "metadata": json.dumps({"team": "checkout"})})
    for i, healthy in enumerate(["true", "true", "false"]):
        instance = {**service, "ip": f"10.0.1.{11 + i}", "port": "8080", "healthy": healthy,
                    "metadata": json.dumps({"zone": f"zone-{'ab'[i % 2]}", "version": "2.4.1"})}  # fmt: skip
        ok("POST", "/v3/admin/ns/instance", data=instance)
    ok("POST", "/v3/auth/user", data={"username": "alice", "password": "Alice-Passw0rd!"})
    ok("POST", "/v3/auth/role", data={"role": "staging-readers", "username": "alice"})
    ok("POST", "/v3/auth/permission", data={"role": "staging-readers", "resource": "staging:*:config/*", "action": "r"})
    for attempt in range(3):  # a client with a wrong password: what the auth health page is for
        query = {"dataId": "payments.properties", "group": "DEFAULT_GROUP", "username": "deploy-bot",
                 "password": f"wrong-{attempt}"}  # fmt: skip
        httpx.get(f"{base}/v1/cs/configs", params=query, timeout=10)


def shoot(page: Page, name: str) -> None:
    page.wait_for_timeout(400)  # fonts and the last answer
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"docs/console/{name}.png")


def tour(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    page.wait_for_selector("#login-form")
    page.fill("#login-username", "nacos")
    shoot(page, "login")
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("td.data-id")
    shoot(page, "configs")

    page.goto(f"{base}/#/config/edit?dataId=orders-service.yaml&groupName=DEFAULT_GROUP&namespaceId=public")
    page.wait_for_selector("#cfg-content")
    page.fill("#cfg-content", "server:\n  port: 8080\ndatasource:\n  pool: 20\n  timeout: 45s\n  idle: 5m\n")
    page.click("text=Review changes")
    page.wait_for_selector("#cfg-review .diff")
    page.locator("#cfg-content").evaluate("el => el.rows = 7")
    page.locator("#cfg-review").scroll_into_view_if_needed()
    shoot(page, "config-review")

    page.goto(f"{base}/#/config/history?dataId=orders-service.yaml&groupName=DEFAULT_GROUP&namespaceId=public")
    page.locator("button.compare").first.click()
    page.wait_for_selector("#history-detail .diff")
    shoot(page, "history")

    page.goto(f"{base}/#/service?namespaceId=public&groupName=DEFAULT_GROUP&serviceName=orders")
    page.wait_for_selector("section.cluster table")
    shoot(page, "service")

    page.goto(f"{base}/#/permissions")
    page.fill("#perm-role", "staging-readers")
    page.fill("#perm-resource", "public:DEFAULT_GROUP:config/*")
    page.wait_for_selector("#perm-coverage ul")
    shoot(page, "permissions")

    page.goto(f"{base}/#/auth-health")
    page.wait_for_selector("#health-failures table")
    shoot(page, "auth-health")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        process = start(Path(tmp) / "home", port)
        try:
            base = f"http://127.0.0.1:{port}/nacos"
            seed(base)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_context(viewport={"width": 1100, "height": 700}).new_page()
                tour(page, base)
                browser.close()
        finally:
            process.terminate()
            process.wait(15)


if __name__ == "__main__":
    main()
