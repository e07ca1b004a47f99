"""Service registry data: service keys, instances, per-instance overrides, services, and errors.

An instance is owned by a client `ip:port#<ephemeral>` that publishes at most one instance per
service, so (service, ip, port, ephemeral) is unique: registering again with another cluster
replaces the instance. An ephemeral instance registered over gRPC is owned by its connection
instead (`owner`): it lives as long as the connection, without beats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from pynacos.server.errors import NacosError, ParamCheckFailed

DEFAULT_GROUP = "DEFAULT_GROUP"
DEFAULT_CLUSTER = "DEFAULT"
PUBLIC = "public"
BEAT_INTERVAL = 5000
BEAT_TIMEOUT = 15000
DELETE_TIMEOUT = 30000
HEART_BEAT_INTERVAL = "preserved.heart.beat.interval"
HEART_BEAT_TIMEOUT = "preserved.heart.beat.timeout"
IP_DELETE_TIMEOUT = "preserved.ip.delete.timeout"
ID_GENERATOR = "preserved.instance.id.generator"
#: the parameter checker's limit on one metadata map: the sum of its keys' and values' lengths
MAX_METADATA = 1024
_DIGITS = re.compile(r"\d+")


class ServiceKey(NamedTuple):
    namespace: str
    group: str
    name: str

    @property
    def grouped(self) -> str:
        return f"{self.group}@@{self.name}"


#: where one instance sits in its service: (ip, port, cluster), as its override is keyed
Target = tuple[str, int, str]


class NamingError(NacosError):
    """Naming answers v1 errors as the bare message (no `caused:`), v2 with its own codes."""

    bare = True
    http_status: ClassVar[int] = 400
    code: ClassVar[int] = 20002
    title: ClassVar[str] = "parameter validate error"


class MissingParam(NamingError):
    code = 10000
    title = "parameter missing"


class WeightError(NamingError):
    code = 21001
    title = "weight error"


class MetadataError(NamingError):
    code = 21002
    title = "instance metadata error"


class InstanceError(NamingError):
    code = 21004
    title = "instance error"


class SelectorError(NamingError):
    code = 21006
    title = "selector error"


class ServiceExists(NamingError):
    code = 21007
    title = "service already exist"


class ServiceMissing(NamingError):
    code = 21008
    title = "service not exist"


class ServiceNotEmpty(NamingError):
    code = 21009
    title = "service delete failure"


class NamingConflict(NamingError):
    """Nacos's NacosRuntimeException texts (`errCode: 400, errMsg: ... `), v2 code 30000."""

    code = 30000
    title = "server error"


class NamingNotFound(NamingError):
    http_status = 404
    code = 20004
    title = "resource not found"


class NamingParamCheck(ParamCheckFailed):
    """The parameter checker's 400: the bare message and a newline, on v1 and v2 alike."""

    suffix = "\n"


def metadata_fits(metadata: dict[str, str]) -> bool:
    """The parameter checker's size rule: the lengths of all keys and values, summed, within MAX_METADATA."""
    return sum(len(k) + len(v) for k, v in metadata.items()) <= MAX_METADATA


def preserved_ms(metadata: dict[str, str], key: str, default: int) -> int:
    """A `preserved.*` timing from metadata when it is all digits, else the default (never 0)."""
    raw = metadata.get(key, "")
    return int(raw) if _DIGITS.fullmatch(raw) else default


@dataclass
class Instance:
    ip: str
    port: int
    cluster: str = DEFAULT_CLUSTER
    weight: float = 1.0
    healthy: bool = True
    enabled: bool = True
    ephemeral: bool = True
    metadata: dict[str, str] = field(default_factory=dict)
    instance_id: str | None = None
    last_beat: float = 0.0
    #: the gRPC connection id that published this ephemeral instance (None: kept alive by beats)
    owner: str | None = None

    @property
    def address(self) -> tuple[str, int, bool]:
        return (self.ip, self.port, self.ephemeral)

    def beat_timeout(self) -> int:
        return preserved_ms(self.metadata, HEART_BEAT_TIMEOUT, BEAT_TIMEOUT)

    def delete_timeout(self) -> int:
        return preserved_ms(self.metadata, IP_DELETE_TIMEOUT, DELETE_TIMEOUT)

    def beat_interval(self) -> int:
        return preserved_ms(self.metadata, HEART_BEAT_INTERVAL, BEAT_INTERVAL)


HEALTH_CHECK_TYPES = ("TCP", "HTTP", "MYSQL", "NONE")


@dataclass(frozen=True)
class HealthChecker:
    """A cluster's check of its persistent instances (Nacos's AbstractHealthChecker subtypes).

    A MYSQL checker keeps `user` and `cmd` for display only: pynacos checks that a MySQL server
    greets, without logging in, so it never stores the `pwd` a client sends.
    """

    type: str = "TCP"
    path: str = ""
    headers: str = ""
    expected_code: int = 200
    user: str | None = None
    cmd: str | None = None

    def header_map(self) -> dict[str, str]:
        """`headers` is `name:value|name:value`; malformed pairs are skipped, as in Nacos."""
        pairs = (item.split(":") for item in self.headers.split("|"))
        return {pair[0].strip(): pair[1].strip() for pair in pairs if len(pair) == 2}


@dataclass(frozen=True)
class ClusterConfig:
    """What `PUT /v1/ns/cluster` sets; a cluster nobody configured uses these defaults."""

    checker: HealthChecker = field(default_factory=HealthChecker)
    check_port: int = 80
    use_instance_port: bool = True
    metadata: dict[str, str] = field(default_factory=dict)

    def port_for(self, instance: Instance) -> int:
        return instance.port if self.use_instance_port else self.check_port


@dataclass
class Override:
    """What `PUT /instance` sets on top of the registered instance (keyed by ip:port:cluster)."""

    enabled: bool = True
    weight: float = 1.0
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Service:
    key: ServiceKey
    ephemeral: bool
    #: set only when the service was created or updated through the service API
    has_metadata: bool = False
    protect_threshold: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)
    selector: dict[str, Any] = field(default_factory=lambda: {"type": "none"})
    instances: dict[tuple[str, int, bool], Instance] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)
    clusters: dict[str, ClusterConfig] = field(default_factory=dict)
    last_update: float = 0.0
