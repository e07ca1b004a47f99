"""Property fuzz of every route in the route table: no input gets a 5xx, an escaped exception or a hang,
and a request answered 4xx changes nothing.

The routes come from the app's own router (`Router.routes()`), so a new route is fuzzed without touching
this file; so do the parameter names each route reads: at import, a seeded throw-away server answers one
valid request per route and handler variant (`show=all`, `search=blur`, `beat=...`) while the parameter
object records every name the auth check and the handler look up.

An example is a mostly valid request for its route (the names its family needs, with valid values, maybe the
parameter that selects a handler variant) with one to three mutations: a name the route reads, a family name
or a random name set to an edge case (blank, 10 KB, CJK, emoji, control characters, NUL, raw `%` sequences,
`@@`, `##`, `..`, `*`, huge/negative/float/NaN numbers, Unicode digits, JSON fragments including deep
nesting and 100-bit integers, SQL-ish text; number- and JSON-valued names get those classes more often) or
to random text/numbers/JSON. Parameters are sometimes repeated or followed by raw bytes no encoder would
write (`%zz`, `%C3`), split between the query string and an urlencoded body (or sent as a JSON, plain or
multipart body with a zip), with headers that matter (Long-Pulling-Timeout, casMd5, Client-Version,
Content-Type, Authorization, ...). After a write, half the time a read of the same family follows with the
same parameters, so a stored value that breaks its readers shows up. Every route is fuzzed with auth off
and with auth on as the admin (who reaches every handler, and gets a fresh token per request). Hypothesis
drives the generation through one seeded `Random` per example (`st.randoms`, derandomized): its per-draw
cost times the ~30 choices of a request was several times the cost of the request itself.

Oracle, for every response:
- status < 500, except 503 "server is starting" and Nacos's deliberate CAS-conflict 500 (its exact body);
- the ASGI call completes with exactly one response: no exception escapes the app, an awaiting handler
  answers within 2 s, and one that holds the event loop (CPU) is interrupted by SIGALRM after 2.5 s;
- response header values are sendable (no CR, LF or other control bytes, which uvicorn and h11 refuse);
- a JSON error body is well-formed (Spring's error JSON has status/error/message/path/timestamp that agree
  with the response; a v2 envelope has an int code, a message and data);
- a 4xx leaves the configs, namespaces, users/roles/permissions/revocations, naming services/instances and
  the database (`PRAGMA data_version` of the SQLite file) exactly as they were, and no long poll stays
  registered after its request ended (held polls are cut after 0.2 s: they are held >= 10 s by design).

Requests go straight to the ASGI callable with exact bytes (httpx would re-encode a `%zz` query or refuse a
Latin-1 header). One server per auth mode serves all examples, so what earlier requests stored is what later
ones read; its background health checks are slowed so they cannot change state mid-request.

Inputs that broke the oracle are kept as explicit regression cases at the end of the file. While a finding is
open its case is `xfail(strict=True, raises=FindingReproduced)` and the fuzz tolerates exactly its signature in
`KNOWN` (a test checks each pattern has a case); once fixed, the case stays as a plain regression test.

Knobs: PYNACOS_FUZZ_EXAMPLES (examples per route and mode, default 50) for deeper runs, and
PYNACOS_FUZZ_REPORT=<file> to append every new problem to a file instead of failing (triage).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import io
import json
import logging
import os
import random
import re
import signal
import sqlite3
import tempfile
import traceback
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import pynacos.server.routing
from pynacos.server.app import NacosApp
from pynacos.server.auth import passwords
from pynacos.server.http import _REASONS, Params
from pynacos.server.settings import Settings
from tests.server.auth.conftest import ADMIN_PASSWORD, KEY

EXAMPLES_PER_ROUTE = int(os.environ.get("PYNACOS_FUZZ_EXAMPLES", "50"))
SEQUENCES = 2 * EXAMPLES_PER_ROUTE
REPORT = os.environ.get("PYNACOS_FUZZ_REPORT")
REQUEST_TIMEOUT = 2.0  # an awaiting handler that has not answered by then is hung
BLOCKED_LIMIT = 2.5  # a handler that holds the event loop this long is interrupted (SIGALRM)
HELD_TIMEOUT = 0.2  # a long poll with nothing changed is held (>= 10 s) by design: cut it short
BODY_METHODS = {"POST", "PUT", "DELETE", "PATCH"}
LISTENER = ("POST", "/v1/cs/configs/listener")
FORM = (b"content-type", b"application/x-www-form-urlencoded")

# ---------------------------------------------------------------------------------------------------
# Values

WORD, LINE = "\x02", "\x01"
SEED_CONTENT = "k: v2"
SEED_MD5 = hashlib.md5(SEED_CONTENT.encode()).hexdigest()
HUGE = "1" + "0" * 30
DEEP_ARRAY = "[" * 3000 + "]" * 3000
DEEP_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500


def listening(entries: list[tuple[str, str, str, str | None]], trailing: str = "") -> str:
    """A `Listening-Configs` value: `dataId^2group^2md5[^2tenant]^1...`."""
    lines = [WORD.join([d, g, m] + ([t] if t is not None else [])) + LINE for d, g, m, t in entries]
    return "".join(lines) + trailing


EDGE_CLASSES: dict[str, list[str]] = {
    "blank": ["", " ", " \t ", "\n", "\r\n"],
    "long": ["a" * 10_000, "x" * 257, "é" * 3000, "9" * 5000, "中" * 2000],
    "unicode": ["中文配置", "😀", "e\u0301", "\u202e", "\ufeff", "Ünïcödé", "\u00a0"],
    "control": ["\x00", "a\x00b", "\x01\x02\x03", "\x7f", WORD + LINE, "a\nb", "\x1b[31m"],
    "percent": ["%", "%zz", "%00", "%25", "%2e%2e", "%%"],
    "separators": ["@@", "a@@b", "@@a", "a@@", "a@@b@@c", "##", "ns##G@@s", ",", "=", "a=b=c", "k=v,k2=v2", ";", "&"],
    "paths": ["..", ".", "../../etc/passwd", "/", "\\", "*", "a*b", "~"],
    "integers": [
        "-1",
        "0",
        "1",
        "-0",
        "65536",
        "2147483648",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
        " 5 ",
        "0x10",
        "1_000",
        "+1",
        "007",
    ],
    "floats": ["1.5", "-1.5", "1e309", "-1e309", "nan", "NaN", "inf", "-Infinity", "1e-400", "1e2"],
    "unicode digits": ["²", "٣", "１２", "⑤", "³⁴", "߁"],
    "words": ["true", "false", "TRUE", "yes", "null", "None", "undefined", "public", "DEFAULT_GROUP"],
    "json": [
        "{}",
        "[]",
        '""',
        "1",
        '{"a":',
        '{"type":"none"}',
        '{"type":"label","expression":"x"}',
        '{"type":"none","n":' + HUGE + "}",
        '{"type":"none","n":NaN,"m":Infinity}',
        '{"a":' + HUGE + "}",
        '{"a":[1,{"b":null}],"c":1.5e300}',
        '{"ip":"10.0.0.9","port":' + HUGE + "}",
        '{"ip":"10.0.0.9","port":-1,"weight":"nan"}',
        '{"ip":"10.0.0.9","port":9,"metadata":{"a":{"b":[1]}},"weight":' + HUGE + "}",
        '{"ip":["1"],"port":{"a":1},"cluster":{}}',
    ],
    "deep json": [DEEP_ARRAY, DEEP_OBJECT, '{"type":"none","x":' + DEEP_ARRAY + "}"],
    "wildcards": ["*", "**", "a*b", "*a*", "*" * 12 + "!"],
    "injection": ["' OR '1'='1", "1; DROP TABLE config_info; --", "%' --", "<script>x</script>", "${jndi:ldap://x}"],
    "listening": [
        listening([("app.yaml", "DEFAULT_GROUP", "x", None)]),
        listening([("app.yaml", "DEFAULT_GROUP", SEED_MD5, "中")]),
        listening([("a", "b", "c", "d")], "e"),
        WORD * 3 + LINE,
        LINE * 3,
    ],
}

VALID: dict[str, list[str]] = {
    "dataId": ["app.yaml", "fuzz.d1", "a:b_c-d.e"],
    "group": ["DEFAULT_GROUP", "G1"],
    "tenant": ["", "public", "dev", "missing"],
    "namespaceId": ["", "public", "dev", "missing"],
    "namespace": ["", "public", "dev"],
    "content": ["k: v", "a=1", "中文: 值"],
    "type": ["yaml", "json", "text", "properties", "bogus"],
    "appName": ["app1", ""],
    "desc": ["d"],
    "config_tags": ["t1,t2", "a,b,c,d,e,f"],
    "configTags": ["t1"],
    "encryptedDataKey": ["k1", "密钥", ""],
    "tag": ["", "t1"],
    "beta": ["true", "false"],
    "show": ["all"],
    "search": ["accurate", "blur"],
    "export": ["true"],
    "exportV2": ["true"],
    "import": ["true"],
    "policy": ["ABORT", "SKIP", "OVERWRITE", "abort"],
    "delType": ["ids"],
    "ids": ["1", "1,2,3", ""],
    "types": ["yaml,json"],
    "pageNo": ["1", "2"],
    "pageSize": ["10", "1000"],
    "nid": ["1", "2", "3"],
    "id": ["1", "2"],
    "all": ["true"],
    "Listening-Configs": [
        listening([("app.yaml", "DEFAULT_GROUP", SEED_MD5, None)]),
        listening([("app.yaml", "DEFAULT_GROUP", "0" * 32, None), ("fuzz.d1", "G1", "", "dev")]),
        listening([("new.d", "G1", "", "public")]),
    ],
    "serviceName": ["svc", "G1@@svc", "DEFAULT_GROUP@@svc2", "persist"],
    "groupName": ["DEFAULT_GROUP", "G1"],
    "clusterName": ["DEFAULT", "c1"],
    "cluster": ["DEFAULT", "c1"],
    "clusters": ["DEFAULT", "c1,DEFAULT"],
    "ip": ["10.0.0.1", "127.0.0.1", "::1", "host-a"],
    "port": ["8080", "80", "0"],
    "weight": ["1", "0.5", "10000"],
    "enabled": ["true", "false"],
    "healthy": ["true", "false"],
    "valid": ["true"],
    "ephemeral": ["true", "false"],
    "metadata": ['{"k":"v"}', "a=b,c=d", '{"preserved.heart.beat.interval":"100000"}'],
    "beat": [
        '{"ip":"10.0.0.1","port":8080,"serviceName":"svc"}',
        '{"ip":"10.0.0.2","port":81,"cluster":"c1","metadata":{"a":"b"},"weight":2}',
    ],
    "key": ["DEFAULT_GROUP@@svc", "dev##G1@@svc"],
    "protectThreshold": ["0.5", "0"],
    "selector": ['{"type":"none"}', '{"type":"label","expression":"x"}'],
    "healthyOnly": ["true"],
    "serviceNameParam": ["sv"],
    "groupNameParam": ["G"],
    "hasIpCount": ["true"],
    "onlyStatus": ["false", "true"],
    "customNamespaceId": ["ns1", "dev", ""],
    "namespaceName": ["Ns One"],
    "namespaceDesc": ["desc"],
    "namespaceShowName": ["Show"],
    "checkNamespaceIdExist": ["true"],
    "username": ["nacos", "u1", "u2"],
    "password": [ADMIN_PASSWORD, "Passw0rd-123"],
    "newPassword": ["Passw0rd-456"],
    "role": ["r1", "ROLE_ADMIN"],
    "resource": ["dev:*:*", ":*:*"],
    "action": ["r", "w", "rw", "x"],
    "language": ["zh-CN", "en-US"],
    "targetNamespaceId": ["dev", "public", "missing"],
    "keyword": ["127", ""],
    "srcUser": ["u1"],
}

#: what a route of each family needs (present, mostly valid, in every example)
CORE_NAMES: dict[str, list[str]] = {
    "config": ["dataId", "group", "content"],
    "naming": ["serviceName", "ip", "port"],
    "namespace": ["namespaceId", "customNamespaceId", "namespaceName", "namespace", "namespaceShowName"],
    "auth": ["username", "password", "newPassword", "role", "resource", "action", "pageNo", "pageSize"],
    "ops": ["language", "onlyStatus"],
}
#: parameters that pick one of a path's handlers; at most one per example, valid
VARIANT_NAMES: dict[str, list[str]] = {
    "config": ["show", "search", "export", "exportV2", "beta", "import", "delType", "nid", "id", "Listening-Configs"],
    "naming": ["beat", "key", "metadata", "selector", "protectThreshold", "clusterName", "ephemeral", "healthy"],
    "namespace": ["show", "checkNamespaceIdExist", "namespaceDesc"],
    "auth": ["search"],
    "ops": [],
}
COMMON_NAMES = ["tenant", "namespaceId", "namespace", "accessToken", "username", "password", "pageNo", "pageSize"]
#: the brief's list of plausible names, by family (the discovered names are added per route)
FAMILY_NAMES: dict[str, list[str]] = {
    "config": [
        "dataId",
        "group",
        "content",
        "type",
        "appName",
        "desc",
        "use",
        "effect",
        "schema",
        "config_tags",
        "configTags",
        "encryptedDataKey",
        "src_user",
        "srcUser",
        "tag",
        "beta",
        "show",
        "search",
        "export",
        "exportV2",
        "import",
        "policy",
        "delType",
        "ids",
        "types",
        "nid",
        "id",
        "Listening-Configs",
        "ip",
        "all",
        "targetNamespaceId",
        "configDetail",
    ],
    "naming": [
        "serviceName",
        "groupName",
        "clusterName",
        "cluster",
        "clusters",
        "ip",
        "port",
        "weight",
        "enabled",
        "enable",
        "healthy",
        "valid",
        "ephemeral",
        "metadata",
        "beat",
        "key",
        "protectThreshold",
        "selector",
        "healthyOnly",
        "healthOnly",
        "udpPort",
        "app",
        "serviceNameParam",
        "groupNameParam",
        "hasIpCount",
        "onlyStatus",
    ],
    "namespace": [
        "customNamespaceId",
        "namespaceName",
        "namespaceDesc",
        "namespaceShowName",
        "show",
        "checkNamespaceIdExist",
    ],
    "auth": ["newPassword", "role", "resource", "action", "search"],
    "ops": ["language", "onlyStatus", "keyword"],
}
#: names a particular route needs besides its family's
ROUTE_CORE: dict[tuple[str, str], list[str]] = {
    LISTENER: ["Listening-Configs"],
    ("GET", "/v1/cs/listener"): ["ip"],
    ("GET", "/v1/ns/instance/statuses"): ["key"],
    ("POST", "/v3/console/cs/config/clone"): ["targetNamespaceId"],
    ("GET", "/v3/console/cs/config/listener/ip"): ["ip"],
    ("GET", "/v3/console/core/cluster/nodes"): ["keyword"],
}
#: headers a particular route reads (sent more often there)
ROUTE_HEADERS: dict[tuple[str, str], list[bytes]] = {
    LISTENER: [b"client-version", b"long-pulling-timeout-no-hangup"],
    ("POST", "/v1/cs/configs"): [b"casmd5", b"betaips"],
    ("POST", "/v2/cs/config"): [b"casmd5", b"betaips"],
    ("POST", "/v3/admin/cs/config"): [b"casmd5", b"betaips"],
    ("POST", "/v3/console/cs/config"): [b"casmd5", b"betaips"],
}
#: auth-off servers also turn off the Nacos 3.x admin and console scopes, so their handlers are fuzzed too
OPEN_SCOPES = {"auth_admin_enabled": False, "auth_console_enabled": False}


def core_names(method: str, path: str) -> list[str]:
    """The names a valid request of the route carries; 3.x config routes name the group `groupName`."""
    names = CORE_NAMES[family(path)] + ROUTE_CORE.get((method, path), [])
    return [*names, "groupName"] if path.startswith("/v3/") and family(path) == "config" else names


ALL_NAMES = sorted({n for names in FAMILY_NAMES.values() for n in names} | set(COMMON_NAMES))


def family(path: str) -> str:
    if "/cs/" in path:
        return "config"
    if "/ns/" in path:
        return "naming"
    if "namespace" in path:
        return "namespace"
    if "/auth/" in path:
        return "auth"
    return "ops"


# ---------------------------------------------------------------------------------------------------
# Requests and the server they go to


@dataclass
class Request:
    method: str
    path: str
    query: bytes = b""
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: where the admin token goes when auth is on: "header", "param" or nowhere (None)
    token: str | None = "header"

    def describe(self) -> str:
        headers = {k.decode("latin-1"): _short(v.decode("latin-1")) for k, v in self.headers}
        return (
            f"{self.method} /nacos{self.path}?{_short(self.query.decode('latin-1'))} headers={headers} "
            f"body={_short(self.body.decode('latin-1'))!r} token={self.token}"
        )


#: a value for each path variable (`{key}` of `/v2/ns/instance/statuses/{key}`): the route is reached
PATH_SAMPLES = {"key": "DEFAULT_GROUP@@svc"}


def concrete(path: str) -> str:
    """The path a request for a route is sent to: its `{name}` variable replaced by a sample value."""
    return re.sub(r"\{(\w+)\}", lambda found: PATH_SAMPLES[found[1]], path)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit} chars)"


def encode_pairs(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote_plus(n)}={quote_plus(v)}" for n, v in pairs).encode("ascii")


def form_request(method: str, path: str, pairs: list[tuple[str, str]], **headers: str) -> Request:
    """A plain request: the parameters in the query (GET) or an urlencoded body."""
    extra = [(k.replace("_", "-").lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
    if method in BODY_METHODS:
        return Request(method, path, body=encode_pairs(pairs), headers=[FORM, *extra])
    return Request(method, path, query=encode_pairs(pairs), headers=extra)


#: state for requests to find: a namespace, configs with history, a user with a role, services
SEEDS = [
    ("POST", "/v1/console/namespaces", [("customNamespaceId", "dev"), ("namespaceName", "dev")]),
    ("POST", "/v1/cs/configs", [("dataId", "app.yaml"), ("group", "DEFAULT_GROUP"), ("content", "k: v")]),
    ("POST", "/v1/cs/configs", [("dataId", "app.yaml"), ("group", "DEFAULT_GROUP"), ("content", SEED_CONTENT)]),
    ("POST", "/v1/cs/configs", [("dataId", "fuzz.d1"), ("group", "G1"), ("content", "a=1"), ("tenant", "dev")]),
    ("POST", "/v1/auth/users", [("username", "u1"), ("password", "Passw0rd-123")]),
    ("POST", "/v1/auth/roles", [("role", "r1"), ("username", "u1")]),
    ("POST", "/v1/auth/permissions", [("role", "r1"), ("resource", "dev:*:*"), ("action", "rw")]),
    ("POST", "/v1/ns/instance", [("serviceName", "svc"), ("ip", "10.0.0.1"), ("port", "8080")]),
    (
        "POST",
        "/v1/ns/instance",
        [("serviceName", "persist"), ("ip", "10.0.0.1"), ("port", "8080"), ("ephemeral", "false")],
    ),
    ("POST", "/v1/ns/service", [("serviceName", "svc2"), ("protectThreshold", "0.5"), ("metadata", "a=b")]),
    ("POST", "/v1/ns/instance", [("serviceName", "G1@@svc"), ("namespaceId", "dev"), ("ip", "::1"), ("port", "1")]),
]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    errors: list[str]  # error lines and tracebacks the server logged while answering
    escaped: str | None = None  # an exception that left the ASGI callable, or a hang
    hung: bool = False


class Blocked(BaseException):
    """Raised by the SIGALRM watchdog inside a handler that holds the event loop (not an Exception, so
    the router's catch-all does not turn it into a 500)."""


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.records.append(text)


class Server:
    """A started, seeded app on its own event loop, called synchronously one request at a time."""

    def __init__(self, home: Path, auth: bool) -> None:
        self.auth = auth
        self.loop = asyncio.new_event_loop()
        quiet = {
            "naming_check_interval_ms": 10**9,  # background tasks must not change state mid-request
            "empty_service_interval_ms": 10**9,
            "sqlite_synchronous": "normal",
        }
        extra = {"auth_enabled": True, "token_secret_key": KEY} if auth else OPEN_SCOPES
        self.app = NacosApp(Settings(home=str(home), **quiet, **extra))  # type: ignore[arg-type]
        self.log = ErrorLog()
        logging.getLogger("pynacos").addHandler(self.log)
        self.loop.run_until_complete(self._start())
        self.db = sqlite3.connect(self.app.settings.data_path / "pynacos.db")

    async def _start(self) -> None:
        await self.app.start()
        await self.app.ready.wait()
        if self.auth:
            await self.app.auth.accounts.create_admin(ADMIN_PASSWORD)
        for method, path, pairs in SEEDS:
            answer = await self.call(form_request(method, path, pairs), self.token())
            assert answer.status == 200, (path, pairs, answer.status, answer.body)

    def token(self) -> str | None:
        """A fresh admin token per request: fuzzed password and role changes revoke older ones."""
        return self.app.auth.tokens.issue("nacos")[0] if self.auth else None

    def close(self) -> None:
        logging.getLogger("pynacos").removeHandler(self.log)
        self.db.close()
        self.loop.run_until_complete(self.app.stop())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    def run(self, request: Request, blocked_limit: float = BLOCKED_LIMIT) -> Answer:
        """Answer one request. A handler that blocks the event loop (CPU-bound, so no asyncio timeout can
        fire) is interrupted by SIGALRM after `blocked_limit` seconds and reported as a hang."""

        def interrupt(signum: int, frame: Any) -> None:
            raise Blocked()

        previous = signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, blocked_limit)
        try:
            return self.loop.run_until_complete(self._timed(request))
        except Blocked:
            message = f"blocked the event loop for over {blocked_limit} s:\n{traceback.format_exc()}"
            return Answer(0, {}, b"", [], escaped=message, hung=True)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    async def _timed(self, request: Request) -> Answer:
        held = (request.method, request.path) == LISTENER and any(
            k == b"long-pulling-timeout" for k, _ in request.headers
        )
        try:
            return await asyncio.wait_for(self.call(request, self.token()), HELD_TIMEOUT if held else REQUEST_TIMEOUT)
        except TimeoutError:
            if held:  # held as designed; the cancellation must release the waiter (checked in `check`)
                return Answer(0, {}, b"", [])
            return Answer(0, {}, b"", [], escaped=f"no answer within {REQUEST_TIMEOUT} s", hung=True)

    async def call(self, request: Request, token: str | None) -> Answer:
        """One ASGI call with the request's exact bytes; the client disconnects only after the answer."""
        query, headers = request.query, [(b"host", b"127.0.0.1"), *request.headers]
        if token is not None and request.token == "header":
            headers.append((b"authorization", f"Bearer {token}".encode()))
        elif token is not None and request.token == "param":
            query += (b"&" if query else b"") + b"accessToken=" + token.encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": "/nacos" + concrete(request.path),
            "raw_path": ("/nacos" + concrete(request.path)).encode(),
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
        }
        sent: list[dict[str, Any]] = []
        done = asyncio.Event()
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done.set()

        self.log.records.clear()
        escaped = None
        try:
            await self.app(scope, receive, send)
        except Exception:
            escaped = traceback.format_exc()
        errors = list(self.log.records)
        starts = [m for m in sent if m["type"] == "http.response.start"]
        if escaped is None and (len(starts) != 1 or not done.is_set()):
            escaped = f"the app returned without one complete response: {[m['type'] for m in sent]}"
        if not starts:
            return Answer(0, {}, b"", errors, escaped)
        return Answer(
            starts[0]["status"],
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in starts[0]["headers"]},
            b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
            errors,
            escaped,
        )

    def snapshot(self) -> dict[str, Any]:
        """Everything a request may change, cheap enough to take around every request."""
        app = self.app
        directory = app.auth.accounts.directory
        tokens = app.auth.tokens
        return {
            "configs": dict(app.configs._configs),  # Config objects are frozen: compared by identity
            "namespaces": dict(app.namespaces._custom),
            "users": dict(directory.users),
            "roles": list(directory.bindings),
            "permissions": list(directory.permissions),
            "not_before": dict(tokens.not_before_ms),
            "revoked": dict(tokens.revoked),
            "naming": repr(sorted((tuple(k), _service_state(s)) for k, s in app.naming.services.items())),
            "database": self.db.execute("PRAGMA data_version").fetchone()[0],
            "held long polls": app.hub.held,
        }


