"""SQL for configs, their tags and their history; every write is one transaction.

A publish writes `config_info`, a `his_config_info` row and the tag rows together, so a crash never
leaves a config without its history or a history row for a write that was not acknowledged.

Databases written by older or newer Nacos versions are used as they are (see `schema`): only the
columns that exist are read and written, and rows Nacos 3.x stored under `tenant_id='public'` are the
public namespace (new rows are written with '' as Nacos 2.x does; an update leaves a row's key columns
alone, so a 3.x row stays where 3.x looks for it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Select

from pynacos.server.config.models import Config, ConfigKey, HistoryRow
from pynacos.server.storage.schema import PUBLIC_3X, schema_of, tenant_of, value
from pynacos.server.storage.tables import config_info, config_tags_relation, his_config_info

log = logging.getLogger("pynacos.storage")

_HISTORY_PAGE_CAP = 500
#: written by the insert only: the key never changes, and an update of a 3.x row keeps its 'public'
_INSERT_ONLY = ("data_id", "group_id", "tenant_id", "gmt_create")


class ConfigStore:
    """Reads and writes `config_info`, `config_tags_relation` and `his_config_info`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load_all(self) -> list[Config]:
        schema = await schema_of(self.engine)
        query = select(*schema.columns(config_info)).order_by(config_info.c.id)
        async with self.engine.connect() as conn:
            tags = await self._tags_by_id(conn)
            rows = (await conn.execute(query)).all()
        return [_config_from_row(row, tags.get(row.id, ())) for row in _one_row_per_key(rows)]

    async def _tags_by_id(self, conn: AsyncConnection) -> dict[int, tuple[str, ...]]:
        result: dict[int, list[str]] = {}
        query = select(config_tags_relation.c.id, config_tags_relation.c.tag_name).order_by(config_tags_relation.c.nid)
        for config_id, tag in (await conn.execute(query)).all():
            result.setdefault(config_id, []).append(tag)
        return {k: tuple(v) for k, v in result.items()}

    async def insert(self, config: Config) -> int:
        """Store a new config and its `I` history row; returns the new id."""
        schema = await schema_of(self.engine)
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(config_info).values(schema.values(config_info, _config_values(config))))
            config_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            await self._replace_tags(conn, config_id, config)
            history = _history_values(config, "I", 0, config.modified)
            await conn.execute(insert(his_config_info).values(schema.values(his_config_info, history)))
        return config_id

    async def update(self, old: Config, new: Config) -> None:
        """Replace a config; the `U` history row keeps the previous content, as Nacos does."""
        schema = await schema_of(self.engine)
        values = {k: v for k, v in _config_values(new).items() if k not in _INSERT_ONLY}
        history = _history_values(old, "U", old.id, new.modified)
        history.update(src_user=new.src_user, src_ip=new.src_ip)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(config_info).where(config_info.c.id == old.id).values(schema.values(config_info, values))
            )
            await self._replace_tags(conn, old.id, new)
            await conn.execute(insert(his_config_info).values(schema.values(his_config_info, history)))

    async def delete(self, old: Config, when: datetime, src_user: str | None, src_ip: str | None) -> None:
        """Delete the config, and a 'public' twin of a public one: left behind, it would be served
        again after a restart."""
        schema = await schema_of(self.engine)
        history = _history_values(old, "D", old.id, when)
        history.update(src_user=src_user, src_ip=src_ip)
        async with self.engine.begin() as conn:
            ids = [old.id, *await self._public_twins(conn, old)]
            await conn.execute(delete(config_info).where(config_info.c.id.in_(ids)))
            await conn.execute(delete(config_tags_relation).where(config_tags_relation.c.id.in_(ids)))
            await conn.execute(insert(his_config_info).values(schema.values(his_config_info, history)))

    async def _public_twins(self, conn: AsyncConnection, config: Config) -> list[int]:
        """Ids of other rows that hold the same public config under 3.x's tenant_id 'public'."""
        if config.key.tenant:
            return []
        query = select(config_info.c.id).where(
            config_info.c.data_id == config.key.data_id,
            config_info.c.group_id == config.key.group,
            config_info.c.tenant_id == PUBLIC_3X,
            config_info.c.id != config.id,
        )
        return [int(i) for i in (await conn.execute(query)).scalars()]

    async def _replace_tags(self, conn: AsyncConnection, config_id: int, config: Config) -> None:
        await conn.execute(delete(config_tags_relation).where(config_tags_relation.c.id == config_id))
        for tag in config.tags:
            await conn.execute(
                insert(config_tags_relation).values(
                    id=config_id,
                    tag_name=tag,
                    tag_type="",
                    data_id=config.key.data_id,
                    group_id=config.key.group,
                    tenant_id=config.key.tenant,
                )
            )

    async def history_page(self, key: ConfigKey, page_no: int, page_size: int) -> tuple[int, list[HistoryRow]]:
        """Newest first; page size capped at 500 as in Nacos."""
        page_size = min(page_size, _HISTORY_PAGE_CAP)
        where = _key_filter(key)
        columns = (await schema_of(self.engine)).columns(his_config_info)
        async with self.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(his_config_info).where(where))).scalar_one()
            query = (
                select(*columns)
                .where(where)
                .order_by(his_config_info.c.nid.desc())
                .offset((page_no - 1) * page_size)
                .limit(page_size)
            )
            rows = (await conn.execute(query)).all()
        return int(total), [_history_from_row(r) for r in rows]

    async def history_row(self, nid: int) -> HistoryRow | None:
        return await self._one(await self._history_select(his_config_info.c.nid == nid))

    async def history_previous(self, config_id: int) -> HistoryRow | None:
        """The newest formal row that recorded a change of config `config_id` (I rows carry id 0)."""
        query = await self._history_select(his_config_info.c.id == config_id)
        if (await schema_of(self.engine)).has(his_config_info, "publish_type"):
            query = query.where(his_config_info.c.publish_type == "formal")  # gray ids are another sequence
        return await self._one(query.order_by(his_config_info.c.nid.desc()).limit(1))

    async def history_after(self, row: HistoryRow) -> HistoryRow | None:
        """The next row of the same config, publish type and gray (what a `U` row was changed into)."""
        query = await self._history_select(_key_filter(row.key), his_config_info.c.nid > row.nid)
        if (await schema_of(self.engine)).has(his_config_info, "publish_type"):
            gray = his_config_info.c.gray_name
            same_gray = gray == row.gray_name if row.gray_name else or_(gray == "", gray.is_(None))  # Nacos: NULL
            query = query.where(his_config_info.c.publish_type == row.publish_type, same_gray)
        return await self._one(query.order_by(his_config_info.c.nid).limit(1))

    async def purge_history(self, before: datetime) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(his_config_info).where(his_config_info.c.gmt_modified < before))
        return int(result.rowcount)

    async def _history_select(self, *where: Any) -> Select[Any]:
        """SELECT of the history columns that exist."""
        return select(*(await schema_of(self.engine)).columns(his_config_info)).where(*where)

    async def _one(self, query: Any) -> HistoryRow | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _history_from_row(row) if row is not None else None


