"""SQL for `group_capacity` and `tenant_capacity`: one row per group or namespace, 0 meaning "the default".

The rows are read and written only through the capacity routes (never on a config hot path), so each
call is its own short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.storage.tables import group_capacity, tenant_capacity

Owner = Literal["group", "tenant"]
LIMITS = ("quota", "max_size", "max_aggr_count", "max_aggr_size")


@dataclass(frozen=True)
class CapacityRow:
    """A stored row: its id and the four limits as stored (0 = the server default)."""

    id: int
    quota: int
    max_size: int
    max_aggr_count: int
    max_aggr_size: int


def _table(owner: Owner) -> tuple[Table, str]:
    return (group_capacity, "group_id") if owner == "group" else (tenant_capacity, "tenant_id")


class CapacityStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, owner: Owner, name: str) -> CapacityRow | None:
        table, column = _table(owner)
        query = select(table.c.id, *(table.c[limit] for limit in LIMITS)).where(table.c[column] == name)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else CapacityRow(*(int(value or 0) for value in row))

    async def save(self, owner: Owner, name: str, limits: dict[str, int], usage: int, moment: datetime) -> None:
        """Insert the row or change the given limits of the existing one. `usage` is written too, so that a
        Nacos node sharing the database reads a current figure (pynacos itself counts live)."""
        table, column = _table(owner)
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(table).where(table.c[column] == name).values(**limits, usage=usage, gmt_modified=moment)
            )
            if changed.rowcount == 0:
                values = {limit: 0 for limit in LIMITS} | limits
                await conn.execute(
                    insert(table).values(
                        {column: name, **values, "usage": usage, "gmt_create": moment, "gmt_modified": moment}
                    )
                )
