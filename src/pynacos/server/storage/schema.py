"""What the database's tables look like, found once at start-up, and how older layouts are read.

Nacos changed its tables over the years (spec F.3.5): 2.0 has no `encrypted_data_key`, 2.1-2.4 have
no `publish_type`/`gray_name`/`ext_info` in `his_config_info`, and 3.x writes the public namespace
as `tenant_id='public'`. pynacos never ALTERs a user's tables, so it adapts instead:

- `open_engine` creates the tables that are missing, then `inspect_schema` reads the columns of the
  tables the stores use and keeps the result per engine (`schema_of`).
- Columns in `OPTIONAL` may be absent: stores neither write nor select them, and reads give the
  default listed there. Any other missing column means the tables are not a layout pynacos knows,
  and start-up stops with a sentence naming it rather than failing on the first query.
- `tenant_of` maps a stored tenant to pynacos's: `''` and 3.x's `'public'` are both the public
  namespace.

The probe runs once; a table altered while the server runs is seen at the next start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Column, Table, inspect
from sqlalchemy.engine import Connection, Row
from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.storage.tables import (
    config_info,
    config_info_gray,
    config_tags_relation,
    his_config_info,
    permissions,
    roles,
    tenant_info,
    users,
)

#: how Nacos 3.x stores the public namespace (2.x and pynacos write '')
PUBLIC_3X = "public"

#: table -> column -> the value a read gives when the column does not exist
OPTIONAL: dict[str, dict[str, Any]] = {
    "config_info": {"encrypted_data_key": ""},
    "his_config_info": {"encrypted_data_key": "", "publish_type": "formal", "gray_name": "", "ext_info": None},
}

_USED = (config_info, config_info_gray, his_config_info, config_tags_relation, tenant_info, users, roles, permissions)

_EFFECTS = {
    "config_info": "configs are stored without an encryption key",
    "his_config_info": "history is kept without them (every row reads as formal)",
}


class SchemaError(RuntimeError):
    """The database has a table pynacos cannot use; the message names it for the operator."""


@dataclass(frozen=True)
class Schema:
    """The optional columns each table lacks (none on a database pynacos or Nacos 2.5+ created)."""

    missing: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def columns(self, table: Table) -> list[Column[Any]]:
        """The columns to select: those that exist."""
        gone = self.missing.get(table.name, frozenset())
        return [column for column in table.columns if column.name not in gone]

    def values(self, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values to write: those whose column exists."""
        gone = self.missing.get(table.name, frozenset())
        return {name: value for name, value in values.items() if name not in gone}

    def has(self, table: Table, column: str) -> bool:
        return column not in self.missing.get(table.name, frozenset())

    def describe(self) -> str | None:
        """One log line naming what is missing and what that costs; None when nothing is."""
        if not self.missing:
            return None
        parts = [
            f"{table.name} has no {'/'.join(c.name for c in table.columns if not self.has(table, c.name))}: "
            + _EFFECTS[table.name]
            for table in _USED
            if table.name in self.missing
        ]
        return f"the database has {self._era()}; its tables are used as they are: " + "; ".join(parts)

    def _era(self) -> str:
        if not self.has(config_info, "encrypted_data_key"):
            return "a Nacos 2.0 (or older) schema"
        if not self.has(his_config_info, "publish_type"):
            return "a Nacos 2.1-2.4 schema"
        return "an older Nacos schema"


def value(row: Row[Any], table: Table, column: str) -> Any:
    """A column of a selected row, or its `OPTIONAL` default when the table lacks the column."""
    mapping = row._mapping
    return mapping[column] if column in mapping else OPTIONAL[table.name][column]


def tenant_of(stored: str | None) -> str:
    """pynacos's namespace id for a stored `tenant_id`: NULL, '' and 3.x's 'public' are the public one."""
    return "" if stored is None or stored == PUBLIC_3X else stored


_SCHEMAS: WeakKeyDictionary[AsyncEngine, Schema] = WeakKeyDictionary()


async def inspect_schema(engine: AsyncEngine) -> Schema:
    """Read the columns once and remember them for this engine; SchemaError if a table is unusable."""
    async with engine.connect() as conn:
        present = await conn.run_sync(_columns_by_table)
    missing: dict[str, frozenset[str]] = {}
    for table in _USED:
        absent = {column.name for column in table.columns} - present[table.name]
        unusable = sorted(absent - OPTIONAL.get(table.name, {}).keys())
        if unusable:
            raise SchemaError(
                f"Table {table.name} has no column {', '.join(unusable)}: it is not a Nacos schema pynacos can "
                "read. Point db.url.0 at a Nacos database (or an empty one) and start again."
            )
        if absent:
            missing[table.name] = frozenset(absent)
    schema = Schema(missing)
    _SCHEMAS[engine] = schema
    return schema


async def schema_of(engine: AsyncEngine) -> Schema:
    """The schema found at start-up (probed now for an engine that `open_engine` did not make)."""
    found = _SCHEMAS.get(engine)
    return found if found is not None else await inspect_schema(engine)


def _columns_by_table(conn: Connection) -> dict[str, set[str]]:
    inspector = inspect(conn)
    return {table.name: {c["name"].lower() for c in inspector.get_columns(table.name)} for table in _USED}
