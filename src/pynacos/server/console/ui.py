"""The web console's files: read once at start-up, served from memory under exact routes.

Every file under `static/` becomes one route, `/console-ui/<relative path>`, and `index.html` is also
served at `/` and `/index.html` (under the context path: `/nacos/`, as Nacos 2.x users expect). There
is no path parameter and no file lookup per request, so no request can name a file that was not
there at start-up: an unknown asset is the router's 404, and `..` or encoded paths never get past
the router (routing.py rule 1).

Caching: index.html is `no-cache` (revalidated by ETag each load) and names each asset it links
with `?v=<hash>` (rewritten here at start-up), so an upgrade is picked up at the next load. A
request carrying the current `v` may keep the answer a year (`immutable`); without it (modules an
asset imports, `import "./dom.js"`, carry no version) the answer is `no-cache` too, so a browser
never runs an old module next to a new one. Text is gzipped once at start-up and sent gzipped when
the request accepts it.

Every answer carries the console's own strict Content-Security-Policy and frame headers instead of
the router's common ones (one CSP header, never two): no inline script or style, nothing from
another origin, no framing, no referrer.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response

from pynacos.server.auth.policy import PUBLIC
from pynacos.server.http import Call
from pynacos.server.routing import OwnSecurityHeaders, Route, route

log = logging.getLogger("pynacos.console")
STATIC = Path(__file__).parent / "static"
ASSETS = "/console-ui/"
INDEX = "index.html"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
NO_CACHE = b"no-cache"
IMMUTABLE = b"public, max-age=31536000, immutable"
TURNED_OFF = (
    "The pynacos web console is turned off (nacos.console.ui.enabled=false). The HTTP and gRPC APIs are unaffected."
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
#: what the router lets through in one path segment (routing.py rule 1), minus `@`, no dot files
_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")
#: a relative reference to an asset in index.html (`console-ui/app.js`), not already versioned
_REFERENCE = re.compile(r"(?<![A-Za-z0-9._~/-])console-ui/([A-Za-z0-9._~/-]+)(?![A-Za-z0-9._~/?-])")
_COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")
#: an Accept-Encoding entry's parameters that refuse it
_REFUSED = re.compile(r"\s*q\s*=\s*0(\.0{0,3})?\s*")


class UiResponse(OwnSecurityHeaders):
    """A response whose headers were built at start-up, security headers included."""

    def __init__(self, body: bytes, raw_headers: list[tuple[bytes, bytes]], status: int = 200) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        length = [] if status == 304 else [(b"content-length", str(len(body)).encode())]
        self.raw_headers = [*raw_headers, *SECURITY_HEADERS, *length]


@dataclass(frozen=True)
class Variant:
    """One encoding of a file: its bytes and its entity tag (gzip and plain differ, as RFC 9110 wants)."""

    body: bytes
    etag: bytes
    encoding: bytes | None


@dataclass(frozen=True)
class Asset:
    content_type: bytes
    version: str
    plain: Variant
    gzipped: Variant | None

    @classmethod
    def of(cls, data: bytes, content_type: str) -> Asset:
        digest = hashlib.sha256(data).hexdigest()
        plain = Variant(data, f'"{digest[:16]}"'.encode(), None)
        gzipped = None
        if content_type.startswith(_COMPRESSIBLE):
            packed = gzip.compress(data, 9, mtime=0)
            if len(packed) < len(data):
                gzipped = Variant(packed, f'"{digest[:16]}-gz"'.encode(), b"gzip")
        return cls(content_type.encode(), digest[:8], plain, gzipped)

    def respond(self, call: Call, cache_control: bytes) -> Response:
        variant = self.gzipped if self.gzipped is not None and accepts_gzip(call) else self.plain
        headers = [
            (b"content-type", self.content_type),
            (b"cache-control", cache_control),
            (b"etag", variant.etag),
            (b"vary", b"Accept-Encoding"),
        ]
        if variant.encoding is not None:
            headers.append((b"content-encoding", variant.encoding))
        if not_modified(call.headers.get("if-none-match"), variant.etag):
            return UiResponse(b"", headers, 304)
        return UiResponse(variant.body, headers)


def accepts_gzip(call: Call) -> bool:
    """`gzip` listed in Accept-Encoding without `q=0`, or else `*` without it (RFC 9110 12.5.3)."""
    allowed: dict[str, bool] = {}
    for item in call.headers.get("accept-encoding", "").split(","):
        name, _, params = item.partition(";")
        allowed.setdefault(name.strip().lower(), not _REFUSED.fullmatch(params))
    return allowed.get("gzip", allowed.get("*", False))


def not_modified(if_none_match: str | None, etag: bytes) -> bool:
    """RFC 9110 13.1.2: weak comparison against each listed tag, or `*`."""
    if not if_none_match:
        return False
    wanted = etag.decode()
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or wanted in tags


def content_type(path: Path) -> str:
    known = TYPES.get(path.suffix.lower())
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def load_assets(root: Path) -> dict[str, Asset]:
    """Every servable file under `root` by relative path; names the router could not route are skipped
    with a warning (a route nobody can reach is a file nobody can load)."""
    assets: dict[str, Asset] = {}
    if not root.is_dir():
        return assets
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if not all(_SEGMENT.fullmatch(part) for part in relative.split("/")):
            log.warning("console file %s skipped: its name has characters a URL path here may not", relative)
            continue
        assets[relative] = Asset.of(path.read_bytes(), content_type(path))
    return assets


def versioned_index(html: bytes, assets: dict[str, Asset]) -> bytes:
    """index.html with each `console-ui/<file>` it names rewritten to `console-ui/<file>?v=<hash>`."""

    def version(match: re.Match[str]) -> str:
        asset = assets.get(match.group(1))
        return match.group(0) if asset is None else f"{match.group(0)}?v={asset.version}"

    return _REFERENCE.sub(version, html.decode("utf-8")).encode("utf-8")


class ConsoleUi:
    """The UI's routes: the pages when `enabled`, else a text that says how to turn them back on."""

    def __init__(self, enabled: bool, root: Path | None = None) -> None:
        root = root or STATIC
        self.enabled = enabled
        self.assets = load_assets(root) if enabled else {}
        page = self.assets.pop(INDEX, None)
        self.index = None if page is None else Asset.of(versioned_index(page.plain.body, self.assets), TYPES[".html"])
        if enabled and self.index is None:
            log.warning("the web console is not installed (no %s under %s); / answers 404", INDEX, root)

    def routes(self) -> list[Route]:
        if not self.enabled:
            return self._page_routes(self.turned_off)
        if self.index is None:
            return []
        assets = [
            route(ASSETS + path, "GET", self._serve(asset), PUBLIC, before_ready=True)
            for path, asset in self.assets.items()
        ]
        return [*self._page_routes(self.page), *assets]

    @staticmethod
    def _page_routes(handler: Callable[[Call], Awaitable[Response]]) -> list[Route]:
        return [route(path, "GET", handler, PUBLIC, before_ready=True) for path in ("/", "/" + INDEX)]

    async def page(self, call: Call) -> Response:
        assert self.index is not None  # routed only when there is one
        return self.index.respond(call, NO_CACHE)

    async def turned_off(self, call: Call) -> Response:
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", NO_CACHE)]
        return UiResponse(TURNED_OFF.encode(), headers)

    @staticmethod
    def _serve(asset: Asset) -> Callable[[Call], Awaitable[Response]]:
        async def serve(call: Call) -> Response:
            current = call.params.get("v") == asset.version
            return asset.respond(call, IMMUTABLE if current else NO_CACHE)

        return serve
