"""Config center logic shared by every edge (HTTP v1/v2 now, gRPC and peers later).

Reads are served from memory; writes go to the database first and reach memory only after the
transaction committed, under one write lock, so the cache never shows a write that could still be
lost and never diverges from the database order. Listeners are told only when an md5 changes.

Cluster mode (cluster/notify.py): the database is shared, so `refresh(key)` re-reads a key another node
wrote, and with `read_through` every write first re-reads its key under the lock (a CAS or an insert must
see the other nodes' writes, not this node's cache).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from pynacos.server.config import gray, validation
from pynacos.server.config.gray import GrayConfig, GrayRule
from pynacos.server.config.models import Config, ConfigKey, HistoryRow, Publish, md5_of
from pynacos.server.errors import BadRequest, CasConflict
from pynacos.server.events import ConfigChanged, EventBus
from pynacos.server.storage import changes
from pynacos.server.storage.configs import ConfigStore
from pynacos.server.storage.gray_configs import GrayStore
from pynacos.server.wildcards import wildcard


@dataclass(frozen=True)
class Search:
    """A search (`search=accurate|blur`): blank fields match everything; blur accepts `*`."""

    tenant: str
    data_id: str = ""
    group: str = ""
    app_name: str = ""
    tags: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    #: content filter (v2 searchDetail): equal, or a `*` pattern when blur
    content: str = ""
    blur: bool = False


def now() -> datetime:
    """Database timestamps are zone-less server-local time, with millisecond precision (as Nacos)."""
    moment = datetime.now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class ConfigService:
    def __init__(
        self,
        store: ConfigStore,
        gray_store: GrayStore,
        bus: EventBus,
        namespace_exists: Callable[[str], bool],
        max_content: int,
        max_gray_versions: int = gray.DEFAULT_MAX_VERSIONS,
    ) -> None:
        self.store = store
        self.gray_store = gray_store
        self.bus = bus
        self.namespace_exists = namespace_exists
        self.max_content = max_content
        self.max_gray_versions = max_gray_versions
        self._configs: dict[ConfigKey, Config] = {}
        #: gray versions by key, highest priority first; keys without any are absent
        self._grays: dict[ConfigKey, tuple[GrayConfig, ...]] = {}
        self._write_lock = asyncio.Lock()
        #: cluster mode: a write first reads its key from the database, where another node may have changed it
        self.read_through = False

    async def load(self) -> None:
        self._configs = {c.key: c for c in await self.store.load_all()}
        await self.gray_store.migrate_legacy()
        by_key: dict[ConfigKey, list[GrayConfig]] = {}
        for version in await self.gray_store.load_all():
            by_key.setdefault(version.key, []).append(version)
        self._grays = {key: gray.ranked(versions) for key, versions in by_key.items()}

    async def reload(self) -> int:
        """Read every config again from the database (Nacos's "dump all", ops/localCache), for rows changed
        behind the server's back; listeners of each key whose content or gray versions differ are told.
        Returns the number of such keys. Runs under the write lock, so no publish interleaves."""
        async with self._write_lock:
            before = {key: self._state_of(key) for key in self._configs.keys() | self._grays.keys()}
            await self.load()
            keys = before.keys() | self._configs.keys() | self._grays.keys()
            changed = [key for key in keys if before.get(key) != self._state_of(key)]
        for key in changed:
            self.bus.publish(ConfigChanged(key))
        return len(changed)

    async def refresh(self, key: ConfigKey) -> bool:
        """Cluster mode: take `key` (formal and gray) as the database has it now, because another node wrote
        it; listeners hear of it as a remote change (not sent on to the peers). True if an md5 changed."""
        async with self._write_lock:
            return await self._catch_up(key)

    async def _read_through(self, key: ConfigKey) -> None:
        """Before a write in cluster mode: the key as the shared database has it (the write lock held)."""
        if self.read_through:
            await self._catch_up(key)

    async def _catch_up(self, key: ConfigKey) -> bool:
        """Reload `key` from the database (the write lock held); tell listeners when it changed."""
        before = self._state_of(key)
        config, grays = await changes.load_key(self.store.engine, key)
        versions = gray.ranked(grays)
        if config is None:
            self._configs.pop(key, None)
        else:
            self._configs[key] = config
        if versions:
            self._grays[key] = versions
        else:
            self._grays.pop(key, None)
        changed = self._state_of(key) != before
        if changed:
            self.bus.publish(ConfigChanged(key, local=False))
        return changed

    def _state_of(self, key: ConfigKey) -> tuple[str | None, tuple[tuple[str, str, GrayRule], ...]]:
        config = self._configs.get(key)
        return config.md5 if config else None, tuple((v.name, v.md5, v.rule) for v in self._grays.get(key, ()))

    def digests(self) -> dict[tuple[ConfigKey, str], str]:
        """md5 by (key, gray name), `""` naming the formal config: what the repair compares with the database."""
        found = {(key, ""): config.md5 for key, config in self._configs.items()}
        found.update({(key, v.name): v.md5 for key, versions in self._grays.items() for v in versions})
        return found

    def get(self, key: ConfigKey) -> Config | None:
        return self._configs.get(key)

    def has_gray(self, key: ConfigKey) -> bool:
        """Cheap test for the read path: most configs have no gray version."""
        return key in self._grays

    def gray_for(self, key: ConfigKey, client_ip: str, tag: str | None) -> GrayConfig | None:
        """The gray version this client gets (beta by its IP, else the tag it asked for), if any."""
        versions = self._grays.get(key)
        return gray.matching(versions, client_ip, tag) if versions else None

    def gray_named(self, key: ConfigKey, name: str) -> GrayConfig | None:
        return next((v for v in self._grays.get(key, ()) if v.name == name), None)

    def md5(self, key: ConfigKey, client_ip: str = "", tag: str | None = None) -> str:
        """The md5 a listener compares against: of the gray version the client gets, else of the
        formal config; "" when there is neither."""
        matched = self.gray_for(key, client_ip, tag)
        if matched is not None:
            return matched.md5
        config = self._configs.get(key)
        return config.md5 if config else ""

    def count(self, tenant: str | None = None) -> int:
        if tenant is None:
            return len(self._configs)
        return sum(1 for key in self._configs if key.tenant == tenant)

    def all(self) -> Iterable[Config]:
        return self._configs.values()

    def by_ids(self, ids: Iterable[int], tenant: str | None) -> list[Config]:
        """The configs with these ids, in id order, in `tenant` only: the namespace the caller was authorised
        on (Nacos ignores it, so ids, small sequential integers, reached every namespace). `None` is any
        namespace, for clone, whose caller checks read access to each config itself."""
        wanted = set(ids)
        found = (c for c in self._configs.values() if c.id in wanted and tenant in (None, c.key.tenant))
        return sorted(found, key=lambda c: c.id)

    def validate(self, request: Publish) -> None:
        """Every check a publish needs, done before anything is written."""
        key = request.key
        validation.validate_tenant(key.tenant)
        validation.validate_key(key.data_id, key.group)
        validation.validate_storable_key(key)
        validation.validate_content(request.content, self.max_content)
        validation.validate_encrypted_data_key(request.encrypted_data_key)
        validation.validate_extras(
            request.tags, request.desc, request.use, request.effect, request.type, request.schema, request.app_name
        )
        validation.validate_src_user(request.src_user)
        if key.tenant and not self.namespace_exists(key.tenant):
            raise BadRequest(f"namespace '{key.tenant}' does not exist; create it first")

    async def publish(self, request: Publish, insert_only: bool = False) -> Config | None:
        """Insert or update; returns the stored config, or None when `insert_only` found one."""
        self.validate(request)
        async with self._write_lock:
            await self._read_through(request.key)
            old = self._configs.get(request.key)
            if old is not None and insert_only:
                return None
            if old is not None and request.cas_md5 is not None and old.md5 and old.md5 != request.cas_md5:
                raise CasConflict("Cas publish fail, server md5 may have changed.")
            config = _merge(old, request)
            if old is None:
                config = replace(config, id=await self.store.insert(config))
            else:
                await self.store.update(old, config)
            self._configs[config.key] = config
        if old is None or old.md5 != config.md5:
            self.bus.publish(ConfigChanged(config.key))
        return config

    async def publish_gray(self, request: Publish, rule: GrayRule) -> GrayConfig:
        """Store a beta or tag version next to the formal config (which need not exist)."""
        self.validate(request)
        validation.validate_encrypted_data_key(request.encrypted_data_key, validation.MAX_GRAY_ENCRYPTED_DATA_KEY)
        async with self._write_lock:
            await self._read_through(request.key)
            versions = self._grays.get(request.key, ())
            gray.check_capacity(versions, rule.name, self.max_gray_versions)
            old = next((v for v in versions if v.name == rule.name), None)
            if old is not None and request.cas_md5 is not None and old.md5 and old.md5 != request.cas_md5:
                raise CasConflict("Cas publish gray config fail, server md5 may have changed.")
            version = _gray_version(old, request, rule)
            if old is None:
                version = replace(version, id=await self.gray_store.insert(version))
            else:
                await self.gray_store.update(old, version)
            self._grays[request.key] = gray.ranked([*(v for v in versions if v.name != rule.name), version])
        if old is None or old.md5 != version.md5 or old.rule != version.rule:
            self.bus.publish(ConfigChanged(request.key))
        return version

    async def remove_gray(self, key: ConfigKey, name: str, src_user: str | None, src_ip: str | None) -> bool:
        """Stop a gray version (`beta`, `tag_<t>`); the formal config stays. Unknown: nothing to do."""
        validation.validate_src_user(src_user)
        async with self._write_lock:
            await self._read_through(key)
            old = self.gray_named(key, name)
            if old is None:
                return False
            await self.gray_store.delete(old, now(), src_user, src_ip)
            kept = tuple(v for v in self._grays[key] if v.name != name)
            if kept:
                self._grays[key] = kept
            else:
                del self._grays[key]
        self.bus.publish(ConfigChanged(key))
        return True

    async def remove(self, key: ConfigKey, src_user: str | None, src_ip: str | None) -> bool:
        """Delete a config; deleting one that does not exist is not an error (Nacos answers true)."""
        validation.validate_src_user(src_user)
        async with self._write_lock:
            await self._read_through(key)
            old = self._configs.get(key)
            if old is None:
                return False
            await self.store.delete(old, now(), src_user, src_ip)
            del self._configs[key]
        self.bus.publish(ConfigChanged(key))
        return True

    def search(self, query: Search) -> list[Config]:
        """Matching configs in id order (the order a database without ORDER BY usually gives)."""
        match_data = _matcher(query.data_id, query.blur)
        match_group = _matcher(query.group, query.blur)
        match_app = _matcher(query.app_name, False)
        match_content = _matcher(query.content, query.blur)
        found = [
            c
            for c in self._configs.values()
            if c.key.tenant == query.tenant
            and match_data(c.key.data_id)
            and match_group(c.key.group)
            and match_app(c.app_name)
            and (not query.tags or set(query.tags) & set(c.tags))
            and (not query.types or c.type in query.types)
            and match_content(c.content)
        ]
        return sorted(found, key=lambda c: c.id)

    async def history_page(self, key: ConfigKey, page_no: int, page_size: int) -> tuple[int, list[HistoryRow]]:
        return await self.store.history_page(key, page_no, page_size)

    async def history_row(self, nid: int) -> HistoryRow | None:
        return await self.store.history_row(nid)

    async def history_previous(self, config_id: int) -> HistoryRow | None:
        return await self.store.history_previous(config_id)

    async def history_after(self, row: HistoryRow) -> HistoryRow | None:
        return await self.store.history_after(row)


def _merge(old: Config | None, request: Publish) -> Config:
    """The config a publish produces; absent optional fields keep their old values (appName, tags)."""
    moment = now()
    base = old or Config(id=0, key=request.key, content="", md5="", created=moment)
    return replace(
        base,
        content=request.content,
        md5=md5_of(request.content),
        type=validation.normalise_type(request.type),
        app_name=base.app_name if request.app_name is None else request.app_name,
        tags=base.tags if request.tags is None else request.tags,
        desc=request.desc,
        use=request.use,
        effect=request.effect,
        schema=request.schema,
        encrypted_data_key=request.encrypted_data_key or "",
        src_user=request.src_user,
        src_ip=request.src_ip,
        modified=moment,
    )


def _gray_version(old: GrayConfig | None, request: Publish, rule: GrayRule) -> GrayConfig:
    moment = now()
    return GrayConfig(
        id=old.id if old else 0,
        key=request.key,
        rule=rule,
        content=request.content,
        md5=md5_of(request.content),
        app_name=request.app_name or "",
        encrypted_data_key=request.encrypted_data_key or "",
        src_user=request.src_user,
        src_ip=request.src_ip,
        created=old.created if old else moment,
        modified=moment,
    )


def _matcher(pattern: str, blur: bool) -> Callable[[str], bool]:
    if not pattern.strip():
        return lambda _value: True
    if blur:
        return wildcard(pattern)
    return lambda value: value == pattern
