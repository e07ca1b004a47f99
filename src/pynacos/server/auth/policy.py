"""Route policies: every route in the route table names exactly one of these.

`Public` routes are open to anyone; `Authenticated` needs a valid identity; `Secured` needs a
permission on the resources the request names (read from its parameters by `resources`, the same
parameters the handler then uses) or, without `resources`, on a fixed admin resource such as
`console/users`; `Admin` needs ROLE_ADMIN. A route cannot be built without a policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pynacos.server.auth.resources import Resource
from pynacos.server.http import Params
from pynacos.server.namespaces.service import normalise

Action = Literal["r", "w"]
ResourceReader = Callable[[Params], list[str]]


@dataclass(frozen=True)
class Public:
    """Open even with auth on (login, health, server state)."""


@dataclass(frozen=True)
class Authenticated:
    """Any valid identity, no permission needed (e.g. listing namespaces when auth is on)."""


@dataclass(frozen=True)
class Secured:
    """Permission `action` on the resources the request names, or on the fixed `resource`."""

    action: Action
    resources: ResourceReader | None = None
    #: without `resources`: the fixed resource (ROLE_ADMIN only), e.g. "console/namespaces"
    resource: str = ""
    #: Nacos's `console/user/password` tag: the handler itself checks self-or-admin
    self_service: bool = False


@dataclass(frozen=True)
class Admin:
    """ROLE_ADMIN only (ops and cluster routes)."""


@dataclass(frozen=True)
class Internal:
    """Node-to-node only: the server identity header must match, whatever the auth switches say.

    Nacos checks nothing on its cluster port (protocol.md F.2.2), so anyone who reaches it can inject naming
    data; here an inter-node route without the identity is refused even with auth off, and a user's token
    never opens it (security.md §5)."""


Policy = Public | Authenticated | Secured | Admin | Internal


def namespaced(namespace: str, group: str, kind: str, name: str) -> Resource:
    """`<namespace>:<group>:<kind>/<name>`, `*` for a blank group or name (auth.md §8.1); the fields stay
    separate inside, so permissions match field by field even when a group or name contains `:`."""
    return Resource(normalise(namespace), group.strip() or "*", kind, name.strip() or "*")


def config_resources(params: Params) -> list[str]:
    return [namespaced(params.namespace(), params.text("group"), "config", params.text("dataId"))]


def config_resources_v3(params: Params) -> list[str]:
    """Nacos 3.x names: `namespaceId` (or an alias), `groupName`, `dataId`. Only `groupName` is read, never
    `group` as Nacos's parser falls back to: the v3 handlers read `groupName`, and the check must read
    what the handler uses."""
    return [namespaced(params.namespace(), params.text("groupName"), "config", params.text("dataId"))]


PUBLIC = Public()
AUTHENTICATED = Authenticated()
ADMIN = Admin()
INTERNAL = Internal()
CONFIG_READ = Secured("r", config_resources)
CONFIG_WRITE = Secured("w", config_resources)
CONFIG_READ_V3 = Secured("r", config_resources_v3)
CONFIG_WRITE_V3 = Secured("w", config_resources_v3)
