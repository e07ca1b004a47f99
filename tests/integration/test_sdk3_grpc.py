"""nacos-sdk-python 3.2.0, the gRPC client (`from v2.nacos import ...`), unchanged, against a real pynacos
server over sockets: HTTP on port P (the SDK logs in there), gRPC on P + 1000 for everything else.

The SDK runs in its own virtualenv (sdk3.py), driven by sdk3_scripts/driver.py in a subprocess: a test
sends it commands and reads its replies and events (listener and subscriber calls, connection attempts
and events, pushes), each stamped with when the test read it. Two servers are shared by the module, auth
off and auth on; every test uses its own data ids, services and users. A push must arrive within
PUSH_WITHIN seconds; the tests wait up to PATIENCE so that a slow one is reported with its latency.
`test_client_stays_connected_for_two_minutes` alone takes about 130 s.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.servers import Admin, start_auth_server
from tests.integration.grpc_ports import free_port_pair, start_grpc_server, wait_for_grpc
from tests.integration.sdk3 import SCRIPTS, VENV, Message, Reply, Sdk3Driver, Sdk3Unavailable, run_script, sdk3_python
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.integration

PUSH_WITHIN = 2.0
PATIENCE = 10.0
STEADY_FOR = 125.0
GROUP = "SDK3_GROUP"
DEFAULT_GROUP = "DEFAULT_GROUP"
V1 = "v=1 from http: 中文 ✓\nsecond line"
V2 = "v=2 from grpc: ünïcödé ✓"
ANCHOR = ("10.30.0.1", 8080)
INSTANCE = ("10.30.0.2", 8080)


@dataclass
class Target:
    """A shared server and, with auth on, its first admin (who makes a fresh user for each test)."""

    server: ServerProcess
    admin: Admin | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"accessToken": self.admin.token} if self.admin else {}

    def user(self, kind: str = "user") -> dict[str, str]:
        """Driver settings for a new user who may read and write the public namespace ({} with auth off)."""
        if self.admin is None:
            return {}
        name, password = unique(f"sdk3-{kind}"), f"Pw-{uuid.uuid4().hex}"
        self.admin.add_user(name, password)
        return {"username": name, "password": password}

    def log_mark(self) -> int:
        return len(self.server.log())

    def log_since(self, mark: int) -> list[str]:
        return self.server.log()[mark:].splitlines()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def address(host: tuple[str, int]) -> str:
    return f"{host[0]}:{host[1]}"


def addresses(hosts: Iterable[dict[str, Any]]) -> set[str]:
    return {f"{h['ip']}:{h['port']}" for h in hosts}


@pytest.fixture(scope="session")
def sdk3() -> Path:
    try:
        return sdk3_python()
    except Sdk3Unavailable as exc:
        pytest.fail(f"nacos-sdk-python 3.2.0 could not be installed into {VENV}: {exc}")


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = start_grpc_server(tmp_path_factory.mktemp("sdk3-plain") / "home")
    yield Target(server)
    server.stop()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server, admin = start_auth_server(tmp_path_factory.mktemp("sdk3-auth") / "home", port=free_port_pair())
    try:
        wait_for_grpc(server)
    except BaseException:
        server.stop()
        raise
    yield Target(server, admin)
    server.stop()


@pytest.fixture(params=["auth-off", "auth-on"])
def target(request: pytest.FixtureRequest) -> Target:
    found: Target = request.getfixturevalue("plain" if request.param == "auth-off" else "secured")
    return found


@pytest.fixture
def launch(sdk3: Path, tmp_path: Path) -> Iterator[Callable[..., Sdk3Driver]]:
    """Start a driver process for a target (settings: username, password, namespace); all end with the test."""
    drivers: list[Sdk3Driver] = []

    def start(target: Target, **settings: Any) -> Sdk3Driver:
        driver = Sdk3Driver({"server": target.server.address, **settings}, tmp_path / f"driver-{len(drivers) + 1}")
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.close()


def why(target: Target, *drivers: Sdk3Driver) -> str:
    return "".join(d.context() for d in drivers) + f"\n--- server log (tail) ---\n{target.server.log()[-5000:]}"


def http_publish(target: Target, data_id: str, content: str, group: str = GROUP) -> float:
    """Publish over HTTP; returns the monotonic time the server had acknowledged it."""
    response = httpx.post(
        target.server.base + "/v1/cs/configs",
        params=target.auth,
        data={"dataId": data_id, "group": group, "content": content},
        timeout=10,
    )
    assert (response.status_code, response.text) == (200, "true"), response.text
    return time.monotonic()


def http_config(target: Target, data_id: str, group: str = GROUP) -> httpx.Response:
    params = {**target.auth, "dataId": data_id, "group": group}
    return httpx.get(target.server.base + "/v1/cs/configs", params=params, timeout=10)


def http_hosts(target: Target, service: str) -> set[str]:
    """The instances GET /nacos/v1/ns/instance/list shows (an unknown service shows none)."""
    params = {**target.auth, "serviceName": service}
    response = httpx.get(target.server.base + "/v1/ns/instance/list", params=params, timeout=10)
    if response.status_code == 404:
        return set()
    assert response.status_code == 200, response.text
    return addresses(response.json()["hosts"])


def http_hosts_become(target: Target, service: str, expected: set[str], since: float) -> float:
    """Poll the HTTP instance list until it shows `expected`; the seconds from `since` (fails after PATIENCE)."""
    while (seen := http_hosts(target, service)) != expected:
        assert time.monotonic() - since < PATIENCE, f"{service} still lists {seen}, expected {expected}"
        time.sleep(0.05)
    return time.monotonic() - since


def config_event(data_id: str, content: str) -> Callable[[Message], bool]:
    return lambda m: m.get("event") == "config" and m.get("dataId") == data_id and m.get("content") == content


def service_event(service: str, hosts: set[str]) -> Callable[[Message], bool]:
    return lambda m: m.get("event") == "service" and m.get("service") == service and addresses(m["hosts"]) == hosts


def arrives(
    driver: Sdk3Driver, matches: Callable[[Message], bool], since: int, start: float, what: str, target: Target
) -> Message:
    """The first matching event after cursor `since`, asserted to have come within PUSH_WITHIN of `start`."""
    message = driver.wait_event(matches, PATIENCE, since)
    assert message is not None, f"{what}: nothing within {PATIENCE:.0f} s{why(target, driver)}"
    latency = message.at - start
    assert latency <= PUSH_WITHIN, f"{what} after {latency:.2f} s (at most {PUSH_WITHIN} s){why(target, driver)}"
    return message


def connection_ids(driver: Sdk3Driver) -> dict[str, str]:
    """rpc client name -> connection id, asserting every rpc client of every SDK client is RUNNING."""
    ids = {}
    for client, rpcs in driver.ok("status").items():
        for rpc in rpcs:
            assert rpc["status"] == "RUNNING", f"{client}: {rpc}{driver.context()}"
            ids[rpc["rpcClient"]] = rpc["connectionId"]
    return ids


def refused(reply: Reply) -> bool:
    """What 3.2.0 reports for a refused token: 403 from the server, or a failed re-login (it never re-logs on 403)."""
    return not reply.ok and (reply.code == 403 or (reply.code == 500 and "access token" in reply.message))


def test_client_connects_and_receives_the_setup_ack(plain: Target, sdk3: Path, tmp_path: Path) -> None:
    run = run_script(SCRIPTS / "connect.py", plain.server.address, str(tmp_path / "sdk"), cwd=tmp_path, timeout=90)
    context = run.context() + f"\n--- server log (tail) ---\n{plain.server.log()[-4000:]}"
    assert run.returncode == 0, context
    lines = {line["module"]: line for line in run.messages}
    assert set(lines) == {"config", "naming"}, context
    for line in lines.values():
        assert line["status"] == "RUNNING", context
        assert line["connectionId"], context
        # the client negotiates abilities: without a SetupAckRequest it waits 5 s and drops the connection
        assert line["pushes"][:1] == ["SetupAckRequest"], context
        assert line["seconds"] < 5, context
    assert lines["config"]["connectionId"] != lines["naming"]["connectionId"], context


def test_config_get_publish_remove(target: Target, launch: Callable[..., Sdk3Driver]) -> None:
    driver = launch(target, **target.user())
    driver.ok("config.start")
    data_id, from_http = unique("cfg"), unique("cfg-http")

    assert driver.ok("config.get", dataId=data_id, group=GROUP) == ""  # not found (errorCode 300) reads as ""
    assert driver.ok("config.publish", dataId=data_id, group=GROUP, content=V2) is True
    assert driver.ok("config.get", dataId=data_id, group=GROUP) == V2
    response = http_config(target, data_id)
    assert (response.status_code, response.text) == (200, V2)

    http_publish(target, from_http, V1)
    assert driver.ok("config.get", dataId=from_http, group=GROUP) == V1

    assert driver.ok("config.remove", dataId=data_id, group=GROUP) is True
    assert driver.ok("config.get", dataId=data_id, group=GROUP) == ""
    assert http_config(target, data_id).status_code == 404


def test_cas_publish_with_a_stale_md5_is_refused(plain: Target, launch: Callable[..., Sdk3Driver]) -> None:
    driver = launch(plain)
    driver.ok("config.start")
    data_id = unique("cas")
    assert driver.ok("config.publish", dataId=data_id, group=GROUP, content=V1) is True

    stale = driver.call("config.publish", dataId=data_id, group=GROUP, content=V2, casMd5=md5("something else"))
    assert not stale.ok and stale.error["type"] == "NacosException", stale
    assert http_config(plain, data_id).text == V1

    assert driver.ok("config.publish", dataId=data_id, group=GROUP, content=V2, casMd5=md5(V1)) is True
    assert http_config(plain, data_id).text == V2


def test_listener_fires_within_2s_of_http_and_grpc_publishes(target: Target, launch: Callable[..., Sdk3Driver]) -> None:
    driver = launch(target, **target.user())
    driver.ok("config.start", client="listener")
    driver.ok("config.start", client="publisher")  # a second client: its own connection
    data_id = unique("watched")
    driver.ok("config.listen", client="listener", dataId=data_id, group=GROUP)

    since = driver.mark()
    published = http_publish(target, data_id, V1)
    arrives(driver, config_event(data_id, V1), since, published, "listener after an HTTP publish", target)

    since = driver.mark()
    reply = driver.call("config.publish", client="publisher", dataId=data_id, group=GROUP, content=V2)
    assert reply.ok, reply
    arrives(driver, config_event(data_id, V2), since, reply.at, "listener after a gRPC publish", target)

    since = driver.mark()
    reply = driver.call("config.remove", client="publisher", dataId=data_id, group=GROUP)
    assert reply.ok, reply
    arrives(driver, config_event(data_id, ""), since, reply.at, "listener after a gRPC remove", target)
    pushes = {m["rpcClient"] for m in driver.events("push") if m["type"] == "ConfigChangeNotifyRequest"}
    assert len(pushes) == 1, f"config pushes went to {pushes}, expected only the listening connection"


def watch(target: Target, launch: Callable[..., Sdk3Driver], service: str) -> Sdk3Driver:
    """A naming client that registers ANCHOR and subscribes to `service`, having seen the anchor listed.

    The anchor keeps the list non-empty: 3.2.0 drops a service info without hosts instead of telling
    its subscribers (unless `update_cache_when_empty` is set)."""
    watcher = launch(target, **target.user("watcher"))
    watcher.ok("naming.start")
    watcher.ok("naming.register", service=service, ip=ANCHOR[0], port=ANCHOR[1])
    since = watcher.mark()
    watcher.ok("naming.subscribe", service=service)
    seen = watcher.wait_event(service_event(service, {address(ANCHOR)}), PATIENCE, since)
    assert seen is not None, f"the subscriber never saw the anchor{why(target, watcher)}"
    return watcher


def test_register_subscribe_deregister_notifies_within_2s(target: Target, launch: Callable[..., Sdk3Driver]) -> None:
    service = unique("svc")
    watcher = watch(target, launch, service)
    owner = launch(target, **target.user("owner"))
    owner.ok("naming.start")
    both = {address(ANCHOR), address(INSTANCE)}

    since = watcher.mark()
    registered = owner.call("naming.register", service=service, ip=INSTANCE[0], port=INSTANCE[1], metadata={"k": "v"})
    assert registered.ok, registered
    pushed = arrives(watcher, service_event(service, both), since, registered.at, "subscriber after a register", target)
    host = next(h for h in pushed["hosts"] if h["ip"] == INSTANCE[0])
    assert (host["clusterName"], host["healthy"], host["enabled"], host["weight"]) == ("DEFAULT", True, True, 1.0)
    assert host["metadata"] == {"k": "v"}
    assert http_hosts(target, service) == both

    queried = owner.ok("naming.query", service=service)
    assert (queried["name"], queried["groupName"], addresses(queried["hosts"])) == (service, DEFAULT_GROUP, both)
    assert service in owner.ok("naming.services")["services"]

    since = watcher.mark()
    deregistered = owner.call("naming.deregister", service=service, ip=INSTANCE[0], port=INSTANCE[1])
    assert deregistered.ok, deregistered
    anchor_only = service_event(service, {address(ANCHOR)})
    arrives(watcher, anchor_only, since, deregistered.at, "subscriber after a deregister", target)
    assert http_hosts(target, service) == {address(ANCHOR)}


@pytest.mark.parametrize("closing", ["shutdown", "kill"])
def test_instances_of_a_closed_client_are_gone_within_2s(
    plain: Target, launch: Callable[..., Sdk3Driver], closing: str
) -> None:
    """`shutdown`: the SDK's own shutdown(), the process lives on; `kill`: SIGKILL, the OS closes the socket."""
    service = unique("closing")
    watcher = watch(plain, launch, service)
    owner = launch(plain)
    owner.ok("naming.start")
    since = watcher.mark()
    owner.ok("naming.register", service=service, ip=INSTANCE[0], port=INSTANCE[1])
    both = {address(ANCHOR), address(INSTANCE)}
    assert watcher.wait_event(service_event(service, both), PATIENCE, since), why(plain, watcher, owner)
    assert http_hosts(plain, service) == both

    since = watcher.mark()
    if closing == "shutdown":
        closed = owner.call("shutdown", client="naming").at
    else:
        owner.kill()
        closed = time.monotonic()
    gone_after = http_hosts_become(plain, service, {address(ANCHOR)}, closed)
    assert gone_after <= PUSH_WITHIN, f"listed {gone_after:.2f} s after the client closed{why(plain, owner)}"
    anchor_only = service_event(service, {address(ANCHOR)})
    arrives(watcher, anchor_only, since, closed, "subscriber after the owner closed", plain)


