"""Who is calling: the identity an auth check established for one request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    username: str
    #: how the identity was shown: "token", "password", "server-identity"
    via: str = "token"
    is_admin: bool = False
