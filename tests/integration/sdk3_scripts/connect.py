"""Connect nacos-sdk-python 3.x's config and naming clients, print one JSON line each, shut both down.

`python connect.py HOST:PORT DIR`: HOST:PORT is the HTTP address (the SDK connects to PORT + 1000), DIR
holds the SDK's logs and caches. Each line: {"module", "status", "connectionId", "pushes", "seconds"},
where `pushes` lists the types of the requests the server pushed while the client connected.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from v2.nacos import ClientConfigBuilder, NacosConfigService, NacosNamingService
from v2.nacos.transport.grpc_client import GrpcClient

PUSHES: defaultdict[str, list[str]] = defaultdict(list)


def record_pushes() -> None:
    handle = GrpcClient._handle_server_request

    async def recorded(self: GrpcClient, request: Any, connection: Any) -> None:
        PUSHES[self.labels.get("module", "?")].append(request.get_request_type())
        await handle(self, request, connection)

    GrpcClient._handle_server_request = recorded


async def main(server: str, home: Path) -> None:
    record_pushes()
    for module, create in (
        ("config", NacosConfigService.create_config_service),
        ("naming", NacosNamingService.create_naming_service),
    ):
        config = ClientConfigBuilder().server_address(server).log_dir(str(home / module / "logs"))
        config = config.cache_dir(str(home / module / "cache")).build()
        started = time.monotonic()
        service = await create(config)
        seconds = round(time.monotonic() - started, 3)
        proxy = service.grpc_client_proxy
        rpc = proxy.rpc_client if module == "naming" else proxy.rpc_client_manager.get_client(f"{proxy.uuid}_config_0")
        current = rpc.current_connection
        line = {
            "module": module,
            "status": rpc.rpc_client_status.name,
            "connectionId": current.get_connection_id() if current else None,
            "labels": rpc.labels,
            "pushes": PUSHES[module],
            "seconds": seconds,
        }
        print(json.dumps(line), flush=True)
        await asyncio.wait_for(service.shutdown(), 15)
    # the SDK leaves background tasks behind after shutdown: exit without waiting for the loop to reap them
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
