"""Config center logic shared by every edge (HTTP v1/v2 now, gRPC and peers later).

Reads are served from memory; writes go to the database first and reach memory only after the
transaction committed, under one write lock, so the cache never shows a write that could still be
lost and never diverges from the database order. Listeners are told only when an md5 changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from pynacos.server.config import validation
from pynacos.server.config.models import Config, ConfigKey, HistoryRow, Publish, md5_of
from pynacos.server.errors import BadRequest, CasConflict
from pynacos.server.events import ConfigChanged, EventBus
from pynacos.server.storage.configs import ConfigStore
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
    blur: bool = False


def now() -> datetime:
    """Database timestamps are zone-less server-local time, with millisecond precision (as Nacos)."""
    moment = datetime.now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class ConfigService:
    def __init__(
        self, store: ConfigStore, bus: EventBus, namespace_exists: Callable[[str], bool], max_content: int
    ) -> None:
        self.store = store
        self.bus = bus
        self.namespace_exists = namespace_exists
        self.max_content = max_content
        self._configs: dict[ConfigKey, Config] = {}
        self._write_lock = asyncio.Lock()

    async def load(self) -> None:
        self._configs = {c.key: c for c in await self.store.load_all()}

    def get(self, key: ConfigKey) -> Config | None:
        return self._configs.get(key)

    def md5(self, key: ConfigKey) -> str:
        """The md5 listeners compare against; "" when the config does not exist."""
        config = self._configs.get(key)
        return config.md5 if config else ""

    def count(self, tenant: str | None = None) -> int:
        if tenant is None:
            return len(self._configs)
        return sum(1 for key in self._configs if key.tenant == tenant)

    def all(self) -> Iterable[Config]:
        return self._configs.values()

    def by_ids(self, ids: Iterable[int], tenant: str) -> list[Config]:
        """The configs with these ids in `tenant` only: the namespace the caller was authorised on
        (Nacos ignores it, so ids, small sequential integers, reached every namespace)."""
        wanted = set(ids)
        return [c for c in self._configs.values() if c.id in wanted and c.key.tenant == tenant]

    def validate(self, request: Publish) -> None:
        """Every check a publish needs, done before anything is written."""
        key = request.key
        validation.validate_tenant(key.tenant)
        validation.validate_key(key.data_id, key.group)
        validation.validate_content(request.content, self.max_content)
        validation.validate_encrypted_data_key(request.encrypted_data_key)
        validation.validate_extras(
            request.tags, request.desc, request.use, request.effect, request.type, request.schema
        )
        if key.tenant and not self.namespace_exists(key.tenant):
            raise BadRequest(f"namespace '{key.tenant}' does not exist; create it first")

    async def publish(self, request: Publish, insert_only: bool = False) -> Config | None:
        """Insert or update; returns the stored config, or None when `insert_only` found one."""
        self.validate(request)
        async with self._write_lock:
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

    async def remove(self, key: ConfigKey, src_user: str | None, src_ip: str | None) -> bool:
        """Delete a config; deleting one that does not exist is not an error (Nacos answers true)."""
        async with self._write_lock:
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
        found = [
            c
            for c in self._configs.values()
            if c.key.tenant == query.tenant
            and match_data(c.key.data_id)
            and match_group(c.key.group)
            and match_app(c.app_name)
            and (not query.tags or set(query.tags) & set(c.tags))
            and (not query.types or c.type in query.types)
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


def _matcher(pattern: str, blur: bool) -> Callable[[str], bool]:
    if not pattern.strip():
        return lambda _value: True
    if blur:
        return wildcard(pattern)
    return lambda value: value == pattern
