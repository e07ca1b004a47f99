"""Cluster mode with three real server processes on 127.0.0.1, over real MariaDB and real PostgreSQL.

One 3-node cluster per database, shared by the module's tests (each uses its own config keys and users).
Auth is on: inter-node calls must carry the server identity, and tokens issued by one node must work on
the others. The database gets a name unique to this process and is dropped at the end.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pynacos.server.auth.node_signature import node_key, signed_headers
from pynacos.server.config.models import Config, ConfigKey, md5_of
from pynacos.server.settings import Settings
from pynacos.server.storage.configs import ConfigStore
from tests.integration.server_process import ServerProcess, free_port
from tests.server.grpc_support import GrpcTestClient, answer_metrics
from tests.server.storage.conftest import fresh_mysql, fresh_postgresql, raw_engine, require

pytestmark = pytest.mark.integration

DB = f"pynacos_cluster_{os.getpid()}"
#: the Nacos-written database: its own, so the shared cluster's database is never touched
NACOS_DB = f"pynacos_cluster_nacos_{os.getpid()}"
IDENTITY_KEY = "X-Pynacos-Node"
IDENTITY_VALUE = secrets.token_urlsafe(32)
SECRET = base64.b64encode(secrets.token_bytes(32)).decode()
ADMIN_PASSWORD = secrets.token_urlsafe(16)
GROUP = "DEFAULT_GROUP"


def database_properties(kind: str, name: str = DB) -> dict[str, str]:
    if kind == "mysql":
        return {
            "spring.sql.init.platform": "mysql",
            "db.url.0": f"jdbc:mysql://127.0.0.1:3306/{name}?characterEncoding=utf8",
            "db.user.0": "root",
        }
    return {
        "spring.sql.init.platform": "postgresql",
        "db.url.0": f"jdbc:postgresql://127.0.0.1:5432/{name}",
        "db.user.0": "postgres",
    }


def node_properties(
    kind: str, identity: str = IDENTITY_VALUE, secret: str = SECRET, database: str = DB
) -> dict[str, str]:
    return {
        **database_properties(kind, database),
        "nacos.standalone": "false",
        "server.address": "127.0.0.1",
        "nacos.inetutils.ip-address": "127.0.0.1",
        "nacos.core.auth.enabled": "true",
        "nacos.core.auth.server.identity.key": IDENTITY_KEY,
        "nacos.core.auth.server.identity.value": identity,
        "nacos.core.auth.plugin.nacos.token.secret.key": secret,
    }


def make_node(root: Path, ports: list[int], port: int, properties: dict[str, str]) -> ServerProcess:
    home = root / f"node-{port}"
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "cluster.conf").write_text("# test cluster\n" + "\n".join(f"127.0.0.1:{p}" for p in ports) + "\n")
    return ServerProcess(home, properties, port)


def distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if all(abs(port - other) > 1 and abs(port + 1000 - other) > 1 for other in ports):
            ports.append(port)
    return ports


def start_all(nodes: list[ServerProcess]) -> None:
    with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
        for done in [pool.submit(node.start, 40.0) for node in nodes]:
            done.result()


def login(node: ServerProcess, username: str = "nacos", password: str = ADMIN_PASSWORD) -> str:
    reply = httpx.post(node.base + "/v1/auth/login", data={"username": username, "password": password}, timeout=10)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["accessToken"])


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout} s (last: {last!r})")


@dataclass
class Cluster:
    kind: str
    root: Path
    ports: list[int]
    nodes: list[ServerProcess]
    tokens: dict[int, str] = field(default_factory=dict)

    def token(self, node: ServerProcess) -> str:
        if node.port not in self.tokens:
            self.tokens[node.port] = login(node)
        return self.tokens[node.port]

    def get_config(self, node: ServerProcess, data_id: str) -> httpx.Response:
        params = {"dataId": data_id, "group": GROUP, "accessToken": self.token(node)}
        return httpx.get(node.base + "/v1/cs/configs", params=params, timeout=10)

    def publish(self, node: ServerProcess, data_id: str, content: str) -> None:
        form = {"dataId": data_id, "group": GROUP, "content": content, "accessToken": self.token(node)}
        reply = httpx.post(node.base + "/v1/cs/configs", data=form, timeout=10)
        assert reply.text == "true", reply.text

    def members(self, node: ServerProcess) -> dict[str, dict[str, Any]]:
        params = {"accessToken": self.token(node)}
        reply = httpx.get(node.base + "/v1/core/cluster/nodes", params=params, timeout=10)
        assert reply.status_code == 200, reply.text
        return {m["address"]: m for m in reply.json()["data"]}

    def serves(self, node: ServerProcess, data_id: str, content: str) -> bool:
        reply = self.get_config(node, data_id)
        return reply.status_code == 200 and reply.text == content


async def create_database(kind: str, drop: bool = False, name: str = DB) -> None:
    if kind == "mysql":
        await fresh_mysql(name, create=not drop)
    else:
        await fresh_postgresql(name, create=not drop)


@pytest.fixture(scope="module", params=["mysql", "postgresql"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    kind = request.param
    require(kind)
    asyncio.run(create_database(kind))
    root = tmp_path_factory.mktemp(f"cluster-{kind}")
    ports = distinct_ports(3)
    nodes = [make_node(root, ports, port, node_properties(kind)) for port in ports]
    try:
        start_all(nodes)
        created = httpx.post(nodes[0].base + "/v1/auth/users/admin", data={"password": ADMIN_PASSWORD}, timeout=10)
        assert created.status_code == 200, created.text
        yield Cluster(kind, root, ports, nodes)
    finally:
        for node in nodes:
            node.stop()
        asyncio.run(create_database(kind, drop=True))


def test_every_node_lists_the_three_members_up(cluster: Cluster) -> None:
    addresses = sorted(node.address for node in cluster.nodes)
    for node in cluster.nodes:
        wait_for(
            lambda node=node: all(m["state"] == "UP" for m in cluster.members(node).values()),  # type: ignore[misc]
            15,
            f"every member UP on {node.address}",
        )
        members = cluster.members(node)
        assert sorted(members) == addresses
        assert members[node.address]["extendInfo"]["version"] == "2.5.1"
        simple = httpx.get(node.base + "/v1/core/cluster/simple/nodes", params={"accessToken": cluster.token(node)})
        assert sorted(simple.json()["data"]) == addresses
        listed = httpx.get(node.base + "/v2/core/cluster/node/list", params={"accessToken": cluster.token(node)})
        assert sorted(m["address"] for m in listed.json()["data"]) == addresses


def test_the_report_route_refuses_a_caller_without_the_identity(cluster: Cluster) -> None:
    a = cluster.nodes[0]
    body = {"ip": "127.0.0.1", "port": cluster.ports[1]}
    assert httpx.post(a.base + "/v1/core/cluster/report", json=body).status_code == 403
    token = {"accessToken": cluster.token(a)}
    assert httpx.post(a.base + "/v1/core/cluster/report", json=body, params=token).status_code == 403
    forged = {IDENTITY_KEY: "not-the-value"}
    assert httpx.post(a.base + "/v1/cs/communication/dataChange", headers=forged).status_code == 403
    assert (
        httpx.post(a.base + "/v1/cs/communication/dataChange", headers={IDENTITY_KEY: IDENTITY_VALUE}).status_code
        == 403
    )


def test_a_signed_message_from_an_address_that_is_not_a_member_is_refused(cluster: Cluster) -> None:
    """security.md §5.4: the signature and a member's address (127.0.0.2 is loopback, but not listed)."""
    a = cluster.nodes[0]
    path = "/v1/cs/communication/dataChange"
    form = {"dataId": "x", "group": GROUP, "tenant": ""}

    def signed_from(local_address: str) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=local_address)
        with httpx.Client(transport=transport, timeout=10) as client:
            request = client.build_request("POST", a.base + path, data=form)
            request.headers.update(signed_headers(node_key(IDENTITY_VALUE), "POST", path, b"", request.content))
            return client.send(request)

    stranger = signed_from("127.0.0.2")
    assert stranger.status_code == 403 and "not a member's address" in stranger.json()["message"]
    assert signed_from("127.0.0.1").status_code == 200


