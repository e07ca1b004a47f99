"""`PUT /v1/ns/operator/switches`: the switches pynacos honours, what they change, and that they persist."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from pynacos.server.naming.health import CheckState, Outcome
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login
from tests.server.naming.auth_setup import app_with_user

NS = "/v1/ns"
SWITCHES = f"{NS}/operator/switches"
FAST_EXPIRY = (
    '{"preserved.heart.beat.interval":"50","preserved.heart.beat.timeout":"100","preserved.ip.delete.timeout":"200"}'
)


async def switch(client: httpx.AsyncClient, entry: str, value: str) -> httpx.Response:
    return await client.put(SWITCHES, params={"entry": entry, "value": value})


async def test_switches_change_what_get_shows_and_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path))
    app = await started(settings)
    async with asgi_client(app) as client:
        for entry, value in (("pushEnabled", "false"), ("healthCheckTimes", "5"), ("clientBeatInterval", "7000")):
            assert (await switch(client, entry, value)).text == "ok"
        v2 = await client.put("/v2/ns/operator/switches", params={"entry": "lightBeatEnabled", "value": "false"})
        assert v2.json() == {"code": 0, "message": "success", "data": "ok"}
    await app.stop()
    app = await started(settings)
    async with asgi_client(app) as client:
        shown = (await client.get(SWITCHES)).json()
        assert (shown["pushEnabled"], shown["checkTimes"], shown["clientBeatInterval"]) == (False, 5, 7000)
        assert shown["lightBeatEnabled"] is False
        assert shown["healthCheckEnabled"] is True
        await client.post(f"{NS}/instance", params={"serviceName": "s", "ip": "10.0.0.5", "port": "80"})
        beat = await client.put(f"{NS}/instance/beat", params={"serviceName": "s", "ip": "10.0.0.5", "port": "80"})
        assert beat.json() == {"clientBeatInterval": 7000, "code": 10200, "lightBeatEnabled": False}
        listed = {"serviceName": "s", "udpPort": "9999", "clientIP": "127.0.0.1"}
        await client.get(f"{NS}/instance/list", params=listed, headers={"User-Agent": "Nacos-Java-Client:v2.5.1"})
        assert (await client.get(f"{NS}/service/subscribers", params={"serviceName": "s"})).json()["count"] == 0
    await app.stop()


async def test_check_off_keeps_silent_instances_until_it_is_on_again(tmp_path: Path) -> None:
    """During network maintenance `check=false` stops beats from expiring anything."""
    app = await started(Settings(home=str(tmp_path), naming_check_interval_ms=20))
    try:
        async with asgi_client(app) as client:
            assert (await switch(client, "check", "false")).text == "ok"
            register = {"serviceName": "s", "ip": "10.0.0.5", "port": "80", "metadata": FAST_EXPIRY}
            assert (await client.post(f"{NS}/instance", params=register)).text == "ok"
            await asyncio.sleep(0.5)
            hosts = (await client.get(f"{NS}/instance/list", params={"serviceName": "s"})).json()["hosts"]
            assert [h["healthy"] for h in hosts] == [True]
            assert (await switch(client, "check", "TRUE")).text == "ok"
            await asyncio.sleep(0.5)
            assert (await client.get(f"{NS}/instance/list", params={"serviceName": "s"})).json()["hosts"] == []
    finally:
        await app.stop()


async def test_default_instance_ephemeral_decides_when_the_request_does_not(client: httpx.AsyncClient) -> None:
    assert (await switch(client, "defaultInstanceEphemeral", "false")).text == "ok"
    await client.post(f"{NS}/instance", params={"serviceName": "db", "ip": "10.0.0.5", "port": "3306"})
    hosts = (await client.get(f"{NS}/instance/list", params={"serviceName": "db"})).json()["hosts"]
    assert [h["ephemeral"] for h in hosts] == [False]


def test_health_check_times_sets_the_streak_that_flips_health() -> None:
    state = CheckState(delay_ms=1000, due_ms=0)
    assert state.verdict(Outcome.FAIL, True, times=1) is False
    assert [state.verdict(Outcome.OK, False, times=2) for _ in range(2)] == [None, True]


@pytest.mark.parametrize(
    ("params", "text"),
    [
        (
            {"entry": "distroThreshold", "value": "0.5"},
            "switch entry 'distroThreshold' is not supported by pynacos; it supports check, pushEnabled, "
            "healthCheckTimes, clientBeatInterval, defaultInstanceEphemeral, lightBeatEnabled",
        ),
        ({"entry": "pushEnabled", "value": "yes please"}, "switch pushEnabled needs true or false, got 'yes please'"),
        ({"entry": "healthCheckTimes", "value": "0"}, "switch healthCheckTimes needs a number from 1 to 2147483647, got '0'"),
        ({"entry": "clientBeatInterval", "value": "5s"}, "switch clientBeatInterval needs a whole number, got '5s'"),
        ({"entry": "pushEnabled"}, "Param 'value' is required."),
        ({"value": "true"}, "Param 'entry' is required."),
    ],
)  # fmt: skip
async def test_bad_switch_requests_are_400_and_change_nothing(
    client: httpx.AsyncClient, params: dict[str, str], text: str
) -> None:
    before = (await client.get(SWITCHES)).json()
    answer = await client.put(SWITCHES, params=params)
    assert (answer.status_code, answer.text) == (400, text)
    assert (await client.get(SWITCHES)).json() == before


async def test_only_admins_change_switches(tmp_path: Path) -> None:
    app = await app_with_user(tmp_path, "public:*:*", "rw")  # writing every service is not enough
    try:
        async with asgi_client(app) as client:
            user = await login(client, "u1", USER_PASSWORD)
            refused = await client.put(SWITCHES, params={"entry": "check", "value": "false", "accessToken": user})
            assert refused.status_code == 403
            admin = await login(client, "nacos", ADMIN_PASSWORD)
            done = await client.put(SWITCHES, params={"entry": "check", "value": "false", "accessToken": admin})
            assert done.text == "ok"
    finally:
        await app.stop()
