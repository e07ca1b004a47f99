"""Route policies: every route in the route table names exactly one of these.

`Public` routes are open to anyone; `Authenticated` needs a valid identity; `Secured` needs a
permission on a resource taken from the request (config or naming parameters, or a fixed
`specified` string such as `console/users`); `Admin` needs ROLE_ADMIN. A route without a policy
cannot be built (the `Route` constructor requires one and a test walks the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["r", "w"]
ResourceKind = Literal["config", "naming", "specified"]


@dataclass(frozen=True)
class Public:
    """Open even with auth on (login, health, server state)."""


@dataclass(frozen=True)
class Authenticated:
    """Any valid identity, no permission needed (e.g. listing namespaces when auth is on)."""


@dataclass(frozen=True)
class Secured:
    """Permission `action` on the resource the request names."""

    action: Action
    kind: ResourceKind
    #: for kind == "specified": the fixed resource string, e.g. "console/namespaces"
    resource: str = ""
    #: Nacos's `console/user/password` tag: the handler itself checks self-or-admin
    self_service: bool = False


@dataclass(frozen=True)
class Admin:
    """ROLE_ADMIN only (ops and cluster routes)."""


Policy = Public | Authenticated | Secured | Admin

PUBLIC = Public()
AUTHENTICATED = Authenticated()
ADMIN = Admin()
CONFIG_READ = Secured("r", "config")
CONFIG_WRITE = Secured("w", "config")
