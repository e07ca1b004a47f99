"""SQL for durable naming state: services with metadata and persistent instances.

Rows are keyed by a SHA-256 of their name parts (MySQL limits keys to 3072 bytes; names are long).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pynacos.server.naming.models import ClusterConfig, HealthChecker, Instance, Override, Service, ServiceKey
from pynacos.server.storage.tables import (
    naming_clusters,
    naming_overrides,
    naming_services,
    naming_switches,
    persistent_instances,
)


class NamingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self) -> list[Service]:
        """Every stored service with its persistent instances."""
        async with self.engine.connect() as conn:
            return list((await _services(conn, None)).values())

    async def load_service(self, key: ServiceKey) -> Service | None:
        """One stored service with its persistent instances (cluster mode: another node wrote it)."""
        async with self.engine.connect() as conn:
            return (await _services(conn, _hash(*key))).get(key)

    async def load_switches(self) -> dict[str, str]:
        async with self.engine.connect() as conn:
            return {row.entry: row.value for row in (await conn.execute(select(naming_switches))).all()}

    async def save_switch(self, entry: str, value: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(naming_switches).where(naming_switches.c.entry == entry))
            await conn.execute(insert(naming_switches).values(entry=entry, value=value))

    async def save_service(self, service: Service) -> None:
        async with self.engine.begin() as conn:
            await _write_service(conn, service)

    async def delete_service(self, key: ServiceKey) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(naming_services).where(naming_services.c.service_hash == _hash(*key)))
            await conn.execute(delete(persistent_instances).where(persistent_instances.c.service_hash == _hash(*key)))
            await conn.execute(delete(naming_clusters).where(naming_clusters.c.service_hash == _hash(*key)))
            await conn.execute(delete(naming_overrides).where(naming_overrides.c.service_hash == _hash(*key)))

    async def save_overrides(self, key: ServiceKey, overrides: dict[str, Override]) -> None:
        """Overrides of a persistent service's instances, by `ip:port:cluster`, in one transaction."""
        async with self.engine.begin() as conn:
            for address, override in overrides.items():
                override_hash = _hash(*key, address)
                await conn.execute(delete(naming_overrides).where(naming_overrides.c.override_hash == override_hash))
                await conn.execute(
                    insert(naming_overrides).values(
                        override_hash=override_hash,
                        **_key_values(key),
                        address=address,
                        enabled=override.enabled,
                        weight=override.weight,
                        metadata=json.dumps(override.metadata),
                    )
                )

    async def save_cluster(self, service: Service, name: str, config: ClusterConfig) -> None:
        """The cluster's check configuration, with its service (so both come back after a restart)."""
        cluster_hash = _hash(*service.key, name)
        async with self.engine.begin() as conn:
            await _write_service(conn, service)
            await conn.execute(delete(naming_clusters).where(naming_clusters.c.cluster_hash == cluster_hash))
            await conn.execute(
                insert(naming_clusters).values(
                    cluster_hash=cluster_hash,
                    **_key_values(service.key),
                    cluster_name=name,
                    config=_cluster_json(config),
                )
            )

    async def save_health(self, key: ServiceKey, ip: str, port: int, healthy: bool) -> None:
        async with self.engine.begin() as conn:
            where = persistent_instances.c.instance_hash == _hash(*key, ip, str(port))
            await conn.execute(update(persistent_instances).where(where).values(healthy=healthy))

    async def save_instance(self, key: ServiceKey, instance: Instance, service: Service) -> None:
        """The instance and its (persistent) service, in one transaction."""
        instance_hash = _hash(*key, instance.ip, str(instance.port))
        async with self.engine.begin() as conn:
            await _write_service(conn, service)
            stale = persistent_instances.c.instance_hash == instance_hash
            await conn.execute(delete(persistent_instances).where(stale))
            await conn.execute(
                insert(persistent_instances).values(
                    instance_hash=instance_hash,
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

    async def delete_instance(self, key: ServiceKey, ip: str, port: int, address: str) -> None:
        """The instance and its override (`address` = ip:port:cluster), in one transaction."""
        async with self.engine.begin() as conn:
            where = persistent_instances.c.instance_hash == _hash(*key, ip, str(port))
            await conn.execute(delete(persistent_instances).where(where))
            gone = naming_overrides.c.override_hash == _hash(*key, address)
            await conn.execute(delete(naming_overrides).where(gone))


async def _services(conn: AsyncConnection, service_hash: str | None) -> dict[ServiceKey, Service]:
    """Stored services (all, or the one of `service_hash`) with their instances, clusters and overrides."""

    async def rows(table: Table) -> Sequence[Row[Any]]:
        query = select(table)
        if service_hash is not None:
            query = query.where(table.c.service_hash == service_hash)
        return (await conn.execute(query)).all()

    services = {_key(r): _service(r) for r in await rows(naming_services)}
    for row in await rows(persistent_instances):
        service = services.setdefault(_key(row), Service(_key(row), ephemeral=False))
        instance = _instance(row)
        service.instances[instance.address] = instance
    for row in await rows(naming_clusters):
        if _key(row) in services:
            services[_key(row)].clusters[row.cluster_name] = _cluster(row.config)
    for row in await rows(naming_overrides):
        if _key(row) in services:
            override = Override(row.enabled, row.weight, json.loads(row.metadata))
            services[_key(row)].overrides[row.address] = override
    return services


async def _write_service(conn: AsyncConnection, service: Service) -> None:
    await conn.execute(delete(naming_services).where(naming_services.c.service_hash == _hash(*service.key)))
    await conn.execute(
        insert(naming_services).values(
            **_key_values(service.key),
            ephemeral=service.ephemeral,
            has_metadata=service.has_metadata,
            protect_threshold=service.protect_threshold,
            metadata=json.dumps(service.metadata),
            selector=json.dumps(service.selector),
        )
    )


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _key_values(key: ServiceKey) -> dict[str, str]:
    return {
        "service_hash": _hash(*key),
        "namespace_id": key.namespace,
        "group_name": key.group,
        "service_name": key.name,
    }


def _key(row: Any) -> ServiceKey:
    return ServiceKey(row.namespace_id, row.group_name, row.service_name)


def _service(row: Any) -> Service:
    return Service(
        _key(row),
        ephemeral=row.ephemeral,
        has_metadata=row.has_metadata,
        protect_threshold=row.protect_threshold,
        metadata=json.loads(row.metadata),
        selector=json.loads(row.selector),
    )


def _cluster_json(config: ClusterConfig) -> str:
    checker = config.checker
    return json.dumps(
        {
            "checker": {
                "type": checker.type,
                "path": checker.path,
                "headers": checker.headers,
                "expectedCode": checker.expected_code,
                "user": checker.user,
                "cmd": checker.cmd,
            },
            "checkPort": config.check_port,
            "useInstancePort": config.use_instance_port,
            "metadata": config.metadata,
        }
    )


def _cluster(text: str) -> ClusterConfig:
    stored = json.loads(text)
    checker = stored["checker"]
    return ClusterConfig(
        HealthChecker(
            checker["type"],
            checker["path"],
            checker["headers"],
            checker["expectedCode"],
            checker["user"],
            checker["cmd"],
        ),
        stored["checkPort"],
        stored["useInstancePort"],
        stored["metadata"],
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
