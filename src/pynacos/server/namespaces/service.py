"""Namespaces: the synthetic public one (id "") plus the custom ones stored in `tenant_info`."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from pynacos.server.errors import BadRequest, NacosError
from pynacos.server.storage.namespaces import NamespaceStore

PUBLIC_IDS = frozenset({"", "public", "null"})
_ID = re.compile(r"[A-Za-z0-9_-]+")
_BAD_NAME_CHARS = set("@#$%^&*")
#: tenant_info's columns (the param check allows names up to 256, which only SQLite would store)
MAX_NAME = 128
MAX_DESC = 256


def normalise(namespace_id: str | None) -> str:
    """Blank, `public` and `null` (any case) all mean the public namespace, stored as ""."""
    value = (namespace_id or "").strip()
    return "" if value.lower() in PUBLIC_IDS else value


class NamespaceRejected(BadRequest):
    """v2 reports these as code 22000; v1 answers `false`."""

    code: ClassVar[int] = 22000
    title: ClassVar[str] = "illegal namespace"


class NamespaceMissing(NacosError):
    http_status: ClassVar[int] = 404
    code: ClassVar[int] = 22001
    title: ClassVar[str] = "namespace not exist"


class NamespaceUnknown(BadRequest):
    """An update of a namespace that does not exist (Nacos answers `true` and changes nothing)."""

    code: ClassVar[int] = 22001
    title: ClassVar[str] = "namespace not exist"


@dataclass(frozen=True)
class Namespace:
    id: str
    name: str
    desc: str | None
    #: 0 public, 2 custom (Nacos's NamespaceTypeEnum)
    type: int = 2


PUBLIC = Namespace("", "public", "Default Namespace", 0)


class NamespaceService:
    def __init__(self, store: NamespaceStore) -> None:
        self.store = store
        self._custom: dict[str, Namespace] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        self._custom = {i: Namespace(i, n, d) for i, n, d in await self.store.load_all() if i}

    async def reload(self) -> None:
        """Cluster mode: pick up namespaces other nodes created or removed (never racing a change made here)."""
        async with self._lock:
            await self.load()

    def exists(self, namespace_id: str) -> bool:
        return normalise(namespace_id) == "" or namespace_id in self._custom

    def all(self) -> list[Namespace]:
        return [PUBLIC, *self._custom.values()]

    def get(self, namespace_id: str) -> Namespace:
        ns_id = normalise(namespace_id)
        found = PUBLIC if ns_id == "" else self._custom.get(ns_id)
        if found is None:
            raise NamespaceMissing(f"namespaceId [ {namespace_id} ] not exist")
        return found

    async def create(self, namespace_id: str, name: str, desc: str | None) -> Namespace:
        ns_id = namespace_id.strip() or str(uuid.uuid4())
        if ns_id.lower() in PUBLIC_IDS or not _ID.fullmatch(ns_id):
            raise NamespaceRejected(f"namespaceId [{ns_id}] mismatch the pattern")
        if len(ns_id) > 128:
            raise NamespaceRejected("too long namespaceId, over 128")
        check_name(name)
        check_fits(name, desc)
        async with self._lock:
            if ns_id in self._custom:
                raise NamespaceRejected(f"the namespaceId is existed, namespaceId: {ns_id}")
            await self.store.insert(ns_id, name, desc)
            self._custom[ns_id] = Namespace(ns_id, name, desc)
        return self._custom[ns_id]

    async def update(self, namespace_id: str, name: str, desc: str | None) -> None:
        check_name(name)
        check_fits(name, desc)
        async with self._lock:
            if namespace_id not in self._custom:
                raise NamespaceUnknown(f"namespaceId [ {namespace_id} ] not exist")
            await self.store.update(namespace_id, name, desc)
            self._custom[namespace_id] = Namespace(namespace_id, name, desc)

    async def delete(self, namespace_id: str) -> bool:
        """Configs in the namespace are kept, as in Nacos; the public namespace cannot be deleted."""
        if normalise(namespace_id) == "":
            return False
        async with self._lock:
            await self.store.delete(namespace_id)
            self._custom.pop(namespace_id, None)
        return True

    def as_json(self, namespace: Namespace, quota: int, count: Callable[[str], int]) -> dict[str, object]:
        return {
            "namespace": namespace.id,
            "namespaceShowName": namespace.name,
            "namespaceDesc": namespace.desc,
            "quota": quota,
            "configCount": count(namespace.id),
            "type": namespace.type,
        }


def check_name(name: str) -> None:
    if not name.strip() or any(c in _BAD_NAME_CHARS for c in name):
        raise NamespaceRejected(f"namespaceName [{name}] contains illegal char")


def check_fits(name: str, desc: str | None) -> None:
    """What tenant_info's columns hold on every backend (characters.py); SQLite alone would keep more."""
    if len(name) > MAX_NAME:
        raise NamespaceRejected(f"too long namespaceName, over {MAX_NAME}")
    if desc is not None and len(desc) > MAX_DESC:
        raise NamespaceRejected(f"too long namespaceDesc, over {MAX_DESC}")
