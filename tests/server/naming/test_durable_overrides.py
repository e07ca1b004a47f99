"""Overrides of persistent instances (`PUT /instance`, PATCH, metadata batch) survive a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started

NS = "/v1/ns"
PERSISTENT = {"serviceName": "db", "ip": "10.0.0.5", "port": "3306", "ephemeral": "false"}


async def catalog(client: httpx.AsyncClient) -> list[dict[str, object]]:
    params = {"serviceName": "db", "clusterName": "DEFAULT", "pageNo": "1", "pageSize": "10"}
    listed: list[dict[str, object]] = (await client.get(f"{NS}/catalog/instances", params=params)).json()["list"]
    return listed


async def test_overrides_of_persistent_instances_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path))
    app = await started(settings)
    async with asgi_client(app) as client:
        assert (await client.post(f"{NS}/instance", params=PERSISTENT)).text == "ok"
        update = {**PERSISTENT, "weight": "3", "enabled": "false", "metadata": '{"zone":"a"}'}
        assert (await client.put(f"{NS}/instance", params=update)).text == "ok"
        patch = {**PERSISTENT, "weight": "4"}
        assert (await client.patch(f"{NS}/instance", params=patch)).text == "ok"
        batch = {"serviceName": "db", "metadata": '{"rack":"r1"}', "consistencyType": "persist"}
        assert (await client.put(f"{NS}/instance/metadata/batch", params=batch)).json()["updated"]
        ephemeral = {"serviceName": "web", "ip": "10.0.0.6", "port": "80"}
        await client.post(f"{NS}/instance", params=ephemeral)
        await client.put(f"{NS}/instance", params={**ephemeral, "weight": "2"})
    await app.stop()
    app = await started(settings)
    async with asgi_client(app) as client:
        [instance] = await catalog(client)
        assert (instance["weight"], instance["enabled"]) == (4.0, False)
        assert instance["metadata"] == {"zone": "a", "rack": "r1"}
        web = await client.get(f"{NS}/instance/list", params={"serviceName": "web"})
        assert web.json()["hosts"] == []  # ephemeral: gone with the process, its override with it
    await app.stop()


async def test_override_metadata_sets_beat_timing_as_in_nacos(tmp_path: Path) -> None:
    """`preserved.*` keys put on with `PUT /instance` count before the registered ones (protocol.md C.4)."""
    app = await started(Settings(home=str(tmp_path), naming_check_interval_ms=20))
    try:
        async with asgi_client(app) as client:
            instance = {"serviceName": "web", "ip": "10.0.0.6", "port": "80"}
            assert (await client.post(f"{NS}/instance", params=instance)).text == "ok"
            fast = '{"preserved.heart.beat.interval":"50","preserved.heart.beat.timeout":"100","preserved.ip.delete.timeout":"200"}'
            assert (await client.put(f"{NS}/instance", params={**instance, "metadata": fast})).text == "ok"
            beat = await client.put(f"{NS}/instance/beat", params=instance)
            assert beat.json()["clientBeatInterval"] == 50
            await asyncio.sleep(0.6)
            assert (await client.get(f"{NS}/instance/list", params={"serviceName": "web"})).json()["hosts"] == []
    finally:
        await app.stop()


async def test_concurrent_override_changes_all_count(tmp_path: Path) -> None:
    app = await started(Settings(home=str(tmp_path)))
    try:
        async with asgi_client(app) as client:
            assert (await client.post(f"{NS}/instance", params=PERSISTENT)).text == "ok"
            batches = [
                client.put(f"{NS}/instance/metadata/batch", params={"serviceName": "db", "metadata": f"k{n}=v{n}"})
                for n in range(8)
            ]
            await asyncio.gather(*batches)
            [instance] = await catalog(client)
            assert instance["metadata"] == {f"k{n}": f"v{n}" for n in range(8)}
    finally:
        await app.stop()


async def test_deregistering_drops_the_override(tmp_path: Path) -> None:
    """A new instance at the same address starts afresh, also after a restart (as in Nacos)."""
    settings = Settings(home=str(tmp_path))
    app = await started(settings)
    async with asgi_client(app) as client:
        await client.post(f"{NS}/instance", params=PERSISTENT)
        await client.put(f"{NS}/instance", params={**PERSISTENT, "enabled": "false"})
        assert (await client.delete(f"{NS}/instance", params=PERSISTENT)).text == "ok"
        await client.post(f"{NS}/instance", params=PERSISTENT)
        assert [i["enabled"] for i in await catalog(client)] == [True]
    await app.stop()
    app = await started(settings)
    async with asgi_client(app) as client:
        assert [i["enabled"] for i in await catalog(client)] == [True]
    await app.stop()
