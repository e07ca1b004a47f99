"""In-process event bus: a service announces a change, long polls (and later pushes, peers) react.

Handlers run synchronously inside `publish` and must not block (they resolve futures or queue work).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pynacos.server.config.models import ConfigKey

log = logging.getLogger("pynacos.events")
E = TypeVar("E")


@dataclass(frozen=True)
class ConfigChanged:
    """A config's md5 changed (published with new content, or removed).

    `local` is False when the change was made on another node and read back from the database here
    (cluster/notify.py): listeners are told either way, but only local changes are sent on to the peers."""

    key: ConfigKey
    local: bool = True


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                log.exception("event handler failed for %s", type(event).__name__)