def _key_filter(key: ConfigKey) -> Any:
    """History rows of one config; those of the public one may carry 3.x's tenant 'public'."""
    tenant = his_config_info.c.tenant_id
    return and_(
        his_config_info.c.data_id == key.data_id,
        his_config_info.c.group_id == key.group,
        tenant == key.tenant if key.tenant else tenant.in_(("", PUBLIC_3X)),
    )


def _one_row_per_key(rows: Sequence[Row[Any]]) -> list[Row[Any]]:
    """3.x stores the public namespace as 'public': a config stored both ways (3.x's compatibility
    mode copies '' rows to 'public') is served from its '' row, as a 2.x server would."""
    kept: dict[tuple[str, str, str], Row[Any]] = {}
    twice: list[str] = []
    for row in rows:
        key = (tenant_of(row.tenant_id), row.group_id or "", row.data_id)
        other = kept.get(key)
        if other is not None:
            twice.append(f"{key[1]}/{key[2]}")
            if other.tenant_id == "" or row.tenant_id != "":
                continue
        kept[key] = row
    if twice:
        log.warning(
            "%d public configs are stored both under tenant_id '' and 'public' (a Nacos 3.x database); the '' rows "
            "are served and the 'public' ones ignored: %s",
            len(twice),
            ", ".join(twice[:10]) + (", ..." if len(twice) > 10 else ""),
        )
    return list(kept.values())


