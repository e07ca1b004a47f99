"""The public surface: `pynacos.client.__all__` is the list in docs/sdk.md, and importing it stays light."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pynacos.client

DOC = Path(__file__).parents[2] / "docs" / "sdk.md"


def documented_names() -> list[str]:
    """The bullet list under `## Public API`, up to the next blank-line-separated paragraph."""
    section = DOC.read_text().split("## Public API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `(\w+)`$", section, re.MULTILINE)


def test_all_equals_the_sorted_list_documented_in_docs_sdk_md() -> None:
    assert pynacos.client.__all__ == sorted(pynacos.client.__all__)
    assert pynacos.client.__all__ == documented_names()


def test_every_exported_name_exists_and_is_defined_in_a_private_module() -> None:
    for name in pynacos.client.__all__:
        value = getattr(pynacos.client, name)
        assert value.__module__.startswith("pynacos.client._"), name


def test_exceptions_form_one_tree() -> None:
    from pynacos.client import (
        AuthError,
        BadRequest,
        ClientClosed,
        Conflict,
        ConnectError,
        Forbidden,
        NacosError,
        NotFound,
        ServerError,
        ServerUnavailable,
        Timeout,
        TransportError,
        Unauthenticated,
    )

    for child, parent in [
        (TransportError, NacosError),
        (Timeout, TransportError),
        (ConnectError, TransportError),
        (ServerError, NacosError),
        (BadRequest, ServerError),
        (AuthError, NacosError),
        (Unauthenticated, AuthError),
        (Forbidden, AuthError),
        (NotFound, NacosError),
        (Conflict, NacosError),
        (ServerUnavailable, NacosError),
        (ClientClosed, RuntimeError),
    ]:
        assert issubclass(child, parent), (child, parent)
    assert not issubclass(ClientClosed, NacosError)
    assert (Timeout("t").code, ConnectError("c").code, ServerUnavailable("u").code) == (-408, -401, 503)


def test_importing_the_sdk_loads_no_server_starlette_grpc_or_sqlalchemy() -> None:
    code = "import json, sys; import pynacos.client; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    forbidden = [m for m in loaded if m.split(".")[0] in {"starlette", "grpc", "sqlalchemy", "uvicorn"}]
    assert forbidden == []
    assert not [m for m in loaded if m.startswith("pynacos.server")]


def test_the_sdk_core_does_no_io() -> None:
    """The sans-I/O modules import neither httpx nor socket code."""
    source_dir = Path(pynacos.client.__file__).parent
    for name in ("_protocol", "_auth", "_listener", "_naming", "_failover", "_models", "_exceptions"):
        text = (source_dir / f"{name}.py").read_text()
        assert not re.search(r"^\s*(import|from) (httpx|socket|asyncio|threading)\b", text, re.MULTILINE), name
