"""Service registry logic shared by every edge (HTTP v1/v2, gRPC).

Ephemeral instances live in memory and are kept alive by beats (or re-registration); persistent
instances and services created through the service API are written to the database before the
answer, so they survive a restart. All timing uses a monotonic clock in milliseconds.

Ephemeral instances a gRPC connection publishes carry its id as `owner`: the beat check leaves them
alone, `publish` replaces the connection's whole set in one service, and `release` removes every one
of them when the connection ends. `_owned` indexes the services each owner published into; an
instance is only ever removed for its own owner (another client re-registering the address takes it).

Every change a subscriber could see (instances added, removed, re-weighted, enabled, turned
healthy or unhealthy; service threshold or metadata) calls the `on_change` callbacks with the
service key, synchronously and without awaiting, so UDP push (naming/udp.py) can schedule a push.

Cluster mode (cluster/distro.py) adds two things, unused standalone:
- Instances another node originates are held here under the owner `node:<its address>` (`replicate`):
  a local client's instance at the same address wins over them, and the first node to claim an address
  keeps it until it lets go, so two nodes claiming one address do not take it from each other for ever.
- A client's ephemeral deregistration is announced (`on_deregistered`), and a beat reaching a copy is
  passed on (`on_replica_beat`) instead of refreshing the copy: an HTTP client (the Java 1.x client picks
  a node per request) may beat and deregister on other nodes than the one it registered on.
- After every durable write (persistent instance, health, override, cluster, service) the `on_stored`
  callbacks get the service key, and `reload(key)` / `reload_all()` take back what another node stored.
  `_written` remembers the sequence number of the last local write per service, so a reload that read
  the database before a local write committed does not undo it in memory. The comparing and merging
  itself is naming/replicas.py.

Over 600 lines (style.md): every write here shares one lock and the owner index, and their invariants are
easier to keep when the writes that depend on them sit together.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from pynacos.server.naming.models import (
    DEFAULT_CLUSTER,
    HEART_BEAT_INTERVAL,
    ID_GENERATOR,
    MAX_METADATA,
    ClusterConfig,
    HealthChecker,
    Instance,
    InstanceError,
    NamingConflict,
    NamingError,
    NamingNotFound,
    Override,
    Service,
    ServiceExists,
    ServiceKey,
    ServiceMissing,
    ServiceNotEmpty,
    Target,
    metadata_fits,
    preserved_ms,
)
from pynacos.server.naming.replicas import free_for, merge_durable, same_instances
from pynacos.server.naming.switches import Switches
from pynacos.server.storage.naming import NamingStore

CACHE_MILLIS = 10000
#: what a cluster nobody configured gets: TCP checks as in Nacos when active checks are on, else nothing
CHECKED_BY_DEFAULT = ClusterConfig()
UNCHECKED = ClusterConfig(HealthChecker("NONE"))
log = logging.getLogger("pynacos.naming")
ChangeCallback = Callable[[ServiceKey], None]
#: the owner prefix of instances another node originates (cluster/distro.py)
REPLICA = "node:"


def is_replica(owner: str | None) -> bool:
    return owner is not None and owner.startswith(REPLICA)


def monotonic_ms() -> float:
    return time.monotonic() * 1000


@dataclass(frozen=True)
class Beat:
    """A heartbeat; `info` is the parsed `beat` JSON when the client sent one."""

    ip: str
    port: int
    cluster: str
    info: dict[str, Any] | None


class NamingService:
    def __init__(
        self, store: NamingStore, clock: Callable[[], float] = monotonic_ms, active_checks: bool = False
    ) -> None:
        self.store = store
        self.clock = clock
        #: whether the server checks persistent instances itself (naming/health.py); it decides the
        #: checker of a cluster nobody configured: TCP, as in Nacos, when on, else NONE
        self.active_checks = active_checks
        self.switches = Switches()
        #: told after a switch changed (UDP push resumes what it held back)
        self.on_switch: list[Callable[[], None]] = []
        self.services: dict[ServiceKey, Service] = {}
        self.on_change: list[ChangeCallback] = []
        self._owned: dict[str, set[ServiceKey]] = {}
        self._lock = asyncio.Lock()
        #: told the service key after a durable write committed (cluster mode tells the other nodes)
        self.on_stored: list[ChangeCallback] = []
        #: told (key, copy) when a client beats an instance another node keeps alive
        self.on_replica_beat: list[Callable[[ServiceKey, Instance], None]] = []
        #: told (key, ip, port) after a client deregistered an ephemeral instance here
        self.on_deregistered: list[Callable[[ServiceKey, str, int], None]] = []
        self._writes = 0
        self._written: dict[ServiceKey, int] = {}
        self._reloading = asyncio.Lock()

    def _changed(self, key: ServiceKey) -> None:
        """Tell the callbacks; one failing callback must not fail the write that caused it."""
        for callback in self.on_change:
            try:
                callback(key)
            except Exception:
                log.exception("change callback failed for %s", key.grouped)

    def _stored(self, key: ServiceKey) -> None:
        """A durable write of `key` committed (called under the write lock, before memory changes)."""
        self._writes += 1
        self._written[key] = self._writes
        for callback in self.on_stored:
            try:
                callback(key)
            except Exception:
                log.exception("stored callback failed for %s", key.grouped)

    async def load(self) -> None:
        self.switches.load(await self.store.load_switches())
        now = self.clock()
        for service in await self.store.load():
            service.last_update = now
            for instance in service.instances.values():
                instance.last_beat = now
            self.services[service.key] = service

    # -- instances ---------------------------------------------------------------------------

    async def register(self, key: ServiceKey, instance: Instance) -> None:
        """Add or replace the client's instance; a re-register also counts as a beat."""
        async with self._lock:
            service = self.services.get(key)
            if service is not None and service.ephemeral != instance.ephemeral:
                raise NamingConflict(_flag_conflict(key, service.ephemeral))
            if service is None:
                service = Service(key, ephemeral=instance.ephemeral)
            instance.instance_id = instance.instance_id or simple_instance_id(key, instance)
            instance.last_beat = self.clock()
            if not instance.ephemeral:
                await self.store.save_instance(key, instance, service)
                self._stored(key)
            self.services[key] = service
            service.instances[instance.address] = instance
            service.last_update = self.clock()
        self._changed(key)

    async def deregister(self, key: ServiceKey, ip: str, port: int, ephemeral: bool, announce: bool = True) -> None:
        """Unknown services or instances are fine (Nacos answers `ok`). An ephemeral deregistration is
        announced (`on_deregistered`, cluster mode: every node drops its own instance at the address) unless
        `announce` is False (it is such an announcement)."""
        async with self._lock:
            service = self.services.get(key)
            instance = service.instances.get((ip, port, ephemeral)) if service else None
            if service is not None and instance is not None:
                address = f"{ip}:{port}:{instance.cluster}"
                if not ephemeral:
                    await self.store.delete_instance(key, ip, port, address)
                    self._stored(key)
                del service.instances[(ip, port, ephemeral)]
                service.overrides.pop(address, None)  # a later instance at this address starts afresh, as in Nacos
                service.last_update = self.clock()
        if instance is not None:
            self._changed(key)
        if ephemeral and announce:
            for callback in self.on_deregistered:
                callback(key, ip, port)

    async def publish(self, key: ServiceKey, owner: str, instances: list[Instance]) -> None:
        """A gRPC connection's ephemeral instances in one service become `instances` (none: all removed)."""
        async with self._lock:
            changed = self._replace_owned(key, owner, instances)
        if changed:
            self._changed(key)

    def _replace_owned(self, key: ServiceKey, owner: str, instances: list[Instance]) -> bool:
        """`owner`'s instances in the service become `instances`; True when subscribers must be told."""
        service = self.services.get(key)
        if instances and service is not None and not service.ephemeral:
            raise NamingConflict(_flag_conflict(key, False))
        if service is None and not instances:
            return False
        if service is None:
            service = self.services[key] = Service(key, ephemeral=True)
        dropped = _drop_owned(service, owner, keep={i.address for i in instances})
        self._add_owned(service, owner, instances)
        if not (dropped or instances):
            return False
        service.last_update = self.clock()
        return True

    async def replicate(self, key: ServiceKey, owner: str, instances: list[Instance]) -> bool:
        """Another node's instances in one service (`owner` = `node:<address>`), as `publish` but: an address
        a local client or another node already holds stays theirs, and nothing happens (nobody is told) when
        the owner already holds exactly these. True when something changed."""
        for instance in instances:
            instance.instance_id = instance.instance_id or simple_instance_id(key, instance)
        async with self._lock:
            service = self.services.get(key)
            if service is not None:
                instances = [i for i in instances if free_for(service, i.address, owner)]
                held = [i for i in service.instances.values() if i.owner == owner]
                if same_instances(held, instances):
                    return False
            changed = self._replace_owned(key, owner, instances)
        if changed:
            self._changed(key)
        return changed

    def owned_services(self, owner: str) -> set[ServiceKey]:
        """The services `owner` holds instances in."""
        return set(self._owned.get(owner, ()))

    def _add_owned(self, service: Service, owner: str, instances: list[Instance]) -> None:
        for instance in instances:
            instance.owner, instance.last_beat = owner, self.clock()
            instance.instance_id = instance.instance_id or simple_instance_id(service.key, instance)
            service.instances[instance.address] = instance
        owned = self._owned.setdefault(owner, set())
        if instances:
            owned.add(service.key)
        else:
            owned.discard(service.key)
        if not owned:
            del self._owned[owner]

    def release(self, owner: str) -> None:
        """The connection `owner` ended: every instance it published goes at once, one change per service.

        Synchronous and without awaiting, like `expire`, so no write can interleave with it."""
        for key in self._owned.pop(owner, set()):
            service = self.services.get(key)
            if service is not None and _drop_owned(service, owner, keep=set()):
                service.last_update = self.clock()
                self._changed(key)

    async def set_override(self, key: ServiceKey, instance: Instance) -> None:
        """`PUT /instance`: enabled, weight and metadata on top of what was registered."""
        service = self._existing(key, instance.ephemeral)
        address = f"{instance.ip}:{instance.port}:{instance.cluster}"
        override = Override(instance.enabled, instance.weight, dict(instance.metadata))
        await self._store_overrides(service, lambda: {address: override})

    async def patch_override(self, key: ServiceKey, ip: str, port: int, cluster: str, changes: dict[str, Any]) -> None:
        service = self.services.get(key)
        if service is None:
            raise NamingNotFound("no matched ip found!")
        address = f"{ip}:{port}:{cluster}"

        def patched() -> dict[str, Override]:
            if self.find(key, ip, port, cluster) is None:
                raise NamingNotFound("no matched ip found!")
            current = service.overrides.get(address) or self._override_of(service, ip, port, cluster)
            return {address: replace(current, **changes)}

        await self._store_overrides(service, patched)

    async def _store_overrides(self, service: Service, compute: Callable[[], dict[str, Override]]) -> None:
        """Overrides are computed from the current ones under the write lock (two requests at once both
        count), and a persistent service's are stored before they are shown (they survive a restart, as
        its instances do); an ephemeral service's live in memory with its instances."""
        async with self._lock:
            overrides = compute()
            if not overrides:
                return
            if not service.ephemeral:
                await self.store.save_overrides(service.key, overrides)
                self._stored(service.key)
            service.overrides.update(overrides)
            service.last_update = self.clock()
        self._changed(service.key)

    async def add_metadata(self, key: ServiceKey, targets: list[Target] | None, metadata: dict[str, str]) -> list[str]:
        """`PUT /instance/metadata/batch`: add or overwrite override-metadata keys (registered keys stay)."""
        return await self._batch_metadata(key, targets, lambda current: {**current, **metadata})

    async def remove_metadata(self, key: ServiceKey, targets: list[Target] | None, names: Iterable[str]) -> list[str]:
        """`DELETE /instance/metadata/batch`: drop override-metadata keys; registered keys cannot be removed."""
        gone = set(names)
        return await self._batch_metadata(
            key, targets, lambda current: {k: v for k, v in current.items() if k not in gone}
        )

    async def _batch_metadata(
        self, key: ServiceKey, targets: list[Target] | None, change: Callable[[dict[str, str]], dict[str, str]]
    ) -> list[str]:
        """Apply `change` to the override metadata of the targets (None: every instance), all or nothing.

        Unknown targets are skipped, as Nacos does. Every new map is computed and checked before any is
        stored, so a refused request changes nothing; subscribers get one push for the whole batch.
        """
        service = self.services.get(key)
        if service is None:
            return []
        matched: list[Instance] = []

        def changed() -> dict[str, Override]:
            matched.extend(self._batch_instances(service, targets))
            return _changed_overrides(service, matched, change)

        await self._store_overrides(service, changed)
        return [f"{i.ip}:{i.port}:unknown:{i.cluster}:{'ephemeral' if i.ephemeral else 'persist'}" for i in matched]

    def _batch_instances(self, service: Service, targets: list[Target] | None) -> list[Instance]:
        """The registered instances a batch names, in its order (repeats kept, as Nacos reports them)."""
        if targets is None:
            return list(service.instances.values())
        by_target = {(i.ip, i.port, i.cluster): i for i in service.instances.values()}
        return [by_target[t] for t in targets if t in by_target]

    def _override_of(self, service: Service, ip: str, port: int, cluster: str) -> Override:
        instance = next(i for i in service.instances.values() if (i.ip, i.port, i.cluster) == (ip, port, cluster))
        return Override(instance.enabled, instance.weight, {})

    def _existing(self, key: ServiceKey, ephemeral: bool) -> Service:
        service = self.services.get(key)
        if service is None:
            raise InstanceError(
                f"service not found, namespace: {key.namespace}, service: Service{{namespace='{key.namespace}', "
                f"group='{key.group}', name='{key.name}', ephemeral={str(ephemeral).lower()}, revision=0}}"
            )
        return service

    def find(self, key: ServiceKey, ip: str, port: int, cluster: str) -> Instance | None:
        service = self.services.get(key)
        if service is None:
            return None
        for instance in service.instances.values():
            if (instance.ip, instance.port, instance.cluster) == (ip, port, cluster):
                return self.effective(service, instance)
        return None

    def effective(self, service: Service, instance: Instance) -> Instance:
        """The instance as clients see it: override values and metadata merged in."""
        override = service.overrides.get(f"{instance.ip}:{instance.port}:{instance.cluster}")
        if override is None:
            return instance
        metadata = {**instance.metadata, **override.metadata}
        return replace(instance, enabled=override.enabled, weight=override.weight, metadata=metadata)

    def select(self, key: ServiceKey, clusters: list[str], healthy_only: bool) -> tuple[list[Instance], bool]:
        """Instances a list or push shows, and whether the protect threshold was reached (C.4)."""
        service = self.services.get(key)
        if service is None:
            return [], False
        shown = [self.effective(service, i) for i in service.instances.values()]
        every = [i for i in shown if i.enabled and (not clusters or i.cluster in clusters)]
        result = [i for i in every if i.healthy] if healthy_only else every
        if not service.has_metadata or not result:
            return result, False
        healthy = sum(1 for i in every if i.healthy)
        if healthy / len(result) > max(service.protect_threshold, 0.0):
            return result, False
        return [_as_healthy(i) for i in result], True

    async def beat(self, key: ServiceKey, beat: Beat, make: Callable[[], Instance]) -> int:
        """10200 when the client's instance is known (its beat recorded), else re-register or 20404."""
        service = self.services.get(key)
        known = service is not None and (beat.ip, beat.port, True) in service.instances
        if not known:
            if beat.info is None:
                return 20404
            await self.register(key, make())
            service = self.services[key]
        assert service is not None
        instance = service.instances[(beat.ip, beat.port, True)]
        if is_replica(instance.owner):  # a copy: kept alive by its origin, which is told of the beat
            for callback in self.on_replica_beat:
                callback(key, instance)
            return 10200
        instance.last_beat = self.clock()
        service.last_update = self.clock()
        if not instance.healthy:
            instance.healthy = True
            self._changed(key)
        return 10200

    async def set_health(self, key: ServiceKey, cluster: str, ip: str, port: int, healthy: bool) -> None:
        """`PUT /health/instance`: refused while a checker runs on the instance's cluster (Nacos's rule; with
        active checks off nothing runs). An unknown or ephemeral instance is ignored (Nacos answers `ok`)."""
        service = self.services.get(key)
        instance = service.instances.get((ip, port, False)) if service else None
        if self.active_checks:
            checked = instance.cluster if instance else cluster  # Nacos reads the parameter's cluster
            if service is None or self.cluster_config(service, checked).checker.type != "NONE":
                raise NamingConflict(f"health check is still working, service: {key.grouped}, cluster: {checked}")
        if instance is not None:
            await self.record_health(key, ip, port, healthy)

    async def record_health(self, key: ServiceKey, ip: str, port: int, healthy: bool) -> None:
        """A persistent instance's health, stored before it is shown (it survives a restart)."""
        async with self._lock:
            service = self.services.get(key)
            instance = service.instances.get((ip, port, False)) if service else None
            if instance is None or instance.healthy == healthy:
                return
            await self.store.save_health(key, ip, port, healthy)
            self._stored(key)
            instance.healthy = healthy
        self._changed(key)

    def cluster_config(self, service: Service, cluster: str) -> ClusterConfig:
        """The cluster's configuration, else the default: read for every instance on every check round."""
        configured = service.clusters.get(cluster)
        if configured is not None:
            return configured
        return CHECKED_BY_DEFAULT if self.active_checks else UNCHECKED

    async def update_cluster(self, key: ServiceKey, cluster: str, config: ClusterConfig) -> None:
        """`PUT /cluster`: the service must exist (Nacos: 400 `service not found:<name>`)."""
        async with self._lock:
            service = self.services.get(key)
            if service is None:
                raise NamingError(f"service not found:{key.grouped}")
            await self.store.save_cluster(service, cluster, config)
            self._stored(key)
            service.clusters[cluster] = config
            service.last_update = self.clock()

    def persistent_instances(self) -> Iterable[tuple[Service, Instance]]:
        """Every persistent instance with its service, for the active checks."""
        for service in list(self.services.values()):
            for instance in list(service.instances.values()):
                if not instance.ephemeral:
                    yield service, instance

    def beat_interval(self, key: ServiceKey, ip: str, port: int) -> int:
        service = self.services.get(key)
        instance = service.instances.get((ip, port, True)) if service else None
        default = self.switches.client_beat_interval
        if service is None or instance is None:
            return default
        return preserved_ms(self.effective(service, instance).metadata, HEART_BEAT_INTERVAL, default)

    async def update_switch(self, entry: str, raw: str) -> None:
        """`PUT /operator/switches`: checked, stored, then in force (it survives a restart); one at a time,
        so memory and the database end in the same state. The value is stored as parsed (`0007` as `7`), so
        what fits the column does not depend on how the number was written."""
        name, value = self.switches.parse(entry, raw)
        async with self._lock:
            await self.store.save_switch(entry, str(value).lower() if isinstance(value, bool) else str(value))
            setattr(self.switches, name, value)
        for callback in self.on_switch:
            callback()

    def expire(self) -> list[ServiceKey]:
        """Heartbeat check: unhealthy after the beat timeout, removed after the delete timeout; nothing
        while the `check` switch is off (Nacos skips both then)."""
        if not self.switches.health_check_enabled:
            return []
        now = self.clock()
        changed: list[ServiceKey] = []
        for service in list(self.services.values()):
            for address, instance in list(service.instances.items()):
                if not instance.ephemeral or instance.owner is not None:  # owned: lives with its connection
                    continue
                timing = self.effective(service, instance) if service.overrides else instance  # override metadata first
                silent = now - instance.last_beat
                if silent > timing.delete_timeout():
                    del service.instances[address]
                    service.overrides.pop(f"{instance.ip}:{instance.port}:{instance.cluster}", None)
                    changed.append(service.key)
                elif silent > timing.beat_timeout() and instance.healthy:
                    instance.healthy = False
                    changed.append(service.key)
        for key in dict.fromkeys(changed):
            self._changed(key)
        return changed

    async def remove_empty_services(self, idle_ms: float) -> list[ServiceKey]:
        """Services without instances, untouched for `idle_ms`, are deleted (Nacos: 60 s)."""
        now = self.clock()
        gone = [s.key for s in self.services.values() if not s.instances and now - s.last_update >= idle_ms]
        async with self._lock:
            for key in gone:
                service = self.services.get(key)
                if service is not None and not service.instances:
                    await self.store.delete_service(key)
                    self._stored(key)
                    del self.services[key]
        return gone

    # -- what other nodes stored (cluster mode) -------------------------------------------------

    async def reload(self, key: ServiceKey) -> bool:
        """Take one service's durable state back from the database (another node wrote it); True when
        subscribers were told. Reloads run one at a time, so an older read never lands after a newer one."""
        async with self._reloading:
            since = self._writes
            stored = await self.store.load_service(key)
            return bool(await self._merge({key: stored}, since))

    async def reload_all(self) -> list[ServiceKey]:
        """Every service's durable state and the switches, from the database (the periodic repair)."""
        async with self._reloading:
            since = self._writes
            stored = {service.key: service for service in await self.store.load()}
            switches = await self.store.load_switches()
            before = replace(self.switches)
            self.switches.load(switches)
            if self.switches != before:
                for callback in self.on_switch:
                    callback()
            keys = stored.keys() | self.services.keys()
            return await self._merge({key: stored.get(key) for key in keys}, since)

    async def _merge(self, stored: dict[ServiceKey, Service | None], since: int) -> list[ServiceKey]:
        """Apply what was read; a service written here after the read (`_written`) keeps its memory."""
        changed: list[ServiceKey] = []
        async with self._lock:
            now = self.clock()
            for key, durable in stored.items():
                if self._written.get(key, 0) <= since and merge_durable(self.services, key, durable, now):
                    changed.append(key)
        for key in changed:
            self._changed(key)
        return changed

    # -- services ----------------------------------------------------------------------------

    async def create_service(self, service: Service) -> None:
        async with self._lock:
            if service.key in self.services:
                raise ServiceExists(f"specified service {service.key.grouped} already exists!")
            service.has_metadata = True
            service.last_update = self.clock()
            await self.store.save_service(service)
            self._stored(service.key)
            self.services[service.key] = service
        self._changed(service.key)

    async def update_service(
        self, key: ServiceKey, threshold: float, metadata: dict[str, str], selector: dict[str, Any]
    ) -> None:
        async with self._lock:
            service = self.services.get(key)
            if service is None:
                raise ServiceMissing(f"service {key.grouped} not found!")
            updated = replace(
                service,
                protect_threshold=threshold,
                metadata=metadata,
                selector=selector,
                has_metadata=True,
                last_update=self.clock(),
            )
            await self.store.save_service(updated)  # stored first: a storage error leaves memory as it was
            self._stored(key)
            service.protect_threshold, service.metadata, service.selector = threshold, metadata, selector
            service.has_metadata, service.last_update = True, updated.last_update
        self._changed(key)

    async def delete_service(self, key: ServiceKey) -> None:
        async with self._lock:
            service = self.services.get(key)
            if service is None:
                raise ServiceMissing(f"service {key.grouped} not found!")
            if service.instances:
                raise ServiceNotEmpty(
                    f"Service {key.grouped} is not empty, can't be delete. Please unregister instance first"
                )
            await self.store.delete_service(key)
            self._stored(key)
            del self.services[key]

    def service_names(self, namespace: str, group: str) -> list[str]:
        return sorted(k.name for k in self.services if k.namespace == namespace and k.group == group)

    def in_namespace(self, namespace: str) -> Iterable[Service]:
        return (s for k, s in sorted(self.services.items()) if k.namespace == namespace)

    def namespaces(self) -> list[str]:
        """Namespaces holding at least one service (Nacos's `getAllNamespaces`), sorted."""
        return sorted({k.namespace for k in self.services})

    def instance_count(self) -> int:
        return sum(len(s.instances) for s in self.services.values())