def test_wrong_password_gives_the_auth_error_and_few_log_lines(
    secured: Target, launch: Callable[..., Sdk3Driver]
) -> None:
    user = secured.user("wrong")
    wrong = "Wrong-" + user["password"]
    mark = secured.log_mark()
    driver = launch(secured, username=user["username"], password=wrong)
    driver.ok("config.start")  # connecting needs no login: ServerCheck and ConnectionSetup are not secured

    replies = [driver.call("config.get", dataId=unique("d"), group=GROUP) for _ in range(12)]
    for reply in replies:
        # 3.2.0 logs in over HTTP before each request until it has a token, and reports a failed login so
        assert (reply.ok, reply.code, reply.message) == (False, 500, "get access token failed"), reply

    time.sleep(0.5)
    lines = secured.log_since(mark)
    about = [line for line in lines if user["username"] in line]
    assert len(about) <= 2, "\n".join(about)
    assert not [line for line in lines if wrong in line], "the server logged the password"


def test_requests_without_a_token_get_403_on_a_connection_that_stays(
    secured: Target, launch: Callable[..., Sdk3Driver]
) -> None:
    driver = launch(secured)  # no username: no login, no accessToken header
    driver.ok("config.start")
    driver.ok("naming.start")
    before = connection_ids(driver)
    mark = secured.log_mark()

    for _ in range(10):
        reply = driver.call("config.get", dataId=unique("d"), group=GROUP)
        assert (reply.ok, reply.code) == (False, 403), reply
    assert driver.call("config.publish", dataId=unique("d"), group=GROUP, content=V1).code == 403
    registered = driver.call("naming.register", service=unique("svc"), ip=INSTANCE[0], port=INSTANCE[1])
    assert (registered.ok, registered.code) == (False, 403), registered

    # refused in the handler's own response type: an ErrorResponse would make the client retry and reconnect
    assert connection_ids(driver) == before
    attempts = driver.events("connect-attempt")
    assert [a["ok"] for a in attempts] == [True, True], why(secured, driver)
    assert [c["state"] for c in driver.events("connection")] == ["connected", "connected"], why(secured, driver)
    time.sleep(0.5)
    refusals = [line for line in secured.log_since(mark) if re.search(r"refus|denied|forbidden|403", line, re.I)]
    assert len(refusals) <= 2, "\n".join(refusals)


