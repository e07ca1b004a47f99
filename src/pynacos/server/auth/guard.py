"""The auth check in front of every route (placeholder until the auth system lands).

With `nacos.core.auth.enabled=false` every policy passes, as in Nacos. With it on, this stand-in
refuses every non-public route (fail closed) rather than serving anything unchecked.
"""

from __future__ import annotations

from pynacos.server.auth.policy import Public
from pynacos.server.errors import AuthFailed
from pynacos.server.http import Call
from pynacos.server.routing import Route


class Guard:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    async def check(self, route: Route, call: Call) -> None:
        if not self.enabled or isinstance(route.policy, Public):
            return
        raise AuthFailed("user not found!")

    def state(self) -> dict[str, str]:
        flag = "true" if self.enabled else "false"
        return {
            "auth_enabled": flag,
            "login_page_enabled": flag,
            "auth_system_type": "nacos",
            "auth_admin_request": flag,
        }
