"""SQL for gray configs (`config_info_gray`, Nacos 2.5's table) and their history rows.

Each write is one transaction with its `his_config_info` row (publish type `gray`, the gray name, and
the rule in `ext_info`), as Nacos writes them. On a 2.1-2.4 history table, which has no publish type,
gray writes keep no history: their rows would read as formal ones and could be restored as such.
Rows whose rule this server does not know (a type added by a later Nacos) are left alone.

Nacos 2.0-2.4 kept beta versions in `config_info_beta` and tag versions in `config_info_tag`; Nacos 2.5
copies them into `config_info_gray` at start-up, and so does `migrate_legacy` (a legacy row wins when it
is newer than the gray row, no history is written, the legacy tables are not changed).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, MetaData, Table, column, delete, insert, inspect, or_, select, table, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pynacos.server.config.gray import BETA, BETA_PRIORITY, TAG, TAG_PRIORITY, GrayConfig, GrayRule, parse_stored_rule
from pynacos.server.config.models import ConfigKey
from pynacos.server.storage.schema import schema_of, tenant_of
from pynacos.server.storage.tables import config_info_gray, his_config_info

log = logging.getLogger("pynacos.storage")


class GrayStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        #: the pre-2.5 tables this database has (found by `migrate_legacy`)
        self.legacy_tables: frozenset[str] = frozenset()

    async def load_all(self) -> list[GrayConfig]:
        """Every gray version with a known rule; of a public one stored under both '' and 3.x's
        'public', the '' row (as for formal configs)."""
        query = select(config_info_gray).order_by(config_info_gray.c.tenant_id.desc(), config_info_gray.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found: dict[tuple[ConfigKey, str], GrayConfig] = {}
        for row in rows:
            gray = _gray_from_row(row)
            if gray is None:
                log.warning(
                    "gray config %s/%s (%s) has a rule this server does not know; it is not served",
                    row.group_id,
                    row.data_id,
                    row.gray_name,
                )
                continue
            found[(gray.key, gray.name)] = gray
        return list(found.values())

    async def migrate_legacy(self) -> int:
        """Copy newer rows of the pre-2.5 beta/tag tables into `config_info_gray`; returns how many."""
        async with self.engine.begin() as conn:
            self.legacy_tables = frozenset(await conn.run_sync(_legacy_tables))
            moved = await conn.run_sync(_migrate_legacy, self.legacy_tables)
        if moved:
            log.info("copied %d beta/tag versions from config_info_beta/config_info_tag into config_info_gray", moved)
        return moved

    async def insert(self, gray: GrayConfig) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(config_info_gray).values(_gray_values(gray)))
            gray_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            await self._history(conn, gray, "I", 0, gray.modified, gray.src_user, gray.src_ip)
        return gray_id

    async def update(self, old: GrayConfig, new: GrayConfig) -> None:
        """The `U` history row keeps the previous content and rule, as Nacos does."""
        values = {k: v for k, v in _gray_values(new).items() if k not in ("data_id", "group_id", "tenant_id")}
        async with self.engine.begin() as conn:
            await conn.execute(update(config_info_gray).where(config_info_gray.c.id == old.id).values(values))
            await self._history(conn, old, "U", old.id, new.modified, new.src_user, new.src_ip)

    async def delete(self, old: GrayConfig, when: datetime, src_user: str | None, src_ip: str | None) -> None:
        """The gray row, and its pre-2.5 twin if there is one: left behind, it would be copied back at the
        next start (Nacos 2.5 deletes both too)."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(config_info_gray).where(config_info_gray.c.id == old.id))
            twin = _legacy_twin(old, self.legacy_tables)
            if twin is not None:
                await conn.execute(twin)
            await self._history(conn, old, "D", old.id, when, src_user, src_ip)

    async def _history(
        self,
        conn: AsyncConnection,
        gray: GrayConfig,
        op: str,
        config_id: int,
        when: datetime,
        src_user: str | None,
        src_ip: str | None,
    ) -> None:
        schema = await schema_of(self.engine)
        if not schema.has(his_config_info, "publish_type"):
            return
        row = {
            "id": config_id,
            "data_id": gray.key.data_id,
            "group_id": gray.key.group,
            "tenant_id": gray.key.tenant,
            "app_name": gray.app_name,
            "content": gray.content,
            "md5": gray.md5,
            "gmt_create": when,
            "gmt_modified": when,
            "src_user": src_user,
            "src_ip": src_ip,
            "op_type": op,
            "encrypted_data_key": gray.encrypted_data_key,
            "publish_type": "gray",
            "gray_name": gray.name,
            "ext_info": gray.rule.history_info(gray.src_user),
        }
        await conn.execute(insert(his_config_info).values(schema.values(his_config_info, row)))


