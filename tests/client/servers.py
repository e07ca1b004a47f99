"""Real servers for the SDK tests: plain, or with auth on, an admin, and users with rights."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx

from tests.integration.server_process import ServerProcess

KEY = base64.b64encode(bytes(range(60, 100))).decode()
NEW_KEY = base64.b64encode(bytes(range(110, 150))).decode()
ADMIN_PASSWORD = "Admin-Passw0rd!"
FAST_NAMING = {"pynacos.naming.health.check.interval": "300"}


def auth_properties(key: str = KEY, **extra: str) -> dict[str, str]:
    return {"nacos.core.auth.enabled": "true", "nacos.core.auth.plugin.nacos.token.secret.key": key, **extra}


class Admin:
    """The first admin of a server with auth on, making users who may read and write the public namespace."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        with httpx.Client(base_url=server.base) as http:
            created = http.post("/v1/auth/users/admin", data={"password": ADMIN_PASSWORD})
            assert created.status_code == 200, created.text
            self.token = http.post("/v1/auth/login", data={"username": "nacos", "password": ADMIN_PASSWORD}).json()[
                "accessToken"
            ]

    def _call(self, method: str, path: str, **params: str) -> httpx.Response:
        with httpx.Client(base_url=self.server.base) as http:
            response = http.request(method, path, params={**params, "accessToken": self.token})
        assert response.status_code == 200, response.text
        return response

    def add_user(self, name: str, password: str) -> None:
        self._call("POST", "/v1/auth/users", username=name, password=password)
        self._call("POST", "/v1/auth/roles", role=f"{name}-rw", username=name)
        self._call("POST", "/v1/auth/permissions", role=f"{name}-rw", resource=":*:*", action="rw")

    def set_password(self, name: str, password: str) -> None:
        self._call("PUT", "/v1/auth/users", username=name, newPassword=password)


def start_auth_server(home: Path, port: int | None = None, **properties: str) -> tuple[ServerProcess, Admin]:
    server = ServerProcess(home, auth_properties(**properties), port=port)
    server.start()
    return server, Admin(server)


def requests_counted(server: ServerProcess, route: str, status: int, method: str = "POST") -> int:
    """From the server's own metrics (an admin's scrape when auth is on): how many requests of a route answered `status`."""
    admin = {"username": "nacos", "password": ADMIN_PASSWORD}
    text = httpx.get(server.base + "/actuator/prometheus", params=admin).text
    pattern = (
        rf'^pynacos_http_requests_total\{{method="{method}",route="{re.escape(route)}",status="{status}"\}} (\S+)$'
    )
    match = re.search(pattern, text, re.MULTILINE)
    return int(float(match.group(1))) if match else 0


def logins(server: ServerProcess, status: int = 200) -> int:
    return requests_counted(server, "/v1/auth/login", status)
