"""A real server's data directory is its user's alone (issue 13): the directory 0700, the SQLite
database, its -wal and -shm and the bootstrap token 0600, even under a umask of 000."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.integration


def test_a_started_server_keeps_its_data_to_its_user(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home")
    previous = os.umask(0)  # the child inherits it: nothing may rely on the umask
    try:
        server.start()
    finally:
        os.umask(previous)
    try:
        data = tmp_path / "home" / "data"
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert {"pynacos.db", "pynacos.db-wal", "pynacos.db-shm", "bootstrap.token"} <= set(files)
        assert files == dict.fromkeys(files, 0o600)
    finally:
        assert server.stop() == 0