def _legacy_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) & {"config_info_beta", "config_info_tag"}


def _legacy_twin(gray: GrayConfig, legacy: frozenset[str]) -> Delete | None:
    """The DELETE of the pre-2.5 row holding the same beta or tag version, when that table exists."""
    name = "config_info_beta" if gray.rule.type == BETA else "config_info_tag"
    if name not in legacy:
        return None
    columns = ["data_id", "group_id", "tenant_id"] + (["tag_id"] if gray.rule.type == TAG else [])
    twin = table(name, *(column(c) for c in columns))
    tenant = twin.c.tenant_id
    public = or_(tenant == "", tenant.is_(None))  # the migration reads a NULL tenant as the public one
    same = [twin.c.data_id == gray.key.data_id, twin.c.group_id == gray.key.group]
    same.append(tenant == gray.key.tenant if gray.key.tenant else public)
    if gray.rule.type == TAG:
        same.append(twin.c.tag_id == gray.rule.expr)
    return delete(twin).where(*same)


def _migrate_legacy(conn: Connection, legacy: frozenset[str]) -> int:
    if not legacy:
        return 0
    gray = config_info_gray.c
    newest = {
        (row.tenant_id or "", row.group_id, row.data_id, row.gray_name): row.gmt_modified
        for row in conn.execute(select(gray.tenant_id, gray.group_id, gray.data_id, gray.gray_name, gray.gmt_modified))
    }
    moved = 0
    for name in sorted(legacy):
        reflected = Table(name, MetaData(), autoload_with=conn)
        for row in conn.execute(select(reflected)).mappings():
            rule = _legacy_rule(name, row)
            key = (row["tenant_id"] or "", row["group_id"], row["data_id"], rule.name)
            if key in newest and newest[key] >= row["gmt_modified"]:
                continue
            where = [
                gray.data_id == key[2],
                gray.group_id == key[1],
                gray.tenant_id == key[0],
                gray.gray_name == key[3],
            ]
            conn.execute(delete(config_info_gray).where(*where))
            conn.execute(insert(config_info_gray).values(_legacy_values(row, rule)))
            moved += 1
    return moved


def _legacy_rule(table: str, row: Any) -> GrayRule:
    if table == "config_info_beta":
        return GrayRule(BETA, row["beta_ips"] or "", BETA_PRIORITY)
    return GrayRule(TAG, row["tag_id"], TAG_PRIORITY)


def _legacy_values(row: Any, rule: GrayRule) -> dict[str, Any]:
    return {
        "data_id": row["data_id"],
        "group_id": row["group_id"],
        "tenant_id": row["tenant_id"] or "",
        "content": row["content"],
        "md5": row["md5"],
        "src_user": "nacos_auto_migrate",  # what Nacos 2.5 writes
        "src_ip": row["src_ip"],
        "gmt_create": row["gmt_create"],
        "gmt_modified": row["gmt_modified"],
        "app_name": row["app_name"],
        "gray_name": rule.name,
        "gray_rule": rule.stored(),
        "encrypted_data_key": row.get("encrypted_data_key") or "",
    }


def _gray_values(gray: GrayConfig) -> dict[str, Any]:
    return {
        "data_id": gray.key.data_id,
        "group_id": gray.key.group,
        "tenant_id": gray.key.tenant,
        "content": gray.content,
        "md5": gray.md5,
        "src_user": gray.src_user,
        "src_ip": gray.src_ip,
        "gmt_create": gray.created,
        "gmt_modified": gray.modified,
        "app_name": gray.app_name,
        "gray_name": gray.name,
        "gray_rule": gray.rule.stored(),
        "encrypted_data_key": gray.encrypted_data_key,
    }


def _gray_from_row(row: Any) -> GrayConfig | None:
    rule = parse_stored_rule(row.gray_rule)
    if rule is None or rule.name != row.gray_name:
        return None
    return GrayConfig(
        id=row.id,
        key=ConfigKey(tenant_of(row.tenant_id), row.group_id or "", row.data_id),
        rule=rule,
        content=row.content,
        md5=row.md5 or "",
        app_name=row.app_name or "",
        encrypted_data_key=row.encrypted_data_key or "",
        src_user=row.src_user,
        src_ip=row.src_ip,
        created=row.gmt_create,
        modified=row.gmt_modified,
    )
