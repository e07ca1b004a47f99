"""The naming JSON clients see: Instance and ServiceInfo (C.1, C.2, E.5), shared by the list route, UDP
push and gRPC (answers and pushes).

Kept apart from the HTTP module so the push driver can render a ServiceInfo without importing the web
framework, and so a list answer and a push of the same service cannot drift apart.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from pynacos.server.naming.models import (
    DEFAULT_CLUSTER,
    HEALTH_CHECK_TYPES,
    HealthChecker,
    Instance,
    Service,
    ServiceKey,
)
from pynacos.server.naming.service import CACHE_MILLIS, NamingService, instance_id_generator


def instance_json(key: ServiceKey, instance: Instance) -> dict[str, Any]:
    """Nacos's Instance JSON, in its key order (null keys omitted)."""
    shown: dict[str, Any] = {
        "instanceId": instance.instance_id,
        "ip": instance.ip,
        "port": instance.port,
        "weight": instance.weight,
        "healthy": instance.healthy,
        "enabled": instance.enabled,
        "ephemeral": instance.ephemeral,
        "clusterName": instance.cluster,
        "serviceName": key.grouped,
        "metadata": instance.metadata,
        "instanceHeartBeatInterval": instance.beat_interval(),
        "instanceHeartBeatTimeOut": instance.beat_timeout(),
        "ipDeleteTimeout": instance.delete_timeout(),
        "instanceIdGenerator": instance_id_generator(instance.metadata),
    }
    return {k: v for k, v in shown.items() if v is not None}


def checker_json(checker: HealthChecker) -> dict[str, Any]:
    """Jackson's rendering: `type` first, null fields left out."""
    if checker.type == "HTTP":
        return {
            "type": "HTTP",
            "path": checker.path,
            "headers": checker.headers,
            "expectedResponseCode": checker.expected_code,
        }
    if checker.type == "MYSQL":
        shown = {"type": "MYSQL", "user": checker.user, "cmd": checker.cmd}
        return {k: v for k, v in shown.items() if v is not None}
    return {"type": checker.type}


def all_checkers() -> dict[str, dict[str, Any]]:
    """`GET /health/checkers`: each type with its default fields."""
    return {kind: checker_json(HealthChecker(kind)) for kind in HEALTH_CHECK_TYPES}


def cluster_names(service: Service) -> list[str]:
    """The clusters instances are in (DEFAULT when there are none), as Nacos lists them."""
    return sorted({i.cluster for i in service.instances.values()} or {DEFAULT_CLUSTER})


def cluster_json(naming: NamingService, service: Service, name: str) -> dict[str, Any]:
    config = naming.cluster_config(service, name)
    return {"name": name, "healthChecker": checker_json(config.checker), "metadata": config.metadata}


def cluster_list(clusters_text: str) -> list[str]:
    """The `clusters` filter as a list; the text itself is echoed back, since clients key their cache by it."""
    return [c.strip() for c in clusters_text.split(",") if c.strip()]


def service_info(naming: NamingService, key: ServiceKey, clusters_text: str, healthy_only: bool) -> dict[str, Any]:
    """The `/instance/list` body (C.2), in Nacos's key order."""
    hosts, protected = naming.select(key, cluster_list(clusters_text), healthy_only)
    return {
        "name": key.grouped,
        "groupName": key.group,
        "clusters": clusters_text,
        "cacheMillis": CACHE_MILLIS,
        "hosts": [instance_json(key, i) for i in hosts],
        "lastRefTime": int(time.time() * 1000),
        "checksum": "",
        "allIPs": False,
        "reachProtectionThreshold": protected,
        "valid": True,
    }


def push_info(naming: NamingService, key: ServiceKey, clusters_text: str) -> str:
    """The ServiceInfo a UDP push carries (C.5): the list body without `groupName`, never flagged as protected."""
    info = service_info(naming, key, clusters_text, healthy_only=False)
    del info["groupName"]
    info["reachProtectionThreshold"] = False
    return orjson.dumps(info).decode()


def grpc_info(key: ServiceKey, info: dict[str, Any]) -> dict[str, Any]:
    """The list body as gRPC clients read a ServiceInfo (E.5): the bare `name`, and `allIps` beside
    `allIPs` (3.x renamed it; every client ignores the key it does not know)."""
    return {**info, "name": key.name, "allIps": False}


def grpc_service_info(naming: NamingService, key: ServiceKey, clusters_text: str) -> dict[str, Any]:
    """The ServiceInfo a gRPC push carries: the subscriber's clusters, enabled instances, protect threshold."""
    return grpc_info(key, service_info(naming, key, clusters_text, healthy_only=False))
