"""The modules' ops routes: log levels, the config "local cache", and config client metrics.

- Log levels (ops/logs.py): `PUT /v1/core/ops/log`, `/v1/cs/ops/log`, `/v1/ns/operator/log` (alias
  `/v1/ns/ops/log`), `/v3/admin/cs/ops/log` and `/v3/admin/ns/ops/log` take `logName` and `logLevel`;
  `PUT /v2/core/ops/log` and `/v3/admin/core/ops/log` take them as a JSON body.
- Local cache (`POST /v1/cs/ops/localCache`, `/v3/admin/cs/ops/localCache`): Nacos dumps every config from
  the database to its disk cache; pynacos's cache is the in-memory copy of the database, so the configs are
  read again from it and listeners of every changed key are told (for rows changed behind its back).
- Derby (`/v1/cs/ops/derby`, `/v1/cs/ops/data/removal`, `/v3/admin/cs/ops/derby[/import]`) is not routed at
  all (404, security.md §1 and checklist items 8-9): those paths ran SQL and SQL scripts in Nacos (CVE-2021-29442,
  the 2024 import RCE), and no route here takes SQL or a script.
- Client metrics (`GET /v1/cs/metrics/{cluster,current}`, `/v3/admin/cs/metrics/{cluster,ip}`): the
  connections from `ip` are asked for their cache md5s (ClientConfigMetricRequest); `current`/`ip` ask this
  node's connections, `cluster` also every peer's (cluster/ops.py; standalone the cluster is this node).

Every route needs an admin when auth is on for its scope (Nacos's fixed resources, which no role permission
matches; its v1 naming log route had no check at all). A client that does not answer the metrics request
within CLIENT_METRICS_TIMEOUT is left out (Nacos 3.x fails the whole request).
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any, Protocol

import orjson
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import Secured
from pynacos.server.config import validation
from pynacos.server.config.models import DEFAULT_GROUP, ConfigKey
from pynacos.server.config.service import ConfigService
from pynacos.server.errors import BadRequest
from pynacos.server.grpc.connections import Connections
from pynacos.server.http import Call, Params
from pynacos.server.namespaces.service import normalise
from pynacos.server.ops import logs
from pynacos.server.routing import Handler, Route, route

CLIENT_METRICS_TIMEOUT = 1.0
LOCAL_CACHE_DONE = "Local cache updated from store successfully!"
NACOS_ADMIN_W = Secured("w", resource="nacos/admin")


class MetricsPeers(Protocol):
    async def client_metrics(self, ip: str, key: ConfigKey | None) -> list[dict[str, Any]]:
        """What the connections from `ip` on every peer that answered report."""


class ModuleOpsRoutes:
    def __init__(self, configs: ConfigService, connections: Connections) -> None:
        self.configs = configs
        self.connections = connections
        #: the other members, in cluster mode (cluster/ops.py)
        self.peers: MetricsPeers | None = None

    def routes(self) -> list[Route]:
        return [*self._log_routes(), *self._config_routes()]

    def _log_routes(self) -> list[Route]:
        core_v3, cs_v3, ns_v3 = (Secured("w", resource=f"/v3/admin/{m}/ops") for m in ("core", "cs", "ns"))
        return [
            route("/v1/core/ops/log", "PUT", self.log_text("200"), NACOS_ADMIN_W),
            route("/v2/core/ops/log", "PUT", self.log_v2, NACOS_ADMIN_W),
            route("/v3/admin/core/ops/log", "PUT", self.log_v3_core, core_v3, "v2"),
            route("/v1/cs/ops/log", "PUT", self.log_text("200"), Secured("w", resource="/v1/cs/ops")),
            route("/v3/admin/cs/ops/log", "PUT", self.log_v3_config, cs_v3, "v2"),
            route("/v1/ns/operator/log", "PUT", self.log_text("ok"), Secured("w", resource="naming/operator")),
            route("/v1/ns/ops/log", "PUT", self.log_text("ok"), Secured("w", resource="naming/operator")),
            route("/v3/admin/ns/ops/log", "PUT", self.log_v3_naming, ns_v3, "v2"),
        ]

    def _config_routes(self) -> list[Route]:
        ops_v1, ops_v3 = Secured("w", resource="/v1/cs/ops"), Secured("w", resource="/v3/admin/cs/ops")
        metrics_v1, metrics_v3 = Secured("r", resource="/v1/cs/metrics"), Secured("r", resource="/v3/admin/cs/metrics")
        return [
            route("/v1/cs/ops/localCache", "POST", self.local_cache_v1, ops_v1),
            route("/v3/admin/cs/ops/localCache", "POST", self.local_cache_v3, ops_v3, "v2"),
            route("/v1/cs/metrics/cluster", "GET", self.metrics(v3=False, cluster=True), metrics_v1),
            route("/v1/cs/metrics/current", "GET", self.metrics(v3=False, cluster=False), metrics_v1),
            route("/v3/admin/cs/metrics/cluster", "GET", self.metrics(v3=True, cluster=True), metrics_v3, "v2"),
            route("/v3/admin/cs/metrics/ip", "GET", self.metrics(v3=True, cluster=False), metrics_v3, "v2"),
        ]

    # -- log levels --------------------------------------------------------------------------------------

    @staticmethod
    def log_text(answer: str) -> Handler:
        """v1 routes: parameters in, a fixed text out (`200` for core and config, `ok` for naming)."""

        async def handler(call: Call) -> Response:
            logs.set_level(call.params.required("logName"), call.params.required("logLevel"))
            return http.text(answer)

        return handler

    async def log_v2(self, call: Call) -> Response:
        logs.set_level(*await _log_request(call))
        return http.rest_result(None)

    async def log_v3_core(self, call: Call) -> Response:
        logs.set_level(*await _log_request(call))
        return http.result(None)

    async def log_v3_config(self, call: Call) -> Response:
        name, level = call.params.required("logName"), call.params.required("logLevel")
        logs.set_level(name, level)
        return http.result(f"Log level updated successfully! Module: {name}, Log Level: {level}")

    async def log_v3_naming(self, call: Call) -> Response:
        logs.set_level(call.params.required("logName"), call.params.required("logLevel"))
        return http.result("ok")

    # -- local cache -------------------------------------------------------------------------------

    async def local_cache_v1(self, call: Call) -> Response:
        await self.configs.reload()
        return http.text("200")

    async def local_cache_v3(self, call: Call) -> Response:
        await self.configs.reload()
        return http.result(LOCAL_CACHE_DONE)

    # -- client metrics ------------------------------------------------------------------------------------

    def metrics(self, v3: bool, cluster: bool) -> Handler:
        """A client-metrics handler: 2.x names and the bare map, or 3.x names in `Result`; this node's
        connections, or (`cluster`) every member's."""
        ask = self.cluster_metrics if cluster else self.client_metrics

        async def handler(call: Call) -> Response:
            p = call.params
            key = (
                metrics_key(p, "groupName", p.text("namespaceId")) if v3 else metrics_key(p, "group", p.text("tenant"))
            )
            found = await ask(p.required("ip"), key)
            return http.result(found) if v3 else http.json(found)

        return handler

    async def cluster_metrics(self, ip: str, key: ConfigKey | None) -> dict[str, Any]:
        """This node's answer merged with every peer's (a client may be connected to any member)."""
        merged = await self.client_metrics(ip, key)
        for answer in await self.peers.client_metrics(ip, key) if self.peers else []:
            merged.update(answer)
        return merged

    async def client_metrics(self, ip: str, key: ConfigKey | None) -> dict[str, Any]:
        """Ask every connection from `ip` (ClientConfigMetricRequest) and merge the `metrics` maps answered."""
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise BadRequest(f"ip must be an IP address, not '{ip[:64]}'") from None
        wanted = {str(address), ip.strip()}
        targets = [c for c in self.connections.registered.values() if wanted & {c.remote_ip, c.client_ip}]
        keys = [] if key is None else [{"type": t, "key": key.group_key()} for t in ("cacheData", "snapshotData")]
        body = {"module": "config", "metricsKeys": keys}
        ask = self.connections.ask
        answers = await asyncio.gather(
            *(ask(c, "ClientConfigMetricRequest", body, CLIENT_METRICS_TIMEOUT) for c in targets)
        )
        merged: dict[str, Any] = {}
        for answer in answers:
            metrics = answer.body.get("metrics") if answer is not None else None
            if isinstance(metrics, dict):
                merged.update(metrics)
        return merged


def metrics_key(params: Params, group_name: str, namespace: str) -> ConfigKey | None:
    """The config a metrics request names (dataId given), else None (the client reports everything)."""
    data_id = params.text("dataId").strip()
    tenant = normalise(namespace)
    validation.validate_tenant(tenant)
    if not data_id:
        return None
    group = params.text(group_name).strip() or DEFAULT_GROUP
    validation.validate_key(data_id, group)
    return ConfigKey(tenant, group, data_id)


async def _log_request(call: Call) -> tuple[str, str]:
    """`{"logName":..,"logLevel":..}` from the JSON body (2.x/3.x core), or the same names as parameters."""
    params = call.params
    if "logName" in params or "logLevel" in params:
        return params.required("logName"), params.required("logLevel")
    shape = 'the body must be a JSON object {"logName": "...", "logLevel": "..."}'
    try:
        body = orjson.loads(await call.http_request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest(shape) from None
    name = body.get("logName") if isinstance(body, dict) else None
    level = body.get("logLevel") if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(level, str):
        raise BadRequest(shape)
    return name, level
