"""What a route handler sees of a request, and the response shapes Nacos clients expect.

Parameters come from the query string and, for any method, an urlencoded body (Spring's
FormContentFilter does the same for PUT/DELETE). One name has one value: a name repeated with
different values is refused rather than silently picking one, because the auth check and the handler
must never read two different values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from pynacos.server.characters import JAVA_INT_MAX, NUL, NUL_TEXT
from pynacos.server.errors import BadRequest, MissingParameter

if TYPE_CHECKING:
    from pynacos.server.auth.principal import Principal

T = TypeVar("T")
MAX_PARAMS = 1000
NAMESPACE_ALIASES = ("namespaceId", "tenant", "namespace")
#: parameters that are lists by nature, so repeating them adds values instead of conflicting
LIST_PARAMS = frozenset({"ids"})
_CACHED_QUERY_BYTES = 512
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
JSON_UTF8 = "application/json;charset=UTF-8"
TEXT_UTF8 = "text/plain;charset=UTF-8"
NO_CACHE = {
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    "Cache-Control": "no-cache,no-store",
}
_TRUE_WORDS = {"true", "on", "yes", "1", "t", "y"}
_FALSE_WORDS = {"false", "off", "no", "0", "f", "n"}


class Params(Mapping[str, str]):
    """Request parameters, one value per name (query first, then form body)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        values: dict[str, str] = {}
        for count, (name, value) in enumerate(pairs, start=1):
            if count > MAX_PARAMS:
                raise BadRequest(f"too many parameters, over {MAX_PARAMS}")
            if name in LIST_PARAMS and name in values:
                values[name] += "," + value  # Spring joins a repeated list parameter with commas
            elif values.setdefault(name, value) != value:
                raise BadRequest(f"parameter '{name}' is given twice with different values")
        self._values = values

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    @overload
    def get(self, name: str, /) -> str | None: ...

    @overload
    def get(self, name: str, default: str, /) -> str: ...

    @overload
    def get(self, name: str, default: T, /) -> str | T: ...

    def get(self, name: str, default: object = None, /) -> object:
        """Direct lookup: Mapping.get would raise and catch KeyError for every absent name."""
        return self._values.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def required(self, name: str) -> str:
        """A parameter the route cannot do without; an empty value counts as given (as in Spring)."""
        value = self._values.get(name)
        if value is None:
            raise MissingParameter(name)
        return value

    def text(self, name: str, default: str = "") -> str:
        return self._values.get(name, default)

    def optional(self, name: str) -> str | None:
        """Blank counts as absent."""
        value = self._values.get(name)
        return value if value is not None and value.strip() else None

    def integer(self, name: str, default: int | None = None, limit: int = JAVA_INT_MAX) -> int:
        """A whole number within +-`limit`: Nacos parses Java ints (pass JAVA_LONG_MAX for its `Long` ones)."""
        raw = self._values.get(name, "")
        if not raw.strip():
            if default is None:
                raise MissingParameter(name, "int")
            return default
        text = raw.strip()
        if not text.isascii() or len(text) > 20:
            raise BadRequest(f"parameter '{name}' must be a whole number, not '{raw}'")
        try:
            value = int(text)
        except ValueError:
            raise BadRequest(f"parameter '{name}' must be a whole number, not '{raw}'") from None
        if not -limit <= value <= limit:
            raise BadRequest(f"parameter '{name}' is out of range: {raw}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self._values.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in _TRUE_WORDS:
            return True
        if raw in _FALSE_WORDS:
            return False
        raise BadRequest(f"parameter '{name}' must be true or false, not '{raw}'")

    def namespace(self) -> str:
        """The namespace a request names (`namespaceId`, `tenant` or `namespace`), not yet normalised.

        The auth check and the handler both read it here, so they cannot disagree; two aliases
        with different values are refused (Nacos authorised one and served the other).
        """
        given = {self._values[n].strip() for n in NAMESPACE_ALIASES if self._values.get(n, "").strip()}
        if len(given) > 1:
            raise BadRequest("namespaceId, tenant and namespace name different namespaces")
        return given.pop() if given else ""

    def insensitive(self, name: str) -> str | None:
        """Nacos reads identity parameters (accessToken, username, ...) without regard to case, so
        `accessToken` and `ACCESSTOKEN` are one parameter: two different values are a 400."""
        wanted = name.lower()
        found: str | None = None
        for key, value in self._values.items():
            if key.lower() == wanted:
                if found is not None and value != found:
                    raise BadRequest(f"parameter {name} is given more than once with different values")
                found = value
        return found


def parse_pairs(raw: bytes) -> list[tuple[str, str]]:
    """Decode `a=1&b=2` (`+` is a space, escapes are UTF-8); bad UTF-8 is a 400, not a guess.

    Clients repeat the same short query (a config GET, a heartbeat every 5 s), so short ones are
    decoded once and remembered.
    """
    if not raw:
        return []
    if len(raw) <= _CACHED_QUERY_BYTES:
        return list(_parse_cached(raw))
    return _parse(raw)


@functools.lru_cache(maxsize=16384)  # above 10,000 instances beating with distinct queries
def _parse_cached(raw: bytes) -> tuple[tuple[str, str], ...]:
    return tuple(_parse(raw))


def _parse(raw: bytes) -> list[tuple[str, str]]:
    if _BAD_ESCAPE.search(raw):
        raise BadRequest("parameters contain an invalid percent-escape")
    try:
        text = raw.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("parameters are not valid UTF-8 percent-encoding") from None
    if (b"%00" in raw or b"\x00" in raw) and any(NUL in name or NUL in value for name, value in pairs):
        raise BadRequest(f"parameters {NUL_TEXT}")  # characters.py: the same answer on every backend
    return pairs


@dataclass
class Call:
    """One request, as every handler and the auth check see it, whatever its transport.

    HTTP calls carry their Starlette request; a gRPC call (request None) carries its payload's headers
    and its fields under the parameter names the HTTP routes use, so both meet the same policies.
    """

    request: Request | None
    method: str
    path: str
    params: Params
    client_ip: str
    principal: Principal | None = None
    header_map: Headers | None = None
    #: came in on the console port (`nacos.console.port`), where the server identity opens nothing
    console_port: bool = False

    @property
    def headers(self) -> Headers:
        if self.header_map is not None:
            return self.header_map
        return self.http_request.headers

    @property
    def http_request(self) -> Request:
        """The HTTP request, for the handlers that only HTTP reaches (uploads, long polls)."""
        if self.request is None:
            raise TypeError(f"{self.method} {self.path} is not an HTTP request")
        return self.request

    def header_flag(self, name: str) -> bool:
        """Nacos's header switches count only the word `true`."""
        return self.headers.get(name, "").strip().lower() == "true"


def text(
    body: str, status: int = 200, media_type: str = TEXT_UTF8, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(body.encode("utf-8"), status, headers=dict(headers or {}), media_type=media_type)


def json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers=dict(headers or {}), media_type="application/json")


def boolean(value: bool, media_type: str = JSON_UTF8) -> Response:
    return text("true" if value else "false", media_type=media_type)


def rest_result(data: Any, code: int = 200, message: str | None = None) -> Response:
    """Nacos v1 console envelope `{"code":200,"message":null,"data":...}` (always HTTP 200)."""
    return json({"code": code, "message": message, "data": data})


def result(data: Any) -> Response:
    """Nacos v2 envelope `{"code":0,"message":"success","data":...}`."""
    return json({"code": 0, "message": "success", "data": data})


class Prebuilt(Response):
    """A response whose headers were encoded ahead of time (the config GET hot path)."""

    def __init__(self, body: bytes, raw_headers: list[tuple[bytes, bytes]], status: int = 200) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = [*raw_headers, (b"content-length", str(len(body)).encode())]


def encode_headers(headers: Mapping[str, str], media_type: str) -> list[tuple[bytes, bytes]]:
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return [*encoded, (b"content-type", media_type.encode("latin-1"))]


def page(total: int, page_no: int, page_size: int, items: list[Any]) -> dict[str, Any]:
    """Nacos's `Page` shape; `pagesAvailable` is ceil(total / pageSize)."""
    return {"totalCount": total, "pageNumber": page_no, "pagesAvailable": -(-total // page_size), "pageItems": items}


def spring_error(status: int, message: str, path: str) -> Response:
    """Spring Boot's error JSON, which Nacos's servlet filters produce (and unknown paths)."""
    body = {
        "timestamp": datetime.now().astimezone().isoformat(timespec="milliseconds"),
        "status": status,
        "error": _REASONS.get(status, "Error"),
        "message": message,
        "path": path,
    }
    return json(body, status)


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
