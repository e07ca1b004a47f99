"""What cluster mode reads to catch up with writes made on other nodes (cluster/repair.py, config refresh).

- `load_key`: one config key as the database has it now (formal row with its tags, gray rows), on one
  connection; the public namespace is `''` or Nacos 3.x's `'public'`, the `''` row winning as at start-up.
- `history_since`: the keys named by `his_config_info` rows with `nid` above a cursor. Every config write
  adds one such row in its own transaction (configs.py, gray_configs.py), so the history tail is a log of
  changes ordered by the database, not by any node's clock.
- `digests`: (key, md5) of every formal and gray row, for the periodic full comparison.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pynacos.server.config.gray import GrayConfig
from pynacos.server.config.models import Config, ConfigKey
from pynacos.server.storage.configs import _config_from_row, _one_row_per_key
from pynacos.server.storage.gray_configs import _gray_from_row
from pynacos.server.storage.schema import PUBLIC_3X, Schema, schema_of, tenant_of
from pynacos.server.storage.tables import config_info, config_info_gray, config_tags_relation, his_config_info

MAX_ROWS = 1000


class Change(NamedTuple):
    nid: int
    key: ConfigKey


def _key_where(table: Any, key: ConfigKey) -> list[Any]:
    tenants = (key.tenant,) if key.tenant else ("", PUBLIC_3X)
    return [table.c.data_id == key.data_id, table.c.group_id == key.group, table.c.tenant_id.in_(tenants)]


async def load_key(engine: AsyncEngine, key: ConfigKey) -> tuple[Config | None, list[GrayConfig]]:
    """The formal config (None when there is none) and the gray versions with a known rule."""
    async with engine.connect() as conn:
        return await _load_config(conn, key, await schema_of(engine)), await _load_grays(conn, key)


async def _load_config(conn: AsyncConnection, key: ConfigKey, schema: Schema) -> Config | None:
    query = select(*schema.columns(config_info)).where(*_key_where(config_info, key)).order_by(config_info.c.id)
    rows = _one_row_per_key((await conn.execute(query)).all())
    if not rows:
        return None
    tags_query = (
        select(config_tags_relation.c.tag_name)
        .where(config_tags_relation.c.id == rows[0].id)
        .order_by(config_tags_relation.c.nid)
    )
    tags = list((await conn.execute(tags_query)).scalars())
    return _config_from_row(rows[0], tags)


async def _load_grays(conn: AsyncConnection, key: ConfigKey) -> list[GrayConfig]:
    """A '' row wins over its 'public' twin."""
    query = (
        select(config_info_gray)
        .where(*_key_where(config_info_gray, key))
        .order_by(config_info_gray.c.tenant_id.desc(), config_info_gray.c.id)
    )
    rows = (await conn.execute(query)).all()
    found: dict[str, GrayConfig] = {}
    for row in rows:
        gray = _gray_from_row(row)
        if gray is not None:
            found[gray.name] = gray
    return list(found.values())


async def max_nid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.max(his_config_info.c.nid)))).scalar() or 0)


async def history_since(engine: AsyncEngine, nid: int, limit: int = MAX_ROWS) -> list[Change]:
    """History rows with `nid` above `nid`, oldest first, at most `limit`."""
    columns = his_config_info.c
    query = (
        select(columns.nid, columns.tenant_id, columns.group_id, columns.data_id)
        .where(columns.nid > nid)
        .order_by(columns.nid)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [Change(int(r.nid), ConfigKey(tenant_of(r.tenant_id), r.group_id or "", r.data_id)) for r in rows]


async def digests(engine: AsyncEngine) -> dict[tuple[ConfigKey, str], str]:
    """md5 by (key, gray name), `""` naming the formal config; a public key stored both ways counts once."""
    found: dict[tuple[ConfigKey, str], str] = {}
    formal = select(config_info.c.tenant_id, config_info.c.group_id, config_info.c.data_id, config_info.c.md5)
    gray = select(
        config_info_gray.c.tenant_id,
        config_info_gray.c.group_id,
        config_info_gray.c.data_id,
        config_info_gray.c.md5,
        config_info_gray.c.gray_name,
    )
    async with engine.connect() as conn:
        for row in (await conn.execute(formal.order_by(config_info.c.tenant_id.desc()))).all():
            found[(ConfigKey(tenant_of(row.tenant_id), row.group_id or "", row.data_id), "")] = row.md5 or ""
        for tenant, group, data_id, md5, name in (
            await conn.execute(gray.order_by(config_info_gray.c.tenant_id.desc()))
        ).all():
            found[(ConfigKey(tenant_of(tenant), group or "", data_id), name)] = md5 or ""
    return found


async def history_of(engine: AsyncEngine, nids: list[int]) -> list[Change]:
    """The history rows among `nids` that exist now (at most MAX_ROWS of them are looked up)."""
    columns = his_config_info.c
    query = select(columns.nid, columns.tenant_id, columns.group_id, columns.data_id).where(
        columns.nid.in_(nids[:MAX_ROWS])
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [Change(int(r.nid), ConfigKey(tenant_of(r.tenant_id), r.group_id or "", r.data_id)) for r in rows]
