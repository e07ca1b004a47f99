"""Two console pages no Nacos console has, for admins: auth health and permission coverage.

- `GET /v3/console/auth/health`: what `pynacos doctor` checks, run on the settings the server is
  running with (reloads included), plus what it has seen: recent auth failures grouped by cause,
  client and user (the guard's failure log), and the logins refused right now (the login throttle).
- `GET /v3/console/auth/coverage?resource=<pattern>&action=r|w|rw`: which existing configs and services
  a permission with that resource pattern would cover, matched by the guard's own function
  (`resources.resource_matches`), so the editor shows what the guard will decide, not a guess.

Both are `ADMIN` (an inventory of failures and of every config name is not for every user) and live
under `/v3/console/`, so `nacos.core.auth.console.enabled` decides whether they need a login, as for
the rest of the console. No answer carries a secret: checks describe keys by length, failures name
the reason and the presented user name only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth import health_checks
from pynacos.server.auth.failures import RecentFailures
from pynacos.server.auth.policy import ADMIN, namespaced
from pynacos.server.auth.rbac import ACTIONS, MAX_RESOURCE, check_width
from pynacos.server.auth.resources import PUBLIC, resource_matches
from pynacos.server.auth.throttle import LoginThrottle
from pynacos.server.characters import is_visible
from pynacos.server.config.models import ConfigKey
from pynacos.server.errors import BadRequest
from pynacos.server.http import Call
from pynacos.server.naming.models import ServiceKey
from pynacos.server.routing import Route, route
from pynacos.server.settings import Settings

BASE = "/v3/console/auth"
MAX_COVERED = 500
MAX_THROTTLED = 500


class InsightRoutes:
    def __init__(
        self,
        settings: Callable[[], Settings],
        failures: RecentFailures,
        throttle: LoginThrottle,
        configs: Callable[[], Iterable[ConfigKey]],
        services: Callable[[], Iterable[ServiceKey]],
    ) -> None:
        self.settings = settings
        self.failures = failures
        self.throttle = throttle
        self.configs = configs
        self.services = services

    def routes(self) -> list[Route]:
        return [
            route(f"{BASE}/health", "GET", self.health, ADMIN, "v2", before_ready=True),
            route(f"{BASE}/coverage", "GET", self.coverage, ADMIN, "v2"),
        ]

    async def health(self, call: Call) -> Response:
        checks = [
            {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix}
            for c in health_checks.settings_checks(self.settings())
        ]
        failures = [
            {"reason": g.reason, "client": g.client, "user": g.user, "count": g.count, "lastSeen": _ms(g.last_seen)}
            for g in self.failures.groups()
        ]
        return http.result({"checks": checks, "failures": failures, "throttled": self._throttled()})

    def _throttled(self) -> list[dict[str, Any]]:
        """Locks ending last first; `user` null is every user from that client."""
        now = time.time()
        locks = sorted(self.throttle.locks(), key=lambda lock: lock.seconds_left, reverse=True)
        return [
            {"user": lock.user, "client": lock.client, "until": _ms(now + lock.seconds_left)}
            for lock in locks[:MAX_THROTTLED]
        ]

    async def coverage(self, call: Call) -> Response:
        pattern = resource_pattern(call.params.text("resource"))
        action = call.params.text("action", "r").strip() or "r"
        if action not in ACTIONS:
            raise BadRequest(f"invalid action '{action}', expected r, w or rw")
        configs = (
            {"namespaceId": _shown(k.tenant), "groupName": k.group, "dataId": k.data_id}
            for k in self.configs()
            if resource_matches(pattern, namespaced(k.tenant, k.group, "config", k.data_id))
        )
        services = (
            {"namespaceId": _shown(k.namespace), "groupName": k.group, "serviceName": k.name}
            for k in self.services()
            if resource_matches(pattern, namespaced(k.namespace, k.group, "naming", k.name))
        )
        found_configs, more_configs = _first(configs)
        found_services, more_services = _first(services)
        return http.result(
            {"configs": found_configs, "services": found_services, "truncated": more_configs or more_services}
        )


def resource_pattern(text: str) -> str:
    """The pattern as a permission would store it; what could not be stored is refused with the reason.
    The action does not change what a pattern covers: a stored `rw` covers reads and writes alike."""
    pattern = text.strip()
    if not pattern:
        raise BadRequest("resource is required: a permission pattern such as dev:DEFAULT_GROUP:config/*")
    check_width("resource", pattern, MAX_RESOURCE)
    if not is_visible(pattern):
        raise BadRequest("resource must not contain spaces, control or invisible characters")
    return pattern


def _first(items: Iterable[dict[str, str]]) -> tuple[list[dict[str, str]], bool]:
    """At most MAX_COVERED items, and whether there were more."""
    found = list(islice(items, MAX_COVERED + 1))
    return found[:MAX_COVERED], len(found) > MAX_COVERED


def _shown(namespace: str) -> str:
    """3.x names the public namespace `public`; pynacos stores configs under ""."""
    return namespace or PUBLIC


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
