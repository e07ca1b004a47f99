from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.servers import FAST_NAMING
from tests.integration.server_process import ServerProcess


@pytest.fixture(scope="package")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server without auth for every SDK test that needs no special settings."""
    server = ServerProcess(tmp_path_factory.mktemp("plain") / "home", FAST_NAMING)
    server.start()
    yield server
    server.stop()
