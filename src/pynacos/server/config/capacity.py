"""Config capacity (Nacos's group and namespace quotas): stored limits, defaults, and live usage.

Nacos keeps a `usage` counter per row and corrects it with a timer; here usage is the number of configs
held in memory at the time of the request (a group's usage counts the public namespace only, as Nacos's
group rows do; the group named "" is the whole server, Nacos's "cluster" row). Limits stored as 0 mean
the server default, so changing a default changes every row that never set its own.

Publishing does not enforce these limits: Nacos checks them only with `isCapacityLimitCheck` (default
false), and pynacos stores and reports them for tools that manage them. A GET of a group or namespace
without a row shows the defaults (id null) and writes nothing; Nacos inserts a row on that GET.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pynacos.server.characters import JAVA_INT_MAX
from pynacos.server.config import validation
from pynacos.server.config.service import ConfigService, now
from pynacos.server.errors import BadRequest
from pynacos.server.namespaces.service import normalise
from pynacos.server.storage.capacity import CapacityRow, CapacityStore

CLUSTER = ""
DEFAULT_CLUSTER_QUOTA = 100_000
DEFAULT_GROUP_QUOTA = 200
DEFAULT_MAX_SIZE = 100 * 1024
DEFAULT_MAX_AGGR_COUNT = 10_000
DEFAULT_MAX_AGGR_SIZE = 1024
#: a new row created without a quota while usage is already over the default gets usage + this share of it
INITIAL_EXPANSION_PERCENT = 100
#: request parameter -> column
PARAMETERS = {"quota": "quota", "maxSize": "max_size", "maxAggrCount": "max_aggr_count", "maxAggrSize": "max_aggr_size"}


@dataclass(frozen=True)
class Target:
    """Whose capacity: a group (of the public namespace) or a namespace; `name` is the stored key."""

    owner: Literal["group", "tenant"]
    name: str
    #: the namespace as configs store it ("" = public), for counting
    tenant: str = ""


@dataclass(frozen=True)
class Capacity:
    id: int | None
    quota: int
    usage: int
    max_size: int
    max_aggr_count: int
    max_aggr_size: int


def group_target(group: str) -> Target:
    """A group's capacity; "" is the whole server. Other names must be valid group names."""
    if group and not validation.valid_name(group):
        raise BadRequest(f"invalid group : {group}")
    if len(group) > 128:
        raise BadRequest("too long group, over 128")
    return Target("group", group)


def tenant_target(namespace_id: str) -> Target:
    """A namespace's capacity. The public namespace is stored as `public`, as Nacos 3.x writes it."""
    tenant = normalise(namespace_id)
    validation.validate_tenant(tenant, "namespaceId")
    return Target("tenant", tenant or "public", tenant)


def parse_limits(given: dict[str, str | None]) -> dict[str, int]:
    """The limits a request sets (absent ones keep their stored value): whole numbers, 0 = the default."""
    limits: dict[str, int] = {}
    for parameter, column in PARAMETERS.items():
        raw = given.get(parameter)
        if raw is None or not raw.strip():
            continue
        text = raw.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > JAVA_INT_MAX:
            raise BadRequest(
                f"parameter '{parameter}' must be a whole number from 0 to {JAVA_INT_MAX}, not '{raw[:64]}'"
            )
        limits[column] = int(text)
    return limits


class CapacityService:
    def __init__(
        self,
        store: CapacityStore,
        configs: ConfigService,
        namespace_exists: Callable[[str], bool],
        default_tenant_quota: int,
    ) -> None:
        self.store = store
        self.configs = configs
        self.namespace_exists = namespace_exists
        self.default_tenant_quota = default_tenant_quota
        self._lock = asyncio.Lock()

    def usage(self, target: Target) -> int:
        if target.owner == "tenant":
            return self.configs.count(target.tenant)
        if target.name == CLUSTER:
            return self.configs.count()
        return sum(1 for c in self.configs.all() if not c.key.tenant and c.key.group == target.name)

    def default_quota(self, target: Target) -> int:
        if target.owner == "tenant":
            return self.default_tenant_quota
        return DEFAULT_CLUSTER_QUOTA if target.name == CLUSTER else DEFAULT_GROUP_QUOTA

    async def get(self, target: Target) -> Capacity:
        self._check_namespace(target)
        row = await self.store.get(target.owner, target.name)
        return self._shown(target, row)

    async def update(self, target: Target, limits: dict[str, int]) -> None:
        """Set the given limits, creating the row if needed. Nothing given is a 400 (nothing is written)."""
        if not limits:
            raise BadRequest(
                "The parameters quota, maxSize, maxAggrCount, maxAggrSize cannot be empty at the same time"
            )
        self._check_namespace(target)
        usage = self.usage(target)
        async with self._lock:
            if await self.store.get(target.owner, target.name) is None and "quota" not in limits:
                limits = {**limits, "quota": self._initial_quota(target, usage)}
            await self.store.save(target.owner, target.name, limits, usage, now())

    def _initial_quota(self, target: Target, usage: int) -> int:
        """Nacos's automatic expansion: a row created while usage is already at the default quota gets
        room to grow instead of being full from the start; otherwise 0 (the default)."""
        default = self.default_quota(target)
        return usage + default * INITIAL_EXPANSION_PERCENT // 100 if usage >= default else 0

    def _check_namespace(self, target: Target) -> None:
        if target.owner == "tenant" and target.tenant and not self.namespace_exists(target.tenant):
            raise BadRequest(f"namespace '{target.tenant}' does not exist")

    def _shown(self, target: Target, row: CapacityRow | None) -> Capacity:
        stored = row or CapacityRow(0, 0, 0, 0, 0)
        return Capacity(
            id=row.id if row else None,
            quota=stored.quota or self.default_quota(target),
            usage=self.usage(target),
            max_size=stored.max_size or DEFAULT_MAX_SIZE,
            max_aggr_count=stored.max_aggr_count or DEFAULT_MAX_AGGR_COUNT,
            max_aggr_size=stored.max_aggr_size or DEFAULT_MAX_AGGR_SIZE,
        )
