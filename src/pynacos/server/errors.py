"""Errors that carry their own wire mapping; the router renders them, no route builds an error body.

    NacosError                  500, v2 code 30000 "server error"
     +-- BadRequest             400, 20002 "parameter validate error"   v1: "caused: <detail>;"
     |    +-- MissingParameter  400, 10000 "parameter missing"
     |    +-- ParamCheckFailed  400, body is the bare message + CRLF (Nacos's param-check filter)
     +-- Forbidden              403, 10001 "access denied"               v1: "caused: <detail>;"
     +-- AuthFailed             403, rendered as Spring's error JSON (Nacos's auth filter)
     +-- NotFound               404, 20004 "resource not found"
     +-- CasConflict            500, 20005 "resource conflict"
     +-- RequestTimeout         408 (a request body sent too slowly)
     +-- PayloadTooLarge        413
     +-- TooManyRequests        429 (carries Retry-After)
     +-- Unavailable            503

Each class sets `http_status`, the v2 `code` and `title`; `detail` is the text a client sees.
`style` on the route decides between the v1 text form and the v2 `{code,message,data}` envelope.
"""

from __future__ import annotations

from typing import ClassVar


class NacosError(Exception):
    """Base of every error a request can end in."""

    http_status: ClassVar[int] = 500
    code: ClassVar[int] = 30000
    title: ClassVar[str] = "server error"
    #: the v1 body is the detail itself (plus `suffix`) rather than `caused: <detail>;`
    bare: ClassVar[bool] = False
    suffix: ClassVar[str] = ""

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def v1_body(self) -> str:
        if self.bare:
            return self.detail + self.suffix
        return f"caused: {self.detail};"


class BadRequest(NacosError):
    http_status = 400
    code = 20002
    title = "parameter validate error"


class MissingParameter(BadRequest):
    code = 10000
    title = "parameter missing"

    def __init__(self, name: str, kind: str = "String") -> None:
        super().__init__(f"Required request parameter '{name}' for method parameter type {kind} is not present")
        self.name = name


class ParamCheckFailed(BadRequest):
    """Nacos's param-check filter answers with the bare message and a servlet `println`."""

    bare = True
    suffix = "\r\n"


class Forbidden(NacosError):
    http_status = 403
    code = 10001
    title = "access denied"


class AuthFailed(NacosError):
    """Refused by the auth check in front of a route: Spring Boot's error JSON, as Nacos's filter."""

    http_status = 403
    code = 10001
    title = "access denied"

    def nacos3_text(self) -> str:
        """The message Nacos 3.x's filter writes (`AuthResult.format()`, protocol-v3 G.1.4): `Code: 403` for
        a missing permission, `Code: 401` for a failed identity (HTTP 403 either way)."""
        if self.detail == "authorization failed!":
            return f"Code: 403, Message: {self.detail}."
        reason = NACOS3_USER_NOT_FOUND if self.detail == "user not found!" else self.detail
        return f"Code: 401, Message: {reason}."


NACOS3_USER_NOT_FOUND = "User not found! Please check user exist or password is right!"


class NotFound(NacosError):
    http_status = 404
    code = 20004
    title = "resource not found"


class CasConflict(NacosError):
    http_status = 500
    code = 20005
    title = "resource conflict"


class RequestTimeout(NacosError):
    http_status = 408
    code = 20002
    title = "parameter validate error"


class PayloadTooLarge(NacosError):
    http_status = 413
    code = 20002
    title = "parameter validate error"


class TooManyRequests(NacosError):
    http_status = 429
    code = 10001
    title = "access denied"
    bare = True


class Unavailable(NacosError):
    http_status = 503
    code = 30000
    title = "server error"
