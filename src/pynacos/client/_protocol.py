"""Nacos's HTTP v1 API as plain data: requests to build, replies to parse. No I/O, no httpx.

Every client call is `request = build(...)`, then a transport sends it (failover, auth), then
`result = parse(reply)`. Parsers raise the exception the reply means (`error_for`); which replies
are worth asking another server about is `fails_over`. Wire formats: protocol.md A.2-A.5, C.0/C.2.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pynacos.client._exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    NacosError,
    NotFound,
    ServerError,
    Unauthenticated,
)
from pynacos.client._models import DEFAULT_CLUSTER, BeatReply, ConfigValue, Instance, ServiceInstances

CONFIGS = "/v1/cs/configs"
LISTENER = "/v1/cs/configs/listener"
INSTANCE = "/v1/ns/instance"
INSTANCE_LIST = "/v1/ns/instance/list"
BEAT = "/v1/ns/instance/beat"
CAS_FAILED = "Cas publish fail"
AUTHORIZATION_FAILED = "authorization failed!"
FAILOVER_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Request:
    """One HTTP request, relative to the context path; `extra_timeout` is added to the call's timeout."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    extra_timeout: float = 0.0

    def with_token(self, token: str | None) -> Request:
        """Tokens go in `Authorization: Bearer` (every Nacos 1.x/2.x reads it; URLs end up in logs)."""
        if not token:
            return self
        return replace(self, headers={**self.headers, "Authorization": f"Bearer {token}"})


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def url(address: str, context_path: str, path: str) -> str:
    base = address if address.startswith(("http://", "https://")) else f"http://{address}"
    return f"{base}{context_path}{path}"


# --- errors -----------------------------------------------------------------------------------


def message_of(reply: Reply) -> str:
    """The server's message: Spring's error JSON `message`, else the plain-text body."""
    text = reply.text.strip()
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            return text
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return str(body["message"])
    return text


def error_for(reply: Reply) -> NacosError:
    """The exception an error reply means (the status decides; the message is kept)."""
    message = message_of(reply) or f"HTTP {reply.status}"
    status = reply.status
    if status == 403 and AUTHORIZATION_FAILED in message:
        return Forbidden(403, message, "the user lacks a permission on this resource; ask an admin")
    if status in (401, 403):
        return Unauthenticated(status, message)
    if status == 404:
        return NotFound(404, message)
    if status == 400:
        return BadRequest(message)
    if CAS_FAILED in message or status == 409:
        return Conflict(status, message)
    return ServerError(status, message)


def fails_over(reply: Reply) -> bool:
    """5xx means "ask another server", except a lost compare-and-set (an answer, not an outage)."""
    return reply.status in FAILOVER_STATUSES and CAS_FAILED.encode() not in reply.body


def retries_later(reply: Reply) -> bool:
    """503 (starting, restarting) is worth waiting for within the deadline; other 5xx are not."""
    return reply.status == 503


def expect_ok(reply: Reply) -> Reply:
    if reply.status >= 400:
        raise error_for(reply)
    return reply


# --- config -----------------------------------------------------------------------------------


def config_params(namespace: str, data_id: str, group: str) -> dict[str, str]:
    if not data_id or not group:
        raise BadRequest("data_id and group must not be empty")
    params = {"dataId": data_id, "group": group}
    if namespace:
        params["tenant"] = namespace
    return params


def config_get(namespace: str, data_id: str, group: str) -> Request:
    return Request("GET", CONFIGS, config_params(namespace, data_id, group))


def parse_config_get(reply: Reply) -> ConfigValue | None:
    """200 -> the content; 404 `config data not exist` -> None. A 404 in Spring's JSON is a wrong
    path (context path?), raised as NotFound, so it never passes for a deleted config."""
    if reply.status == 404 and not reply.body.lstrip().startswith(b"{"):
        return None
    content = expect_ok(reply).text
    md5 = reply.headers.get("content-md5") or md5_of(content)
    return ConfigValue(content, md5, reply.headers.get("config-type") or "text")


def md5_of(content: str) -> str:
    return hashlib.md5(content.encode("utf-8")).hexdigest()


def config_publish(
    namespace: str, data_id: str, group: str, content: str, type: str | None = None, cas_md5: str | None = None
) -> Request:
    data = {**config_params(namespace, data_id, group), "content": content}
    if type:
        data["type"] = type
    if cas_md5 is not None and not cas_md5.strip():
        raise ValueError("cas_md5 is blank: Nacos would overwrite without comparing; pass None for that")
    headers = {"casMd5": cas_md5} if cas_md5 is not None else {}
    return Request("POST", CONFIGS, data=data, headers=headers)


def config_remove(namespace: str, data_id: str, group: str) -> Request:
    return Request("DELETE", CONFIGS, config_params(namespace, data_id, group))


def parse_true(reply: Reply) -> bool:
    """Publish and delete answer `true` (JSON boolean as text)."""
    return expect_ok(reply).body.strip() == b"true"