def test_a_password_change_revokes_the_token_of_a_live_connection(
    secured: Target, launch: Callable[..., Sdk3Driver]
) -> None:
    assert secured.admin is not None
    user = secured.user("revoked")
    driver = launch(secured, **user)
    driver.ok("config.start")
    driver.ok("naming.start")
    data_id = unique("rev")
    assert driver.ok("config.publish", dataId=data_id, group=GROUP, content=V1) is True
    assert driver.ok("config.get", dataId=data_id, group=GROUP) == V1
    assert driver.ok("naming.register", service=unique("svc"), ip=INSTANCE[0], port=INSTANCE[1]) is True
    before = connection_ids(driver)

    secured.admin.set_password(user["username"], "New-" + user["password"])

    reply = driver.call("config.get", dataId=data_id, group=GROUP)
    assert refused(reply), f"config.get after the password change: {reply}"
    reply = driver.call("naming.register", service=unique("svc"), ip=INSTANCE[0], port=INSTANCE[1])
    assert refused(reply), f"naming.register after the password change: {reply}"
    assert connection_ids(driver) == before, "refused on the live connections, not by reconnecting"


def test_client_stays_connected_for_two_minutes(secured: Target, launch: Callable[..., Sdk3Driver]) -> None:
    """Idle but for its own health checks (every 5 s) and listens: no reconnect, nothing evicted."""
    driver = launch(secured, **secured.user("steady"))
    driver.ok("config.start")
    driver.ok("naming.start")
    data_id, service = unique("steady"), unique("steady")
    driver.ok("config.listen", dataId=data_id, group=GROUP)
    driver.ok("naming.register", service=service, ip=INSTANCE[0], port=INSTANCE[1])
    driver.ok("naming.subscribe", service=service)
    first = connection_ids(driver)
    started = time.monotonic()

    while (elapsed := time.monotonic() - started) < STEADY_FOR:
        time.sleep(min(5.0, STEADY_FOR - elapsed))
        now = connection_ids(driver)
        assert now == first, f"after {time.monotonic() - started:.0f} s: {now} != {first}{why(secured, driver)}"

    attempts = driver.events("connect-attempt")
    assert [a["ok"] for a in attempts] == [True, True], why(secured, driver)
    assert [c["state"] for c in driver.events("connection")] == ["connected", "connected"], why(secured, driver)
    since = driver.mark()
    published = http_publish(secured, data_id, V1)
    arrives(driver, config_event(data_id, V1), since, published, "listener after two idle minutes", secured)
    assert http_hosts(secured, service) == {address(INSTANCE)}
    assert driver.ok("config.get", dataId=data_id, group=GROUP) == V1