def long_poll(node: ServerProcess, token: str, data_id: str, results: list[tuple[float, str]]) -> None:
    reply = httpx.post(
        node.base + "/v1/cs/configs/listener",
        params={"accessToken": token},
        data={"Listening-Configs": f"{data_id}\x02{GROUP}\x02\x01"},
        headers={"Long-Pulling-Timeout": "30000"},
        timeout=40,
    )
    results.append((time.monotonic(), reply.text))


def test_a_publish_on_a_reaches_a_long_poll_on_c_within_a_second(cluster: Cluster) -> None:
    a, c = cluster.nodes[0], cluster.nodes[2]
    data_id = f"longpoll-{cluster.kind}"
    results: list[tuple[float, str]] = []
    poller = threading.Thread(target=long_poll, args=(c, cluster.token(c), data_id, results))
    poller.start()
    time.sleep(0.5)  # the poll is held by then (nothing would answer it before the publish)
    assert not results
    cluster.publish(a, data_id, "v1")
    published = time.monotonic()
    poller.join(10)
    assert results, "the long poll on C was not answered"
    answered, text = results[0]
    assert data_id in text
    assert answered - published < 1.0
    assert cluster.serves(c, data_id, "v1")


def test_a_publish_on_a_reaches_a_grpc_listener_on_c_within_a_second(cluster: Cluster) -> None:
    a, c = cluster.nodes[0], cluster.nodes[2]
    data_id = f"grpc-{cluster.kind}"

    async def scenario() -> float:
        client = GrpcTestClient(c.port + 1000, token=cluster.token(c))
        await client.connect()
        try:
            context = {"dataId": data_id, "group": GROUP, "tenant": "", "md5": ""}
            listen = await client.request(
                "ConfigBatchListenRequest", {"listen": True, "configListenContexts": [context]}
            )
            assert listen.body["resultCode"] == 200, listen.body
            await asyncio.to_thread(cluster.publish, a, data_id, "v1")
            published = time.monotonic()
            pushed = await client.wait_push("ConfigChangeNotifyRequest", timeout=10)
            assert pushed.body["dataId"] == data_id
            return time.monotonic() - published
        finally:
            await client.close()

    assert asyncio.run(scenario()) < 1.0


