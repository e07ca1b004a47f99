"""Shared fixtures: an in-process server (driven through httpx's ASGI transport) and settings."""

from __future__ import annotations

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """nacos-sdk-python's poller thread logs a traceback when its multiprocessing manager exits with the
    interpreter; silence it so the suite's closing line is pytest's summary."""
    import logging

    logging.getLogger("nacos.client").disabled = True
