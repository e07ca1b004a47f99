"""Typed results: frozen dataclasses, so results can be compared, hashed and shared across threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ConfigChange", "Instance", "InstanceEvent", "ServiceInstances"]

DEFAULT_GROUP = "DEFAULT_GROUP"
DEFAULT_CLUSTER = "DEFAULT"


@dataclass(frozen=True)
class ConfigChange:
    """What a config listener receives; `content` is None when the config was deleted."""

    data_id: str
    group: str
    namespace: str
    content: str | None
    md5: str


@dataclass(frozen=True)
class Instance:
    """One registered instance as the server lists it (`hosts[]` of the instance list)."""

    ip: str
    port: int
    weight: float = 1.0
    healthy: bool = True
    enabled: bool = True
    ephemeral: bool = True
    cluster_name: str = DEFAULT_CLUSTER
    service_name: str = ""
    instance_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict, hash=False, compare=True)

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ServiceInstances:
    """The instance list of one service (`GET /v1/ns/instance/list`); `name` is `group@@service`."""

    name: str
    group_name: str
    clusters: str
    hosts: tuple[Instance, ...]
    cache_millis: int = 10000
    last_ref_time: int = 0
    reach_protection_threshold: bool = False


@dataclass(frozen=True)
class InstanceEvent:
    """A change seen by `subscribe`: an instance appeared, disappeared, or changed a field."""

    kind: Literal["ADDED", "REMOVED", "MODIFIED"]
    service: str
    group: str
    instance: Instance


@dataclass(frozen=True)
class ConfigValue:
    """A config as read: its content, md5 (as the server computes it) and type."""

    content: str
    md5: str
    type: str = "text"


@dataclass(frozen=True)
class LoginReply:
    """A login's answer: the token to send as `accessToken`, its lifetime in seconds, and who it is for."""

    access_token: str
    token_ttl: int
    global_admin: bool = False
    username: str = ""


@dataclass(frozen=True)
class BeatReply:
    """The beat answer: when to beat next, and whether the server still knows the instance."""

    interval_ms: int
    found: bool
    light_beat: bool
