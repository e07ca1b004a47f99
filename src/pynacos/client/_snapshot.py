"""Local config snapshots: the last content read, served only when every server is unreachable.

Layout `<dir>/<namespace or "public">/<group>/<dataId>`, each part percent-encoded (a dataId of
`..` stays a file name). Writes go to a temporary file and are renamed, so a reader never sees
half a snapshot. A 404 from the server deletes the snapshot: a deleted config must not come back.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("pynacos.client")


def path_of(directory: str | Path, namespace: str, group: str, data_id: str) -> Path:
    return Path(directory) / _part(namespace or "public") / _part(group) / _part(data_id)


def _part(name: str) -> str:
    encoded = quote(name, safe="")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def write(path: Path, content: str | None) -> None:
    """Store `content` (None deletes); failures are logged, never raised (a cache, not the truth)."""
    try:
        if content is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("cannot write config snapshot %s: %s", path, exc)


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read config snapshot %s: %s", path, exc)
        return None