def test_grpc_publish_wakes_an_http_long_poll(plain: Target, launch: Callable[..., Sdk3Driver]) -> None:
    driver = launch(plain)
    driver.ok("config.start")
    data_id = unique("polled")
    http_publish(plain, data_id, V1)
    answered: dict[str, Any] = {}

    def long_poll() -> None:
        response = httpx.post(
            plain.server.base + "/v1/cs/configs/listener",
            data={"Listening-Configs": f"{data_id}\x02{GROUP}\x02{md5(V1)}\x01"},
            headers={"Long-Pulling-Timeout": "30000"},
            timeout=40,
        )
        answered.update(response=response, at=time.monotonic())

    poller = threading.Thread(target=long_poll, daemon=True)
    poller.start()
    time.sleep(1.0)
    assert poller.is_alive(), f"the long poll was answered before any change: {answered}"

    reply = driver.call("config.publish", dataId=data_id, group=GROUP, content=V2)
    assert reply.ok, reply
    poller.join(PATIENCE)
    assert not poller.is_alive(), f"the long poll was not answered within {PATIENCE:.0f} s of a gRPC publish"
    response = answered["response"]
    assert response.status_code == 200, response.text
    assert urllib.parse.unquote_plus(response.text).strip() == f"{data_id}\x02{GROUP}\x01"
    latency = answered["at"] - reply.at
    assert latency <= PUSH_WITHIN, f"the long poll was answered {latency:.2f} s after the gRPC publish"
