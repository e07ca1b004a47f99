"""ClientSettings: one value object, built once, shared by every client (uvicorn's `Config`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ClientSettings"]

SERVER_PORT = 8848
ENDPOINT_PORT = 8080
MIN_LONG_POLL_MS = 10000
ENV_VARS = {
    "server_addresses": "NACOS_SERVER_ADDR",
    "namespace": "NACOS_NAMESPACE",
    "username": "NACOS_USERNAME",
    "password": "NACOS_PASSWORD",
    "context_path": "NACOS_CONTEXT_PATH",
}


@dataclass(frozen=True)
class ClientSettings:
    """Where the servers are, who we are, and how long any call may take.

    `server_addresses` is a list of `host:port` (or `http(s)://host:port`), or one string
    `"h1:8848,h2:8848"`; it is normalised to a tuple. `timeout` bounds every call, failover and
    login included; `long_poll_timeout_ms` is how long the server may hold a config listener.
    With `endpoint` (a Nacos address server, see `from_endpoint`), clients ask it again for the
    list every `endpoint_refresh_interval` seconds, so servers can be added and replaced.
    """

    server_addresses: str | Sequence[str] = "127.0.0.1:8848"
    namespace: str = ""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    context_path: str = "/nacos"
    timeout: float = 5.0
    long_poll_timeout_ms: int = 30000
    snapshot_dir: str | Path | None = None
    subscribe_interval: float = 5.0
    endpoint: str | None = None
    endpoint_refresh_interval: float = 30.0

    def __post_init__(self) -> None:
        raw = self.server_addresses
        parts = raw.split(",") if isinstance(raw, str) else list(raw)
        addresses = tuple(with_port(p.strip().rstrip("/"), SERVER_PORT) for p in parts if p.strip())
        if not addresses:
            raise ValueError("server_addresses is empty: give host:port[,host:port...]")
        if min(self.timeout, self.subscribe_interval, self.endpoint_refresh_interval) <= 0:
            raise ValueError("timeout, subscribe_interval and endpoint_refresh_interval must be > 0")
        if self.long_poll_timeout_ms < MIN_LONG_POLL_MS:
            raise ValueError("long_poll_timeout_ms must be >= 10000: Nacos holds a config listener at least 10 s")
        context = "/" + self.context_path.strip("/") if self.context_path.strip("/") else ""
        object.__setattr__(self, "server_addresses", addresses)
        object.__setattr__(self, "context_path", context)
        object.__setattr__(self, "namespace", _namespace(self.namespace))

    @property
    def servers(self) -> tuple[str, ...]:
        """The normalised address list (always a tuple after construction)."""
        return tuple(self.server_addresses)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClientSettings:
        """Settings from `NACOS_*` variables; explicit (non-None) keyword arguments win over them.

        Without `NACOS_SERVER_ADDR`, `NACOS_ENDPOINT` names an address server to ask for the list.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {name: env[var] for name, var in ENV_VARS.items() if env.get(var)}
        values.update({name: value for name, value in overrides.items() if value is not None})
        if "server_addresses" not in values and env.get("NACOS_ENDPOINT"):
            return cls.from_endpoint(env["NACOS_ENDPOINT"], **values)
        return cls(**values)

    @classmethod
    def from_endpoint(cls, endpoint: str, timeout: float = 5.0, **values: Any) -> ClientSettings:
        """Ask a Nacos address server for the server list now (a wrong endpoint fails here, at once);
        clients made from these settings ask it again every `endpoint_refresh_interval` seconds.

        `endpoint` is `host:port` (asked at `/nacos/serverlist`) or a full URL; the answer is one
        `host:port` per line. The other settings are passed through.
        """
        import httpx

        response = httpx.get(endpoint_url(endpoint), timeout=timeout)
        servers = parse_server_list(endpoint, response.status_code, response.text)
        return cls(server_addresses=servers, timeout=timeout, endpoint=endpoint, **values)


def with_port(address: str, port: int) -> str:
    """`host` -> `host:port`, as Nacos clients do (8848 for servers, 8080 for address servers).
    An address with a port (`h:1`, `[::1]:1`) or a scheme (`https://h`: its own default) is kept."""
    if "://" in address or ":" in address.rpartition("]")[2]:
        return address
    return f"{address}:{port}"


def endpoint_url(endpoint: str) -> str:
    """Where an address server lists the servers: `/nacos/serverlist` unless the URL names a path."""
    base = endpoint if "://" in endpoint else f"http://{with_port(endpoint, ENDPOINT_PORT)}"
    return base if "/" in base.split("://", 1)[1] else base + "/nacos/serverlist"


def parse_server_list(endpoint: str, status: int, text: str) -> list[str]:
    """The servers an address server answered; ValueError (naming the endpoint) for anything else."""
    servers = [with_port(line.strip(), SERVER_PORT) for line in text.splitlines() if line.strip()]
    if status != 200 or not servers:
        raise ValueError(f"the address server {endpoint} listed no servers (HTTP {status})")
    return servers


def _namespace(value: str) -> str:
    """`public` and `""` are the same namespace; the v1 API wants `""` for it."""
    value = value.strip()
    return "" if value.lower() == "public" else value
