"""One exception tree for everything the SDK raises.

```
NacosError(code, message)          every failure a call can report
├── TransportError                 one server could not be asked (these are the causes kept in
│   ├── Timeout                    ServerUnavailable.errors; Timeout is raised when the call's
│   └── ConnectError               own deadline ran out while a server was answering)
├── ServerError(status)            the server answered an HTTP error that is not one below
│   └── BadRequest                 400: the request itself is wrong (invalid dataId, ...)
├── AuthError                      the server refused who we are or what we asked
│   ├── Unauthenticated            login refused (wrong password, no such user, locked) or a
│   │                              token the server rejects even after logging in again
│   └── Forbidden                  the user is known but lacks the permission
├── NotFound                       no such thing (404, no healthy instance to select)
├── Conflict                       compare-and-set publish lost: the config changed meanwhile
└── ServerUnavailable              no server in the list answered before the deadline

ClientClosed(RuntimeError)         misuse: a call on a closed client (a bug, not an outage)
```

`code` is the server's code where there is one (the HTTP status for Nacos's v1 API), and a
negative number for failures on the client's side, like the Java SDK's `-401` (disconnected).
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BadRequest",
    "ClientClosed",
    "Conflict",
    "ConnectError",
    "Forbidden",
    "NacosError",
    "NotFound",
    "ServerError",
    "ServerUnavailable",
    "Timeout",
    "TransportError",
    "Unauthenticated",
]

CLIENT_TIMEOUT = -408
CLIENT_DISCONNECT = -401


class NacosError(Exception):
    """Base of every SDK failure; `code` and `message` are what the server (or client) said."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class TransportError(NacosError):
    """One server could not be reached or did not answer in time."""


class Timeout(TransportError):
    def __init__(self, message: str) -> None:
        super().__init__(CLIENT_TIMEOUT, message)


class ConnectError(TransportError):
    def __init__(self, message: str) -> None:
        super().__init__(CLIENT_DISCONNECT, message)


class ServerError(NacosError):
    """An HTTP error answer; `status` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status


class BadRequest(ServerError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class AuthError(NacosError):
    """Auth failures; `hint` says the likely cause and the fix when the SDK can tell."""

    def __init__(self, code: int, message: str, hint: str = "") -> None:
        super().__init__(code, f"{message} ({hint})" if hint else message)
        self.reason = message
        self.hint = hint


class Unauthenticated(AuthError):
    pass


class Forbidden(AuthError):
    pass


class NotFound(NacosError):
    pass


class Conflict(NacosError):
    pass


class ServerUnavailable(NacosError):
    """Every server failed; `errors` holds each attempt's failure, oldest first."""

    def __init__(self, message: str, errors: list[NacosError] | None = None) -> None:
        super().__init__(503, message)
        self.errors = list(errors or [])


class ClientClosed(RuntimeError):
    """The client was closed; calls after close() are a programming error."""
