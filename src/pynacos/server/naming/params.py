"""Reading naming parameters the way Nacos does (C.1), with its texts, plus pynacos's stricter checks.

One function reads the service key for both the auth check and the handler, so the namespace and
group that are authorised are the ones that are served (a `G1@@svc` name with `groupName=G2` is
refused rather than resolved two ways). `ip` must be one IP literal or host name (no lists, which
Nacos turned into SSRF host lists; see `check_ip`).

Every name (namespace, service, group, cluster) passes `_check`: Nacos's pattern and length, and
visible characters only (characters.py). Every instance a request creates or changes passes
`validate_instance`, and every metadata map `checked_metadata`, whichever route or beat carried it.
JSON-valued parameters are refused above MAX_JSON_TEXT characters before they are parsed.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from typing import Any

import orjson

from pynacos.server.auth.policy import namespaced
from pynacos.server.characters import NUL, NUL_TEXT, is_visible
from pynacos.server.http import Params
from pynacos.server.naming.models import (
    DEFAULT_CLUSTER,
    DEFAULT_GROUP,
    HEALTH_CHECK_TYPES,
    HEART_BEAT_INTERVAL,
    HEART_BEAT_TIMEOUT,
    IP_DELETE_TIMEOUT,
    MAX_METADATA,
    PUBLIC,
    ClusterConfig,
    HealthChecker,
    Instance,
    InstanceError,
    MetadataError,
    MissingParam,
    NamingError,
    NamingParamCheck,
    SelectorError,
    ServiceKey,
    Target,
    WeightError,
    metadata_fits,
    preserved_ms,
)

_NAMESPACE = re.compile(r"[A-Za-z0-9_-]+")  # Java's \w, which is ASCII; Python's would take any letter
_SERVICE = re.compile(r"(?!@).((?!@@)[^\u4E00-\u9FA5\s])*")
_GROUP = re.compile(r"[a-zA-Z0-9\-_:.]*")
_CLUSTER_FILTER = re.compile(r"[0-9a-zA-Z\-_]+")
_CLUSTER = re.compile(r"[0-9a-zA-Z-]+")
# Host names as Docker and Kubernetes hand them out: `_` is allowed (compose service names use it).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+")
_NUMERIC_LABEL = re.compile(r".*\.[0-9]+")
_TRUE = {"true", "t", "yes", "y", "on"}
_FALSE = {"false", "f", "no", "n", "off"}
#: a JSON-valued parameter (metadata, beat, selector, healthChecker) longer than this is refused unparsed:
#: the largest legal one (1024 metadata characters, each escaped as `\uXXXX`) is far smaller
MAX_JSON_TEXT = 64 * 1024
#: selector and healthChecker are stored as JSON text, in a MySQL TEXT column (64 KiB, control
#: characters escaped to six bytes each)
MAX_STORED_JSON = 4096
FORMAT_TEXT = "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'"


def _too_long(label: str, limit: int) -> NamingParamCheck:
    return NamingParamCheck(f"Param '{label}' is illegal, the param length should not exceed {limit}.")


def _illegal(label: str) -> NamingParamCheck:
    return NamingParamCheck(f"Param '{label}' is illegal, illegal characters should not appear in the param.")


def _check(label: str, value: str, limit: int, pattern: re.Pattern[str]) -> None:
    """Nacos's ParamCheckRule, plus `.` and `..` refused (security.md §6.3: names never act as paths) and
    invisible characters (NUL, U+202E, zero-width, BOM, ...; characters.py), which Nacos's service pattern lets in."""
    if len(value) > limit:
        raise _too_long(label, limit)
    if not pattern.fullmatch(value) or value in (".", "..") or not is_visible(value):
        raise _illegal(label)


