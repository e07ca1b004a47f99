"""Shared fixtures: an in-process server (driven through httpx's ASGI transport) and settings.

The suite runs in parallel (pyproject.toml addopts: `-n auto --dist loadfile`, pytest-xdist; `auto` is
`pytest_xdist_auto_num_workers` below): each test module runs whole in one worker process, several modules at
once, and other people's pytest runs share the machine and its databases. A new test module must therefore:
- name every MariaDB/PostgreSQL database it creates uniquely per process (`os.getpid()` in the name, as
  tests/server/storage/conftest.py `DB` does) and drop it afterwards; never a fixed name;
- take every port from `tests.integration.server_process.free_port()` (or bind port 0), never a fixed one, and
  assume nothing about who else listens on the loopback;
- write only under `tmp_path` / `tmp_path_factory`; a shared cache outside them (like .cache/sdk3-venv) is built
  under an `fcntl.flock` lock into a directory of its own, then renamed into place (tests/integration/sdk3.py);
- read log lines through `caplog` or its own server's log file, never global logging state another module set;
- wait on time by polling toward a deadline that holds on a loaded 2-core machine, never by a bare sleep, and
  compare the cost of two code paths in this process's CPU time (`time.process_time`), not wall time;
- leave nothing running in the worker process after the module: a session-scoped fixture lives on into other
  modules (an open Playwright sync API makes its event loop look running, failing every later asyncio test);
- share one server per module (scope="module") where its tests don't interfere: with `--dist loadfile` a
  module-scoped fixture is built once, in the one worker that runs the module.
Serial runs: `pytest -n0 ...` or `pytest -p no:xdist ...` (the xdist addopts are then accepted and ignored).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=str(tmp_path))


async def started(settings: Settings) -> NacosApp:
    app = NacosApp(settings)
    await app.start()
    await app.ready.wait()
    return app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[NacosApp]:
    server = await started(settings)
    yield server
    await server.stop()


def asgi_client(app: NacosApp, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1/nacos", timeout=60)


@pytest.fixture
async def client(app: NacosApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as http_client:
        yield http_client


PARALLEL_WORKERS = 4  # measured on 2 cores: most of the suite's time is waiting (docs/verification.md)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: PARALLEL_WORKERS, or one per named file when fewer (none for a single file, which then runs in
    this process as before): with `--dist loadfile` a file never spans workers, so more would only sit idle.
    PYTEST_XDIST_AUTO_NUM_WORKERS in the environment still wins (xdist reads it when this returns None)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    paths = {str(arg).split("::", 1)[0] for arg in config.args}
    if paths and all(path.endswith(".py") for path in paths) and len(paths) < PARALLEL_WORKERS:
        return len(paths) if len(paths) > 1 else 0
    return PARALLEL_WORKERS


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """With `-p no:xdist` the addopts' `-n`/`--dist` would be unknown options: accept them and run serially."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist-disabled", "pytest-xdist is disabled: -n and --dist are accepted and ignored")
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None)  # lowercase short: private API
    group.addoption("--dist", dest="dist", default="no")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """nacos-sdk-python's poller thread logs a traceback when its multiprocessing manager exits with the
    interpreter; silence it so the suite's closing line is pytest's summary."""
    import logging

    logging.getLogger("nacos.client").disabled = True