def _service_state(service: Any) -> str:
    instances = sorted((repr(a), repr(sorted(vars(i).items()))) for a, i in service.instances.items())
    overrides = sorted((a, repr(sorted(vars(o).items()))) for a, o in service.overrides.items())
    fields = sorted((k, v) for k, v in vars(service).items() if k not in ("instances", "overrides"))
    return repr((fields, instances, overrides))


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    diffs = []
    for name, old in before.items():
        new = after[name]
        same = (old.keys() == new.keys() and all(old[k] is new[k] for k in old)) if name == "configs" else old == new
        if not same:
            diffs.append(name)
    return diffs


# ---------------------------------------------------------------------------------------------------
# The route table and the names each route reads, from the app itself


class RecordingParams(Params):
    """Params that note every name looked up (used only while discovering)."""

    seen: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.seen.add(name)
        return super().__getitem__(name)

    def get(self, name: str, default: object = None, /) -> Any:
        self.seen.add(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        self.seen.add(str(name))
        return super().__contains__(name)

    def required(self, name: str) -> str:
        self.seen.add(name)
        return super().required(name)

    def text(self, name: str, default: str = "") -> str:
        self.seen.add(name)
        return super().text(name, default)

    def optional(self, name: str) -> str | None:
        self.seen.add(name)
        return super().optional(name)

    def integer(self, name: str, default: int | None = None) -> int:
        self.seen.add(name)
        return super().integer(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        self.seen.add(name)
        return super().flag(name, default)

    def namespace(self) -> str:
        self.seen.update(("namespaceId", "tenant", "namespace"))
        return super().namespace()

    def insensitive(self, name: str) -> str | None:
        self.seen.add(name)
        return super().insensitive(name)


def _discover() -> tuple[list[tuple[str, str, str]], dict[tuple[str, str], list[str]]]:
    """(method, path, style) of every route, and the parameter names each one reads."""

    async def run() -> tuple[list[tuple[str, str, str]], dict[tuple[str, str], list[str]]]:
        with tempfile.TemporaryDirectory() as home:
            server = Server.__new__(Server)
            server.auth, server.log = False, ErrorLog()
            server.app = NacosApp(Settings(home=home, sqlite_synchronous="normal", **OPEN_SCOPES))  # type: ignore[arg-type]
            await Server._start(server)
            try:
                assert server.app.router is not None
                routes = sorted((m, r.path, r.style) for r in server.app.router.routes() for m in r.methods)
                names: dict[tuple[str, str], list[str]] = {}
                original = pynacos.server.routing.Params
                pynacos.server.routing.Params = RecordingParams  # type: ignore[misc]
                try:
                    for method, path, _ in routes:
                        RecordingParams.seen = set()
                        kind = family(path)
                        core = [(n, VALID[n][0]) for n in core_names(method, path)]
                        for variant in [None, *VARIANT_NAMES[kind]]:
                            extra = [(variant, VALID[variant][0])] if variant else []
                            await server.call(form_request(method, path, core + extra), None)
                        names[(method, path)] = sorted(RecordingParams.seen)
                finally:
                    pynacos.server.routing.Params = original  # type: ignore[misc]
                return routes, names
            finally:
                await server.app.stop()

    return asyncio.run(run())


ROUTES, READS = _discover()
STYLE = {(m, p): s for m, p, s in ROUTES}

# ---------------------------------------------------------------------------------------------------
# Generation. Hypothesis drives it with one seeded `Random` per example (`st.randoms`): its per-draw cost
# (~0.1-0.2 ms) times the ~30 choices of a request was several times the cost of the request itself.

EDGE_VALUES = list(EDGE_CLASSES.values())
HEADERS: dict[bytes, list[str]] = {
    b"long-pulling-timeout": ["0", "100", "-5", "abc", "", "99999999999999999999", "1.5", "²"],
    b"long-pulling-timeout-no-hangup": ["true", "false", ""],
    b"casmd5": ["", " ", SEED_MD5, "0" * 32, "é"],
    b"client-version": ["Nacos-Java-Client:v2.0.3", "1.4.1", "", "²", "9" * 5000, "v1.2.3-é"],
    b"betaips": ["", "1.1.1.1"],
    b"user-agent": ["Nacos-Server", "Nacos-Java-Client:v2.3.0"],
    b"x-forwarded-for": ["10.9.9.9", "", "::1, 1.2.3.4"],
    b"username": ["nacos", "u1", ""],
    b"password": [ADMIN_PASSWORD, "wrong"],
    b"accesstoken": ["", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x", "é"],
    b"authorization": ["Bearer ", "Bearer a.b.c", "Basic bmFjb3M6bmFjb3M=", "Bearer é"],
    b"content-type": ["application/x-www-form-urlencoded", "multipart/form-data", "text/xml"],
}
RAW_TAILS = [b"&", b"&&", b"&=x", b"&%zz=1", b"&a=%", b"&a=%FF", b"&a=%C3", b"&%00=%00", b"&a", b"&a=1&a=2"]
ZIP_NAMES = ["G1/a.yaml", "DEFAULT_GROUP/fuzz.d1", "G1/", "../x", "a", "G/a/b", ".meta.yml", ".metadata.yml", "G1/中"]
ZIP_CONTENTS = [
    "k: v",
    "",
    "G1.a~yaml.app=x",
    "a=b=c",
    "metadata:\n- {dataId: a.yaml, group: G1, type: yaml}",
    "- [",
    "\x00",
]
ALPHABETS = [
    [chr(c) for c in range(0x20, 0x7F)],
    [chr(c) for c in range(0x100)],
    [chr(c) for c in range(0x4E00, 0x4E80)] + ["😀", "🚀", "\u200b", "\u0301"],
    list("0123456789-.eE+_ ²٣"),
    list("@#%&=,;:*./\\?~ "),
]


def random_text(rng: random.Random) -> str:
    alphabet = rng.choice(ALPHABETS)
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 2, 5, 20, 60])))


