"""Files under the data directory are the server's alone: the directory is 0700, its files 0600.

The SQLite database holds every config (passwords and keys among them) and the users' password
hashes, so it must not be readable by other local users whatever the umask. SQLite creates the
`-wal` and `-shm` files with the database file's mode, so creating that file 0600 first covers them;
files left by an older version are tightened when the server starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("pynacos.storage")

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) for this user only; tighten it if it exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)


def private_file(path: Path) -> None:
    """Create an empty `path` if missing, readable and writable by this user only."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _tighten(path, FILE_MODE)


def private_sqlite(database: Path) -> None:
    """The database's directory 0700, the database and the side files SQLite left beside it 0600."""
    private_dir(database.parent)
    private_file(database)
    for suffix in SQLITE_SIDE_FILES:
        side = database.with_name(database.name + suffix)
        if side.exists():
            _tighten(side, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    """Drop every permission beyond `mode`; one line when something was opened wider (an older version
    or the umask made it so), and a warning instead of a crash when we may not change it."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode == 0:
        return
    try:
        path.chmod(current & mode)
    except PermissionError:
        log.warning("%s has mode %o and cannot be changed; other users may read it", path, current)
        return
    log.info("%s had mode %o; now %o", path, current, current & mode)
