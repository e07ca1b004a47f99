"""Part of the security.md §8 checklist: the naming findings of issue 13 (items 8, 12, 13), each shown
as the attack it was, against an in-process server or, for memory, a real server process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.app import NacosApp
from pynacos.server.config.models import ConfigKey, Publish
from pynacos.server.naming.models import Instance, ServiceKey
from pynacos.server.settings import Settings
from tests.conftest import asgi_client, started
from tests.integration.server_process import ServerProcess
from tests.server.auth.conftest import ADMIN_PASSWORD, USER_PASSWORD, login
from tests.server.naming.auth_setup import app_with_user

NS = "/v1/ns"
INSTANCE = {"serviceName": "demo", "ip": "10.0.0.5", "port": "8080"}
BIG = json.dumps({f"k{i}": "v" * 100 for i in range(20)})  # 2,000+ characters: over the 1,024 limit
WITH_NUL = json.dumps({"k": "a\u0000b"})
MiB = 1024 * 1024


@pytest.fixture
async def open_client(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, httpx.AsyncClient]]:
    """Auth off: what is refused here is refused by validation, not by a permission."""
    server = await started(Settings(home=str(tmp_path)))
    async with asgi_client(server) as client:
        yield server, client
    await server.stop()


def instances(app: NacosApp) -> list[Instance]:
    return [i for s in app.naming.services.values() for i in s.instances.values()]


def beat_json(metadata: str, port: int = 8080) -> str:
    """A beat as nacos-sdk-python sends it, carrying `metadata` (a JSON object's text)."""
    beat = {"ip": "10.0.0.5", "port": port, "serviceName": "DEFAULT_GROUP@@demo", "metadata": json.loads(metadata)}
    return json.dumps(beat)


# -- item 8: every path that creates or changes an instance takes the same metadata check -------------

CREATING = [
    ("POST", f"{NS}/instance", lambda m: {**INSTANCE, "metadata": m}),
    ("POST", "/v2/ns/instance", lambda m: {**INSTANCE, "metadata": m}),
    ("PUT", f"{NS}/instance/beat", lambda m: {"serviceName": "demo", "beat": beat_json(m)}),
    ("PUT", "/v2/ns/instance/beat", lambda m: {"serviceName": "demo", "beat": beat_json(m)}),
]
CHANGING = [
    ("PUT", f"{NS}/instance", lambda m: {**INSTANCE, "metadata": m}),
    ("PUT", "/v2/ns/instance", lambda m: {**INSTANCE, "metadata": m}),
    ("PATCH", f"{NS}/instance", lambda m: {**INSTANCE, "metadata": m}),
    ("PATCH", "/v2/ns/instance", lambda m: {**INSTANCE, "metadata": m}),
    ("PUT", f"{NS}/instance/metadata/batch", lambda m: {"serviceName": "demo", "metadata": m}),
    ("PUT", "/v2/ns/instance/metadata/batch", lambda m: {"serviceName": "demo", "metadata": m}),
    ("PUT", f"{NS}/service", lambda m: {"serviceName": "demo", "protectThreshold": "0", "metadata": m}),
    ("PUT", "/v2/ns/service", lambda m: {"serviceName": "demo", "metadata": m}),
    ("POST", f"{NS}/service", lambda m: {"serviceName": "other", "metadata": m}),
    ("POST", "/v2/ns/service", lambda m: {"serviceName": "other", "metadata": m}),
]
CLUSTER = ("PUT", f"{NS}/cluster", lambda m: {**CLUSTER_FORM, "metadata": m})
CLUSTER_FORM = {"serviceName": "demo", "clusterName": "DEFAULT", "checkPort": "80", "useInstancePort4Check": "true"}
CLUSTER_FORM["healthChecker"] = '{"type":"TCP"}'


def route_id(case: tuple[str, str, Any]) -> str:
    return f"{case[0]} {case[1]}"


@pytest.mark.parametrize("metadata", [BIG, WITH_NUL], ids=["over 1024", "NUL"])
@pytest.mark.parametrize("case", CREATING, ids=route_id)
async def test_item_08_no_path_creates_an_instance_with_metadata_a_register_refuses(
    open_client: tuple[NacosApp, httpx.AsyncClient], case: tuple[str, str, Any], metadata: str
) -> None:
    app, client = open_client
    method, path, form = case
    response = await client.request(method, path, data=form(metadata))
    assert response.status_code == 400, response.text
    assert instances(app) == []


@pytest.mark.parametrize("metadata", [BIG, WITH_NUL], ids=["over 1024", "NUL"])
@pytest.mark.parametrize("case", [*CHANGING, CLUSTER], ids=route_id)
async def test_item_08_no_path_changes_metadata_beyond_what_a_register_accepts(
    open_client: tuple[NacosApp, httpx.AsyncClient], case: tuple[str, str, Any], metadata: str
) -> None:
    app, client = open_client
    assert (await client.post(f"{NS}/instance", data={**INSTANCE, "ephemeral": "false"})).text == "ok"
    method, path, form = case
    response = await client.request(method, path, data=form(metadata))
    assert response.status_code == 400, response.text
    [service] = app.naming.services.values()
    assert [i.metadata for i in instances(app)] == [{}]
    assert [o.metadata for o in service.overrides.values()] in ([], [{}])
    assert service.metadata == {} and all(c.metadata == {} for c in service.clusters.values())


async def test_item_08_a_beat_with_legal_metadata_still_re_registers(
    open_client: tuple[NacosApp, httpx.AsyncClient],
) -> None:
    app, client = open_client
    beat = beat_json(json.dumps({"zone": "a"}))
    answer = await client.put(f"{NS}/instance/beat", data={"serviceName": "demo", "beat": beat})
    assert answer.json()["code"] == 10200
    assert [i.metadata for i in instances(app)] == [{"zone": "a"}]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.integration
def test_item_08_twenty_beats_of_10_mib_metadata_are_refused_and_the_server_stays_small(tmp_path: Path) -> None:
    """The finding: each beat re-registered its instance with the 10 MB metadata (20 beats: +180 MB, and
    every list answer 200 MB). Each is now refused before its JSON is even parsed."""
    server = ServerProcess(tmp_path / "home")
    server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        with httpx.Client(base_url=server.base, timeout=60) as http:
            metadata = json.dumps({"blob": "x" * (10 * MiB)})
            for port in range(3):  # warm-up: the first requests size the allocator and the caches
                http.put(f"{NS}/instance/beat", data={"serviceName": "demo", "beat": beat_json("{}", 9000 + port)})
            before = rss_bytes(pid)
            answers = []
            for port in range(20):
                body = {"serviceName": "demo", "beat": beat_json(metadata, 8000 + port)}
                answers.append(http.put(f"{NS}/instance/beat", data=body))
            grown = rss_bytes(pid) - before
            listed = http.get(f"{NS}/instance/list", params={"serviceName": "demo"})
        assert [a.status_code for a in answers] == [400] * 20
        assert all(len(a.request.content) < 11 * MiB for a in answers)  # under the body limit: refused by validation
        assert len(listed.content) < 10_000  # the warm-up instances at most (they expire if this ran slowly)
        assert all(h["port"] >= 9000 for h in listed.json()["hosts"])
        assert grown < 50 * MiB, f"RSS grew by {grown / MiB:.0f} MiB"
    finally:
        server.stop()


# -- item 12: listings show only what the caller may read ---------------------------------------------


async def seed_groups(app: NacosApp) -> None:
    """Namespace `dev`: services a and b and config g.yaml in group G; service secret and config h.yaml in H."""
    for group, name in (("G", "a"), ("G", "b"), ("H", "secret")):
        await app.naming.register(ServiceKey("dev", group, name), Instance("10.0.0.1", 80))
    for group, data_id in (("G", "g.yaml"), ("H", "h.yaml")):
        await app.configs.publish(Publish(ConfigKey("dev", group, data_id), "x"))


@pytest.fixture
async def group_user(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, httpx.AsyncClient, str, str]]:
    """User u1 with `dev:G:*` (read and write), and the admin's token."""
    app = await app_with_user(tmp_path, "dev:G:*", "rw")
    await seed_groups(app)
    async with asgi_client(app) as client:
        user, admin = await login(client, "u1", USER_PASSWORD), await login(client, "nacos", ADMIN_PASSWORD)
        yield app, client, user, admin
    await app.stop()