def config_listen(probe: str, timeout_ms: int, no_hangup: bool = False) -> Request:
    """The long poll; the server holds it up to `timeout_ms - 500` ms, so the read may take that long."""
    headers = {"Long-Pulling-Timeout": str(timeout_ms)}
    if no_hangup:
        headers["Long-Pulling-Timeout-No-Hangup"] = "true"
    return Request(
        "POST", LISTENER, data={"Listening-Configs": probe}, headers=headers, extra_timeout=timeout_ms / 1000
    )


# --- naming -----------------------------------------------------------------------------------


def naming_params(namespace: str, service: str, group: str) -> dict[str, str]:
    if not service or not group:
        raise BadRequest("service and group must not be empty")
    params = {"serviceName": service, "groupName": group}
    if namespace:
        params["namespaceId"] = namespace
    return params


def register(namespace: str, group: str, instance: Instance) -> Request:
    """Form-encoded like the Java client; `enable` is Nacos's spelling, `enabled` pynacos's."""
    data = {
        **naming_params(namespace, instance.service_name, group),
        "ip": instance.ip,
        "port": str(instance.port),
        "weight": repr(float(instance.weight)),
        "clusterName": instance.cluster_name,
        "ephemeral": _flag(instance.ephemeral),
        "enabled": _flag(instance.enabled),
        "enable": _flag(instance.enabled),
        "healthy": _flag(instance.healthy),
        "metadata": json.dumps(instance.metadata, separators=(",", ":")),
    }
    return Request("POST", INSTANCE, data=data)


def deregister(namespace: str, group: str, service: str, ip: str, port: int, cluster: str, ephemeral: bool) -> Request:
    params = {
        **naming_params(namespace, service, group),
        "ip": ip,
        "port": str(port),
        "clusterName": cluster,
        "ephemeral": _flag(ephemeral),
    }
    return Request("DELETE", INSTANCE, params)


def deregister_registered(namespace: str, group: str, instance: Instance) -> Request:
    """Deregister an instance this client registered (closing clients say goodbye)."""
    i = instance
    return deregister(namespace, group, i.service_name, i.ip, i.port, i.cluster_name, i.ephemeral)


def parse_ok(reply: Reply) -> bool:
    return expect_ok(reply).body.strip() == b"ok"


def instance_list(namespace: str, group: str, service: str, clusters: str = "", healthy_only: bool = False) -> Request:
    params = {**naming_params(namespace, service, group), "healthyOnly": _flag(healthy_only)}
    if clusters:
        params["clusters"] = clusters
    return Request("GET", INSTANCE_LIST, params)


def parse_instance_list(reply: Reply) -> ServiceInstances:
    body = _json_object(expect_ok(reply))
    return ServiceInstances(
        name=str(body.get("name", "")),
        group_name=str(body.get("groupName", "")),
        clusters=str(body.get("clusters", "")),
        hosts=tuple(instance_of(h) for h in body.get("hosts") or [] if isinstance(h, dict)),
        cache_millis=int(body.get("cacheMillis") or 10000),
        last_ref_time=int(body.get("lastRefTime") or 0),
        reach_protection_threshold=bool(body.get("reachProtectionThreshold", False)),
    )


def instance_of(host: dict[str, Any]) -> Instance:
    metadata = host.get("metadata") or {}
    return Instance(
        ip=str(host.get("ip", "")),
        port=int(host.get("port", 0)),
        weight=float(host.get("weight", 1.0)),
        healthy=bool(host.get("healthy", True)),
        enabled=bool(host.get("enabled", True)),
        ephemeral=bool(host.get("ephemeral", True)),
        cluster_name=str(host.get("clusterName") or DEFAULT_CLUSTER),
        service_name=str(host.get("serviceName", "")),
        instance_id=str(host.get("instanceId") or ""),
        metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
    )


def beat(namespace: str, group: str, instance: Instance) -> Request:
    """Always with the `beat` JSON, so a server that lost the instance re-registers it from the beat."""
    grouped = f"{group}@@{instance.service_name}"
    params = {
        **naming_params(namespace, grouped, group),
        "clusterName": instance.cluster_name,
        "ip": instance.ip,
        "port": str(instance.port),
    }
    info = {
        "serviceName": grouped,
        "ip": instance.ip,
        "port": instance.port,
        "cluster": instance.cluster_name,
        "weight": float(instance.weight),
        "ephemeral": True,
        "metadata": instance.metadata,
    }
    return Request("PUT", BEAT, params, data={"beat": json.dumps(info, separators=(",", ":"))})


def parse_beat(reply: Reply) -> BeatReply:
    """`code` 10200 = known, 20404 = the server lost the instance (re-register)."""
    body = _json_object(expect_ok(reply))
    interval = int(body.get("clientBeatInterval") or 5000)
    return BeatReply(max(interval, 100), body.get("code", 10200) != 20404, bool(body.get("lightBeatEnabled", False)))


def _json_object(reply: Reply) -> dict[str, Any]:
    try:
        body = json.loads(reply.body)
    except ValueError:
        raise ServerError(reply.status, f"expected JSON, got {reply.text[:200]!r}") from None
    if not isinstance(body, dict):
        raise ServerError(reply.status, f"expected a JSON object, got {reply.text[:200]!r}")
    return body


def _flag(value: bool) -> str:
    return "true" if value else "false"
