"""The Nacos Node.js SDK (npm `nacos` 2.6.3: nacos-config + nacos-naming, HTTP v1 open API), unchanged, against a
real pynacos server, with auth off and on.

`node/scenario.js` runs the SDK and prints one JSON line per step; this module installs the pinned package once
into `<repo>/.cache/node-nacos` (untracked), starts the server, answers the script's READY_FOR_HTTP_PUBLISH signal
with a plain-HTTP publish, and asserts every step. `node` and `npm` are required: without them the tests fail.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.servers import start_auth_server
from tests.integration.server_process import ServerProcess, free_port

pytestmark = pytest.mark.integration

NODE_DIR = Path(__file__).parent / "node"
SCENARIO = NODE_DIR / "scenario.js"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "node-nacos"
INSTALL_INPUTS = ("package.json", "package-lock.json")
ACCESS_LOG = {"pynacos.access.log": "true"}
USER, USER_PASSWORD = "node-user", "Node-Passw0rd!"
SCENARIO_TIMEOUT = 50.0

INSTANCE, ANCHOR = "10.10.0.1:8080", "10.10.0.2:8080"
NODE_VALUE = "v=2 from node: 中文 ✓"
HTTP_VALUE = "v=3 from http: ünïcödé ✓\nsecond line"


@dataclass
class Run:
    """What one run of scenario.js printed, and what the test sent it."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    published: str | None = None
    other_stdout: list[str] = field(default_factory=list)
    stderr: str = ""
    server_log: str = ""

    def context(self) -> str:
        return (
            f"\n--- steps ---\n{json.dumps([self.steps[s] for s in self.order], ensure_ascii=False, indent=1)}"
            f"\n--- other node stdout ---\n{''.join(self.other_stdout)[-2000:]}"
            f"\n--- node stderr (tail) ---\n{self.stderr[-4000:]}"
            f"\n--- server log (tail) ---\n{self.server_log[-6000:]}"
        )


def _install_digest() -> str:
    return hashlib.sha256(b"".join((NODE_DIR / name).read_bytes() for name in INSTALL_INPUTS)).hexdigest()


def _installed(modules: Path, stamp: Path, digest: str) -> bool:
    return (modules / "nacos" / "package.json").exists() and stamp.exists() and stamp.read_text() == digest


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The pinned SDK under .cache/node-nacos/node_modules; `npm ci` only when missing or the lock file changed.

    The install runs under a file lock beside the cache (pytest-xdist workers and other people's test runs share
    it) and the stamp goes first and comes back last, so nobody uses a node_modules that `npm ci` is rewriting."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are required for the Node.js SDK tests (install Node.js >= 18 with npm)")
    modules = CACHE / "node_modules"
    stamp = CACHE / ".installed"
    digest = _install_digest()
    if _installed(modules, stamp, digest):
        return modules
    CACHE.mkdir(parents=True, exist_ok=True)
    with CACHE.with_name(CACHE.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed(modules, stamp, digest):
            _npm_ci(modules, stamp, digest)
    return modules


def _npm_ci(modules: Path, stamp: Path, digest: str) -> None:
    stamp.unlink(missing_ok=True)
    for name in INSTALL_INPUTS:
        shutil.copyfile(NODE_DIR / name, CACHE / name)
    try:
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CACHE,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("npm ci for the Node.js SDK tests took over 300 s")
    if done.returncode != 0 or not (modules / "nacos" / "package.json").exists():
        pytest.fail(f"npm ci in {CACHE} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    version = json.loads((modules / "nacos" / "package.json").read_text())["version"]
    assert version == "2.6.3", f"installed nacos {version}, expected the pinned 2.6.3"
    stamp.write_text(digest)


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "home", ACCESS_LOG)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """Auth on; USER gets read/write on every resource of the public namespace (Admin.add_user)."""
    server, admin = start_auth_server(tmp_path / "home", **ACCESS_LOG)
    admin.add_user(USER, USER_PASSWORD)
    yield server
    server.stop()


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def http_publish(server: ServerProcess, data_id: str, group: str, content: str, token: str | None) -> None:
    params = {"accessToken": token} if token else {}
    response = httpx.post(
        server.base + "/v1/cs/configs",
        params=params,
        data={"dataId": data_id, "group": group, "content": content},
        timeout=10,
    )
    assert (response.status_code, response.text) == (200, "true"), response.text


def run_scenario(
    server: ServerProcess,
    modules: Path,
    tmp_path: Path,
    username: str = "",
    password: str = "",
    token: str | None = None,
) -> Run:
    """Run scenario.js to the end, publishing over HTTP when it asks; return its step lines by name."""
    run = Run()
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "NACOS_USERNAME": username,
        "NACOS_PASSWORD": password,
        "SCENARIO_ID": uuid.uuid4().hex[:10],
        "SCENARIO_DIR": str(tmp_path / "node"),
        # nacos-config's cluster-client elects a leader on a TCP port (7777 by default): keep runs apart
        "NODE_CLUSTER_CLIENT_PORT": str(free_port()),
    }
    stderr_path = tmp_path / "node-stderr.log"
    lines: queue.Queue[str | None] = queue.Queue()
    with (
        stderr_path.open("w") as stderr,
        subprocess.Popen(
            ["node", str(SCENARIO), server.address],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        ) as process,
    ):
        assert process.stdin is not None and process.stdout is not None
        pump = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
        pump.start()
        deadline = time.monotonic() + SCENARIO_TIMEOUT
        try:
            while (line := lines.get(timeout=max(0.1, deadline - time.monotonic()))) is not None:
                try:
                    message = json.loads(line)
                except ValueError:
                    run.other_stdout.append(line)
                    continue
                if message.get("signal") == "READY_FOR_HTTP_PUBLISH":
                    http_publish(server, message["dataId"], message["group"], HTTP_VALUE, token)
                    run.published = HTTP_VALUE
                    # the content travels as one JSON-encoded line, so newlines in it survive
                    process.stdin.write(json.dumps(HTTP_VALUE) + "\n")
                    process.stdin.flush()
                    continue
                run.steps[message["step"]] = message
                run.order.append(message["step"])
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except (queue.Empty, subprocess.TimeoutExpired):
            pass  # reported as missing steps
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            pump.join(10)
    run.stderr = stderr_path.read_text(errors="replace")
    run.server_log = server.log()
    return run


