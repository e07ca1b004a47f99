"""What cluster mode needs of the registry's data, kept apart from NamingService's writes: comparing
instances as clients see them, and merging a service's durable state read back from the database
(another node wrote it) into the one in memory.

Merging keeps what only memory holds: ephemeral instances (this node's and copies of other nodes') and an
ephemeral service's overrides. Everything else a service has — its flags, threshold, metadata, selector,
clusters, persistent instances and a persistent service's overrides — is the database's. A service the
database no longer has is dropped once nothing ephemeral is left in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynacos.server.naming.models import Instance, Service, ServiceKey


def free_for(service: Service, address: tuple[str, int, bool], owner: str) -> bool:
    """Whether a replica owner may hold `address`: nobody holds it yet, or the owner itself does."""
    holder = service.instances.get(address)
    return holder is None or holder.owner == owner


def shown_fields(instance: Instance) -> tuple[Any, ...]:
    """What subscribers see of an instance (not its beat time or owner)."""
    metadata = tuple(sorted(instance.metadata.items()))
    return (
        instance.ip,
        instance.port,
        instance.cluster,
        instance.weight,
        instance.healthy,
        instance.enabled,
        instance.ephemeral,
        metadata,
        instance.instance_id,
    )


def same_instances(held: Iterable[Instance], wanted: Iterable[Instance]) -> bool:
    return sorted(map(shown_fields, held)) == sorted(map(shown_fields, wanted))


def durable_view(service: Service) -> tuple[Any, ...]:
    """The part of a service the database holds, comparable with ==."""
    persistent = sorted(shown_fields(i) for i in service.instances.values() if not i.ephemeral)
    return (
        service.ephemeral,
        service.has_metadata,
        service.protect_threshold,
        service.metadata,
        service.selector,
        service.clusters,
        persistent,
        service.overrides if not service.ephemeral else None,
    )


def merge_durable(services: dict[ServiceKey, Service], key: ServiceKey, durable: Service | None, now: float) -> bool:
    """Memory takes the database's durable state of one service; ephemeral instances (and an ephemeral
    service's overrides, which live in memory only) stay. True when anything a client sees changed."""
    current = services.get(key)
    if current is None:
        if durable is None:
            return False
        durable.last_update = now
        for instance in durable.instances.values():
            instance.last_beat = now
        services[key] = durable
        return True
    before = durable_view(current)
    had_durable_state = current.has_metadata or any(not i.ephemeral for i in current.instances.values())
    replica = durable or Service(key, ephemeral=current.ephemeral)
    kept = {a: i for a, i in current.instances.items() if i.ephemeral}
    if not kept:
        current.ephemeral = replica.ephemeral
    for address, instance in replica.instances.items():
        old = current.instances.get(address)
        instance.last_beat = old.last_beat if old is not None else now
        kept[address] = instance
    current.instances = kept
    current.has_metadata, current.protect_threshold = replica.has_metadata, replica.protect_threshold
    current.metadata, current.selector, current.clusters = replica.metadata, replica.selector, replica.clusters
    if not current.ephemeral:
        current.overrides = replica.overrides
    if durable is None and had_durable_state and not current.instances:
        del services[key]  # deleted on another node
        return True
    if durable_view(current) == before:
        return False
    current.last_update = now
    return True
