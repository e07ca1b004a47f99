"""The gRPC baseline server: bare grpc.aio with pynacos's Payload messages, options and event loop (uvloop).

Run: `python bench/grpc_echo.py --port N --answer JSON --options JSON` (listens on 127.0.0.1 only).

- `/Request/request` (unary) answers every request with one fixed Payload built at start
  (`ConfigQueryResponse` with the `--answer` body), deserialising the request and serialising the
  answer with the same functions as pynacos.
- `/BiRequestStream/requestBiStream` does the least a Nacos stream must: the first
  `ConnectionSetupRequest` is answered with a `SetupAckRequest` push; later messages (acks) are read
  and dropped. Pushes go through one `asyncio.Queue` per stream, as in pynacos.
- `/Bench/fanOut` (unary, bench-only) puts a `ConfigChangeNotifyRequest` (each with its own
  `requestId`) on every open stream and answers at once: the transport floor of a config push.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc

from pynacos.server.grpc import payload

SETUP_ACK = payload.encode(
    "SetupAckRequest", {"headers": {}, "abilityTable": {"supportPersistentInstanceByGrpc": True}, "module": "internal"}
)


class Echo:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = payload.encode("ConfigQueryResponse", answer)
        self.streams: set[asyncio.Queue[Any]] = set()
        self.ids = itertools.count(1)

    async def unary(self, message: Any, context: Any) -> Any:
        return self.answer

    async def fan_out(self, message: Any, context: Any) -> Any:
        body = {"headers": {}, "dataId": "bench.push", "group": "DEFAULT_GROUP", "tenant": "", "module": "config"}
        for queue in self.streams:
            queue.put_nowait(payload.encode("ConfigChangeNotifyRequest", {**body, "requestId": str(next(self.ids))}))
        return self.answer

    async def stream(self, messages: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def read() -> None:
            async for message in messages:
                if message.metadata.type == "ConnectionSetupRequest":
                    self.streams.add(queue)
                    queue.put_nowait(SETUP_ACK)
            queue.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            self.streams.discard(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def serve(port: int, answer: dict[str, Any], options: list[tuple[str, Any]]) -> None:
    echo = Echo(answer)
    server = grpc.aio.server(options=options)

    def unary(fn: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(
            fn, request_deserializer=payload.Payload.FromString, response_serializer=payload.serialize
        )

    stream = grpc.stream_stream_rpc_method_handler(
        echo.stream, request_deserializer=payload.Payload.FromString, response_serializer=payload.serialize
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler("Request", {"request": unary(echo.unary)}),
            grpc.method_handlers_generic_handler("BiRequestStream", {"requestBiStream": stream}),
            grpc.method_handlers_generic_handler("Bench", {"fanOut": unary(echo.fan_out)}),
        )
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer", required=True, help="JSON body of the fixed ConfigQueryResponse")
    parser.add_argument("--options", default="[]", help="JSON list of [name, value] grpc server options")
    args = parser.parse_args()
    options = [(str(k), v) for k, v in json.loads(args.options)]
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, json.loads(args.answer), options))
    else:
        uvloop.run(serve(args.port, json.loads(args.answer), options))


if __name__ == "__main__":
    main()
