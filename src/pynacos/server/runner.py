"""Run the server in one event loop until SIGTERM / Ctrl-C, then shut down cleanly.

uvicorn handles the signals: it stops accepting, lets requests in flight finish, then runs the
lifespan shutdown (which closes the database). Every acknowledged write was committed before its
answer, so a stop at any moment (even kill -9) loses nothing that a client was told is stored.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.config import LifespanType

from pynacos.server.app import NacosApp, create_app
from pynacos.server.connection_limits import LimitedHttpToolsProtocol, QuietParserErrors
from pynacos.server.console.port import ConsoleListener
from pynacos.server.settings import Settings

log = logging.getLogger("pynacos.server")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("uvicorn.error").addFilter(QuietParserErrors())
    for chatty in QUIET_LIBRARIES:  # at debug they log SQL parameters: config content, password hashes
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


QUIET_LIBRARIES = (
    "sqlalchemy",
    "aiosqlite",
    "asyncmy",
    "asyncpg",
    "multipart",
    "python_multipart",
    "httpx",
    "httpcore",
)


def announce(settings: Settings, warnings: list[str]) -> None:
    for note in [*settings.notes, *warnings]:
        log.warning(note)
    if not settings.auth_enabled and not settings.address:
        log.warning(
            "auth is off, so only 127.0.0.1 can connect; to serve other hosts turn auth on "
            "(nacos.core.auth.enabled=true) or set server.address explicitly"
        )
    elif not settings.auth_enabled:
        log.warning(
            "auth is off and the server listens on %s: anyone who can reach it can read and write every config",
            settings.address,
        )


def run(settings: Settings, warnings: list[str], reload_settings: Callable[[], Settings]) -> None:
    configure_logging(settings.log_level)
    tune_garbage_collector()
    announce(settings, warnings)
    app = create_app(settings, reload_settings)
    config = http_config(app, settings, settings.port, "on")
    log.info("pynacos listening on http://%s:%d%s", settings.listen_address, settings.port, settings.context_path)
    server = Server(config, app)
    _exit_quietly_after_shutdown()
    server.run()
    if not server.started or server.grpc_failed or server.console_failed:
        raise SystemExit(3)


def http_config(app: Callable[..., Any], settings: Settings, port: int, lifespan: LifespanType) -> uvicorn.Config:
    """One listener's settings; the main and the console port get the same limits and timeouts."""
    return uvicorn.Config(
        app,
        host=settings.listen_address,
        port=port,
        lifespan=lifespan,
        access_log=False,
        log_config=None,
        log_level=settings.log_level,
        timeout_keep_alive=60,
        timeout_graceful_shutdown=5,
        http=LimitedHttpToolsProtocol,
        proxy_headers=False,  # uvicorn would believe X-Forwarded-For from loopback; the router decides instead
    )


def _exit_quietly_after_shutdown() -> None:
    """uvicorn re-raises SIGTERM/SIGINT once it has shut down; a clean stop should exit 0 instead."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: None)


def tune_garbage_collector() -> None:
    """Collect the young generation less often: every request allocates short-lived objects, and with
    10,000 registered instances each default-threshold pass over them cost a few % of a core."""
    gc.set_threshold(50_000, 20, 20)


class Server(uvicorn.Server):
    """uvicorn's server, but held long polls are answered "no change" as soon as shutdown starts
    (otherwise they hold the graceful shutdown for its whole timeout and then get a 500)."""

    def __init__(self, config: uvicorn.Config, app: NacosApp) -> None:
        super().__init__(config)
        self.nacos = app
        self.grpc_failed = False
        self.console_failed = False
        self.console: uvicorn.Server | None = None
        self._console_ticks: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """The gRPC port opens in the same loop once the app has started (grpc.aio belongs to its loop)."""
        await super().startup(sockets)
        if self.should_exit or not self.started:
            return
        try:
            await self.nacos.start_grpc()
        except Exception as exc:
            log.error("start-up failed: the gRPC port could not be opened: %s", exc)
            self.grpc_failed = True
            self.should_exit = True
            return
        if self.nacos.settings.console_port is not None:
            await self._start_console(self.nacos.settings.console_port)

    async def _start_console(self, port: int) -> None:
        """The console port (`nacos.console.port`) listens in this loop with its own router over the same app;
        it runs no lifespan (this server's starts and stops the app) and no signal handling (this server's
        shutdown stops it). Its tick loop keeps its Date header current."""
        s = self.nacos.settings
        config = http_config(ConsoleListener(self.nacos.console_router()), s, port, "off")
        config.load()
        console = uvicorn.Server(config)
        console.lifespan = config.lifespan_class(config)
        try:
            await console.startup()
        except SystemExit:  # uvicorn's answer to a port it cannot bind, after logging why
            log.error("start-up failed: the console port %d (nacos.console.port) could not be opened", port)
            self.console_failed = True
            self.should_exit = True
            return
        self.console = console
        self._console_ticks = asyncio.create_task(console.main_loop())
        log.info("web console on http://%s:%d%s/", s.listen_address, port, s.console_context_path)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.nacos.hub.release_all()
        await self._stop_console()
        await super().shutdown(sockets)

    async def _stop_console(self) -> None:
        if self.console is None:
            return
        self.console.should_exit = True
        if self._console_ticks is not None:
            await self._console_ticks
        await self.console.shutdown()