def random_number(rng: random.Random) -> str:
    return rng.choice(
        [
            str(rng.randint(-(2**70), 2**70)),
            str(rng.randint(-3, 70000)),
            repr(rng.uniform(-1e6, 1e6)),
            repr(rng.choice([float("nan"), float("inf"), -0.0, 5e-324, 1.7976931348623157e308])),
        ]
    )


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.randrange(8 if depth < 3 else 5)
    if roll == 0:
        return None
    if roll == 1:
        return rng.choice([True, False])
    if roll == 2:
        return rng.choice([rng.randint(-(2**80), 2**80), rng.randint(-5, 70000), float("nan"), 1e308, -1.5])
    if roll in (3, 4):
        return random_text(rng)
    if roll == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_text(rng): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _kind_of(name: str) -> str:
    """What a parameter's valid values look like: numbers, JSON, words or free text."""
    values = VALID.get(name, [])
    if values and all(v.replace(",", "").replace(".", "").isdigit() for v in values if v):
        return "number"
    if values and all(v.startswith("{") for v in values):
        return "json"
    if name == "Listening-Configs":
        return "listening"
    return "text"


#: edge classes tried first for a kind of parameter (then any class)
PREFERRED = {
    "number": ["integers", "floats", "unicode digits", "blank", "long"],
    "json": ["json", "deep json", "blank", "long"],
    "listening": ["listening", "control", "percent", "blank"],
    "text": [],
}


