"""Config center data: keys, stored configs, history rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

CONFIG_TYPES = frozenset({"properties", "xml", "json", "text", "html", "yaml", "toml", "unset"})
DEFAULT_GROUP = "DEFAULT_GROUP"


class ConfigKey(NamedTuple):
    """(namespace, group, dataId); the public namespace is the empty string."""

    tenant: str
    group: str
    data_id: str

    def group_key(self) -> str:
        """Nacos's internal key string: `dataId+group[+tenant]`, with `+` and `%` escaped."""
        parts = [self.data_id, self.group] + ([self.tenant] if self.tenant else [])
        return "+".join(p.replace("%", "%25").replace("+", "%2B") for p in parts)


def md5_of(content: str) -> str:
    return hashlib.md5(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Config:
    """One formal config as stored in `config_info` (and kept in memory)."""

    id: int
    key: ConfigKey
    content: str
    md5: str
    type: str = "text"
    app_name: str = ""
    desc: str | None = None
    use: str | None = None
    effect: str | None = None
    schema: str | None = None
    tags: tuple[str, ...] = ()
    encrypted_data_key: str = ""
    created: datetime = field(default_factory=datetime.now)
    modified: datetime = field(default_factory=datetime.now)
    src_user: str | None = None
    src_ip: str | None = None


@dataclass(frozen=True)
class Publish:
    """What a client asks to store; validated before anything is written."""

    key: ConfigKey
    content: str
    type: str | None = None
    app_name: str | None = None
    desc: str | None = None
    use: str | None = None
    effect: str | None = None
    schema: str | None = None
    tags: tuple[str, ...] | None = None
    encrypted_data_key: str | None = None
    cas_md5: str | None = None
    src_user: str | None = None
    src_ip: str | None = None


@dataclass(frozen=True)
class HistoryRow:
    """One `his_config_info` row: `I` keeps the new content, `U`/`D` the content before the change."""

    nid: int
    config_id: int
    key: ConfigKey
    app_name: str
    content: str
    md5: str | None
    src_ip: str | None
    src_user: str | None
    op_type: str
    publish_type: str
    gray_name: str
    ext_info: str | None
    encrypted_data_key: str
    created: datetime
    modified: datetime