# step -> fields its JSON line must carry (beyond "ok": true)
EXPECTED: dict[str, dict[str, Any]] = {
    "config.ready": {},
    "config.publish": {"result": True},
    "config.get": {"value": "v=1"},
    "config.subscribe": {"value": "v=1"},
    "config.listener.node_publish": {"result": True, "value": NODE_VALUE},
    "config.listener.http_publish": {"value": HTTP_VALUE},
    "config.remove": {"result": True},
    "config.get_after_remove": {"value": None},
    "config.close": {},
    "naming.ready": {},
    "naming.server_status": {"status": "UP"},
    "naming.register": {},
    "naming.get_all_instances": {"hosts": [INSTANCE, ANCHOR]},
    "naming.subscribe": {"hosts": [INSTANCE, ANCHOR]},
    "naming.deregister": {},
    # within 2 s (the scenario's limit), by a UDP push: polling alone takes up to cacheMillis (10 s)
    "naming.subscriber_sees_deregister": {"hosts": [ANCHOR], "pushed": True},
    "naming.get_all_instances_direct": {"hosts": [ANCHOR]},
    "naming.deregister_anchor": {},
    "naming.close": {},
    "sdk_errors": {"errors": []},
    "done": {},
}


def problems_in(run: Run) -> list[str]:
    found = []
    for name, fields in EXPECTED.items():
        got = run.steps.get(name)
        if got is None:
            found.append(f"{name}: no result")
            continue
        if got.get("ok") is not True:
            found.append(f"{name}: failed: {got.get('error')}")
            continue
        found += [
            f"{name}: {key}={got.get(key)!r}, expected {want!r}" for key, want in fields.items() if got.get(key) != want
        ]
    instance = (run.steps.get("naming.get_all_instances") or {}).get("instance") or {}
    shown = {
        k: instance.get(k)
        for k in ("ip", "port", "healthy", "enabled", "ephemeral", "weight", "clusterName", "metadata")
    }
    want = {
        "ip": "10.10.0.1",
        "port": 8080,
        "healthy": True,
        "enabled": True,
        "ephemeral": True,
        "weight": 1,
        "clusterName": "DEFAULT",
        "metadata": {"from": "node-sdk"},
    }
    if shown != want:
        found.append(f"naming.get_all_instances: instance {shown}, expected {want}")
    return found


def assert_server_clean(server: ServerProcess, run: Run, token: str | None) -> None:
    """What the SDK removed is gone on the server too."""
    data_id = run.steps["config.ready"]["dataId"]
    service = run.steps["naming.ready"]["serviceName"]
    with httpx.Client(base_url=server.base, params={"accessToken": token} if token else {}, timeout=10) as http:
        config = http.get("/v1/cs/configs", params={"dataId": data_id, "group": "DEFAULT_GROUP"})
        assert config.status_code == 404, config.text
        listed = http.get("/v1/ns/instance/list", params={"serviceName": service})
        assert listed.status_code == 200, listed.text
        assert listed.json()["hosts"] == [], listed.text


def test_node_sdk_auth_off(plain_server: ServerProcess, node_modules: Path, tmp_path: Path) -> None:
    run = run_scenario(plain_server, node_modules, tmp_path)
    assert run.published == HTTP_VALUE, "the script never asked for the HTTP publish" + run.context()
    problems = problems_in(run)
    assert not problems, "\n".join(problems) + run.context()
    assert_server_clean(plain_server, run, None)


def test_node_sdk_auth_on(auth_server: ServerProcess, node_modules: Path, tmp_path: Path) -> None:
    token = httpx.post(auth_server.base + "/v1/auth/login", data={"username": USER, "password": USER_PASSWORD}).json()[
        "accessToken"
    ]
    run = run_scenario(auth_server, node_modules, tmp_path, USER, USER_PASSWORD, token)
    assert run.published == HTTP_VALUE, "the script never asked for the HTTP publish" + run.context()
    problems = problems_in(run)
    assert not problems, "\n".join(problems) + run.context()
    assert_server_clean(auth_server, run, token)
    # auth really was on: the SDK got through only because it sent the user's credentials
    anonymous = httpx.get(auth_server.base + "/v1/ns/instance/list", params={"serviceName": "any"})
    assert anonymous.status_code == 403, anonymous.text
    assert f"username={USER}&password=***" in run.server_log