def random_value(rng: random.Random, name: str) -> str:
    roll = rng.randrange(100)
    preferred = PREFERRED[_kind_of(name)]
    if roll < 30 and preferred:
        return rng.choice(EDGE_CLASSES[rng.choice(preferred)])
    if roll < 60:
        return rng.choice(rng.choice(EDGE_VALUES))  # each class equally likely
    if roll < 70:
        return random_text(rng)
    if roll < 78:
        return random_number(rng)
    if roll < 86:
        return json.dumps(random_json(rng))
    if roll < 93 or name not in VALID:
        return rng.choice(rng.choice(list(VALID.values())))  # another name's valid value
    return rng.choice(VALID[name])


def random_name(rng: random.Random, reads: list[str]) -> str:
    roll = rng.randrange(10)
    if roll < 6:
        return rng.choice(reads)
    if roll < 9:
        return rng.choice(ALL_NAMES)
    return random_text(rng)


def zip_bytes(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def multipart(rng: random.Random) -> tuple[bytes, bytes]:
    """(content-type, body) of an import upload: a zip, garbage, or a broken multipart body."""
    boundary = b"fuzzb0undary"
    kind = rng.choice(["zip", "zip", "garbage", "no-boundary", "truncated", "other-field"])
    if kind == "zip":
        payload = zip_bytes({rng.choice(ZIP_NAMES): rng.choice(ZIP_CONTENTS) for _ in range(rng.randrange(5))})
    else:
        payload = rng.randbytes(rng.randrange(64))
    part = b"other" if kind == "other-field" else b"file"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + part + b'"; filename="c.zip"\r\n'
        b"Content-Type: application/zip\r\n\r\n" + payload + b"\r\n--" + boundary + b"--\r\n"
    )
    if kind == "truncated":
        body = body[: len(body) // 2]
    content_type = b"multipart/form-data" if kind == "no-boundary" else b"multipart/form-data; boundary=" + boundary
    return content_type, body


def build_request(
    rng: random.Random, method: str, path: str, base: dict[str, str] | None = None
) -> tuple[Request, dict[str, str]]:
    """A mostly valid request for the route with one to three parameters mutated, and its parameters.

    With `base` (the parameters of a write just sent) the request reads what that write stored: same
    parameters, at most one mutation.
    """
    kind = family(path)
    reads = READS[(method, path)] or CORE_NAMES[kind]
    if base is not None:
        params = dict(base)
        mutations = rng.choice([0, 0, 1])
    else:
        core = core_names(method, path)
        dropped = rng.choice([None, None, None, *core])
        params = {n: rng.choice(VALID[n]) for n in core if n != dropped}
        variants = [n for n in VARIANT_NAMES[kind] if n in reads]
        variant = rng.choice([None, *variants]) if variants else None
        if variant is not None:
            params[variant] = rng.choice(VALID[variant])
        mutations = rng.choice([1, 1, 2, 3])
    for _ in range(mutations):
        name = random_name(rng, reads)
        params[name] = random_value(rng, name)
    pairs = list(params.items())
    if rng.randrange(10) == 0:  # a repeated parameter, with the same or another value
        name, value = rng.choice(pairs)
        pairs.insert(rng.randrange(len(pairs) + 1), (name, rng.choice([value, random_value(rng, name)])))

    in_body = method in BODY_METHODS and rng.randrange(4) > 0
    split = rng.randint(0, len(pairs)) if in_body else len(pairs)
    query, form = encode_pairs(pairs[:split]), encode_pairs(pairs[split:])
    if rng.randrange(10) == 0:  # raw bytes a client's encoder would not produce
        if in_body:
            form += rng.choice(RAW_TAILS)
        else:
            query += rng.choice(RAW_TAILS)

    headers: list[tuple[bytes, bytes]] = []
    body = b""
    if method in BODY_METHODS:
        body_kind = rng.choice(["form"] * 6 + ["form-charset", "json", "text", "none", "multipart"])
        if body_kind in ("form", "form-charset"):
            charset = b"; charset=ISO-8859-1" if body_kind == "form-charset" else b""
            headers.append((b"content-type", FORM[1] + charset))
            body = form
        elif body_kind == "json":
            headers.append((b"content-type", b"application/json"))
            body = json.dumps(dict(pairs[split:])).encode()
        elif body_kind == "text":
            headers.append((b"content-type", b"text/plain"))
            body = form
        elif body_kind == "multipart":
            content_type, body = multipart(rng)
            headers.append((b"content-type", content_type))
        headers.append((b"content-length", str(len(body)).encode()))
    names = rng.sample(sorted(HEADERS), rng.choice([0, 0, 1, 2]))
    names += [h for h in ROUTE_HEADERS.get((method, path), []) if rng.randrange(3) == 0]
    for name in dict.fromkeys(names):
        value = rng.choice(HEADERS[name] + [random_text(rng)])
        headers.append((name, value.encode("latin-1", "replace")))
    if (method, path) == LISTENER and rng.randrange(2):
        headers.append((b"long-pulling-timeout", rng.choice([b"100", b"30000", b"0"])))
        if rng.randrange(2):
            headers.append((b"long-pulling-timeout-no-hangup", b"true"))
    token = rng.choice(["header", "header", "header", "param", None])
    return Request(method, path, query, body, headers, token), params


# ---------------------------------------------------------------------------------------------------
# The oracle: every problem comes with a signature (what it is and where), so known findings can be
# told apart from new ones

CAS_V1 = b"caused: Cas publish fail, server md5 may have changed.;"
#: uvicorn (httptools) refuses to send a header value with these bytes; h11 refuses them too
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass
class Problem:
    signature: str
    message: str


def problems(request: Request, answer: Answer) -> list[Problem]:
    """What is wrong with this answer (empty: nothing)."""
    route = f"{request.method} {request.path}"
    found = []
    if answer.hung:
        found.append(Problem(f"hang on {route}", answer.escaped or ""))
    elif answer.escaped:
        found.append(Problem(f"escaped {_where(answer.escaped)}", f"exception escaped the app:\n{answer.escaped}"))
    status, body = answer.status, answer.body
    if status >= 500 and not _allowed_5xx(request, answer):
        log = "\n".join(answer.errors)
        where = _where(log) if "Traceback" in log else log.split(":")[0]  # storage errors log one line
        found.append(Problem(f"{status} {where}", f"answered {status}: {body[:300]!r}\nserver log:\n{log}"))
    if request.method == "HEAD" and body:
        found.append(Problem(f"HEAD body on {route}", "HEAD answer has a body"))
    for name, value in answer.headers.items():
        if _BAD_HEADER_VALUE.search(value):
            found.append(Problem(f"bad header {name} on {route}", f"response header {name}: {value!r}"))
    if status >= 400 and body.lstrip().startswith(b"{"):  # (Nacos types some plain-text errors as JSON)
        found.extend(Problem(f"malformed error body on {route}", m) for m in _json_error_problems(request, answer))
    return found


def _where(text: str) -> str:
    """`<Exception> in <handler> -> <innermost pynacos frame>` of a traceback."""
    lines = text.strip().splitlines()
    frames = [line.strip() for line in lines if line.strip().startswith("File") and "/pynacos/" in line]
    names = [f.split("/pynacos/")[-1].split('"')[0] + ":" + f.rsplit(" in ", 1)[-1] for f in frames]
    handlers = [n for n in names if not n.startswith("server/routing.py")]
    kind = lines[-1].split(":")[0] if lines else "?"
    return f"{kind} in {handlers[0] if handlers else '?'} -> {names[-1] if names else '?'}"


def _allowed_5xx(request: Request, answer: Answer) -> bool:
    if answer.status == 503 and b"starting" in answer.body:
        return True
    publishes = ("/v1/cs/configs", "/v2/cs/config", "/v3/admin/cs/config", "/v3/console/cs/config")
    if answer.status == 500 and request.method == "POST" and request.path in publishes:
        if answer.body == CAS_V1:  # Nacos answers a CAS conflict with 500 (errors.CasConflict)
            return True
        try:
            return bool(json.loads(answer.body).get("code") == 20005)
        except ValueError:
            return False
    return False


def _json_error_problems(request: Request, answer: Answer) -> list[str]:
    try:
        data = json.loads(answer.body)
    except ValueError:
        return [f"error body is not JSON: {answer.body[:200]!r}"]
    if not isinstance(data, dict):
        return []
    if "timestamp" in data or "error" in data:  # Spring's error JSON
        ok = (
            data.get("status") == answer.status
            and data.get("error") == _REASONS.get(answer.status, "Error")
            and isinstance(data.get("message"), str)
            and data.get("path") == "/nacos" + concrete(request.path)
            and isinstance(data.get("timestamp"), str)
        )
        return [] if ok else [f"malformed Spring error body: {data}"]
    if STYLE[(request.method, request.path)] == "v2" and "code" in data:
        ok = isinstance(data.get("code"), int) and isinstance(data.get("message"), str) and "data" in data
        return [] if ok else [f"malformed v2 error envelope: {data}"]
    return []


def examine(server: Server, request: Request, blocked_limit: float = 0.0) -> tuple[Answer, list[Problem]]:
    """Send the request; its answer and everything wrong with it, state changes included."""
    before = server.snapshot()
    answer = server.run(request, blocked_limit or BLOCKED_LIMIT)
    after = server.snapshot()
    found = problems(request, answer)
    diffs = changed(before, after)
    route = f"{request.method} {request.path}"
    if "held long polls" in diffs:
        found.append(Problem(f"leaked long poll on {route}", "a finished or cancelled long poll stayed registered"))
        diffs.remove("held long polls")
    if diffs and 400 <= answer.status < 500:
        found.append(Problem(f"{answer.status} changed {diffs} on {route}", f"answered {answer.body[:200]!r}"))
    elif diffs and found:  # a 5xx (or a hang) that changed state anyway
        found.append(Problem(f"{found[0].signature} and changed {diffs}", "state changed on a failed request"))
    return answer, found


def known(problem: Problem) -> str | None:
    return next((finding for pattern, finding in KNOWN if fnmatch.fnmatchcase(problem.signature, pattern)), None)


class Fuzzer:
    def __init__(self, server: Server) -> None:
        self.server = server

    def check(self, request: Request) -> None:
        answer, found = examine(self.server, request)
        new = [p for p in found if known(p) is None]
        if not new:
            return
        text = f"{request.describe()}\n" + "\n".join(f"[{p.signature}] {p.message}" for p in found)
        if REPORT:
            with open(REPORT, "a") as out:
                out.write("".join(f"=== {p.signature}\n" for p in new) + text + "\n")
            return
        raise AssertionError(text)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """One seeded server per auth mode. BCrypt runs at cost 4 instead of 10 meanwhile (logins and user
    changes would otherwise take most of the time budget); the cost and the cached dummy hash are put
    back afterwards so later tests see the real ones."""
    rounds, passwords.ROUNDS = passwords.ROUNDS, 4
    passwords._dummy_hash.cache_clear()
    try:
        made = {mode: Server(tmp_path_factory.mktemp(mode), auth=mode == "auth-admin") for mode in MODES}
        yield made
        for server in made.values():
            server.close()
    finally:
        passwords.ROUNDS = rounds
        passwords._dummy_hash.cache_clear()


MODES = ["auth-off", "auth-admin"]
FUZZ = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: with a shared server it is slow and flaky
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES], ids=[f"{m} {p}" for m, p, _ in ROUTES])
@FUZZ
@given(rng=st.randoms(use_true_random=True))
def test_route_survives_fuzzed_requests(
    servers: dict[str, Server], mode: str, method: str, path: str, rng: random.Random
) -> None:
    """One fuzzed request; after a write, half the time a read of what it wrote."""
    fuzzer = Fuzzer(servers[mode])
    request, params = build_request(rng, method, path)
    fuzzer.check(request)
    if method != "GET" and rng.randrange(2):
        read_method, read_path = rng.choice(READERS[family(path)])
        fuzzer.check(build_request(rng, read_method, read_path, base=params)[0])


