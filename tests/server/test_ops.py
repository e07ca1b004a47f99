"""Health, server state, console texts and metrics (protocol B.2, B.3, B.5; auth.md §10)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.support import publish

STATE_KEYS = {
    "version",
    "startup_mode",
    "function_mode",
    "server_port",
    "auth_enabled",
    "login_page_enabled",
    "auth_system_type",
    "auth_admin_request",
    "console_ui_enabled",
    "datasource_platform",
    "plugin_datasource_log_enabled",
    "notifyConnectTimeout",
    "notifySocketTimeout",
    "isHealthCheck",
    "maxHealthCheckFailCount",
    "maxContent",
    "isManageCapacity",
    "isCapacityLimitCheck",
    "defaultClusterQuota",
    "defaultGroupQuota",
    "defaultMaxSize",
    "defaultMaxAggrCount",
    "defaultMaxAggrSize",
    "config_retention_days",
}


@pytest.fixture
async def loading_app(settings: Settings) -> AsyncIterator[NacosApp]:
    """A started server whose data load has not finished (the ready flag is cleared)."""
    server = await started(settings)
    server.ready.clear()
    yield server
    await server.stop()


async def test_liveness_v1_is_plain_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/console/health/liveness")
    assert (response.status_code, response.text) == (200, "OK")
    assert response.headers["Content-Type"] == "text/plain;charset=UTF-8"


async def test_readiness_v1_is_plain_ok_once_loaded(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/console/health/readiness")
    assert (response.status_code, response.text) == (200, "OK")
    assert response.headers["Content-Type"] == "text/plain;charset=UTF-8"


async def test_health_v2_is_the_lowercase_ok_envelope(client: httpx.AsyncClient) -> None:
    for path in ("/v2/console/health/liveness", "/v2/console/health/readiness"):
        response = await client.get(path)
        assert (response.status_code, response.json()) == (200, {"code": 0, "message": "success", "data": "ok"})


async def test_actuator_health_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/actuator/health")
    assert (response.status_code, response.json()) == (200, {"status": "UP"})


async def test_config_health_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/cs/health")
    assert (response.status_code, response.text) == (200, "UP")


async def test_while_loading_liveness_answers_and_readiness_refuses(loading_app: NacosApp) -> None:
    async with asgi_client(loading_app) as client:
        live = await client.get("/v1/console/health/liveness")
        assert (live.status_code, live.text) == (200, "OK")
        live_v2 = await client.get("/v2/console/health/liveness")
        assert live_v2.json() == {"code": 0, "message": "success", "data": "ok"}
        ready = await client.get("/v1/console/health/readiness")
        assert (ready.status_code, ready.text) == (503, "config and naming not in readiness")
        ready_v2 = await client.get("/v2/console/health/readiness")
        assert ready_v2.status_code == 503
        assert ready_v2.json() == {"code": 30000, "message": "config not in readiness", "data": None}
        actuator = await client.get("/actuator/health")
        assert (actuator.status_code, actuator.json()) == (503, {"status": "DOWN"})
        assert (await client.get("/v1/cs/health")).text == "DOWN:data not loaded"


async def test_while_loading_data_routes_answer_503_and_state_answers(loading_app: NacosApp) -> None:
    async with asgi_client(loading_app) as client:
        response = await client.get("/v1/cs/configs", params={"dataId": "a", "group": "g"})
        assert (response.status_code, response.text) == (503, "caused: server is starting, data not loaded yet;")
        v2 = await client.get("/v2/cs/config", params={"dataId": "a", "group": "g"})
        assert (v2.status_code, v2.json()["code"]) == (503, 30000)
        assert (await client.get("/v1/console/server/state")).status_code == 200
        assert (await client.get("/actuator/prometheus")).status_code == 200
        loading_app.ready.set()
        assert (await client.get("/v1/console/health/readiness")).text == "OK"


async def test_server_state_has_the_nacos_keys_with_string_values(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/console/server/state")
    assert response.status_code == 200
    state = response.json()
    assert set(state) >= STATE_KEYS
    assert "notice" not in state
    assert state["function_mode"] is None
    assert all(isinstance(v, str) for k, v in state.items() if k != "function_mode"), state
    assert (state["version"], state["startup_mode"], state["server_port"]) == ("2.5.1", "standalone", "8848")
    assert (state["auth_enabled"], state["maxContent"], state["config_retention_days"]) == ("false", "10485760", "30")
    assert (state["datasource_platform"], state["isCapacityLimitCheck"]) == ("", "false")


async def test_server_state_follows_the_settings(tmp_path: Path) -> None:
    server = await started(Settings(home=str(tmp_path), port=9000, max_content=2048, retention_days=7))
    try:
        async with asgi_client(server) as client:
            state = (await client.get("/v1/console/server/state")).json()
    finally:
        await server.stop()
    assert (state["server_port"], state["maxContent"], state["config_retention_days"]) == ("9000", "2048", "7")


async def test_announcement_reads_the_language_file(client: httpx.AsyncClient, settings: Settings) -> None:
    conf = Path(settings.home) / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "announcement_zh-CN.conf").write_text("公告", "utf-8")
    (conf / "announcement_en-US.conf").write_text("notice", "utf-8")
    response = await client.get("/v1/console/server/announcement")
    assert (response.status_code, response.json()) == (200, {"code": 200, "message": None, "data": "公告"})
    response = await client.get("/v1/console/server/announcement", params={"language": "en-US"})
    assert response.json() == {"code": 200, "message": None, "data": "notice"}


async def test_announcement_without_a_file_has_null_data(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/console/server/announcement", params={"language": "fr-FR"})
    assert response.json() == {"code": 200, "message": None, "data": None}


@pytest.mark.parametrize("language", ["../secret", "a/b", "a\\b", "..", "x..y"])
async def test_announcement_refuses_path_like_languages(client: httpx.AsyncClient, language: str) -> None:
    response = await client.get("/v1/console/server/announcement", params={"language": language})
    assert (response.status_code, response.text) == (400, "caused: Invalid filename;")


async def test_guide_reads_the_console_guide(client: httpx.AsyncClient, settings: Settings) -> None:
    assert (await client.get("/v1/console/server/guide")).json() == {"code": 200, "message": None, "data": None}
    conf = Path(settings.home) / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "console-guide.conf").write_text("guide text", "utf-8")
    assert (await client.get("/v1/console/server/guide")).json() == {
        "code": 200,
        "message": None,
        "data": "guide text",
    }


async def test_prometheus_exposes_request_counts_and_config_count(client: httpx.AsyncClient) -> None:
    await publish(client)
    await publish(client, "b.yaml")
    response = await client.get("/actuator/prometheus")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "pynacos_config_count 2.0" in text
    assert 'pynacos_http_requests_total{method="POST",route="/v1/cs/configs",status="200"} 2.0' in text
    assert "pynacos_config_listeners 0.0" in text
    assert "pynacos_config_publishes_total 2.0" in text
