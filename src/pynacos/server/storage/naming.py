"""SQL for durable naming state: services with metadata and persistent instances."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.naming.models import Instance, Service, ServiceKey
from pynacos.server.storage.tables import naming_services, persistent_instances


class NamingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self) -> list[Service]:
        """Every stored service with its persistent instances."""
        async with self.engine.connect() as conn:
            services = {
                ServiceKey(r.namespace_id, r.group_name, r.service_name): _service(r)
                for r in (await conn.execute(select(naming_services))).all()
            }
            for row in (await conn.execute(select(persistent_instances))).all():
                key = ServiceKey(row.namespace_id, row.group_name, row.service_name)
                service = services.setdefault(key, Service(key, ephemeral=False))
                instance = _instance(row)
                service.instances[instance.address] = instance
        return list(services.values())

    async def save_service(self, service: Service) -> None:
        values = {
            "ephemeral": service.ephemeral,
            "has_metadata": service.has_metadata,
            "protect_threshold": service.protect_threshold,
            "metadata": json.dumps(service.metadata),
            "selector": json.dumps(service.selector),
        }
        async with self.engine.begin() as conn:
            await conn.execute(delete(naming_services).where(_service_match(naming_services, service.key)))
            await conn.execute(insert(naming_services).values(**_key_values(service.key), **values))

    async def delete_service(self, key: ServiceKey) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(naming_services).where(_service_match(naming_services, key)))
            await conn.execute(delete(persistent_instances).where(_service_match(persistent_instances, key)))

    async def save_instance(self, key: ServiceKey, instance: Instance, service: Service) -> None:
        """The instance and its (persistent) service, in one transaction."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(naming_services).where(_service_match(naming_services, key)))
            await conn.execute(
                insert(naming_services).values(
                    **_key_values(key),
                    ephemeral=service.ephemeral,
                    has_metadata=service.has_metadata,
                    protect_threshold=service.protect_threshold,
                    metadata=json.dumps(service.metadata),
                    selector=json.dumps(service.selector),
                )
            )
            await conn.execute(delete(persistent_instances).where(_instance_match(key, instance.ip, instance.port)))
            await conn.execute(
                insert(persistent_instances).values(
                    **_key_values(key),
                    ip=instance.ip,
                    port=instance.port,
                    cluster_name=instance.cluster,
                    weight=instance.weight,
                    healthy=instance.healthy,
                    enabled=instance.enabled,
                    metadata=json.dumps(instance.metadata),
                    instance_id=instance.instance_id,
                )
            )

    async def delete_instance(self, key: ServiceKey, ip: str, port: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(persistent_instances).where(_instance_match(key, ip, port)))


def _key_values(key: ServiceKey) -> dict[str, str]:
    return {"namespace_id": key.namespace, "group_name": key.group, "service_name": key.name}


def _service_match(table: Any, key: ServiceKey) -> Any:
    return and_(
        table.c.namespace_id == key.namespace, table.c.group_name == key.group, table.c.service_name == key.name
    )


def _instance_match(key: ServiceKey, ip: str, port: int) -> Any:
    return and_(
        _service_match(persistent_instances, key), persistent_instances.c.ip == ip, persistent_instances.c.port == port
    )


def _service(row: Any) -> Service:
    key = ServiceKey(row.namespace_id, row.group_name, row.service_name)
    return Service(
        key,
        ephemeral=row.ephemeral,
        has_metadata=row.has_metadata,
        protect_threshold=row.protect_threshold,
        metadata=json.loads(row.metadata),
        selector=json.loads(row.selector),
    )


def _instance(row: Any) -> Instance:
    return Instance(
        ip=row.ip,
        port=row.port,
        cluster=row.cluster_name,
        weight=row.weight,
        healthy=row.healthy,
        enabled=row.enabled,
        ephemeral=False,
        metadata=json.loads(row.metadata),
        instance_id=row.instance_id,
    )
