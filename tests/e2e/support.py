"""What the browser tests share: a page that records problems, servers, logins and tokens."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from pynacos.server.auth import keys
from pynacos.server.auth.tokens import TokenCodec
from tests.integration.server_process import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
KEY = base64.b64encode(bytes(range(60, 100))).decode()
ADMIN_PASSWORD = "Admin-Passw0rd!"
TIMEOUT_MS = 20_000  # a busy 2-core machine: generous, the tests wait for what they look for
AUTH_ON = {"nacos.core.auth.plugin.nacos.token.secret.key": KEY, "nacos.core.auth.enabled": "true"}
AUTH_OFF = {
    "nacos.core.auth.plugin.nacos.token.secret.key": KEY,
    "nacos.core.auth.enabled": "false",
    "nacos.core.auth.admin.enabled": "false",
    "nacos.core.auth.console.enabled": "false",
}
#: console messages that are the browser reporting a refused request, which the tests provoke on purpose
NETWORK_NOISE = "Failed to load resource"


class Console:
    """One browser context and page; `problems` collects page errors, console errors and dialogs."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1100, "height": 700})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("console", self._console)
        self.page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith(NETWORK_NOISE):
            self.problems.append(f"console error: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog ({dialog.type}): {dialog.message}")
        dialog.dismiss()

    def open(self, base: str, hash_path: str = "") -> Any:
        """Load the console (`base` is the server's `/nacos`); returns the page's HTTP response."""
        response = self.page.goto(f"{base}/{'#' + hash_path if hash_path else ''}")
        self.page.wait_for_selector("#login-form, #first-admin-form, main.main")
        return response

    def go(self, hash_path: str) -> None:
        self.page.evaluate("h => { location.hash = h; }", hash_path)

    def login(self, base: str, username: str, password: str) -> None:
        self.open(base)
        self.page.fill("#login-username", username)
        self.page.fill("#login-password", password)
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_selector("main.main")

    def token(self) -> str:
        return str(self.page.evaluate("JSON.parse(sessionStorage.getItem('pynacos.session')).token"))

    def close(self) -> None:
        self.context.close()


@contextmanager
def running(home: Path, properties: dict[str, str]) -> Iterator[ServerProcess]:
    server = ServerProcess(home, properties)
    server.start(timeout=60)
    try:
        yield server
    finally:
        server.stop()


def create_admin(base: str) -> str:
    """The first admin through the API; returns the admin's token."""
    with httpx.Client(base_url=base, timeout=10) as http:
        created = http.post("/v3/auth/user/admin", data={"password": ADMIN_PASSWORD}).json()
        assert created["code"] in (0, 409), created
        return login_token(base, "nacos", ADMIN_PASSWORD)


def login_token(base: str, username: str, password: str) -> str:
    answer = httpx.post(f"{base}/v3/auth/user/login", data={"username": username, "password": password}, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["accessToken"])


def call(base: str, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    """A console or auth API call that must succeed; returns `data` of the Result envelope."""
    headers = {"accessToken": token} if token else {}
    answer = httpx.request(method, f"{base}{path}", headers=headers, timeout=10, **kwargs)
    assert answer.status_code == 200, (path, answer.status_code, answer.text)
    body = answer.json()
    assert body["code"] == 0, (path, body)
    return body["data"]


def expired_token(username: str) -> str:
    """A token signed with the server's key that expired a few seconds ago."""
    key, _ = keys.check(KEY)
    now = int(time.time())
    return TokenCodec(key).sign(username, now - 5, (now - 120) * 1000)