async def test_item_12_the_catalog_lists_only_readable_services_and_counts_only_them(
    group_user: tuple[NacosApp, httpx.AsyncClient, str, str],
) -> None:
    _, client, user, admin = group_user
    query = {"namespaceId": "dev", "groupName": "G", "pageNo": "1", "pageSize": "10"}
    shown = (await client.get(f"{NS}/catalog/services", params={**query, "accessToken": user})).json()
    assert [(row["groupName"], row["name"]) for row in shown["serviceList"]] == [("G", "a"), ("G", "b")]
    assert shown["count"] == 2
    everything = {"namespaceId": "dev", "pageNo": "1", "pageSize": "10", "accessToken": admin}
    assert (await client.get(f"{NS}/catalog/services", params=everything)).json()["count"] == 3


async def test_item_12_service_lists_v1_and_v2_show_only_readable_services(
    group_user: tuple[NacosApp, httpx.AsyncClient, str, str],
) -> None:
    _, client, user, _ = group_user
    query = {"namespaceId": "dev", "groupName": "G", "pageNo": "1", "pageSize": "10", "accessToken": user}
    assert (await client.get(f"{NS}/service/list", params=query)).json() == {"count": 2, "doms": ["a", "b"]}
    v2 = (await client.get("/v2/ns/service/list", params=query)).json()["data"]
    assert v2 == {"count": 2, "services": ["a", "b"]}
    other = await client.get(f"{NS}/service/list", params={**query, "groupName": "H"})
    assert other.status_code == 403


