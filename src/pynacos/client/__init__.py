"""pynacos.client: config and naming clients for any Nacos-compatible server (HTTP v1 API).

Only the names below are public; everything else lives in private modules. docs/sdk.md lists the
same names, and a test checks that both agree.
"""

from pynacos.client._async import AsyncConfigClient, AsyncNamingClient
from pynacos.client._exceptions import (
    AuthError,
    BadRequest,
    ClientClosed,
    Conflict,
    ConnectError,
    Forbidden,
    NacosError,
    NotFound,
    ServerError,
    ServerUnavailable,
    Timeout,
    TransportError,
    Unauthenticated,
)
from pynacos.client._models import ConfigChange, Instance, InstanceEvent, LoginReply, ServiceInstances
from pynacos.client._settings import ClientSettings
from pynacos.client._sync import ConfigClient, NamingClient

__all__ = [
    "AsyncConfigClient",
    "AsyncNamingClient",
    "AuthError",
    "BadRequest",
    "ClientClosed",
    "ClientSettings",
    "ConfigChange",
    "ConfigClient",
    "Conflict",
    "ConnectError",
    "Forbidden",
    "Instance",
    "InstanceEvent",
    "LoginReply",
    "NacosError",
    "NamingClient",
    "NotFound",
    "ServerError",
    "ServerUnavailable",
    "ServiceInstances",
    "Timeout",
    "TransportError",
    "Unauthenticated",
]
