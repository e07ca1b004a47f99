"""Node-to-node messages signed with the server identity, instead of carrying it (security.md §5.3).

Nacos authenticates a peer by a static header, `<identity.key>: <identity.value>`: whoever sees one
request (a proxy log, a capture, a debug dump) holds the cluster's key for ever, and can replay any
message. Here the identity value never travels. Each message carries three headers:

- `X-Pynacos-Node-Time`: the sender's clock, epoch milliseconds;
- `X-Pynacos-Node-Nonce`: 16 random bytes, hex;
- `X-Pynacos-Node-Signature`: hex HMAC-SHA256 under K = HKDF-SHA256(identity value, info
  `pynacos-cluster-v1`) of `method \\n path \\n query \\n time \\n nonce \\n hex SHA-256(body)`, where
  `path` is the route path without the context path (nodes may differ in their context path).

The receiver refuses a time more than `MAX_SKEW_MS` away from its own clock and a nonce it has seen in
the last `NONCE_TTL_MS` (so a captured message cannot be replayed), then compares signatures in constant
time. The nonce cache is bounded: when it is full, messages are refused rather than remembered less long.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping

TIME_HEADER = "x-pynacos-node-time"
NONCE_HEADER = "x-pynacos-node-nonce"
SIGNATURE_HEADER = "x-pynacos-node-signature"
KEY_INFO = b"pynacos-cluster-v1"
MAX_SKEW_MS = 30_000
NONCE_TTL_MS = 60_000
MAX_NONCES = 200_000


def node_key(identity_value: str) -> bytes:
    """HKDF-SHA256 (RFC 5869) with an empty salt, one 32-byte block: the key is never the value itself."""
    pseudo_random = hmac.new(b"\x00" * 32, identity_value.encode(), hashlib.sha256).digest()
    return hmac.new(pseudo_random, KEY_INFO + b"\x01", hashlib.sha256).digest()


def _signature(key: bytes, method: str, path: str, query: bytes, stamp: str, nonce: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()
    text = "\n".join((method.upper(), path, query.decode("latin-1"), stamp, nonce, digest))
    return hmac.new(key, text.encode("latin-1"), hashlib.sha256).hexdigest()


def signed_headers(
    key: bytes, method: str, path: str, query: bytes, body: bytes, now_ms: int | None = None
) -> dict[str, str]:
    """The three headers a node adds to a message for `path` (route path, no context path)."""
    stamp = str(int(time.time() * 1000) if now_ms is None else now_ms)
    nonce = secrets.token_hex(16)
    return {
        TIME_HEADER: stamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: _signature(key, method, path, query, stamp, nonce, body),
    }


class SignatureCheck:
    """Verifies signed messages and remembers their nonces (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._seen: dict[str, int] = {}

    def premature(self, headers: Mapping[str, str]) -> str | None:
        """What is wrong with the headers alone (before a body is read), or None."""
        stamp, nonce = headers.get(TIME_HEADER, ""), headers.get(NONCE_HEADER, "")
        if not stamp.isdigit() or len(nonce) != 32 or not headers.get(SIGNATURE_HEADER):
            return "unsigned"
        if abs(int(stamp) - self._now_ms()) > MAX_SKEW_MS:
            return f"signed at a time more than {MAX_SKEW_MS // 1000} s away from this node's clock (run NTP)"
        return None

    def verify(
        self, key: bytes, method: str, path: str, query: bytes, body: bytes, headers: Mapping[str, str]
    ) -> str | None:
        """None when the message is authentic and new; else the reason (never a key or a signature)."""
        problem = self.premature(headers)
        if problem is not None:
            return problem
        stamp, nonce = headers[TIME_HEADER], headers[NONCE_HEADER]
        expected = _signature(key, method, path, query, stamp, nonce, body)
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
            return "bad signature"
        return self._remember(nonce)

    def _remember(self, nonce: str) -> str | None:
        now = self._now_ms()
        if self._seen.get(nonce, 0) > now:
            return "replayed"
        if len(self._seen) >= MAX_NONCES:
            self._seen = {n: until for n, until in self._seen.items() if until > now}
            if len(self._seen) >= MAX_NONCES:
                return "too many messages in the last minute"
        self._seen[nonce] = now + NONCE_TTL_MS
        return None

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)