def required(params: Params, name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise MissingParam(f"Param '{name}' is required.")
    return value


def to_boolean(raw: str | None, default: bool) -> bool:
    """Nacos's ConvertUtils.toBoolean: true/t/yes/y/on (any case) are true, other words false."""
    if raw is None or not raw.strip():
        return default
    return raw.strip().lower() in _TRUE


def strict_boolean(name: str, raw: str) -> bool:
    """ConvertUtils.toBoolean's words, but a word it does not know is a 400 (Nacos reads it as false)."""
    word = raw.strip().lower()
    if word not in _TRUE and word not in _FALSE:
        raise NamingError(f"Param '{name}' must be true or false, not '{raw[:64]}'")
    return word in _TRUE


def namespace_of(params: Params) -> str:
    value = params.get("namespaceId", "").strip()
    if not value:
        return PUBLIC
    _check("namespaceId/tenant", value, 64, _NAMESPACE)
    return value


def service_key(params: Params, grouped_name: bool = True) -> ServiceKey:
    """(namespace, group, service) from `serviceName` (maybe `group@@name`) and `groupName`.

    A grouped name wins over `groupName` when that is absent or the default (the Python SDK always
    sends `groupName=DEFAULT_GROUP`); a grouped name with a *different* explicit group is refused, so
    the group that is authorised is the group that is served.
    """
    raw = required(params, "serviceName")
    group_param = params.get("groupName", "").strip()
    return _service_key(raw, group_param, params.get("namespaceId", "").strip(), grouped_name)


@functools.lru_cache(maxsize=8192)
def _service_key(raw: str, group_param: str, namespace: str, grouped_name: bool) -> ServiceKey:
    if "@@" in raw:
        parts = [p for p in raw.split("@@")]
        while parts and not parts[-1]:
            parts.pop()
        if len(parts) != 2 or not grouped_name:
            raise NamingError(FORMAT_TEXT)
        if not parts[0].strip():
            raise NamingError("Param 'serviceName' is illegal, groupName can't be empty")
        group, name = parts[0], parts[1]
        if group_param not in ("", DEFAULT_GROUP, group):
            raise NamingError(f"serviceName names group '{group}' but groupName is '{group_param}'")
    else:
        group, name = group_param or DEFAULT_GROUP, raw
    _check("serviceName", name, 512, _SERVICE)
    _check("group", group, 128, _GROUP)
    if namespace:
        _check("namespaceId/tenant", namespace, 64, _NAMESPACE)
    return ServiceKey(namespace or PUBLIC, group, name)


@functools.lru_cache(maxsize=65536)
def check_ip(ip: str) -> str:
    """One IPv4 or IPv6 literal (returned in its short form), or one fully qualified host name.

    A host name has two or more dot-separated RFC 1123 labels (letters, digits, inner `-`, and `_`,
    which Docker and Kubernetes names hold), and its last label is not all digits: `999.1.1.1` is a
    mistyped address, not a name (RFC 1123 2.1), and a single label such as `abc` or `localhost` is
    resolved differently on every client host, so it names no one instance. Clients register the
    address they found for themselves; a name is taken only when it means the same host everywhere.
    """
    if len(ip) > 128:
        raise _too_long("ip", 128)
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        if _HOSTNAME.fullmatch(ip) and not _NUMERIC_LABEL.fullmatch(ip):
            return ip
    raise _illegal("ip")


def port_of(raw: str | None, name: str = "port") -> int:
    if raw is None or not raw.strip():
        raise MissingParam(f"Param '{name}' is required.")
    try:
        port = int(raw.strip())
    except ValueError:
        raise NamingError(f'For input string: "{raw}"') from None
    if not 0 <= port <= 65535:
        raise NamingParamCheck("Param 'port' is illegal, the value should be between 0 and 65535.")
    return port


def cluster_of(params: Params, *names: str) -> str:
    for name in names:
        value = params.get(name, "").strip()
        if value:
            _check("cluster", value, 64, _CLUSTER_FILTER)
            return value
    return DEFAULT_CLUSTER


def weight_of(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return 1.0
    try:
        weight = float(raw.strip())
    except ValueError:
        raise NamingError(f'For input string: "{raw}"') from None
    if not 0.0 <= weight <= 10000.0:
        raise WeightError("instance format invalid: The weights range from 0.0 to 10000.0")
    return weight


def metadata_of(raw: str | None) -> dict[str, str]:
    """A JSON object, or `k1=v1,k2=v2`; anything else is `metadata format incorrect:<raw>`."""
    if raw is None or not raw.strip():
        return {}
    text = raw.strip()
    if len(text) > MAX_JSON_TEXT:
        raise _metadata_too_long()
    try:
        parsed = orjson.loads(text)
        if isinstance(parsed, dict):
            return checked_metadata({str(k): str(v) for k, v in parsed.items()})
    except ValueError:
        pass
    items: dict[str, str] = {}
    for item in text.split(","):
        pieces = item.split("=")
        if len(pieces) != 2:
            raise MetadataError(f"metadata format incorrect:{raw}")
        items[pieces[0]] = pieces[1]
    return checked_metadata(items)


def checked_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The one metadata rule for instances, services and clusters, wherever the map came from."""
    if not metadata_fits(metadata):
        raise _metadata_too_long()
    if any(NUL in k or NUL in v for k, v in metadata.items()):
        raise MetadataError(f"metadata {NUL_TEXT}")
    return metadata


def _metadata_too_long() -> NamingParamCheck:
    return NamingParamCheck(f"Param 'Metadata' is illegal, the param length should not exceed {MAX_METADATA}.")


def cluster_config_of(params: Params) -> ClusterConfig:
    """`PUT /cluster`: checkPort, useInstancePort4Check and healthChecker are required, metadata is not."""
    check_port = port_of(required(params, "checkPort"), "checkPort")
    use_instance_port = to_boolean(required(params, "useInstancePort4Check"), True)
    checker = health_checker_of(required(params, "healthChecker"))
    return ClusterConfig(checker, check_port, use_instance_port, metadata_of(params.get("metadata")))


def health_checker_of(raw: str) -> HealthChecker:
    """Nacos's checker JSON; unknown fields are ignored, an unknown or missing `type` is refused.

    (Nacos turns those into NONE, which silently switches checking off.) An HTTP `path` must be
    absolute on the instance: Java resolves `http://other/` against the instance URL, so it would
    send the check to another host.
    """
    if len(raw) > MAX_STORED_JSON:
        raise NamingError(f"healthChecker is over {MAX_STORED_JSON} characters")
    try:
        fields = orjson.loads(raw)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise NamingError(f"healthChecker is not a JSON object: {raw[:100]}")
    kind = fields.get("type")
    if kind not in HEALTH_CHECK_TYPES:
        raise NamingError(f"healthChecker type must be one of {', '.join(HEALTH_CHECK_TYPES)}")
    if kind == "HTTP":
        return _http_checker(fields)
    if kind == "MYSQL":
        return HealthChecker(kind, user=_text_field(fields, "user"), cmd=_text_field(fields, "cmd"))
    return HealthChecker(kind)


def _http_checker(fields: dict[str, Any]) -> HealthChecker:
    path = _text_field(fields, "path") or ""
    if path and (not path.startswith("/") or path.startswith("//") or any(c in path for c in "\r\n\t #")):
        raise NamingError(f"healthChecker path must start with a single '/' and hold no spaces: {path}")
    headers = _text_field(fields, "headers") or ""
    if any(c in headers for c in "\r\n\0"):
        raise NamingError("healthChecker headers must not hold line breaks")
    code = fields.get("expectedResponseCode", 200)
    if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
        raise NamingError(f"healthChecker expectedResponseCode must be an HTTP status code: {code}")
    return HealthChecker("HTTP", path=path, headers=headers, expected_code=code)


def _text_field(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise NamingError(f"healthChecker {name} must be a string")
    if value is not None and NUL in value:
        raise NamingError(f"healthChecker {name} {NUL_TEXT}")
    return value


def instance_of(
    params: Params,
    enable_alias: bool = True,
    cluster_names: tuple[str, ...] = ("clusterName", "cluster"),
    default_ephemeral: bool = True,
) -> Instance:
    """The instance a register/deregister/update request describes (validated, C.1)."""
    ip = check_ip(required(params, "ip"))
    port = port_of(params.get("port"))
    cluster = cluster_of(params, *cluster_names)
    enabled_raw = params.get("enabled")
    if enabled_raw is None and enable_alias:
        enabled_raw = params.get("enable")
    instance = Instance(
        ip=ip,
        port=port,
        cluster=cluster,
        weight=weight_of(params.get("weight")),
        healthy=to_boolean(params.get("healthy"), True),
        enabled=to_boolean(enabled_raw, True),
        ephemeral=to_boolean(params.get("ephemeral"), default_ephemeral),
        metadata=metadata_of(params.get("metadata")),
    )
    return validate_instance(instance)


def validate_instance(instance: Instance) -> Instance:
    """Every instance a request creates or changes (register, `PUT /instance`, a beat that re-registers)."""
    check_ip(instance.ip)
    if not 0 <= instance.port <= 65535:
        raise NamingParamCheck("Param 'port' is illegal, the value should be between 0 and 65535.")
    if not 0.0 <= instance.weight <= 10000.0:
        raise WeightError("instance format invalid: The weights range from 0.0 to 10000.0")
    checked_metadata(instance.metadata)
    if not _CLUSTER.fullmatch(instance.cluster):
        raise InstanceError(
            f"Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: {instance.cluster})"
        )
    interval = preserved_ms(instance.metadata, HEART_BEAT_INTERVAL, 5000)
    if (
        min(
            preserved_ms(instance.metadata, HEART_BEAT_TIMEOUT, 15000),
            preserved_ms(instance.metadata, IP_DELETE_TIMEOUT, 30000),
        )
        < interval
    ):
        raise InstanceError(
            "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'."
        )
    return instance


def beat_info(raw: str | None) -> dict[str, Any] | None:
    """The `beat` JSON of a heartbeat; malformed JSON is a 400, never a silent default."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_JSON_TEXT:
        raise NamingError(f"beat is over {MAX_JSON_TEXT} characters")
    try:
        parsed = orjson.loads(raw)
    except ValueError:
        raise NamingError(f"beat is not valid JSON: {raw[:100]}") from None
    if not isinstance(parsed, dict):
        raise NamingError("beat must be a JSON object")
    return parsed


def beat_ip(info: dict[str, Any] | None, params: Params) -> str:
    """The beat's `ip` (a JSON string), else the `ip` parameter; "" when neither names one."""
    value = info.get("ip") if info else None
    if value is not None and not isinstance(value, str):
        raise NamingError("beat ip must be a JSON string")
    ip = value or params.get("ip", "")
    return check_ip(ip) if ip else ip


def status_key(params: Params) -> ServiceKey:
    """`[<namespace>##]<group>@@<service>` of `/instance/statuses`: read here by the auth check and the handler.

    The namespace may also come as `namespaceId`: v2's `/statuses/{key}` takes the key in the path, where
    `#` cannot be written; a key and a parameter naming different namespaces are refused."""
    in_key, _, grouped = required(params, "key").rpartition("##")
    group, separator, name = grouped.partition("@@")
    if not separator or not group or not name:
        raise NamingError(FORMAT_TEXT)
    given = params.namespace()
    if in_key and given and in_key != given:
        raise NamingError("the key and namespaceId name different namespaces")
    return ServiceKey(in_key or given or "public", group, name)


def status_resources(params: Params) -> list[str]:
    key = status_key(params)
    return [namespaced(key.namespace, key.group, "naming", key.name)]


def naming_resources(params: Params) -> list[str]:
    """Auth resource of a naming request: `<namespace>:<group>:naming/<service>` (auth.md §8.2)."""
    key = service_key(params) if params.get("serviceName", "").strip() else None
    namespace = params.get("namespaceId", "")
    if key is None:
        return [namespaced(namespace, params.get("groupName", ""), "naming", "")]
    return [namespaced(namespace, key.group, "naming", key.name)]


_SPRING_TRUE = {"true", "on", "yes", "1"}
_SPRING_FALSE = {"false", "off", "no", "0"}
_BAD_INSTANCES = 'Param \'instances\' is illegal, it should be a JSON array of {"ip","port","clusterName"} objects'


def batch_targets(raw: str | None) -> list[Target] | None:
    """`instances` of `/instance/metadata/batch`; None (blank or `[]`) means every instance of the service.

    Nacos also reads unparseable JSON as "every instance" (its parameter checker makes that a 500 first);
    here it is a 400, so a typo can never widen a change to the whole service.
    """
    if raw is None or not raw.strip():
        return None
    try:
        parsed = orjson.loads(raw)
    except ValueError:
        raise NamingError(_BAD_INSTANCES) from None
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise NamingError(_BAD_INSTANCES)
    return [_target(item) for item in parsed] or None


def _target(item: dict[str, Any]) -> Target:
    """One `{ip, port, clusterName}` entry, checked as the parameter checker checks single params."""
    ip, port, cluster = item.get("ip"), item.get("port"), item.get("clusterName")
    if not isinstance(ip, str) or not ip.strip():
        raise NamingError(_BAD_INSTANCES + ": every entry needs an 'ip'")
    if isinstance(port, bool) or not isinstance(port, int | str):
        raise NamingError(_BAD_INSTANCES + ": every entry needs a whole-number 'port'")
    if cluster is not None and not isinstance(cluster, str):
        raise NamingError(_BAD_INSTANCES + ": 'clusterName' must be a string")
    params = Params([("clusterName", cluster or "")])
    return check_ip(ip.strip()), port_of(str(port)), cluster_of(params, "clusterName")


def optional_flag(params: Params, name: str) -> bool | None:
    """A Spring `Boolean` request parameter: absent or blank is None; other words than these are a 400."""
    raw = params.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in _SPRING_TRUE or raw in _SPRING_FALSE:
        return raw in _SPRING_TRUE
    raise NamingError(f"Param '{name}' must be true or false, not '{params.get(name)}'")


def selector_of(raw: str | None) -> dict[str, Any]:
    """Only `none` (and `label`, treated as none: it needs a CMDB) selectors exist."""
    if raw is None or not raw.strip():
        return {"type": "none"}
    if len(raw) > MAX_STORED_JSON:
        raise NamingError(f"selector is over {MAX_STORED_JSON} characters")
    try:
        selector = orjson.loads(raw)
    except ValueError:
        raise SelectorError("not match any type of selector!") from None
    if not isinstance(selector, dict) or selector.get("type") not in ("none", "label"):
        raise SelectorError("not match any type of selector!")
    return selector


def threshold_of(raw: str | None, required: bool = False) -> float:
    if raw is None or not raw.strip():
        if required:
            raise NamingError("Parameter 'protectThreshold' is missing")
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise NamingError(f'For input string: "{raw}"') from None
    if not math.isfinite(value):
        raise NamingError(f"protectThreshold must be a finite number, not {raw.strip()}")
    return value


def udp_port_of(raw: str | None) -> int:
    """`udpPort` (v2: `port`): 0 = no push; non-numeric is Nacos's NumberFormatException text, and a
    number no port can have is a 400 too (Nacos stores it and never pushes)."""
    if raw is None or not raw.strip():
        return 0
    try:
        port = int(raw.strip())
    except ValueError:
        raise NamingError(f'For input string: "{raw[:64]}"') from None
    if not 0 <= port <= 65535:
        raise NamingError("Param 'udpPort' is illegal, the value should be between 0 and 65535.")
    return port


def positive_int(raw: str | None, default: int) -> int:
    """Nacos's NumberUtils.toInt with a default; zero, negative or garbage falls back to it too."""
    try:
        value = int((raw or "").strip())
    except ValueError:
        return default
    return value if value > 0 else default
