"""Which characters a request may carry, decided once so that every storage backend answers alike.

SQLite stores any string; PostgreSQL's `text` cannot hold NUL (asyncpg refuses it: a 500 after
the checks passed); MariaDB refuses characters its column's character set lacks and, in strict
mode, values longer than the column. So the same request would be stored on one backend and fail
on another. The rules, each checked before anything is written:

- NUL is refused (400) in every text a request carries: parameters (http.py refuses it while
  decoding them), JSON fields (metadata, beats) and uploaded configs (config/validation.py).
- Other control characters and characters outside the Basic Multilingual Plane (emoji) are data:
  content, descriptions and metadata store them as sent on every backend. MariaDB needs the
  `utf8mb4` character set for the latter (Nacos's own DDL says `utf8`, which has no emoji); the
  storage contract tests create their database with it.
- Names that identify a thing (service, group, cluster, namespace) are visible text: see
  `is_visible`. U+202E turns a name around on screen and zero-width characters hide a second
  service behind the name of the first.
- A stored field is no longer than its column (storage/tables.py); each check names its limit.
"""

from __future__ import annotations

from pynacos.server.errors import BadRequest

NUL = "\x00"
#: Nacos reads numbers as Java ints and longs; a larger number is a 400, not a silent overflow
JAVA_INT_MAX = 2**31 - 1
JAVA_LONG_MAX = 2**63 - 1
NUL_TEXT = "must not contain NUL characters"


def refuse_nul(label: str, value: str | None) -> None:
    """A 400 naming the field, for text that did not come through the parameter decoder (JSON, zips)."""
    if value is not None and NUL in value:
        raise BadRequest(f"{label} {NUL_TEXT}")


def is_visible(value: str) -> bool:
    """No control, format, surrogate, private-use, unassigned or separator character, and no space.

    That is `str.isprintable` (Unicode's "Other" and "Separator" categories) without its one
    exception, the ASCII space: names never hold blanks.
    """
    return value.isprintable() and " " not in value
