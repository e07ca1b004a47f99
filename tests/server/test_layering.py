"""Layering (style.md §1): service modules never import the HTTP edge (starlette) or gRPC."""

from __future__ import annotations

import subprocess
import sys

import pytest

SERVICES = [
    "pynacos.server.config.service",
    "pynacos.server.naming.service",
    "pynacos.server.naming.clients",
    "pynacos.server.namespaces.service",
]


@pytest.mark.parametrize("module", SERVICES)
def test_service_module_loads_no_edge_library(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'grpc', 'uvicorn')]; print(bad)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