async def test_item_12_config_history_keys_show_only_readable_configs(
    group_user: tuple[NacosApp, httpx.AsyncClient, str, str],
) -> None:
    _, client, user, admin = group_user
    query = {"tenant": "dev", "group": "G", "accessToken": user}
    keys = (await client.get("/v1/cs/history/configs", params=query)).json()
    assert [(k["group"], k["dataId"]) for k in keys] == [("G", "g.yaml")]
    v2 = await client.get("/v2/cs/history/configs", params={"namespaceId": "dev", "group": "G", "accessToken": user})
    assert [(k["group"], k["dataId"]) for k in v2.json()["data"]] == [("G", "g.yaml")]
    every = (await client.get("/v1/cs/history/configs", params={"tenant": "dev", "accessToken": admin})).json()
    assert len(every) == 2


@pytest.mark.parametrize("mode", ["accurate", "blur"])
async def test_item_12_config_searches_show_only_readable_configs(
    group_user: tuple[NacosApp, httpx.AsyncClient, str, str], mode: str
) -> None:
    _, client, user, admin = group_user
    query = {"search": mode, "tenant": "dev", "dataId": "", "group": "G", "pageNo": "1", "pageSize": "10"}
    page = (await client.get("/v1/cs/configs", params={**query, "accessToken": user})).json()
    assert [(i["group"], i["dataId"]) for i in page["pageItems"]] == [("G", "g.yaml")]
    assert page["totalCount"] == 1
    detail = {**query, "config_detail": "x", "accessToken": user}
    found = (await client.get("/v2/cs/config/searchDetail", params=detail)).json()
    assert [(i["group"], i["dataId"]) for i in found["pageItems"]] == [("G", "g.yaml")]
    everything = {**query, "group": "", "accessToken": admin}
    assert (await client.get("/v1/cs/configs", params=everything)).json()["totalCount"] == 2


# -- item 13: names are visible text; operator figures and push resets need an admin ------------------


@pytest.mark.parametrize(
    "name",
    ["a\x00b", "evil\u202egnp.exe", "zero\u200bwidth", "bom\ufeff", "bell\x07", "line\u2028sep", "tab\tname"],
    ids=["NUL", "RLO", "ZWSP", "BOM", "BEL", "LSEP", "TAB"],
)
@pytest.mark.parametrize("param", ["serviceName", "groupName", "clusterName", "namespaceId"])
async def test_item_13_invisible_characters_in_any_naming_name_are_refused(
    open_client: tuple[NacosApp, httpx.AsyncClient], param: str, name: str
) -> None:
    app, client = open_client
    for path in (f"{NS}/instance", "/v2/ns/instance"):
        response = await client.post(path, data={**INSTANCE, param: name})
        assert response.status_code == 400, (path, response.text)
    assert app.naming.services == {}


