"""HTTP/1.1 connection limits that uvicorn's httptools protocol does not enforce (security.md §3, §6.4).

uvicorn bounds an idle keep-alive connection (60 s) but not one that is still sending its request
head: 300 connections that each send half a request line stay open for ever (slow loris), and
httptools accepts any request-line or header size. This protocol adds, per connection:

1. A head timeout: from the connection (or the first byte of the next request) to the end of the
   headers, at most `HEAD_TIMEOUT` seconds, then the connection is closed. A held long poll is
   past its headers, so it is not affected.
2. Size limits on the request head: target over 8 KiB -> 414; one header over 8 KiB, headers over
   16 KiB in total or more than 100 of them -> 431; a `#` in the target -> 400 (uvicorn drops the
   fragment silently, so the router never sees it).
3. At most `MAX_CONNECTIONS_PER_IP` open connections per client address; more are closed at once.

A refused request is answered with a plain-text status line and the connection closed, before any
ASGI task starts. httptools wraps an exception raised by a callback into its own parser error, which
uvicorn answers with a 400; so the callback records the refusal first and `send_400_response`
answers with the recorded status instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import ClassVar, NoReturn

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pynacos.server.log_limits import RateLimitedLog

log = logging.getLogger("pynacos.http")
refusals = RateLimitedLog(log)


class QuietParserErrors(logging.Filter):
    """Drops uvicorn's own line for each malformed request (written unthrottled and without the client);
    `LimitedHttpToolsProtocol` writes a rate-limited one that names the client instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Invalid HTTP request received."


HEAD_TIMEOUT = 10.0
MAX_TARGET = 8 * 1024
MAX_HEADER = 8 * 1024
MAX_HEADERS_TOTAL = 16 * 1024
MAX_HEADER_COUNT = 100
MAX_CONNECTIONS_PER_IP = 256

_REASONS = {400: b"Bad Request", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class RequestRefused(Exception):
    """Raised from a parser callback to stop parsing; answered with `status`, then the connection closes."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module docstring."""

    open_per_ip: ClassVar[Counter[str]] = Counter()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused: RequestRefused | None = None
        self._target_size = self._head_size = self._head_count = 0
        self._peer = self.client[0] if self.client else ""
        self.open_per_ip[self._peer] += 1
        if self.open_per_ip[self._peer] > MAX_CONNECTIONS_PER_IP:
            self.transport.close()
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self.open_per_ip[self._peer] -= 1
        if self.open_per_ip[self._peer] <= 0:
            del self.open_per_ip[self._peer]
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        refused, self._refused = self._refused, None
        if refused is None:
            refusals.log(logging.WARNING, (self._peer, 400), "refused a malformed HTTP request from %s", self._peer)
            super().send_400_response(msg)
        else:
            self._refuse(refused)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._target_size = self._head_size = self._head_count = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._target_size += len(url)
        if self._target_size > MAX_TARGET:
            self._stop(414, f"request target over {MAX_TARGET} bytes")
        if b"#" in url:
            self._stop(400, "a fragment (#) in the request target")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._head_size += size
        self._head_count += 1
        if size > MAX_HEADER or self._head_size > MAX_HEADERS_TOTAL or self._head_count > MAX_HEADER_COUNT:
            self._stop(
                431, f"headers over {MAX_HEADER} bytes each, {MAX_HEADERS_TOTAL} in all or {MAX_HEADER_COUNT} in number"
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _stop(self, status: int, text: str) -> NoReturn:
        self._refused = RequestRefused(status, text)
        raise self._refused

    def _refuse(self, refused: RequestRefused) -> None:
        refusals.log(
            logging.WARNING,
            (self._peer, refused.status),
            "refused a request from %s: %s (%d)",
            self._peer,
            refused.text,
            refused.status,
        )
        body = refused.text.encode()
        head = b"HTTP/1.1 %d %s\r\n" % (refused.status, _REASONS[refused.status])
        headers = b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(
            body
        )
        self.transport.write(head + headers + body)
        self.transport.close()