def test_the_loader_sees_every_member_and_a_smart_reload_moves_connections_off_the_busiest(
    cluster: Cluster,
) -> None:
    """`/v3/admin/core/loader/cluster` lists the three members' figures; four SDK connections on C and none
    elsewhere: a smart reload tells C to keep the average (2) and reset the rest."""
    a, c = cluster.nodes[0], cluster.nodes[2]
    admin = {"accessToken": cluster.token(a)}

    def loader_cluster() -> dict[str, Any]:
        reply = httpx.get(a.base + "/v3/admin/core/loader/cluster", params=admin, timeout=10)
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()["data"]
        return data

    async def scenario() -> None:
        clients = [GrpcTestClient(c.port + 1000, token=cluster.token(c)) for _ in range(4)]
        for client in clients:
            await client.connect()
        try:
            shown = await asyncio.to_thread(loader_cluster)
            assert (shown["memberCount"], shown["metricsCount"], shown["completed"]) == (3, 3, True)
            assert {node["address"] for node in shown["detail"]} == {node.address for node in cluster.nodes}
            on_c = {node["address"]: node["sdkConCount"] for node in shown["detail"]}[c.address]
            assert on_c >= 4
            moved = await asyncio.to_thread(
                httpx.post, a.base + "/v3/admin/core/loader/smartReloadCluster", params=admin, timeout=30
            )
            assert moved.status_code == 200, moved.text
            after = await asyncio.to_thread(loader_cluster)
            left = {node["address"]: node["sdkConCount"] for node in after["detail"]}[c.address]
            assert left < on_c and left <= -(-after["total"] // 3) + 1, after
        finally:
            for client in clients:
                await client.close()

    asyncio.run(scenario())


def test_config_client_metrics_of_the_cluster_include_clients_on_other_members(cluster: Cluster) -> None:
    """`metrics/cluster` on A asks C, whose gRPC client answers; `metrics/ip` on A asks only A's clients."""
    a, c = cluster.nodes[0], cluster.nodes[2]
    admin = {"accessToken": cluster.token(a), "ip": "127.0.0.1"}

    async def scenario() -> None:
        client = GrpcTestClient(c.port + 1000, token=cluster.token(c))
        await client.connect()
        client.ack = False
        try:
            metrics = {"app.yaml+DEFAULT_GROUP+": {"md5": "0cc175b9c0f1b6a831c399e269772661"}}
            reply, _ = await asyncio.gather(
                asyncio.to_thread(httpx.get, a.base + "/v3/admin/cs/metrics/cluster", params=admin, timeout=30),
                answer_metrics(client, metrics),
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["data"] == metrics
            local = await asyncio.to_thread(httpx.get, a.base + "/v3/admin/cs/metrics/ip", params=admin, timeout=30)
            assert local.json()["data"] == {}
        finally:
            await client.close()

    asyncio.run(scenario())


def test_a_beta_version_published_on_a_is_served_by_c(cluster: Cluster) -> None:
    a, c = cluster.nodes[0], cluster.nodes[2]
    data_id = f"beta-{cluster.kind}"
    cluster.publish(a, data_id, "formal")
    form = {"dataId": data_id, "group": GROUP, "content": "beta", "accessToken": cluster.token(a)}
    reply = httpx.post(a.base + "/v1/cs/configs", data=form, headers={"betaIps": "127.0.0.1"}, timeout=10)
    assert reply.text == "true", reply.text
    beta = wait_for(
        lambda: (r := cluster.get_config(c, data_id)).text == "beta" and r,  # type: ignore[redundant-expr]
        2,
        "the beta version on C",
    )
    assert beta.headers["isBeta"] == "true"
    stop = {"dataId": data_id, "group": GROUP, "beta": "true", "accessToken": cluster.token(a)}
    stopped = httpx.delete(a.base + "/v1/cs/configs", params=stop, timeout=10)
    assert stopped.status_code == 200, stopped.text
    wait_for(lambda: cluster.serves(c, data_id, "formal"), 2, "the beta stopped on C")


async def write_behind_the_cluster(kind: str, data_id: str, content: str) -> None:
    """A write straight into the database (a config row and its history row, one transaction), as a node
    whose notification got lost would leave it: no node is told."""
    properties = database_properties(kind)
    settings = Settings(storage=kind, db_url=properties["db.url.0"], db_user=properties["db.user.0"])
    engine = raw_engine(settings)
    try:
        key = ConfigKey("", GROUP, data_id)
        await ConfigStore(engine).insert(Config(id=0, key=key, content=content, md5=md5_of(content)))
    finally:
        await engine.dispose()


def test_a_change_whose_notification_was_lost_is_repaired_within_ten_seconds(cluster: Cluster) -> None:
    data_id = f"repair-{cluster.kind}"
    asyncio.run(write_behind_the_cluster(cluster.kind, data_id, "written behind"))
    for node in cluster.nodes:
        wait_for(lambda node=node: cluster.serves(node, data_id, "written behind"), 10, f"repair on {node.address}")  # type: ignore[misc]


def test_a_password_changed_on_a_revokes_the_old_token_on_c_within_two_seconds(cluster: Cluster) -> None:
    a, c = cluster.nodes[0], cluster.nodes[2]
    user = f"alice{cluster.kind}"
    admin = {"accessToken": cluster.token(a)}
    created = httpx.post(a.base + "/v1/auth/users", params=admin, data={"username": user, "password": "first-pass-1"})
    assert created.status_code == 200, created.text
    old = wait_for(lambda: _try_login(c, user, "first-pass-1"), 5, "the new user logging in on C")
    probe = {"dataId": "anything", "group": GROUP, "accessToken": old}
    assert "authorization failed" in httpx.get(c.base + "/v1/cs/configs", params=probe).text  # valid, not permitted
    changed = httpx.put(
        a.base + "/v1/auth/users", params=admin, data={"username": user, "newPassword": "second-pass-2"}
    )
    assert changed.status_code == 200, changed.text
    started = time.monotonic()
    wait_for(
        lambda: "authorization failed" not in httpx.get(c.base + "/v1/cs/configs", params=probe).text,
        2,
        "the old token refused on C",
    )
    assert time.monotonic() - started < 2
    assert httpx.get(c.base + "/v1/cs/configs", params=probe).status_code == 403


def _try_login(node: ServerProcess, username: str, password: str) -> str | None:
    reply = httpx.post(node.base + "/v1/auth/login", data={"username": username, "password": password}, timeout=10)
    return str(reply.json()["accessToken"]) if reply.status_code == 200 else None


def test_the_login_throttle_counts_failures_made_on_every_node(cluster: Cluster) -> None:
    user = f"mallory-{cluster.kind}"
    for attempt in range(10):  # 4 on A, 3 on B, 3 on C: no node saw ten itself
        node = cluster.nodes[attempt % 3]
        assert httpx.post(node.base + "/v1/auth/login", data={"username": user, "password": "guess"}).status_code == 403
    b = cluster.nodes[1]
    tries = 0

    def locked() -> bool:
        nonlocal tries
        tries += 1
        return httpx.post(b.base + "/v1/auth/login", data={"username": user, "password": "guess"}).status_code == 429

    wait_for(locked, 5, "the lock on B")
    assert 3 + tries - 1 < 10, "B locked only after ten failures of its own"


def test_a_node_killed_loses_nothing_acknowledged_and_catches_up_after_a_restart(cluster: Cluster) -> None:
    a, b, c = cluster.nodes
    before = [f"kill-{cluster.kind}-{i}" for i in range(10)]
    for data_id in before:
        cluster.publish(b, data_id, data_id)
    b.kill()
    for data_id in before:
        for node in (a, c):
            wait_for(lambda node=node, data_id=data_id: cluster.serves(node, data_id, data_id), 10, data_id)  # type: ignore[misc]
    wait_for(lambda: cluster.members(a)[b.address]["state"] == "DOWN", 15, "B DOWN on A")
    while_down = f"while-down-{cluster.kind}"
    cluster.publish(a, while_down, "published while B was down")
    b.start(40)
    cluster.tokens.pop(b.port, None)
    assert cluster.serves(b, while_down, "published while B was down")
    assert all(cluster.serves(b, data_id, data_id) for data_id in before)
    wait_for(lambda: cluster.members(a)[b.address]["state"] == "UP", 15, "B UP again on A")
    after = f"after-restart-{cluster.kind}"
    cluster.publish(c, after, "v1")
    wait_for(lambda: cluster.serves(b, after, "v1"), 2, "a publish on C reaching B after its restart")


def test_nodes_whose_identity_or_secret_differ_are_refused_and_reported(cluster: Cluster) -> None:
    wrong_identity, wrong_secret = distinct_ports(2)
    listed = [*cluster.ports, wrong_identity, wrong_secret]
    outsiders = [
        make_node(
            cluster.root, listed, wrong_identity, node_properties(cluster.kind, identity=secrets.token_urlsafe(32))
        ),
        make_node(
            cluster.root,
            listed,
            wrong_secret,
            node_properties(cluster.kind, secret=base64.b64encode(secrets.token_bytes(32)).decode()),
        ),
    ]
    try:
        start_all(outsiders)
        d, e = outsiders
        a = cluster.nodes[0]

        def issues(node: ServerProcess, name: str) -> bool:
            member = cluster.members(node)[a.address]
            return name in member["extendInfo"].get("pynacosIssues", {})

        wait_for(lambda: issues(d, "identity"), 10, "the refused identity shown on D")
        assert (
            "nacos.core.auth.server.identity.value"
            in cluster.members(d)[a.address]["extendInfo"]["pynacosIssues"]["identity"]
        )
        wait_for(lambda: "node-to-node call refused (bad signature)" in a.log(), 10, "A logging the refused identity")
        assert "refused this node's server identity" in d.log()
        # E's token secret differs: A answers its reports, and E sees the fingerprint differ
        e_token = login(e)
        e_members = httpx.get(e.base + "/v1/core/cluster/nodes", params={"accessToken": e_token}).json()["data"]
        assert e_members  # E's own token works on E
        e_view = Cluster(cluster.kind, cluster.root, listed, outsiders, {e.port: e_token})
        wait_for(
            lambda: "tokenSecret" in e_view.members(e)[a.address]["extendInfo"].get("pynacosIssues", {}),
            10,
            "the differing token secret shown on E",
        )
        assert "token.secret.key" in e.log()
        assert httpx.get(a.base + "/v1/core/cluster/nodes", params={"accessToken": e_token}).status_code == 403
        doctor = subprocess.run(
            [sys.executable, "-m", "pynacos", "doctor", "--server", d.base, "--cluster", "--username", "nacos"],
            env={**os.environ, "NACOS_PASSWORD": ADMIN_PASSWORD},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "identity" in doctor.stdout, doctor.stdout + doctor.stderr
    finally:
        for node in outsiders:
            node.stop()


async def nacos_database(kind: str) -> None:
    """Nacos 3.0's published schema (= 2.5.1's) with rows as Nacos writes them: app.yaml in public, a `nacos`
    admin with Nacos's BCrypt hash of `nacos`, and a reader whose role may read everything in public."""
    import bcrypt
    from sqlalchemy import text

    from tests.server.storage.nacos_layouts import NACOS_HASH, build

    await create_database(kind, name=NACOS_DB)
    properties = database_properties(kind, NACOS_DB)
    engine = raw_engine(Settings(storage=kind, db_url=properties["db.url.0"], db_user=properties["db.user.0"]))
    reader_hash = bcrypt.hashpw(b"reader-pass", bcrypt.gensalt(10, prefix=b"2a")).decode()
    rows = [
        text(f"INSERT INTO users (username, password, enabled) VALUES ('nacos', '{NACOS_HASH}', 1)"),
        text("INSERT INTO roles (username, role) VALUES ('nacos', 'ROLE_ADMIN')"),
        text(f"INSERT INTO users (username, password, enabled) VALUES ('reader', '{reader_hash}', 1)"),
        text("INSERT INTO roles (username, role) VALUES ('reader', 'ops')"),
        text("INSERT INTO permissions (role, resource, action) VALUES ('ops', ':*:*', 'r')"),
    ]
    try:
        await build(engine, "3.0", kind, rows)
    finally:
        await engine.dispose()


def test_a_database_nacos_wrote_serves_login_and_reads_on_every_node(tmp_path: Path) -> None:
    from tests.server.storage.nacos_layouts import APP_V1

    require("mysql")
    asyncio.run(nacos_database("mysql"))
    ports = distinct_ports(2)
    nodes = [make_node(tmp_path, ports, port, node_properties("mysql", database=NACOS_DB)) for port in ports]
    try:
        start_all(nodes)
        for node in nodes:
            admin = login(node, "nacos", "nacos")
            reader = login(node, "reader", "reader-pass")
            app = {"dataId": "app.yaml", "group": GROUP}
            assert httpx.get(node.base + "/v1/cs/configs", params={**app, "accessToken": reader}).text == APP_V1
            refused = httpx.post(node.base + "/v1/cs/configs", data={**app, "content": "x", "accessToken": reader})
            assert refused.status_code == 403
            users = httpx.get(node.base + "/v1/auth/users", params={"pageNo": 1, "pageSize": 10, "accessToken": admin})
            assert {u["username"] for u in users.json()["pageItems"]} == {"nacos", "reader"}
    finally:
        for node in nodes:
            node.stop()
        asyncio.run(create_database("mysql", drop=True, name=NACOS_DB))


def run_server(home: Path, properties: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "application.properties").write_text("\n".join(f"{k}={v}" for k, v in properties.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NACOS_", "PYNACOS_", "MODE"))}
    command = [sys.executable, "-m", "pynacos", "server", "--home", str(home), "--port", str(free_port())]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_cluster_mode_refuses_sqlite_naming_the_fix(tmp_path: Path) -> None:
    properties = {k: v for k, v in node_properties("mysql").items() if not k.startswith(("spring.", "db."))}
    finished = run_server(tmp_path, {**properties, "nacos.member.list": "127.0.0.1:8848"})
    assert finished.returncode != 0
    assert "cluster mode needs a shared MySQL/MariaDB or PostgreSQL database" in finished.stderr
    assert "spring.sql.init.platform=mysql" in finished.stderr


def test_cluster_mode_refuses_a_missing_identity_naming_the_fix(tmp_path: Path) -> None:
    properties = {k: v for k, v in node_properties("mysql").items() if "identity" not in k}
    finished = run_server(tmp_path, {**properties, "nacos.core.auth.enabled": "false"})
    assert finished.returncode != 0
    assert "Empty identity" in finished.stderr
    assert "nacos.core.auth.server.identity.key" in finished.stderr


def test_db_upgrade_creates_the_missing_tables_and_says_so(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pynacos.cli import main

    first = CliRunner().invoke(main, ["db", "upgrade", "--home", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("created ") and "config_info," in first.output
    again = CliRunner().invoke(main, ["db", "upgrade", "--home", str(tmp_path)])
    assert "every table exists" in again.output and "nothing to change" in again.output