async def test_item_13_an_invisible_cluster_in_a_beat_is_refused(
    open_client: tuple[NacosApp, httpx.AsyncClient],
) -> None:
    app, client = open_client
    beat = json.dumps({"ip": "10.0.0.5", "port": 8080, "cluster": "c\u202e1", "serviceName": "DEFAULT_GROUP@@demo"})
    response = await client.put(f"{NS}/instance/beat", data={"serviceName": "demo", "beat": beat})
    assert response.status_code == 400
    assert app.naming.services == {}


async def test_item_13_visible_non_ascii_service_names_still_register(
    open_client: tuple[NacosApp, httpx.AsyncClient],
) -> None:
    _, client = open_client
    for name in ("café-api", "order😀svc"):
        assert (await client.post(f"{NS}/instance", data={**INSTANCE, "serviceName": name})).text == "ok"


@pytest.fixture
async def plain_user(tmp_path: Path) -> AsyncIterator[tuple[NacosApp, httpx.AsyncClient, str, str]]:
    """Auth on; u1 has read and write on everything in `public` (not an admin)."""
    app = await app_with_user(tmp_path, "public:*:*", "rw")
    async with asgi_client(app) as client:
        user, admin = await login(client, "u1", USER_PASSWORD), await login(client, "nacos", ADMIN_PASSWORD)
        yield app, client, user, admin
    await app.stop()


async def test_item_13_prometheus_needs_an_admin_when_auth_is_on(
    plain_user: tuple[NacosApp, httpx.AsyncClient, str, str],
) -> None:
    _, client, user, admin = plain_user
    assert (await client.get("/actuator/prometheus")).status_code == 403
    assert (await client.get("/actuator/prometheus", params={"accessToken": user})).status_code == 403
    by_token = await client.get("/actuator/prometheus", params={"accessToken": admin})
    assert by_token.status_code == 200 and "pynacos_http_requests_total" in by_token.text
    scrape = {"username": "nacos", "password": ADMIN_PASSWORD}  # what a Prometheus job sends (docs/metrics.md)
    assert (await client.get("/actuator/prometheus", params=scrape)).status_code == 200


async def test_item_13_prometheus_stays_open_with_auth_off(open_client: tuple[NacosApp, httpx.AsyncClient]) -> None:
    _, client = open_client
    assert (await client.get("/actuator/prometheus")).status_code == 200


@pytest.mark.parametrize("path", [f"{NS}/operator/metrics", f"{NS}/ops/metrics", "/v2/ns/operator/metrics"])
async def test_item_13_naming_figures_need_an_admin_but_the_status_stays_open(
    plain_user: tuple[NacosApp, httpx.AsyncClient, str, str], path: str
) -> None:
    _, client, user, admin = plain_user
    status = (await client.get(path)).json()
    assert status in ({"status": "UP"}, {"code": 0, "message": "success", "data": {"status": "UP"}})
    assert (await client.get(path, params={"onlyStatus": "false"})).status_code == 403
    assert (await client.get(path, params={"onlyStatus": "false", "accessToken": user})).status_code == 403
    figures = await client.get(path, params={"onlyStatus": "false", "accessToken": admin})
    assert figures.status_code == 200 and "instanceCount" in figures.text


async def test_item_13_only_an_admin_resets_the_push_statistics(
    plain_user: tuple[NacosApp, httpx.AsyncClient, str, str],
) -> None:
    app, client, user, admin = plain_user
    assert app.push is not None
    app.push.state.counters.acked += 3
    state = f"{NS}/operator/push/state"
    assert (await client.get(state, params={"accessToken": user})).json()["total"] == 3
    refused = await client.get(state, params={"reset": "true", "accessToken": user})
    assert (refused.status_code, refused.json()["message"]) == (403, "authorization failed!")
    assert (await client.get(state, params={"accessToken": user})).json()["total"] == 3
    assert (await client.get(state, params={"reset": "true", "accessToken": admin})).json()["reset"] is True
    assert (await client.get(state, params={"accessToken": user})).json()["total"] == 0
