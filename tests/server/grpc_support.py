"""A minimal Nacos gRPC client for tests: a channel, its bi-stream, unary requests, and push handling."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc

from pynacos.server.grpc import payload


class GrpcTestClient:
    """One connection: `connect()` opens the stream with a ConnectionSetupRequest and waits for SetupAck.

    Pushes are collected in `pushes` and acknowledged with `ack_code` as resultCode (200, success) unless
    `ack` is False.
    """

    def __init__(self, port: int, module: str = "config", token: str | None = None) -> None:
        # its own subchannel pool, so its own TCP connection (the server tells connections apart by transport)
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])
        self.module = module
        self.token = token
        self.ack = True
        self.ack_code = 200
        self.pushes: list[payload.Incoming] = []
        self.pushed = asyncio.Event()
        self._outbox: asyncio.Queue[Any] = asyncio.Queue()
        self._unary = self.channel.unary_unary(
            "/Request/request", request_serializer=payload.serialize, response_deserializer=payload.Payload.FromString
        )
        self._stream = self.channel.stream_stream(
            "/BiRequestStream/requestBiStream",
            request_serializer=payload.serialize,
            response_deserializer=payload.Payload.FromString,
        )
        self.stream_call: Any = None
        self._reader: asyncio.Task[None] | None = None
        self.stream_error: grpc.RpcError | None = None

    async def connect(self) -> None:
        setup = {
            "clientVersion": "pynacos-tests",
            "labels": {"source": "sdk", "module": self.module},
            "abilityTable": {},
        }
        await self._outbox.put(payload.encode("ConnectionSetupRequest", setup))
        self.stream_call = self._stream(self._outgoing())
        self._reader = asyncio.create_task(self._read())
        await self.wait_push("SetupAckRequest")

    async def _outgoing(self) -> Any:
        while True:
            yield await self._outbox.get()

    async def _read(self) -> None:
        try:
            async for message in self.stream_call:
                incoming = payload.parse(message)
                self.pushes.append(incoming)
                self.pushed.set()
                if self.ack and "requestId" in incoming.body:
                    code = self.ack_code
                    answer = {
                        "resultCode": code,
                        "errorCode": 0 if code == 200 else -500,
                        "requestId": incoming.body["requestId"],
                    }
                    await self._outbox.put(payload.encode(incoming.type.replace("Request", "Response"), answer))
        except grpc.RpcError as exc:
            self.stream_error = exc

    async def wait_push(self, kind: str, timeout: float = 5.0, after: int = 0) -> payload.Incoming:
        """The first push of `kind` at index >= `after`, waiting up to `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for incoming in self.pushes[after:]:
                if incoming.type == kind:
                    return incoming
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} within {timeout}s; got {[p.type for p in self.pushes]}")
            self.pushed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.pushed.wait(), remaining)

    async def request(self, kind: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> payload.Incoming:
        message = payload.encode(kind, {"headers": {}, **body})
        for name, value in {**({"accessToken": self.token} if self.token else {}), **(headers or {})}.items():
            message.metadata.headers[name] = value
        return payload.parse(await self._unary(message, timeout=10))

    async def close(self) -> None:
        if self.stream_call is not None:
            self.stream_call.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.channel.close()


async def answer_metrics(client: GrpcTestClient, metrics: dict[str, Any]) -> payload.Incoming:
    """Wait for the server's next ClientConfigMetricRequest and answer it as a Java client does."""
    asked = await client.wait_push("ClientConfigMetricRequest", timeout=10, after=len(client.pushes))
    answer = {"resultCode": 200, "errorCode": 0, "requestId": asked.body["requestId"], "metrics": metrics}
    await client._outbox.put(payload.encode("ClientConfigMetricResponse", answer))
    return asked
