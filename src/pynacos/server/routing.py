"""The one router: normalise the target, find the route, check its policy, run the handler.

Nacos had two routers (its auth filter's method cache and Spring's dispatcher) that disagreed on
trailing slashes, HEAD and encoded paths, and every disagreement was an auth bypass. Here the route
object the dispatcher resolves *is* what the auth check reads, so they cannot disagree:

1. The raw path may only contain `A-Za-z0-9-._~/@`; `//`, `.` and `..` segments are refused (400).
   Nothing in a path is ever percent-decoded.
2. The context path is stripped once, as a prefix followed by `/`; anything else is 404, except a GET or
   HEAD of the bare context path (`/nacos`), which is redirected to `/nacos/` when the web console is there.
3. One trailing `/` is dropped; then (method, path) is looked up exactly, case-sensitively. A route may
   end in one variable segment (`/v2/ns/instance/statuses/{key}`): only when no exact route matches,
   the path minus its last segment is looked up among those, and the segment must match the route's
   pattern (default `[A-Za-z0-9._-]{1,128}`, security.md §3) or the request is a 400. The value
   reaches the policy and the handler as a parameter, so both read the same thing.
4. Unknown path -> 404 and unknown method -> 405, before any body is read or handler runs.
5. HEAD gets the GET route's auth decision and an empty answer; OPTIONS answers `Allow`.
6. Cross-site browser requests and, with auth off, foreign `Host` names are refused (cross_site.py).
7. Credentials sent in the query or headers are checked before any body is read; bodies are read
   under a size limit, a minimum rate and an in-flight budget (body_limits.py).
8. Parameters are read once (query, then urlencoded body) and shared by the auth check and handler.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import unquote_plus

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pynacos.server import http
from pynacos.server.auth.policy import Admin, Authenticated, Internal, Policy, Public, Secured
from pynacos.server.body_limits import PUBLIC_MAX_BODY, BodyBudget, LimitedReceive
from pynacos.server.cross_site import CrossSitePolicy
from pynacos.server.errors import AuthFailed, BadRequest, NacosError, ParamCheckFailed, Unavailable
from pynacos.server.http import Call, Params
from pynacos.server.log_limits import RateLimitedLog
from pynacos.server.storage.outage import STORAGE_ERROR, StorageHealth, is_storage_error

if TYPE_CHECKING:
    from pynacos.server.metrics import Metrics

log = logging.getLogger("pynacos.http")
access_log = logging.getLogger("pynacos.access")

Handler = Callable[[Call], Awaitable[Response]]
Style = Literal["v1", "v2"]
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_PATH_OK = re.compile(rb"^[A-Za-z0-9\-._~/@]*$")  # `@`: RFC 3986 allows it raw; no route has one
_VARIABLE = re.compile(r"^(?P<prefix>/.*)/\{(?P<name>[A-Za-z]+)\}$")
PATH_VARIABLE = r"[A-Za-z0-9._-]{1,128}"
_FORM = "application/x-www-form-urlencoded"
_BODY_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_PATH_CACHE_SIZE = 4096
#: a parameter whose decoded, lower-cased name contains one of these carries a credential
_SECRET_WORDS = ("passw", "pwd", "token", "secret", "authorization", "credential", "signature", "accesskey")
#: parameters whose values are data, not for a log line (a config's content may hold passwords)
_DATA_PARAMS = frozenset({"content"})
COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"script-src 'self'"),
]


class OwnSecurityHeaders(Response):
    """A response that carries its own, stricter Content-Security-Policy and nosniff (the web console's pages):
    the router adds COMMON_HEADERS to every other response only, so one CSP is sent, not two (a browser would
    enforce both, but whoever checks the headers would have to work out which one wins)."""


@dataclass(frozen=True)
class Route:
    """One entry of the route table: a path, its methods, its handler and its auth policy."""

    path: str
    methods: frozenset[str]
    handler: Handler
    policy: Policy
    style: Style = "v1"
    #: answers while data is still loading (health, state)
    before_ready: bool = False
    #: what the `{name}` last segment of a variable route may be (matched whole)
    variable: str = PATH_VARIABLE
    #: a GET that changes state (Nacos 2.x's loader resets): the cross-site rules treat it as a write
    get_changes_state: bool = False

    def __post_init__(self) -> None:
        """A route without a known policy must stop start-up, not be served (security.md §2.1)."""
        if not isinstance(self.policy, Public | Authenticated | Secured | Admin | Internal):
            raise TypeError(f"route {self.path} has no auth policy (got {self.policy!r})")
        if "{" in self.path and not _VARIABLE.match(self.path):
            raise ValueError(f"route {self.path}: only the last segment may be a variable")


def route(
    path: str,
    methods: str,
    handler: Handler,
    policy: Policy,
    style: Style = "v1",
    before_ready: bool = False,
    variable: str = PATH_VARIABLE,
    get_changes_state: bool = False,
) -> Route:
    methods_set = frozenset(methods.split(","))
    return Route(path, methods_set, handler, policy, style, before_ready, variable, get_changes_state)


@dataclass(frozen=True)
class VariableRoutes:
    """The routes of one `<prefix>/{name}` template, by method, and the pattern of its variable."""

    name: str
    pattern: re.Pattern[str]
    by_method: dict[str, Route]


class Guard(Protocol):
    """The auth check every route passes through (see pynacos.server.auth.guard)."""

    async def identify(self, route: Route, call: Call) -> None:
        """Check credentials given in the query or headers, before any body is read."""

    async def check(self, route: Route, call: Call) -> None: ...


@dataclass(frozen=True)
class HttpLimits:
    """Body limits (body_limits.py), trusted proxies and the cross-site policy's allow-lists."""

    max_body: int = 11 * 1024 * 1024
    body_budget: int = 256 * 1024 * 1024
    body_budget_per_client: int = 32 * 1024 * 1024
    trusted_proxies: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()


class Router:
    """Pure ASGI callable serving a fixed route table under a context path."""

    def __init__(
        self,
        context_path: str,
        routes: Iterable[Route],
        guard: Guard,
        metrics: Metrics,
        is_ready: Callable[[], bool],
        limits: HttpLimits = HttpLimits(),
        access_log_enabled: bool = False,
        auth_enabled: Callable[[], bool] = lambda: True,
        storage: StorageHealth | None = None,
        console_port: bool = False,
    ) -> None:
        self.context = context_path.rstrip("/").encode()
        self.table: dict[str, dict[str, Route]] = {}
        self.variables: dict[str, VariableRoutes] = {}
        for entry in routes:
            by_method = self._methods_of(entry)
            for method in entry.methods:
                if method in by_method:
                    raise ValueError(f"two routes for {method} {entry.path}")
                by_method[method] = entry
        self.guard = guard
        self.metrics = metrics
        self.is_ready = is_ready
        self.limits = limits
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in limits.trusted_proxies]
        self.budget = BodyBudget(limits.body_budget, limits.body_budget_per_client)
        self.cross_site = CrossSitePolicy(limits.allowed_origins, limits.allowed_hosts, auth_enabled)
        self.access_log_enabled = access_log_enabled
        self.refusals = RateLimitedLog(log)
        self.storage = storage or StorageHealth()
        self.console_port = console_port
        self._paths: dict[bytes, str | None] = {}

    def _methods_of(self, entry: Route) -> dict[str, Route]:
        variable = _VARIABLE.match(entry.path)
        if variable is None:
            return self.table.setdefault(entry.path, {})
        prefix, name = variable["prefix"], variable["name"]
        template = self.variables.setdefault(prefix, VariableRoutes(name, re.compile(entry.variable), {}))
        if (template.name, template.pattern.pattern) != (name, entry.variable):
            raise ValueError(f"routes under {prefix}/ disagree on their variable")
        return template.by_method

    def routes(self) -> list[Route]:
        seen: dict[int, Route] = {}
        tables = [*self.table.values(), *(template.by_method for template in self.variables.values())]
        for by_method in tables:
            for entry in by_method.values():
                seen[id(entry)] = entry
        return list(seen.values())

    def _lookup(self, path: str) -> tuple[dict[str, Route], list[tuple[str, str]]] | None:
        """The routes of an exact path or else of a variable template, with the variable as a parameter."""
        exact = self.table.get(path)
        if exact is not None:
            return exact, []
        prefix, _, value = path.rpartition("/")
        template = self.variables.get(prefix)
        if template is None:
            return None
        if not template.pattern.fullmatch(value):
            raise BadRequest(f"illegal path variable '{template.name}': it must match {template.pattern.pattern}")
        return template.by_method, [(template.name, value)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        client_ip = self._client_ip(scope)
        body = LimitedReceive(receive, self.budget, client_ip, self.limits.max_body, scope["headers"])
        try:
            request = Request(scope, body)
            response, label = await self._respond(request, body, client_ip)
            if not isinstance(response, OwnSecurityHeaders):
                response.raw_headers.extend(COMMON_HEADERS)
            if body.unread():  # the rest must not be parsed as the next request
                response.raw_headers.append((b"connection", b"close"))
            if scope["method"] == "HEAD":
                response.body = b""
            await response(scope, receive, send)
        finally:
            body.release()
        self.metrics.observe(scope["method"], label, response.status_code, time.perf_counter() - started)
        if self.access_log_enabled:
            self._log_access(scope, client_ip, response.status_code, started)

    async def _respond(self, request: Request, body: LimitedReceive, client_ip: str) -> tuple[Response, str]:
        full_path = request.scope.get("raw_path") or request.scope["path"].encode()
        try:
            path = self._route_path(full_path)
            found = self._lookup(path) if path is not None else None
        except BadRequest as exc:
            return http.text(exc.v1_body(), 400), "invalid"
        method = request.scope["method"]
        if full_path == self.context and method in ("GET", "HEAD") and "/" in self.table:
            return Response(b"", 302, headers={"Location": self.context.decode() + "/"}), "redirect"
        if path is None or found is None:
            return http.spring_error(404, "No message available", request.scope["path"]), "unknown"
        by_method, variables = found
        label = next(iter(by_method.values())).path  # the template, not the value (metric labels stay few)
        if method not in KNOWN_METHODS:
            return http.text("", 405), label
        if method == "OPTIONS":
            return Response(b"", 200, headers={"Allow": _allow(by_method)}), label
        entry = by_method.get("GET" if method == "HEAD" else method)
        if entry is None:
            return Response(b"", 405, headers={"Allow": _allow(by_method)}), label
        body.limit = self._body_limit(entry)
        call = Call(request, method, path, Params(()), client_ip, console_port=self.console_port)
        return await self._dispatch(entry, call, body, variables), entry.path

    def _body_limit(self, entry: Route) -> int:
        """Routes open to anyone (login, first admin) need little; nobody may make them buffer more."""
        return PUBLIC_MAX_BODY if isinstance(entry.policy, Public) else self.limits.max_body

    def _route_path(self, raw: bytes) -> str | None:
        """Apply rules 1-3 of the module docstring; None means 404 (results for good paths are cached)."""
        if raw in self._paths:
            return self._paths[raw]
        path = self._normalise(raw)
        if len(self._paths) >= _PATH_CACHE_SIZE:
            self._paths.clear()
        self._paths[raw] = path
        return path

    def _normalise(self, raw: bytes) -> str | None:
        if not _PATH_OK.match(raw) or b"//" in raw:
            raise BadRequest("illegal request path")
        segments = raw.split(b"/")
        if b"." in segments or b".." in segments:
            raise BadRequest("illegal request path")
        if not raw.startswith(self.context + b"/"):
            return None
        path = raw[len(self.context) :]
        if len(path) > 1 and path.endswith(b"/"):
            path = path[:-1]
        return path.decode("ascii")

    async def _dispatch(
        self, entry: Route, call: Call, body: LimitedReceive, variables: list[tuple[str, str]]
    ) -> Response:
        try:
            method = "POST" if entry.get_changes_state else call.method
            self.cross_site.check(method, call.headers, call.http_request.scope["scheme"])
            body.check_declared()
            if not entry.before_ready and not self.is_ready():
                raise Unavailable("server is starting, data not loaded yet")
            call.params = Params([*variables, *http.parse_pairs(call.http_request.scope["query_string"])])
            if self._has_form(call):
                await self.guard.identify(entry, call)
                call.params = Params([*call.params.items(), *http.parse_pairs(await call.http_request.body())])
            await self.guard.check(entry, call)
            if call.method == "HEAD":
                return Response(b"", 200)
            return await entry.handler(call)
        except AuthFailed as exc:
            self._refused(entry, call, exc)
            text = exc.nacos3_text() if entry.path.startswith("/v3/") else exc.detail  # 3.x words its refusals
            return http.spring_error(exc.http_status, text, call.http_request.scope["path"])
        except NacosError as exc:
            self._refused(entry, call, exc)
            return render_error(exc, entry.style)
        except ClientDisconnect:
            self.refusals.log(
                logging.DEBUG, ("gone", entry.path), "client went away during %s %s", call.method, entry.path
            )
            return Response(b"", 400)
        except Exception as exc:
            return self._failed(entry, call.method, exc)

    def _failed(self, entry: Route, method: str, exc: Exception) -> Response:
        """A storage failure is answered and reported to the storage health (one line with the cause, then
        counts: a database outage must not write a traceback per request); anything else is a bug."""
        if is_storage_error(exc):
            self.storage.failed(exc, f"{method} {entry.path}")
            self.metrics.errors.labels(kind="storage").inc()
            return render_error(NacosError(STORAGE_ERROR), entry.style)
        log.exception("unexpected error on %s %s", method, entry.path)
        self.metrics.errors.labels(kind="internal").inc()
        return render_error(NacosError("internal error, see the server log"), entry.style)

    def _refused(self, entry: Route, call: Call, exc: NacosError) -> None:
        """Client errors at debug level, one line per route, status and client a minute (14.8)."""
        if exc.http_status < 500:
            kind = (entry.path, exc.http_status, call.client_ip)
            self.refusals.log(
                logging.DEBUG,
                kind,
                "refused %s %s from %s: %d %s",
                call.method,
                entry.path,
                call.client_ip,
                exc.http_status,
                exc.detail[:200],
            )

    @staticmethod
    def _has_form(call: Call) -> bool:
        return call.method in _BODY_METHODS and call.headers.get("content-type", "").startswith(_FORM)

    def _client_ip(self, scope: Scope) -> str:
        """The socket peer or, behind configured proxies, the right-most forwarded address that is not one
        of them: entries left of it were written by the client and prove nothing (Nacos trusts anyone)."""
        client = scope.get("client")
        peer = client[0] if client else "127.0.0.1"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        headers = Headers(scope=scope)
        hops = [hop.strip() for hop in ",".join(headers.getlist("x-forwarded-for")).split(",") if hop.strip()]
        if not hops:
            hops = [headers.get("x-real-ip", "").strip()]
        for hop in reversed(hops):
            if not _is_address(hop):
                return peer  # a malformed chain names nobody: fall back to what the socket proves
            if not self._is_trusted(hop):
                return hop
        return hops[0]

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def _log_access(self, scope: Scope, client_ip: str, status: int, started: float) -> None:
        """One access-log line; credentials and config content never reach it (security.md §4.5)."""
        query = redacted_query(scope["query_string"].decode("latin-1"))
        target = scope["path"] + ("?" + query if query else "")
        elapsed_ms = (time.perf_counter() - started) * 1000
        access_log.info("%s %s %s %d %.1fms", client_ip, scope["method"], target, status, elapsed_ms)


def _allow(by_method: dict[str, Route]) -> str:
    methods = set(by_method) | {"OPTIONS"}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _is_address(text: str) -> bool:
    """An IP literal without a zone (`fe80::1%eth0` names an interface of the proxy, not a client)."""
    if "%" in text or len(text) > 45:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def render_error(exc: NacosError, style: Style) -> Response:
    """v1 routes answer `caused: <detail>;` (or the bare text) as text; v2 routes the `{code,message,data}`
    envelope, except the parameter checker's refusals, which Nacos answers as text on v1 and v2 alike."""
    if style == "v2" and not isinstance(exc, ParamCheckFailed):
        body = {"code": exc.code, "message": exc.title, "data": exc.detail}
        return http.json(body, exc.http_status, exc.headers)
    return http.text(exc.v1_body(), exc.http_status, headers={**http.NO_CACHE, **exc.headers})


def redacted_query(query: str) -> str:
    """The query with the value of every credential-like or content parameter replaced by `***`.

    Names are compared decoded and in any case, as the server reads identity names: `passwor%64=`
    and `ACCESSTOKEN=` are credentials too.
    """
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        try:
            decoded = unquote_plus(name, errors="strict").lower()
        except UnicodeDecodeError:
            decoded = name.lower()
        hidden = decoded in _DATA_PARAMS or any(word in decoded for word in _SECRET_WORDS)
        pairs.append(f"{name}=***" if equals and hidden else pair)
    return "&".join(pairs)
