"""SQL for namespaces (`tenant_info`, `kp` = "1" as Nacos writes it)."""

from __future__ import annotations

import time

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.storage.tables import tenant_info

KP = "1"


class NamespaceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load_all(self) -> list[tuple[str, str, str | None]]:
        """(id, name, description) in creation order."""
        query = (
            select(tenant_info.c.tenant_id, tenant_info.c.tenant_name, tenant_info.c.tenant_desc)
            .where(tenant_info.c.kp == KP)
            .order_by(tenant_info.c.id)
        )
        async with self.engine.connect() as conn:
            return [(r[0] or "", r[1] or "", r[2]) for r in (await conn.execute(query)).all()]

    async def insert(self, namespace_id: str, name: str, desc: str | None) -> None:
        stamp = int(time.time() * 1000)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(tenant_info).values(
                    kp=KP,
                    tenant_id=namespace_id,
                    tenant_name=name,
                    tenant_desc=desc,
                    create_source="nacos",
                    gmt_create=stamp,
                    gmt_modified=stamp,
                )
            )

    async def update(self, namespace_id: str, name: str, desc: str | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(tenant_info)
                .where(tenant_info.c.kp == KP, tenant_info.c.tenant_id == namespace_id)
                .values(tenant_name=name, tenant_desc=desc, gmt_modified=int(time.time() * 1000))
            )

    async def delete(self, namespace_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(tenant_info).where(tenant_info.c.kp == KP, tenant_info.c.tenant_id == namespace_id)
            )
