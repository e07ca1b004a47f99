"""SQL for namespaces (`tenant_info`, `kp` = "1" as Nacos writes it)."""

from __future__ import annotations

import time

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.storage.schema import PUBLIC_3X
from pynacos.server.storage.tables import tenant_info

KP = "1"


class NamespaceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load_all(self) -> list[tuple[str, str, str | None]]:
        """(id, name, description) of the custom namespaces in creation order. A row for the public
        namespace ('', or 'public' as a Nacos 3.x database may hold) is not one: public is synthetic."""
        query = (
            select(tenant_info.c.tenant_id, tenant_info.c.tenant_name, tenant_info.c.tenant_desc)
            .where(tenant_info.c.kp == KP)
            .order_by(tenant_info.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(r[0], r[1] or "", r[2]) for r in rows if not _is_public(r[0])]

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


def _is_public(tenant_id: str | None) -> bool:
    """Ids every route maps to the public namespace, so a row with one could never be addressed."""
    return (tenant_id or "").strip().lower() in ("", PUBLIC_3X, "null")
