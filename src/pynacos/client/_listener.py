"""Config listeners: the md5 table behind long polling (protocol.md A.5). No I/O.

Invariants:
1. Per watched key the table holds the md5 of the content its callbacks last saw ("" = absent,
   which is also what the server compares for a config that does not exist).
2. A probe lists every watched key with that md5. The server answers at once with the keys whose
   md5 differs, or holds the request until one of them changes or the timeout passes.
3. A key's md5 moves only through `update()` with freshly fetched content: a fetch that fails
   leaves the old md5, so the next poll reports the key again and no change is lost.
4. Callbacks run only when the md5 really changed, once per change, in registration order.
5. Keys are split into probes of at most 3000 (the server refuses more than 10000 per request);
   drivers send all but the last with `Long-Pulling-Timeout-No-Hangup` so only one is held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from pynacos.client._models import ConfigChange, ConfigValue

WORD = "\x02"
LINE = "\x01"
MAX_KEYS_PER_PROBE = 3000

Callback = Callable[[ConfigChange], object]


@dataclass(frozen=True)
class ConfigKey:
    data_id: str
    group: str
    tenant: str = ""


@dataclass
class Watch:
    md5: str
    content: str | None
    callbacks: list[Callback] = field(default_factory=list)


class ListenerTable:
    """Watched keys -> (md5, content, callbacks). Not thread-safe: drivers hold their own lock."""

    def __init__(self) -> None:
        self._watches: dict[ConfigKey, Watch] = {}

    def __len__(self) -> int:
        return len(self._watches)

    def __contains__(self, key: object) -> bool:
        return key in self._watches

    def keys(self) -> list[ConfigKey]:
        return list(self._watches)

    def content(self, key: ConfigKey) -> str | None:
        watch = self._watches.get(key)
        return watch.content if watch else None

    def add(self, key: ConfigKey, callback: Callback, current: ConfigValue | None) -> bool:
        """Watch `key` from `current` on (no callback for it); True if the key is new."""
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = Watch(current.md5 if current else "", current.content if current else None)
            watch.callbacks.append(callback)
            return True
        if callback not in watch.callbacks:
            watch.callbacks.append(callback)
        return False

    def remove(self, key: ConfigKey, callback: Callback | None = None) -> bool:
        """Drop one callback (or all); True if the key is no longer watched."""
        watch = self._watches.get(key)
        if watch is None:
            return True
        if callback is not None and callback in watch.callbacks:
            watch.callbacks.remove(callback)
        if callback is None or not watch.callbacks:
            del self._watches[key]
            return True
        return False

    def probes(self) -> list[str]:
        lines = [probe_line(key, watch.md5) for key, watch in self._watches.items()]
        return ["".join(lines[i : i + MAX_KEYS_PER_PROBE]) for i in range(0, len(lines), MAX_KEYS_PER_PROBE)]

    def update(self, key: ConfigKey, value: ConfigValue | None) -> list[tuple[Callback, ConfigChange]]:
        """Record fetched content; the callbacks to run with their change (none if md5 is the same)."""
        watch = self._watches.get(key)
        md5 = value.md5 if value else ""
        if watch is None or watch.md5 == md5:
            return []
        watch.md5, watch.content = md5, value.content if value else None
        change = ConfigChange(key.data_id, key.group, key.tenant, watch.content, md5)
        return [(callback, change) for callback in watch.callbacks]


def probe_line(key: ConfigKey, md5: str) -> str:
    """`dataId ^B group ^B md5 ^B tenant ^A`: always four fields, an empty tenant = public."""
    return f"{key.data_id}{WORD}{key.group}{WORD}{md5}{WORD}{key.tenant}{LINE}"


def parse_changed(body: bytes) -> list[ConfigKey]:
    """The answer: URL-encoded `dataId ^B group [^B tenant] ^A` lines plus "\\n"; empty = no change."""
    text = unquote_plus(body.decode("utf-8", errors="replace").strip())
    keys = []
    for line in text.split(LINE):
        fields = line.split(WORD)
        if len(fields) < 2 or not fields[0]:
            continue
        keys.append(ConfigKey(fields[0], fields[1], fields[2] if len(fields) > 2 else ""))
    return keys