def _config_values(config: Config) -> dict[str, Any]:
    return {
        "data_id": config.key.data_id,
        "group_id": config.key.group,
        "tenant_id": config.key.tenant,
        "content": config.content,
        "md5": config.md5,
        "gmt_create": config.created,
        "gmt_modified": config.modified,
        "src_user": config.src_user,
        "src_ip": config.src_ip,
        "app_name": config.app_name,
        "c_desc": config.desc,
        "c_use": config.use,
        "effect": config.effect,
        "type": config.type,
        "c_schema": config.schema,
        "encrypted_data_key": config.encrypted_data_key,
    }


def _ext_info(config: Config) -> str:
    info = {
        "src_user": config.src_user,
        "type": config.type,
        "c_desc": config.desc,
        "c_use": config.use,
        "effect": config.effect,
        "c_schema": config.schema,
        "config_tags": ",".join(config.tags) or None,
    }
    return json.dumps({k: v for k, v in info.items() if v is not None}, separators=(",", ":"))


def _history_values(config: Config, op: str, config_id: int, when: datetime) -> dict[str, Any]:
    return {
        "id": config_id,
        "data_id": config.key.data_id,
        "group_id": config.key.group,
        "tenant_id": config.key.tenant,
        "app_name": config.app_name,
        "content": config.content,
        "md5": config.md5,
        "gmt_create": when,
        "gmt_modified": when,
        "src_user": config.src_user,
        "src_ip": config.src_ip,
        "op_type": op,
        "encrypted_data_key": config.encrypted_data_key,
        "publish_type": "formal",
        "gray_name": "",
        "ext_info": _ext_info(config),
    }


def _config_from_row(row: Row[Any], tags: Sequence[str]) -> Config:
    return Config(
        id=row.id,
        key=ConfigKey(tenant_of(row.tenant_id), row.group_id or "", row.data_id),
        content=row.content,
        md5=row.md5 or "",
        type=row.type or "text",
        app_name=row.app_name or "",
        desc=row.c_desc,
        use=row.c_use,
        effect=row.effect,
        schema=row.c_schema,
        tags=tuple(tags),
        encrypted_data_key=value(row, config_info, "encrypted_data_key") or "",
        created=row.gmt_create,
        modified=row.gmt_modified,
        src_user=row.src_user,
        src_ip=row.src_ip,
    )


def _history_from_row(row: Row[Any]) -> HistoryRow:
    return HistoryRow(
        nid=row.nid,
        config_id=row.id,
        key=ConfigKey(tenant_of(row.tenant_id), row.group_id, row.data_id),
        app_name=row.app_name or "",
        content=row.content,
        md5=row.md5,
        src_ip=row.src_ip,
        src_user=row.src_user,
        op_type=(row.op_type or "").strip(),
        publish_type=value(row, his_config_info, "publish_type") or "formal",
        gray_name=value(row, his_config_info, "gray_name") or "",
        ext_info=value(row, his_config_info, "ext_info"),
        encrypted_data_key=value(row, his_config_info, "encrypted_data_key") or "",
        created=row.gmt_create,
        modified=row.gmt_modified,
    )
