"""The data directory is 0700 and the files in it 0600, whatever the umask and whatever an older
version left (storage/files.py)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from pynacos.server.settings import Settings
from pynacos.server.storage.engine import open_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_an_older_world_readable_database_is_tightened(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pynacos.storage")
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    for name in ("pynacos.db", "pynacos.db-wal", "pynacos.db-shm"):
        (data / name).touch()
        (data / name).chmod(0o644)
    engine = await open_engine(Settings(home=str(tmp_path)))
    try:
        modes = {path.name: mode(path) for path in data.iterdir()}  # (SQLite removes -wal/-shm on close)
    finally:
        await engine.dispose()
    assert mode(data) == 0o700
    assert modes == {"pynacos.db": 0o600, "pynacos.db-wal": 0o600, "pynacos.db-shm": 0o600}
    assert f"{data / 'pynacos.db'} had mode 644; now 600" in caplog.text
