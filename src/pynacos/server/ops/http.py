"""Health, server state, console texts and Prometheus metrics.

All but the metrics are open to everyone. `/actuator/prometheus` needs an admin when auth is on: its
figures (services, instances, configs, subscribers, request counts per route and status, auth
failures) map the installation for an anonymous caller. A Prometheus job passes `username` and
`password` (or `accessToken`) as scrape parameters (docs/metrics.md); with auth off it stays open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from starlette.responses import Response

from pynacos import __version__
from pynacos.server import http
from pynacos.server.auth.policy import ADMIN, PUBLIC
from pynacos.server.errors import BadRequest
from pynacos.server.http import Call
from pynacos.server.metrics import Metrics
from pynacos.server.routing import Route, route
from pynacos.server.settings import Settings

NACOS_VERSION = "2.5.1"


class OpsRoutes:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        is_ready: Callable[[], bool],
        auth_state: Callable[[], dict[str, str]],
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.is_ready = is_ready
        self.auth_state = auth_state

    def routes(self) -> list[Route]:
        return [
            route("/v1/console/health/liveness", "GET", self.liveness, PUBLIC, before_ready=True),
            route("/v1/console/health/readiness", "GET", self.readiness, PUBLIC, before_ready=True),
            route("/v2/console/health/liveness", "GET", self.liveness_v2, PUBLIC, "v2", before_ready=True),
            route("/v2/console/health/readiness", "GET", self.readiness_v2, PUBLIC, "v2", before_ready=True),
            route("/actuator/health", "GET", self.actuator_health, PUBLIC, before_ready=True),
            route("/actuator/prometheus", "GET", self.prometheus, ADMIN, before_ready=True),
            route("/v1/console/server/state", "GET", self.state, PUBLIC, before_ready=True),
            route("/v1/console/server/announcement", "GET", self.announcement, PUBLIC),
            route("/v1/console/server/guide", "GET", self.guide, PUBLIC),
            route("/v1/cs/health", "GET", self.config_health, PUBLIC, before_ready=True),
        ]

    async def liveness(self, call: Call) -> Response:
        return http.text("OK")

    async def readiness(self, call: Call) -> Response:
        """503 until the data is loaded (Nacos: 500); never an empty 200 before that."""
        if self.is_ready():
            return http.text("OK")
        return http.text("config and naming not in readiness", 503)

    async def liveness_v2(self, call: Call) -> Response:
        return http.result("ok")

    async def readiness_v2(self, call: Call) -> Response:
        if self.is_ready():
            return http.result("ok")
        # Nacos answers HTTP 200 with code 30000 here; the status says it too, so probes need no body
        return http.json({"code": 30000, "message": "config not in readiness", "data": None}, 503)

    async def actuator_health(self, call: Call) -> Response:
        return http.json({"status": "UP" if self.is_ready() else "DOWN"}, 200 if self.is_ready() else 503)

    async def config_health(self, call: Call) -> Response:
        return http.text("UP" if self.is_ready() else "DOWN:data not loaded")

    async def prometheus(self, call: Call) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def state(self, call: Call) -> Response:
        return http.json(self.state_map())

    def state_map(self) -> dict[str, str | None]:
        """`/v1/console/server/state`'s map, which `/v3/admin/core/state` wraps in `Result`."""
        return server_state(self.settings) | self.auth_state()

    async def announcement(self, call: Call) -> Response:
        language = call.params.text("language", "zh-CN") or "zh-CN"
        if not _LANGUAGE.fullmatch(language):
            raise BadRequest("Invalid filename")
        return http.rest_result(self.conf_text(f"announcement_{language}.conf"))

    async def guide(self, call: Call) -> Response:
        return http.rest_result(self.conf_text("console-guide.conf"))

    def conf_text(self, name: str) -> str | None:
        path = Path(self.settings.home) / "conf" / name
        try:
            return path.read_text("utf-8")
        except OSError:
            return None


_LANGUAGE = re.compile(r"[A-Za-z0-9_-]{1,32}")


def server_state(settings: Settings) -> dict[str, str | None]:
    """The keys of Nacos 2.5.1's `/v1/console/server/state`, every value a string."""
    mode = "standalone" if settings.standalone else "cluster"
    return {
        "version": NACOS_VERSION,
        "pynacos_version": __version__,
        "startup_mode": mode,
        "standalone_mode": mode,
        "function_mode": None,
        "server_port": str(settings.port),
        "console_ui_enabled": "true" if settings.console_ui_enabled else "false",
        "datasource_platform": "" if settings.storage == "sqlite" else settings.storage,
        "plugin_datasource_log_enabled": "false",
        "notifyConnectTimeout": "100",
        "notifySocketTimeout": "200",
        "isHealthCheck": "true",
        "maxHealthCheckFailCount": "12",
        "maxContent": str(settings.max_content),
        "isManageCapacity": "true",
        "isCapacityLimitCheck": "false",
        "defaultClusterQuota": "100000",
        "defaultGroupQuota": "200",
        "defaultMaxSize": "102400",
        "defaultMaxAggrCount": "10000",
        "defaultMaxAggrSize": "1024",
        "config_retention_days": str(settings.retention_days),
    }