def simple_instance_id(key: ServiceKey, instance: Instance) -> str:
    return f"{instance.ip}#{instance.port}#{instance.cluster or DEFAULT_CLUSTER}#{key.grouped}"


def instance_id_generator(metadata: dict[str, str]) -> str | None:
    if not metadata:
        return "simple"
    return metadata.get(ID_GENERATOR)


def _changed_overrides(
    service: Service, matched: list[Instance], change: Callable[[dict[str, str]], dict[str, str]]
) -> dict[str, Override]:
    """The new overrides of a metadata batch, computed without touching the stored ones."""
    updated: dict[str, Override] = {}
    for instance in matched:
        address = f"{instance.ip}:{instance.port}:{instance.cluster}"
        current = updated.get(address) or service.overrides.get(address)
        metadata = _bounded(instance, change(current.metadata if current else {}))
        if current is not None or metadata:  # removing keys from no override must not create one
            base = current or Override(instance.enabled, instance.weight)
            updated[address] = replace(base, metadata=metadata)
    return updated


def _drop_owned(service: Service, owner: str, keep: set[tuple[str, int, bool]]) -> bool:
    """Remove `owner`'s instances whose address is not in `keep`, with their overrides (a later
    instance at the address starts afresh, as after a deregister); True when any was removed."""
    gone = [a for a, i in service.instances.items() if i.owner == owner and a not in keep]
    for address in gone:
        instance = service.instances.pop(address)
        service.overrides.pop(f"{instance.ip}:{instance.port}:{instance.cluster}", None)
    return bool(gone)


def _bounded(instance: Instance, metadata: dict[str, str]) -> dict[str, str]:
    """Batch updates merge into the override, so it is capped as one request's metadata is (1024 chars):
    repeated calls must not grow it without limit."""
    if not metadata_fits(metadata):
        raise NamingError(
            f"Param 'metadata' is illegal, the override metadata of {instance.ip}:{instance.port} "
            f"would exceed {MAX_METADATA} characters."
        )
    return metadata


def _as_healthy(instance: Instance) -> Instance:
    return replace(instance, healthy=True)


def _flag_conflict(key: ServiceKey, service_ephemeral: bool) -> str:
    if service_ephemeral:
        return (
            f"errCode: 400, errMsg: Current service {key.grouped} is ephemeral service, "
            "can't register persistent instance. "
        )
    return (
        f"errCode: 400, errMsg: Current service {key.grouped} is persistent service, "
        "can't register ephemeral instance. "
    )