STATEFUL = [(m, p) for m, p, _ in ROUTES if family(p) in ("config", "naming")]
READERS = {kind: [(m, p) for m, p, _ in ROUTES if m == "GET" and family(p) == kind] for kind in FAMILY_NAMES}


@pytest.mark.parametrize("mode", MODES)
@settings(FUZZ, max_examples=SEQUENCES)
@given(rng=st.randoms(use_true_random=True))
def test_request_sequences_survive(servers: dict[str, Server], mode: str, rng: random.Random) -> None:
    """A few requests in a row, mostly config and naming: what one stores, the next may read."""
    fuzzer = Fuzzer(servers[mode])
    params = None
    for _ in range(rng.randint(2, 4)):
        method, path = rng.choice(STATEFUL if rng.randrange(3) else [(m, p) for m, p, _ in ROUTES])
        request, params = build_request(rng, method, path, base=params if params and rng.randrange(2) else None)
        fuzzer.check(request)


def test_the_route_table_and_its_names_were_discovered() -> None:
    """An empty table or a discovery that saw no names would fuzz nothing and pass."""
    assert len(ROUTES) >= 90
    assert {family(p) for _, p, _ in ROUTES} == set(FAMILY_NAMES)
    assert {"dataId", "group", "content", "tenant"} <= set(READS[("POST", "/v1/cs/configs")])
    assert {"serviceName", "ip", "port", "metadata"} <= set(READS[("POST", "/v1/ns/instance")])
    assert {"customNamespaceId", "namespaceName"} <= set(READS[("POST", "/v3/console/core/namespace")])
    assert {"targetNamespaceId", "policy"} <= set(READS[("POST", "/v3/console/cs/config/clone")])


