"""The baseline server: a bare Starlette app whose one route `/` answers "hello" as text/plain.

Served by uvicorn with the settings pynacos's runner uses: httptools + uvloop, one worker, access log
off, 60 s keep-alive. Run: `python bench/bare_app.py --port N` (listens on 127.0.0.1 only).

`--shaped` serves instead, on the same one route, a constant answer shaped like pynacos's config GET:
the same headers (no-cache trio, Config-Type, Content-MD5, Last-Modified, the two security headers)
and a body of the same size. Measuring it separates the cost of the Nacos response shape (more
headers for uvicorn to check and write) from pynacos's own per-request work.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/", hello)])

SHAPED_BODY = b"k" * 189
SHAPED_HEADERS = {
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    "Cache-Control": "no-cache,no-store",
    "Config-Type": "text",
    "Content-MD5": "5d41402abc4b2a76b9719d911017c592",
    "Last-Modified": "Wed, 25 Nov 2026 15:53:58 GMT",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "script-src 'self'",
}


async def shaped(request: Request) -> Response:
    return Response(SHAPED_BODY, headers=SHAPED_HEADERS, media_type="text/plain;charset=UTF-8")


shaped_app = Starlette(routes=[Route("/", shaped)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--shaped", action="store_true", help="answer like a pynacos config GET")
    args = parser.parse_args()
    config = uvicorn.Config(
        shaped_app if args.shaped else app,
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        loop="uvloop",
        workers=1,
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_keep_alive=60,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
