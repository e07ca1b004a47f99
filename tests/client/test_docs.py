"""The examples in docs/sdk.md run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.server_process import ServerProcess

DOC = Path(__file__).parents[2] / "docs" / "sdk.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_runs(index: int, plain_server: ServerProcess) -> None:
    code = EXAMPLES[index].replace('"127.0.0.1:8848"', repr(plain_server.address))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NACOS_")}
    env["NACOS_SERVER_ADDR"] = plain_server.address
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