# ---------------------------------------------------------------------------------------------------
# Findings, as explicit regression cases (all fixed; each raises FindingReproduced if it comes back).
# A new finding: add its case with `xfail(strict=True, raises=FindingReproduced)` and a KNOWN pattern
# so the fuzz tolerates it meanwhile; when fixed, drop both markers. Most severe first.


@dataclass
class Case:
    id: str
    signature: str  # the problem the request reproduced
    request: Request
    setup: list[Request] = field(default_factory=list)


def get(path: str, **params: str) -> Request:
    return form_request("GET", path, list(params.items()))


def send(method: str, path: str, headers: dict[str, str] | None = None, **params: str) -> Request:
    return form_request(method, path, list(params.items()), **(headers or {}))


LONG_ID = "reg.redos.a-realistically-long.data-id.yaml"
STARS = "*" * 12 + "!"
BIG = str(2**64)  # orjson's integers end at 2**64 - 1
SQL_BIG = str(2**63)  # SQLite's at 2**63 - 1
DEEP = "[" * 3000
BIG_SELECTOR = '{"type":"none","n":' + str(10**30) + "}"
PUBLISH = "/v1/cs/configs"

CASES = [
    Case(
        "config blur search with many '*' hangs the server (regex backtracking)",
        "hang on GET /v1/cs/configs",
        get(PUBLISH, search="blur", dataId=STARS, group="REG", pageNo="1", pageSize="10"),
        [send("POST", PUBLISH, dataId=LONG_ID, group="REG", content="x")],
    ),
    Case(
        "user blur search with many '*' hangs the server (regex backtracking)",
        "hang on GET /v1/auth/users",
        get("/v1/auth/users", search="blur", username=STARS, pageNo="1", pageSize="10"),
        [
            send(
                "POST",
                "/v1/auth/users",
                username="reg-a-realistically-long-user-name-0123456789",
                password="Passw0rd-123",
            )
        ],
    ),
    Case(
        "PUT service protectThreshold=nan: 500 'nothing was changed', but memory was changed",
        "500 storage error on PUT /v1/ns/service and changed ['naming']",
        send("PUT", "/v1/ns/service", serviceName="reg-nan", protectThreshold="nan"),
        [send("POST", "/v1/ns/service", serviceName="reg-nan", protectThreshold="0.5")],
    ),
    Case(
        "v2 PUT service protectThreshold=nan: 500 'nothing was changed', but memory was changed",
        "500 storage error on PUT /v2/ns/service and changed ['naming']",
        send("PUT", "/v2/ns/service", serviceName="reg-nan2", protectThreshold="nan"),
        [send("POST", "/v2/ns/service", serviceName="reg-nan2", protectThreshold="0.5")],
    ),
    Case(
        "POST service protectThreshold=nan: storage error 500",
        "500 storage error on POST /v1/ns/service",
        send("POST", "/v1/ns/service", serviceName="reg-nan3", protectThreshold="nan"),
    ),
    # encryptedDataKey is echoed in a response header: it is now refused at publish (400, nothing stored), so
    # neither a non-Latin-1 key (every later GET was a 500) nor CR/LF (header injection) can be stored
    Case(
        "publish with a non-Latin-1 encryptedDataKey (every later GET was a 500)",
        "500 UnicodeEncodeError in server/config/http.py:get_variants -> server/http.py:<listcomp>",
        send("POST", PUBLISH, dataId="reg-ek", group="REG", content="x", encryptedDataKey="密钥"),
    ),
    Case(
        "v2 publish with a non-Latin-1 encryptedDataKey (every later v2 GET was a 500)",
        "500 UnicodeEncodeError in server/config/http_v2.py:get -> server/config/http_v2.py:get",
        send("POST", "/v2/cs/config", dataId="reg-ek2", group="REG", content="x", encryptedDataKey="密钥"),
    ),
    Case(
        "publish with CR/LF in encryptedDataKey (its GET echoed a header with CR/LF: header injection)",
        "bad header encrypted-data-key on GET /v1/cs/configs",
        send("POST", PUBLISH, dataId="reg-crlf", group="REG", content="x", encryptedDataKey="k\r\nSet-Cookie: a=b"),
    ),
    Case(
        "service stored with a selector holding a >64-bit integer: GET service is a 500",
        "500 TypeError in server/naming/http.py:get_service -> server/http.py:json",
        get("/v1/ns/service", serviceName="reg-big"),
        [send("POST", "/v1/ns/service", serviceName="reg-big", selector=BIG_SELECTOR)],
    ),
    Case(
        "service stored with a selector holding a >64-bit integer: catalog/service is a 500",
        "500 TypeError in server/naming/http.py:catalog_service -> server/http.py:json",
        get("/v1/ns/catalog/service", serviceName="reg-big2"),
        [send("POST", "/v1/ns/service", serviceName="reg-big2", selector=BIG_SELECTOR)],
    ),
    Case(
        "service stored with a selector holding a >64-bit integer: v2 GET service is a 500",
        "500 TypeError in server/naming/http_v2.py:get_service -> server/http.py:json",
        get("/v2/ns/service", serviceName="reg-big3"),
        [send("POST", "/v2/ns/service", serviceName="reg-big3", selector=BIG_SELECTOR)],
    ),
    Case(
        "listener with Client-Version '²' (a Unicode digit) is a 500",
        "500 ValueError in server/config/http.py:listen -> server/config/http.py:short_poll_response",
        send(
            "POST", "/v1/cs/configs/listener", {"Client-Version": "²"}, **{"Listening-Configs": "reg\x02REG\x02x\x01"}
        ),
    ),
    Case(
        "listener with a Client-Version of over 4300 digits is a 500",
        "500 ValueError in server/config/http.py:listen -> server/config/http.py:short_poll_response",
        send(
            "POST",
            "/v1/cs/configs/listener",
            {"Client-Version": "9" * 4301},
            **{"Listening-Configs": "reg\x02REG\x02x\x01"},
        ),
    ),
    Case(
        "deeply nested metadata JSON is a 500 (RecursionError)",
        "500 RecursionError in server/naming/http.py:register -> server/naming/params.py:metadata_of",
        send("POST", "/v1/ns/instance", serviceName="reg-deep", ip="10.0.0.1", port="1", metadata=DEEP),
    ),
    Case(
        "deeply nested selector JSON is a 500 (RecursionError)",
        "500 RecursionError in server/naming/http.py:create_service -> server/naming/http.py:selector_of",
        send("POST", "/v1/ns/service", serviceName="reg-deep", selector=DEEP),
    ),
    Case(
        "deeply nested beat JSON is a 500 (RecursionError)",
        "500 RecursionError in server/naming/http.py:beat -> server/naming/params.py:beat_info",
        send("PUT", "/v1/ns/instance/beat", serviceName="reg-deep", beat=DEEP),
    ),
    Case(
        "history nid of 2**63 is a 500 (SQLite OverflowError)",
        "500 OverflowError in server/config/http.py:history -> server/storage/configs.py:_one",
        get("/v1/cs/history", nid=SQL_BIG, dataId="a", group="b"),
    ),
    Case(
        "history/previous id of 2**63 is a 500 (SQLite OverflowError)",
        "500 OverflowError in server/config/http.py:history_previous -> server/storage/configs.py:_one",
        get("/v1/cs/history/previous", id=SQL_BIG, dataId="a", group="b"),
    ),
    Case(
        "v2 history detail nid of -2**63-1 is a 500 (SQLite OverflowError)",
        "500 OverflowError in server/config/http_v2.py:history_detail -> server/storage/configs.py:_one",
        get("/v2/cs/history", nid="-" + str(2**63 + 1), dataId="a", group="b"),
    ),
    Case(
        "history page whose offset passes 2**63 is a 500 (SQLite OverflowError)",
        "500 OverflowError in server/config/http.py:history -> server/storage/configs.py:history_page",
        get("/v1/cs/history", search="accurate", dataId="a", group="b", pageNo=SQL_BIG, pageSize="10"),
    ),
    Case(
        "v2 history list page whose offset passes 2**63 is a 500 (SQLite OverflowError)",
        "500 OverflowError in server/config/http_v2.py:history_list -> server/storage/configs.py:history_page",
        get("/v2/cs/history/list", dataId="a", group="b", pageNo=SQL_BIG, pageSize="10"),
    ),
    Case(
        "config search with pageNo 2**64 is a 500 (orjson integer range)",
        "500 TypeError in server/config/http.py:get_variants -> server/http.py:json",
        get(PUBLISH, search="blur", dataId="", group="", pageNo=BIG, pageSize="10"),
    ),
    Case(
        "user list with pageNo 2**64 is a 500 (orjson integer range)",
        "500 TypeError in server/auth/http.py:list_users -> server/http.py:json",
        get("/v1/auth/users", pageNo=BIG, pageSize="10"),
    ),
    Case(
        "role list with pageNo 2**64 is a 500 (orjson integer range)",
        "500 TypeError in server/auth/http.py:list_roles -> server/http.py:json",
        get("/v1/auth/roles", pageNo=BIG, pageSize="10"),
    ),
    Case(
        "permission search with pageNo 2**64 is a 500 (orjson integer range)",
        "500 TypeError in server/auth/http.py:list_permissions -> server/http.py:json",
        get("/v1/auth/permissions", search="accurate", pageNo=BIG, pageSize="10"),
    ),
    Case(
        "delete by ids with a Unicode digit ('²') is a 500",
        "500 ValueError in server/config/http.py:delete_variants -> server/config/http.py:<listcomp>",
        send("DELETE", PUBLISH, delType="ids", ids="²"),
    ),
    Case(
        "export by ids with a Unicode digit ('²') is a 500",
        "500 ValueError in server/config/http.py:get_variants -> server/config/transfer.py:<listcomp>",
        get(PUBLISH, export="true", ids="²"),
    ),
    Case(
        "announcement language with NUL is a 500",
        "500 ValueError in server/ops/http.py:announcement -> server/ops/http.py:_conf_text",
        get("/v1/console/server/announcement", language="\x00"),
    ),
]

#: (signature pattern, finding): problems the fuzz tolerates because a case above keeps them visible
KNOWN: list[tuple[str, str]] = []  # every finding so far is fixed; its case below guards it


class FindingReproduced(Exception):
    """The case's finding is still there (the expected failure of a regression case)."""


@pytest.fixture(scope="module")
def regression_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("regressions"), auth=False)
    yield server
    server.close()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_finding_regression(regression_server: Server, case: Case) -> None:
    for step in case.setup:
        answer = regression_server.run(step)
        if answer.status != 200:
            raise RuntimeError(f"setup {step.describe()} answered {answer.status} {answer.body[:200]!r}")
    answer, found = examine(regression_server, case.request, blocked_limit=1.0)
    for problem in found:
        if problem.signature == case.signature:
            raise FindingReproduced(f"{case.request.describe()}\n[{problem.signature}] {problem.message}")
    assert not found, "\n".join(f"[{p.signature}] {p.message}" for p in found)


def test_every_tolerated_finding_has_a_visible_case() -> None:
    """The fuzz may skip only what a case below shows (an open finding is an xfail case)."""
    for pattern, finding in KNOWN:
        assert any(fnmatch.fnmatchcase(c.signature, pattern) for c in CASES), (pattern, finding)
