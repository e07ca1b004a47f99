"""The one router: normalise the target, find the route, check its policy, run the handler.

Nacos had two routers (its auth filter's method cache and Spring's dispatcher) that disagreed on
trailing slashes, HEAD and encoded paths, and every disagreement was an auth bypass. Here the route
object the dispatcher resolves *is* what the auth check reads, so they cannot disagree:

1. The raw path may only contain `A-Za-z0-9-._~/`; `//`, `.` and `..` segments are refused (400).
2. The context path is stripped once, as a prefix followed by `/`; anything else is 404.
3. One trailing `/` is dropped; then (method, path) is looked up exactly, case-sensitively.
4. Unknown path -> 404 and unknown method -> 405, before any body is read or handler runs.
5. HEAD gets the GET route's auth decision and an empty answer; OPTIONS answers `Allow`.
6. Parameters are read once (query, then urlencoded body) and shared by the auth check and handler.
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

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pynacos.server import http
from pynacos.server.auth.policy import Admin, Authenticated, Policy, Public, Secured
from pynacos.server.errors import AuthFailed, BadRequest, NacosError, ParamCheckFailed, PayloadTooLarge, Unavailable
from pynacos.server.http import Call, Params
from pynacos.server.storage.outage import STORAGE_ERROR, StorageHealth, is_storage_error

if TYPE_CHECKING:
    from pynacos.server.metrics import Metrics

log = logging.getLogger("pynacos.http")
access_log = logging.getLogger("pynacos.access")

Handler = Callable[[Call], Awaitable[Response]]
Style = Literal["v1", "v2"]
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_PATH_OK = re.compile(rb"^[A-Za-z0-9\-._~/]*$")
_FORM = "application/x-www-form-urlencoded"
_BODY_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_PATH_CACHE_SIZE = 4096
_SECRET_WORDS = ("password", "token", "secret")
COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"script-src 'self'"),
]


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

    def __post_init__(self) -> None:
        """A route without a known policy must stop start-up, not be served (security.md §2.1)."""
        if not isinstance(self.policy, Public | Authenticated | Secured | Admin):
            raise TypeError(f"route {self.path} has no auth policy (got {self.policy!r})")


def route(
    path: str, methods: str, handler: Handler, policy: Policy, style: Style = "v1", before_ready: bool = False
) -> Route:
    return Route(path, frozenset(methods.split(",")), handler, policy, style, before_ready)


class Guard(Protocol):
    """The auth check every route passes through (see pynacos.server.auth.guard)."""

    async def check(self, route: Route, call: Call) -> None: ...


class Router:
    """Pure ASGI callable serving a fixed route table under a context path."""

    def __init__(
        self,
        context_path: str,
        routes: Iterable[Route],
        guard: Guard,
        metrics: Metrics,
        is_ready: Callable[[], bool],
        trusted_proxies: Iterable[str] = (),
        max_body: int = 32 * 1024 * 1024,
        access_log_enabled: bool = False,
        storage: StorageHealth | None = None,
    ) -> None:
        self.context = context_path.rstrip("/").encode()
        self.table: dict[str, dict[str, Route]] = {}
        for entry in routes:
            by_method = self.table.setdefault(entry.path, {})
            for method in entry.methods:
                if method in by_method:
                    raise ValueError(f"two routes for {method} {entry.path}")
                by_method[method] = entry
        self.guard = guard
        self.metrics = metrics
        self.is_ready = is_ready
        self.trusted = {ipaddress.ip_address(p) for p in trusted_proxies}
        self.max_body = max_body
        self.access_log_enabled = access_log_enabled
        self.storage = storage or StorageHealth()
        self._paths: dict[bytes, str | None] = {}

    def routes(self) -> list[Route]:
        seen: dict[int, Route] = {}
        for by_method in self.table.values():
            for entry in by_method.values():
                seen[id(entry)] = entry
        return list(seen.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        started = time.perf_counter()
        response, label = await self._respond(request)
        headers = response.raw_headers
        headers.extend(COMMON_HEADERS)
        if scope["method"] == "HEAD":
            response.body = b""
        await response(scope, receive, send)
        self.metrics.observe(scope["method"], label, response.status_code, time.perf_counter() - started)
        if self.access_log_enabled:
            self._log_access(request, response.status_code, started)

    async def _respond(self, request: Request) -> tuple[Response, str]:
        full_path = request.scope.get("raw_path") or request.scope["path"].encode()
        try:
            path = self._route_path(full_path)
        except BadRequest as exc:
            return http.text(exc.v1_body(), 400), "invalid"
        method = request.scope["method"]
        by_method = self.table.get(path) if path is not None else None
        if path is None or by_method is None:
            return http.spring_error(404, "No message available", request.scope["path"]), "unknown"
        if method not in KNOWN_METHODS:
            return http.text("", 405), path
        if method == "OPTIONS":
            return Response(b"", 200, headers={"Allow": _allow(by_method)}), path
        entry = by_method.get("GET" if method == "HEAD" else method)
        if entry is None:
            return Response(b"", 405, headers={"Allow": _allow(by_method)}), path
        return await self._dispatch(entry, request, method, path), entry.path

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

    async def _dispatch(self, entry: Route, request: Request, method: str, path: str) -> Response:
        try:
            if not entry.before_ready and not self.is_ready():
                raise Unavailable("server is starting, data not loaded yet")
            call = Call(request, method, path, await self._params(request), self._client_ip(request))
            await self.guard.check(entry, call)
            if method == "HEAD":
                return Response(b"", 200)
            return await entry.handler(call)
        except AuthFailed as exc:
            return http.spring_error(exc.http_status, exc.detail, request.scope["path"])
        except NacosError as exc:
            return render_error(exc, entry.style)
        except Exception as exc:
            return self._failed(entry, method, exc)

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

    async def _params(self, request: Request) -> Params:
        pairs = http.parse_pairs(request.scope["query_string"])
        if request.scope["method"] in _BODY_METHODS and request.headers.get("content-type", "").startswith(_FORM):
            pairs.extend(http.parse_pairs(await self._body(request)))
        return Params(pairs)

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise PayloadTooLarge(f"request body over {self.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge(f"request body over {self.max_body} bytes")
            chunks.append(chunk)
        body = b"".join(chunks)
        request._body = body  # later readers (multipart) see the same bytes
        return body

    def _client_ip(self, request: Request) -> str:
        """The socket peer, or what a trusted proxy says the client was (Nacos trusts anyone)."""
        peer = request.client.host if request.client else "127.0.0.1"
        if self.trusted and _is_trusted(peer, self.trusted):
            forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
            return forwarded or request.headers.get("x-real-ip", "").strip() or peer
        return peer

    def _log_access(self, request: Request, status: int, started: float) -> None:
        """One access-log line; credentials never reach it (security.md §4.5)."""
        query = redacted_query(request.scope["query_string"].decode("latin-1"))
        target = request.scope["path"] + ("?" + query if query else "")
        elapsed_ms = (time.perf_counter() - started) * 1000
        access_log.info(
            "%s %s %s %d %.1fms", self._client_ip(request), request.scope["method"], target, status, elapsed_ms
        )


def _allow(by_method: dict[str, Route]) -> str:
    methods = set(by_method) | {"OPTIONS"}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _is_trusted(peer: str, trusted: set[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        return ipaddress.ip_address(peer) in trusted
    except ValueError:
        return False


def render_error(exc: NacosError, style: Style) -> Response:
    """v1 routes answer `caused: <detail>;` (or the bare text) as text; v2 routes the `{code,message,data}`
    envelope, except the parameter checker's refusals, which Nacos answers as text on v1 and v2 alike."""
    if style == "v2" and not isinstance(exc, ParamCheckFailed):
        body = {"code": exc.code, "message": exc.title, "data": exc.detail}
        return http.json(body, exc.http_status, exc.headers)
    return http.text(exc.v1_body(), exc.http_status, headers={**http.NO_CACHE, **exc.headers})


def redacted_query(query: str) -> str:
    """The query with the value of every credential-like parameter replaced by `***`.

    Names are compared decoded, as the server reads them: `passwor%64=` is a password too.
    """
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        decoded = unquote_plus(name).lower()
        secret = equals and any(word in decoded for word in _SECRET_WORDS)
        pairs.append(f"{name}=***" if secret else pair)
    return "&".join(pairs)
