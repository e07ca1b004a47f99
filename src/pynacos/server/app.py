"""Wiring: build every part from the settings and serve them through the one router.

`create_app` returns a pure ASGI callable. Data is loaded in the background after start-up so that
liveness answers at once while readiness (and every data route) answers 503 until the load is done (Nacos: 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Receive, Scope, Send

from pynacos.server.auth.policy import PUBLIC
from pynacos.server.auth.system import AuthSystem
from pynacos.server.config.capacity import CapacityService
from pynacos.server.config.grpc import ConfigGrpc
from pynacos.server.config.http import ConfigRoutes
from pynacos.server.config.http_capacity import CapacityRoutes
from pynacos.server.config.http_v2 import ConfigRoutesV2
from pynacos.server.config.http_v3 import ConfigRoutesV3
from pynacos.server.config.longpoll import LongPollHub
from pynacos.server.config.service import ConfigService
from pynacos.server.config.transfer import ConfigTransfer
from pynacos.server.console.api import ConsoleRoutes
from pynacos.server.console.insight import InsightRoutes
from pynacos.server.console.port import console_routes
from pynacos.server.console.ui import ConsoleUi
from pynacos.server.events import ConfigChanged, EventBus
from pynacos.server.grpc.connections import Connection, Connections
from pynacos.server.grpc.server import GrpcHandler, GrpcServer, ok
from pynacos.server.http import Call
from pynacos.server.metrics import Metrics, MonitorSources
from pynacos.server.namespaces.http import NamespaceRoutes
from pynacos.server.namespaces.http_v3 import NamespaceRoutesV3
from pynacos.server.namespaces.service import NamespaceService
from pynacos.server.naming.clients import ClientIndex
from pynacos.server.naming.grpc import NamingGrpc
from pynacos.server.naming.health import ActiveHealthChecks, TargetPolicy
from pynacos.server.naming.http import NamingRoutes
from pynacos.server.naming.http_clients import ClientRoutes
from pynacos.server.naming.http_v2 import NamingRoutesV2
from pynacos.server.naming.http_v3 import NamingRoutesV3
from pynacos.server.naming.service import NamingService
from pynacos.server.naming.udp import UdpPush
from pynacos.server.ops.http import OpsRoutes
from pynacos.server.ops.http_ops import ModuleOpsRoutes
from pynacos.server.ops.http_v3 import CoreRoutes
from pynacos.server.ops.loader import LoaderRoutes
from pynacos.server.routing import HttpLimits, Route, Router
from pynacos.server.settings import PROPERTIES_FILE, Settings, SettingsError
from pynacos.server.storage.capacity import CapacityStore
from pynacos.server.storage.configs import ConfigStore
from pynacos.server.storage.engine import open_engine
from pynacos.server.storage.gray_configs import GrayStore
from pynacos.server.storage.namespaces import NamespaceStore
from pynacos.server.storage.naming import NamingStore
from pynacos.server.storage.outage import StorageHealth, health_of, is_storage_error

if TYPE_CHECKING:
    from pynacos.server.cluster import Cluster

log = logging.getLogger("pynacos.server")
RETENTION_INTERVAL = 600.0
PROPERTIES_POLL = 2.0


class NacosApp:
    """The server: its parts, their lifecycle, and the router in front of them."""

    def __init__(self, settings: Settings, reload_settings: Callable[[], Settings] | None = None) -> None:
        self.settings = settings
        self.reload_settings = reload_settings
        self.ready = asyncio.Event()
        self.metrics = Metrics()
        self.bus = EventBus()
        self.engine: AsyncEngine | None = None
        self.cluster: Cluster | None = None
        self.storage = StorageHealth()
        self.hub = LongPollHub(settings.longpoll_max_total, settings.longpoll_max_per_ip)
        self.router: Router | None = None
        self.connections = Connections(max_per_ip=settings.grpc_max_connections_per_ip)
        self.grpc: GrpcServer | None = None
        self.push: UdpPush | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def is_ready(self) -> bool:
        return self.ready.is_set()

    async def start(self) -> None:
        """Open storage and build the services; the data load runs in the background."""
        self.engine = await open_engine(self.settings)
        self.storage = health_of(self.engine)
        self.auth = AuthSystem(self.settings, self.engine)
        self.namespaces = NamespaceService(NamespaceStore(self.engine))
        self.configs = ConfigService(
            ConfigStore(self.engine),
            GrayStore(self.engine),
            self.bus,
            self.namespaces.exists,
            self.settings.max_content,
            self.settings.max_gray_versions,
        )
        self.cluster = self._cluster()
        self.naming = NamingService(NamingStore(self.engine), active_checks=self.settings.naming_active_checks)
        if self.cluster is not None:  # naming replication (cluster/distro.py): its routes now, its loop from start()
            from pynacos.server.cluster.distro import Distro

            self.cluster.also_run(Distro(self.naming, self.cluster).run_forever)
        self.push = push = UdpPush.from_settings(self.naming, self.settings)
        await push.open(self.settings.listen_address)
        self.bus.subscribe(ConfigChanged, lambda event: self.hub.notify(event.key))
        self.config_grpc = ConfigGrpc(self.configs, self.connections)
        self.bus.subscribe(ConfigChanged, self.config_grpc.changed)
        self.naming_routes = NamingRoutes(
            self.naming, self.namespaces.exists, push, self.settings.port, self.auth.guard
        )
        self.naming_grpc = NamingGrpc(self.naming_routes, self.connections)
        self.naming_routes.clients = ClientIndex(
            self.naming, self.connections.registered.values, self.naming_grpc.subscribed, push.every_subscriber
        )
        self.naming.on_change.append(self.naming_grpc.changed)
        self.metrics.gauge(
            "pynacos_grpc_connections", "Registered gRPC connections.", lambda: len(self.connections.registered)
        )
        self.connections.on_push = lambda kind, acked: self.metrics.grpc_pushes.labels(
            kind, "acked" if acked else "failed"
        ).inc()
        self.bus.subscribe(ConfigChanged, self._count_publish)
        self.metrics.gauge("pynacos_config_count", "Configs held in memory.", lambda: self.configs.count())
        self.metrics.gauge("pynacos_config_listeners", "Held HTTP long polls.", lambda: self.hub.held)
        self.metrics.nacos_monitor(self._monitor_sources(push))
        self.router = self._build_router(self.naming_routes)
        self._tasks.append(asyncio.create_task(self._load()))

    def _count_publish(self, event: ConfigChanged) -> None:
        """Writes acknowledged here; a change read back from another node (cluster) was counted there."""
        if event.local:
            self.metrics.config_publishes.inc()

    def _monitor_sources(self, push: UdpPush) -> MonitorSources:
        """What Nacos's `nacos_monitor` gauges read at scrape time (metrics.py maps them onto Nacos's names)."""
        return MonitorSources(
            config_count=lambda: self.configs.count(),
            long_polls=lambda: self.hub.held,
            service_count=lambda: len(self.naming.services),
            instance_count=self.naming.instance_count,
            push_subscribers=lambda: len(push.state),
            push_counters=lambda: push.state.counters,
        )

    def _build_router(self, naming_v1: NamingRoutes) -> Router:
        s = self.settings
        transfer = ConfigTransfer(self.configs, self.namespaces.exists, self.auth.guard.permits)
        ops = OpsRoutes(s, self.metrics, self.is_ready, self.auth.guard.state)
        core = CoreRoutes(s, ops, self.connections.registered.values, self.cluster.members if self.cluster else None)
        namespaces = NamespaceRoutes(self.namespaces, self.configs.count, s.default_tenant_quota)
        naming_v2 = NamingRoutesV2(naming_v1)
        config_v3 = ConfigRoutesV3(self.configs, self.hub, transfer, self.metrics.blur_searches.inc)
        namespaces_v3, naming_v3 = NamespaceRoutesV3(namespaces), NamingRoutesV3(naming_v2, naming_v1.clients)
        capacity_store = CapacityStore(self.configs.store.engine)
        capacity = CapacityService(capacity_store, self.configs, self.namespaces.exists, s.default_tenant_quota)
        loader = LoaderRoutes(self.connections, core.member.address)
        module_ops = ModuleOpsRoutes(self.configs, self.connections)
        if self.cluster is not None:  # loader figures, reloads and client metrics reach the peers
            from pynacos.server.cluster.ops import ClusterLoader, ClusterMetrics

            ClusterLoader(self.cluster, loader)
            ClusterMetrics(self.cluster, module_ops)
        routes = [
            *ops.routes(),
            *core.routes(),
            *(self.cluster.routes() if self.cluster else ()),
            *self.auth.routes(),
            *ConfigRoutes(self.configs, self.hub, transfer, self.metrics.blur_searches.inc).routes(),
            *ConfigRoutesV2(self.configs, self.auth.guard.permits).routes(),
            *config_v3.routes(),
            *namespaces.routes(),
            *namespaces_v3.routes(),
            *naming_v1.routes(),
            *naming_v2.routes(),
            *naming_v3.routes(),
            *ConsoleRoutes(config_v3, naming_v3, namespaces_v3, core, ops, self.auth, self.storage).routes(),
            *ClientRoutes(naming_v1.clients, core.member.address).routes(),
            *loader.routes(),
            *module_ops.routes(),
            *CapacityRoutes(capacity).routes(),
            *ConsoleUi(s.console_ui_enabled).routes(),
            *self._insight().routes(),
        ]
        self.routes = routes
        return self._router(s.context_path, routes)

    def _insight(self) -> InsightRoutes:
        """The console's auth health and coverage pages read the live settings, failures, locks and keys."""
        auth = self.auth
        return InsightRoutes(
            lambda: auth.settings,
            auth.guard.failures.recent,
            auth.throttle,
            lambda: [c.key for c in self.configs.all()],
            lambda: list(self.naming.services),
        )

    def console_router(self) -> Router:
        """The console port's router (console/port.py): the same route objects, picked by path."""
        return self._router(self.settings.console_context_path, console_routes(self.routes), console_port=True)

    def _router(self, context_path: str, routes: list[Route], console_port: bool = False) -> Router:
        s = self.settings
        return Router(
            context_path,
            routes,
            self.auth.guard,
            self.metrics,
            self.is_ready,
            HttpLimits(
                max_body=s.max_content + 1024 * 1024,  # security.md §6.3: 11 MiB with the default 10 MiB content
                trusted_proxies=s.trusted_proxies,
                allowed_origins=s.allowed_origins,
                allowed_hosts=(*s.allowed_hosts, s.address) if s.address else s.allowed_hosts,
            ),
            access_log_enabled=s.access_log,
            auth_enabled=lambda: self.auth.switches.enabled,
            storage=self.storage,
            console_port=console_port,
        )

    async def start_grpc(self, port: int | None = None) -> int:
        """Serve the SDK gRPC port (HTTP port + offset unless `port` is given); returns the bound port."""
        s = self.settings
        handlers = [
            GrpcHandler("HealthCheckRequest", "HealthCheckResponse", PUBLIC, health_check),
            *self.config_grpc.handlers(),
            *self.naming_grpc.handlers(),
        ]
        self.grpc = GrpcServer(
            handlers,
            self.connections,
            self.auth.guard,
            self.is_ready,
            self.storage,
            lambda kind, outcome: self.metrics.grpc_requests.labels(kind, outcome).inc(),
        )
        bound = await self.grpc.start(
            s.listen_address,
            s.port + s.grpc_port_offset if port is None else port,
            grpc_options(s),
            grpc_credentials(s),
        )
        self._tasks.append(asyncio.create_task(self.connections.eject_silent_forever()))
        log.info("gRPC listening on %s:%d", s.listen_address, bound)
        return bound

    async def _load(self) -> None:
        try:
            await self.auth.load()
            await self.namespaces.load()
            await self.configs.load()
            await self.naming.load()
        except Exception:
            log.exception("loading data failed; the server stays not-ready")
            self.metrics.errors.labels(kind="storage").inc()
            return
        self.ready.set()
        if self.cluster is not None:
            self.cluster.start()
        log.info("ready: %d configs, %d namespaces", self.configs.count(), len(self.namespaces.all()))
        self._tasks.append(asyncio.create_task(self.auth.refresh_forever()))
        self._tasks.append(asyncio.create_task(self._check_instances_forever()))
        self._tasks.append(asyncio.create_task(self._clean_services_forever()))
        if self.settings.naming_active_checks:
            members = self.cluster.members if self.cluster else None
            checks = ActiveHealthChecks(
                self.naming,
                TargetPolicy(self.settings.naming_check_targets),
                lambda kind, outcome: self.metrics.health_checks.labels(kind, outcome).inc(),
                responsible=(lambda key: members.responsible_for(f"{key.namespace}##{key.grouped}"))
                if members
                else (lambda key: True),
            )
            self._tasks.append(asyncio.create_task(checks.run_forever()))
        if self.settings.retention_days > 0:
            self._tasks.append(asyncio.create_task(self._purge_history_forever()))
        if self.reload_settings is not None:
            path = Path(self.settings.home) / PROPERTIES_FILE
            watch = self._watch_properties(self.reload_settings, path, _mtime(path))
            self._tasks.append(asyncio.create_task(watch))

    async def _watch_properties(self, reload_settings: Callable[[], Settings], path: Path, seen: float | None) -> None:
        """Nacos re-reads application.properties while running; so do we, for the auth switches."""
        while True:
            await asyncio.sleep(PROPERTIES_POLL)
            current = _mtime(path)
            if current == seen:
                continue
            seen = current
            try:
                self.auth.reload(reload_settings())
            except SettingsError as exc:
                log.error("application.properties change ignored: %s", exc)

    async def _check_instances_forever(self) -> None:
        """Ephemeral instances without beats turn unhealthy, then are removed (naming/service.py)."""
        while True:
            await asyncio.sleep(self.settings.naming_check_interval_ms / 1000)
            self.naming.expire()

    async def _clean_services_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.empty_service_interval_ms / 1000)
            try:
                await self.naming.remove_empty_services(self.settings.empty_service_expired_ms)
            except Exception as exc:
                self._background_failed("removing empty services", exc)

    async def _purge_history_forever(self) -> None:
        while True:
            await asyncio.sleep(RETENTION_INTERVAL)
            cutoff = datetime.now() - timedelta(days=self.settings.retention_days)
            try:
                removed = await self.configs.store.purge_history(cutoff)
            except Exception as exc:
                self._background_failed("history clean-up", exc)
                continue
            if removed:
                log.info("removed %d history rows older than %s", removed, cutoff)

    def _background_failed(self, during: str, exc: Exception) -> None:
        """A database outage reaches the storage health (counted, no traceback); anything else is a bug."""
        self.metrics.errors.labels(kind="storage").inc()
        if is_storage_error(exc):
            self.storage.failed(exc, during)
        else:
            log.exception("%s failed", during)

    def _cluster(self) -> Cluster | None:
        """Cluster mode only (cluster/__init__.py); standalone runs none of it."""
        if self.settings.standalone or self.engine is None:
            return None
        from pynacos.server.cluster import Cluster

        return Cluster(self.settings, self.engine, self.bus, self.configs, self.namespaces, self.auth)

    async def stop(self) -> None:
        if self.cluster is not None:
            await self.cluster.stop()
        if self.grpc is not None:
            await self.grpc.stop(self.settings.listen_address, self.settings.port)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.push is not None:
            self.push.close()
        if self.engine is not None:
            await self.engine.dispose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and self.router is not None:
            await self.router(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    log.error("start-up failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: Settings, reload_settings: Callable[[], Settings] | None = None) -> NacosApp:
    return NacosApp(settings, reload_settings)


async def health_check(call: Call, body: dict[str, Any], connection: Connection) -> dict[str, Any]:
    return ok()


def grpc_options(settings: Settings) -> list[tuple[str, Any]]:
    """protocol.md E.1: Nacos's message limit; keepalive more permissive than Nacos so 60 s client pings pass."""
    return [
        ("grpc.max_receive_message_length", settings.grpc_max_inbound),
        ("grpc.max_send_message_length", -1),
        ("grpc.keepalive_time_ms", 7_200_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 0),
        ("grpc.so_reuseport", 0),
    ]


def grpc_credentials(settings: Settings) -> Any:
    """TLS server credentials when `nacos.remote.server.rpc.tls.enableTls` is on, else None (plaintext)."""
    if not settings.grpc_tls:
        return None
    import grpc

    chain = Path(settings.grpc_tls_cert_chain).read_bytes()
    key = Path(settings.grpc_tls_private_key).read_bytes()
    return grpc.ssl_server_credentials([(key, chain)])


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
