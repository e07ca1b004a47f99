"""Remote control for nacos-sdk-python 3.x (`from v2.nacos import ...`), run by its own interpreter.

tests/integration/sdk3.py starts `python driver.py SETTINGS` with the SDK-3 virtualenv's interpreter (that
SDK cannot share a virtualenv with nacos-sdk-python 2.x). SETTINGS is a JSON object: "server" (`host:port`,
the HTTP port, or several joined by commas; the SDK adds 1000 for gRPC), "dir" (where clients keep logs and
caches), and optionally "username", "password", "namespace"; a start command may override any of them but
"dir" for its client.

stdin, one JSON command a line:  {"id": 7, "op": "config.get", "client": "c", "dataId": "d", "group": "g"}
stdout, one JSON object a line:  the reply {"id": 7, "ok": true, "value": ...} or
    {"id": 7, "ok": false, "error": {"type": "NacosException", "code": 403, "message": "..."}}
or an event:
    {"event": "ready", "sdkVersion"}                                     the driver reads commands now
    {"event": "config", "client", "dataId", "group", "tenant", "content"}  a config listener was called
    {"event": "service", "client", "service", "group", "hosts"}            a subscriber was called
    {"event": "connect-attempt", "rpcClient", "ok", "connectionId" | "error"}
    {"event": "connection", "rpcClient", "state", "connectionId"}         the SDK's connected/disconnected
    {"event": "push", "rpcClient", "type", "requestId"}                    a server push reached the SDK
    {"event": "listened", "keys"}                                          a ConfigBatchListenRequest succeeded
EOF on stdin: every client is shut down and the process exits 0.

Commands run concurrently, each as its own task. The SDK is driven as an application drives it; the
wrappers in `trace()` only report what the SDK does (connection attempts and events, pushes, listens).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import v2.nacos
from v2.nacos import (
    ClientConfigBuilder,
    ConfigParam,
    DeregisterInstanceParam,
    ListServiceParam,
    NacosConfigService,
    NacosException,
    NacosNamingService,
    RegisterInstanceParam,
    SubscribeServiceParam,
)
from v2.nacos.config.model.config_request import ConfigBatchListenRequest
from v2.nacos.config.remote.config_grpc_client_proxy import ConfigGRPCClientProxy
from v2.nacos.config.util.config_client_util import get_config_cache_key
from v2.nacos.transport.grpc_client import GrpcClient
from v2.nacos.transport.rpc_client import RpcClient

DEFAULT_GROUP = "DEFAULT_GROUP"


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, default=str) + "\n")
    sys.stdout.flush()


def trace() -> None:
    """Report connection attempts, connection events, pushes and listens; behaviour is unchanged."""
    connect = GrpcClient.connect_to_server
    notify = RpcClient._notify_connection_change
    handle = GrpcClient._handle_server_request
    request_config = ConfigGRPCClientProxy.request_config_server

    async def connect_traced(self: GrpcClient, server_info: Any) -> Any:
        try:
            connection = await connect(self, server_info)
        except Exception as exc:
            emit({"event": "connect-attempt", "rpcClient": self.name, "ok": False, "error": str(exc)})
            raise
        ident = connection.get_connection_id() if connection else None
        emit({"event": "connect-attempt", "rpcClient": self.name, "ok": connection is not None, "connectionId": ident})
        return connection

    async def notify_traced(self: RpcClient, event_type: Any) -> None:
        current = self.current_connection
        ident = current.get_connection_id() if current else None
        emit({"event": "connection", "rpcClient": self.name, "state": event_type.name.lower(), "connectionId": ident})
        await notify(self, event_type)

    async def handle_traced(self: GrpcClient, request: Any, connection: Any) -> None:
        kind = request.get_request_type()
        emit({"event": "push", "rpcClient": self.name, "type": kind, "requestId": request.requestId})
        await handle(self, request, connection)

    async def request_config_traced(self: Any, rpc_client: Any, request: Any, response_class: Any) -> Any:
        response = await request_config(self, rpc_client, request, response_class)
        if isinstance(request, ConfigBatchListenRequest):
            keys = [get_config_cache_key(c.dataId, c.group, c.tenant) for c in request.configListenContexts]
            self.__dict__.setdefault("listened_keys", set()).update(keys)
            emit({"event": "listened", "keys": keys})
        return response

    GrpcClient.connect_to_server = connect_traced
    RpcClient._notify_connection_change = notify_traced
    GrpcClient._handle_server_request = handle_traced
    ConfigGRPCClientProxy.request_config_server = request_config_traced


def rpc_clients(service: Any) -> list[RpcClient]:
    proxy = service.grpc_client_proxy
    if isinstance(service, NacosConfigService):
        return list(proxy.rpc_client_manager.get_all_client_entries().values())
    return [proxy.rpc_client] if proxy.rpc_client is not None else []


def describe(service: Any) -> list[dict[str, Any]]:
    described = []
    for rpc in rpc_clients(service):
        current = rpc.current_connection
        described.append(
            {
                "rpcClient": rpc.name,
                "status": rpc.rpc_client_status.name,
                "connectionId": current.get_connection_id() if current else None,
            }
        )
    return described


def host(instance: Any) -> dict[str, Any]:
    return instance.model_dump(
        include={"instanceId", "ip", "port", "weight", "healthy", "enabled", "clusterName", "metadata"}
    )


async def shutdown(service: Any) -> None:
    """The SDK's shutdown(). A config client's waits for its listen loop, which sleeps up to 5 s between
    rounds; it is woken first, as a push would wake it, so that closing takes no longer than it must."""
    if isinstance(service, NacosConfigService):
        service.grpc_client_proxy.stop_event.set()
        await service.grpc_client_proxy.execute_config_listen_channel.put(None)
    await asyncio.wait_for(service.shutdown(), 15)


class NotConnected(Exception):
    pass


class Driver:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.clients: dict[str, Any] = {}

    def client_config(self, command: dict[str, Any], name: str) -> Any:
        get = {**self.settings, **command}.get
        home = Path(self.settings["dir"]) / name
        builder = (
            ClientConfigBuilder()
            .server_address(get("server"))
            .namespace_id(get("namespace") or "")
            .log_dir(str(home / "logs"))
            .cache_dir(str(home / "cache"))
            .log_level(logging.INFO)
        )
        if get("username"):
            builder.username(get("username")).password(get("password") or "")
        return builder.build()

    async def start(self, command: dict[str, Any], default_name: str, create: Any) -> Any:
        name = command.get("client", default_name)
        service = await create(self.client_config(command, name))
        self.clients[name] = service
        described = describe(service)
        if not described or any(rpc["status"] != "RUNNING" for rpc in described):
            raise NotConnected(f"not connected after start: {described}")
        return described

    async def op_config_start(self, command: dict[str, Any]) -> Any:
        return await self.start(command, "config", NacosConfigService.create_config_service)

    async def op_naming_start(self, command: dict[str, Any]) -> Any:
        return await self.start(command, "naming", NacosNamingService.create_naming_service)

    def service(self, command: dict[str, Any], default_name: str) -> Any:
        return self.clients[command.get("client", default_name)]

    async def op_config_get(self, command: dict[str, Any]) -> Any:
        param = ConfigParam(data_id=command["dataId"], group=command.get("group", DEFAULT_GROUP))
        return await self.service(command, "config").get_config(param)

    async def op_config_publish(self, command: dict[str, Any]) -> Any:
        param = ConfigParam(
            data_id=command["dataId"],
            group=command.get("group", DEFAULT_GROUP),
            content=command["content"],
            type=command.get("type", ""),
            cas_md5=command.get("casMd5", ""),
        )
        return await self.service(command, "config").publish_config(param)

    async def op_config_remove(self, command: dict[str, Any]) -> Any:
        param = ConfigParam(data_id=command["dataId"], group=command.get("group", DEFAULT_GROUP))
        return await self.service(command, "config").remove_config(param)

    async def op_config_listen(self, command: dict[str, Any]) -> Any:
        """Add a listener, then wait until the SDK has listened on the key at the server.

        The SDK's listen loop wakes every 5 s or when something is queued; queueing a wake-up is what its
        own push handler and connection listener do."""
        name = command.get("client", "config")
        service = self.service(command, "config")
        data_id, group = command["dataId"], command.get("group", DEFAULT_GROUP)

        async def listener(tenant: str, group: str, data_id: str, content: str) -> None:
            emit(
                {
                    "event": "config",
                    "client": name,
                    "dataId": data_id,
                    "group": group,
                    "tenant": tenant,
                    "content": content,
                }
            )

        await service.add_listener(data_id, group, listener)
        proxy = service.grpc_client_proxy
        key = get_config_cache_key(data_id, group, proxy.namespace_id)
        started = woken = time.monotonic()
        await proxy.execute_config_listen_channel.put(None)
        while key not in proxy.__dict__.get("listened_keys", ()):
            now = time.monotonic()
            if now - started > command.get("within", 15.0):
                raise TimeoutError(f"no successful ConfigBatchListenRequest for {key!r}")
            if now - woken > 1.0:
                woken = now
                await proxy.execute_config_listen_channel.put(None)
            await asyncio.sleep(0.05)
        return round(time.monotonic() - started, 3)

    def instance_param(self, command: dict[str, Any]) -> dict[str, Any]:
        return {
            "service_name": command["service"],
            "group_name": command.get("group", DEFAULT_GROUP),
            "ip": command["ip"],
            "port": command["port"],
            "cluster_name": command.get("cluster", ""),
            "ephemeral": command.get("ephemeral", True),
        }

    async def op_naming_register(self, command: dict[str, Any]) -> Any:
        param = RegisterInstanceParam(
            **self.instance_param(command), metadata=command.get("metadata", {}), weight=command.get("weight", 1.0)
        )
        return await self.service(command, "naming").register_instance(param)

    async def op_naming_deregister(self, command: dict[str, Any]) -> Any:
        param = DeregisterInstanceParam(**self.instance_param(command))
        return await self.service(command, "naming").deregister_instance(param)

    async def op_naming_subscribe(self, command: dict[str, Any]) -> Any:
        name = command.get("client", "naming")
        service_name, group = command["service"], command.get("group", DEFAULT_GROUP)

        async def subscriber(instances: list[Any]) -> None:
            hosts = [host(instance) for instance in instances]
            emit({"event": "service", "client": name, "service": service_name, "group": group, "hosts": hosts})

        param = SubscribeServiceParam(service_name=service_name, group_name=group, subscribe_callback=subscriber)
        await self.service(command, "naming").subscribe(param)
        return True

    async def op_naming_query(self, command: dict[str, Any]) -> Any:
        """ServiceQueryRequest, which the public API only sends from its background updater."""
        proxy = self.service(command, "naming").grpc_client_proxy
        info = await proxy.query_instance_of_service(command["service"], command.get("group", DEFAULT_GROUP), "", False)
        return None if info is None else {**info.model_dump(exclude={"hosts"}), "hosts": [host(h) for h in info.hosts]}

    async def op_naming_services(self, command: dict[str, Any]) -> Any:
        param = ListServiceParam(group_name=command.get("group", DEFAULT_GROUP), page_size=command.get("pageSize", 100))
        listed = await self.service(command, "naming").list_services(param)
        return {"count": listed.count, "services": listed.services}

    async def op_status(self, command: dict[str, Any]) -> Any:
        return {name: describe(service) for name, service in self.clients.items()}

    async def op_shutdown(self, command: dict[str, Any]) -> Any:
        await shutdown(self.clients.pop(command["client"]))
        return True

    async def close_all(self) -> None:
        services, self.clients = list(self.clients.values()), {}
        for failed in await asyncio.gather(*(shutdown(s) for s in services), return_exceptions=True):
            if failed is not None:
                emit({"event": "shutdown-failed", "error": repr(failed)})

    async def run(self, command: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"id": command.get("id"), "op": command.get("op")}
        started = time.monotonic()
        try:
            handler = getattr(self, "op_" + command["op"].replace(".", "_"))
            reply["value"] = await asyncio.wait_for(handler(command), command.get("timeout", 30.0))
            reply["ok"] = True
        except NacosException as exc:
            reply["ok"] = False
            reply["error"] = {"type": "NacosException", "code": exc.error_code, "message": exc.message}
        except Exception as exc:
            reply["ok"] = False
            reply["error"] = {"type": type(exc).__name__, "message": str(exc)}
        reply["seconds"] = round(time.monotonic() - started, 3)
        emit(reply)


def read_commands(loop: asyncio.AbstractEventLoop, commands: asyncio.Queue[str | None]) -> None:
    for line in sys.stdin:
        if line.strip():
            loop.call_soon_threadsafe(commands.put_nowait, line)
    loop.call_soon_threadsafe(commands.put_nowait, None)


async def main() -> None:
    driver = Driver(json.loads(sys.argv[1]))
    commands: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=read_commands, args=(asyncio.get_running_loop(), commands), daemon=True).start()
    tasks: set[asyncio.Task[None]] = set()
    emit({"event": "ready", "sdkVersion": v2.nacos.__version__, "pid": os.getpid()})
    while (line := await commands.get()) is not None:
        task = asyncio.create_task(driver.run(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await driver.close_all()
    emit({"event": "exit"})
    # the SDK leaves background tasks behind after shutdown: exit without waiting for the loop to reap them
    os._exit(0)


if __name__ == "__main__":
    trace()
    asyncio.run(main())
