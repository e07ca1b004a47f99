"""ClientSettings: one value object, built once, shared by every client (uvicorn's `Config`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ClientSettings"]

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

    def __post_init__(self) -> None:
        raw = self.server_addresses
        parts = raw.split(",") if isinstance(raw, str) else list(raw)
        addresses = tuple(p.strip().rstrip("/") for p in parts if p.strip())
        if not addresses:
            raise ValueError("server_addresses is empty: give host:port[,host:port...]")
        if self.timeout <= 0 or self.long_poll_timeout_ms < 1000 or self.subscribe_interval <= 0:
            raise ValueError("timeout and subscribe_interval must be > 0, long_poll_timeout_ms >= 1000")
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
        """Ask a Nacos address server for the server list (`GET http://<endpoint>/nacos/serverlist`,
        one `host:port` per line), once, here; the other settings are passed through."""
        import httpx

        base = endpoint if endpoint.startswith(("http://", "https://")) else f"http://{endpoint}"
        if "/" not in base.split("://", 1)[1]:
            base += "/nacos/serverlist"
        response = httpx.get(base, timeout=timeout)
        response.raise_for_status()
        servers = [line.strip() for line in response.text.splitlines() if line.strip()]
        if not servers:
            raise ValueError(f"the address server {endpoint} listed no servers")
        return cls(server_addresses=servers, timeout=timeout, **values)


def _namespace(value: str) -> str:
    """`public` and `""` are the same namespace; the v1 API wants `""` for it."""
    value = value.strip()
    return "" if value.lower() == "public" else value
