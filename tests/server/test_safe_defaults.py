"""Safe defaults (security.md §1, §4.5): protected listening address, redacted access log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started


def test_auth_off_listens_on_loopback_unless_told_otherwise() -> None:
    assert Settings().listen_address == "127.0.0.1"
    assert Settings(auth_enabled=True).listen_address == "0.0.0.0"
    assert Settings(address="0.0.0.0").listen_address == "0.0.0.0"


async def test_access_log_redacts_credentials(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pynacos.access")
    app = await started(Settings(home=str(tmp_path), access_log=True))
    try:
        async with asgi_client(app) as client:
            await client.get(
                "/v1/cs/configs",
                params={"dataId": "a", "group": "g", "accessToken": "TOKEN-SECRET", "password": "PASS-SECRET"},
            )
    finally:
        await app.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "pynacos.access"]
    assert len(lines) == 1
    assert "TOKEN-SECRET" not in lines[0] and "PASS-SECRET" not in lines[0]
    assert "accessToken=***" in lines[0]


async def test_derby_ops_and_data_removal_paths_do_not_exist(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path)))
    try:
        async with asgi_client(app) as client:
            for method in ("GET", "HEAD", "POST"):
                response = await client.request(method, "/v1/cs/ops/derby", params={"sql": "select * from users"})
                assert response.status_code == 404
            assert (await client.post("/v1/cs/ops/data/removal", files={"file": b"x"})).status_code == 404
    finally:
        await app.stop()
