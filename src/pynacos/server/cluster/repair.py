"""Periodic catch-up: configs another node wrote reach this node even when its notification was lost.

Invariants and theory of operation:
1. Every config write (formal or gray, publish or delete) adds one `his_config_info` row in its own
   transaction, so the history table is a change log whose order is the database's `nid`, not any
   node's clock: clock skew between nodes cannot hide a change (Nacos's fallback compares `gmt_modified`
   with the node's clock, so a skewed node misses changes).
2. Every TAIL_INTERVAL (2 s) the rows above the cursor (the highest `nid` seen) are read and the keys they
   name refreshed (ConfigService.refresh: re-read, and listeners told only if an md5 changed).
3. A `nid` is assigned when a transaction inserts, but rows become visible when it commits, so nid 10 can
   appear after nid 11. Every nid skipped below the cursor is remembered as a gap and looked up again each
   round for GAP_WINDOW (60 s); a gap that never fills (a rolled-back insert) is forgotten then. No
   transaction of pynacos stays open that long.
4. Every SWEEP_INTERVAL (60 s) the (key, md5) of every formal and gray row is compared with the cache and the
   differing keys refreshed: this catches what the tail cannot (rows written by a tool that adds no
   history, history purged before it was read).
So a lost notification is repaired within about 2 s (a late commit within the same), anything else
within 60 s. Namespaces, a small table, are reloaded whole on every round.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from pynacos.server.config.models import ConfigKey
from pynacos.server.config.service import ConfigService
from pynacos.server.namespaces.service import NamespaceService
from pynacos.server.storage import changes
from pynacos.server.storage.outage import report

log = logging.getLogger("pynacos.cluster")

TAIL_INTERVAL = 2.0
SWEEP_INTERVAL = 60.0
GAP_WINDOW = 60.0
#: more missing nids than this at once (an auto-increment jump) are not tracked one by one
MAX_GAPS = 10_000
#: rows before the newest read again at start: writes that committed while this node was loading
START_LOOKBACK = 100


class ConfigRepair:
    def __init__(self, configs: ConfigService, namespaces: NamespaceService, engine: AsyncEngine) -> None:
        self.configs = configs
        self.namespaces = namespaces
        self.engine = engine
        self.cursor = 0
        #: nid -> when it was first found missing (monotonic seconds)
        self.gaps: dict[int, float] = {}

    async def run_forever(self) -> None:
        started = False  # the cursor starts near the newest row once the database answers
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        while True:
            await asyncio.sleep(TAIL_INTERVAL)
            try:
                if not started:
                    self.cursor, started = max(0, await changes.max_nid(self.engine) - START_LOOKBACK), True
                await self.namespaces.reload()
                await self.tail()
                if time.monotonic() >= next_sweep:
                    await self.sweep()
                    next_sweep = time.monotonic() + SWEEP_INTERVAL
            except Exception as exc:
                if not report(self.engine, exc, "catching up with the other nodes' config changes"):
                    log.exception("catching up with the other nodes' config changes failed")

    async def tail(self) -> int:
        """Refresh the keys of history rows not seen yet (new ones and late commits); returns how many changed."""
        rows = await changes.history_since(self.engine, self.cursor)
        if self.gaps:
            rows += await changes.history_of(self.engine, sorted(self.gaps))
        keys: dict[ConfigKey, None] = {}
        for row in rows:
            self.gaps.pop(row.nid, None)
            keys[row.key] = None
        self._advance([row.nid for row in rows if row.nid > self.cursor])
        changed = 0
        for key in keys:
            changed += await self.configs.refresh(key)
        if changed:
            log.info("caught up with %d config changes made on other nodes", changed)
        return changed

    def _advance(self, seen: list[int]) -> None:
        """Move the cursor to the highest nid seen; remember the nids skipped on the way (invariant 3)."""
        now = time.monotonic()
        self.gaps = {nid: since for nid, since in self.gaps.items() if now - since < GAP_WINDOW}
        if not seen:
            return
        top = max(seen)
        if top - self.cursor - len(seen) <= MAX_GAPS:
            present = set(seen)
            self.gaps.update({n: now for n in range(self.cursor + 1, top) if n not in present})
        self.cursor = top

    async def sweep(self) -> int:
        """Compare every (key, md5) with the database; refresh the keys that differ."""
        stored = await changes.digests(self.engine)
        cached = self.configs.digests()
        keys = {
            key for key, gray in stored.keys() | cached.keys() if stored.get((key, gray)) != cached.get((key, gray))
        }
        changed = 0
        for key in keys:
            changed += await self.configs.refresh(key)
        if changed:
            log.warning("the periodic comparison found %d configs out of date here; refreshed", changed)
        return changed
