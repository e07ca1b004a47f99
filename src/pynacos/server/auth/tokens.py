"""Nacos tokens: JWT exactly as Nacos writes them, checked in Nacos's order, plus revocation.

Wire format (auth.md §3): header one of three constants (`{"alg":"HS256"}` etc., no `typ`), payload
`{"sub":<user>,"exp":<epoch s>}`, HMAC by key length. Verification order and messages follow Nacos:
blank -> `user not found!`, not 3 parts -> `token invalid!`, unknown header -> `unsupported
signature algorithm`, bad MAC -> `Invalid signature`, `exp < now` -> `token expired!` (inclusive).

Revocation (pynacos; tokens stay byte-compatible, so it is server-side state):
1. A user has a "not before" instant, moved to now on password change, role change or deletion.
   A token whose issue time (`exp - ttl`, or the exact instant for tokens this process issued)
   is earlier is refused, so revocation takes effect on the next request (well under 1 s).
2. Logout puts the token's SHA-256 in a revoked set kept until the token's `exp`.
3. Key rotation: tokens are signed with the current key; the previous key (optional) still
   verifies, so clients holding older tokens keep working until those expire.
Verified tokens are remembered (bounded) so the hot path is a dict lookup, but expiry and
revocation are checked on every use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pynacos.server.auth.keys import algorithm_for

HEADERS = {
    "eyJhbGciOiJIUzI1NiJ9": "HS256",
    "eyJhbGciOiJIUzM4NCJ9": "HS384",
    "eyJhbGciOiJIUzUxMiJ9": "HS512",
}
_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
MAX_TOKEN_LENGTH = 4096
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
VERIFIED_CACHE_SIZE = 100_000
AUTH_DISABLED = "AUTH_DISABLED"


class TokenRejected(Exception):
    """The token is not accepted; the message is Nacos's text for the reason."""


@dataclass(frozen=True)
class Claims:
    sub: str
    exp: int


class TokenCodec:
    """Signs with the current key, verifies with the current or the previous one."""

    def __init__(self, key: bytes, previous: bytes | None = None) -> None:
        self.key = key
        self.previous = previous

    def sign(self, sub: str, exp: int) -> str:
        import jwt  # PyJWT (and cryptography) cost ~0.1 s and ~10 MB: load it at the first login only

        return jwt.encode({"sub": sub, "exp": exp}, self.key, algorithm=algorithm_for(self.key), headers={"typ": None})

    def verify(self, token: str) -> Claims:
        """Signature and shape; expiry is the caller's (it needs the clock)."""
        if not token.strip():
            raise TokenRejected("user not found!")
        parts = token.split(".")
        if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3:
            raise TokenRejected("token invalid!")
        algorithm = HEADERS.get(parts[0])
        if algorithm is None:
            raise TokenRejected("unsupported signature algorithm")
        payload = self._payload(token, algorithm)
        return _claims(payload)

    def _payload(self, token: str, algorithm: str) -> bytes:
        """HMAC over `<header>.<payload>` with the header's algorithm, compared in constant time."""
        head, body, signature = token.split(".")
        try:
            given = base64url_decode(signature)
            payload = base64url_decode(body)
        except (ValueError, binascii.Error):
            raise TokenRejected("token invalid!") from None
        signed = f"{head}.{body}".encode()
        for key in (self.key, self.previous):
            if key is not None and hmac.compare_digest(hmac.new(key, signed, _DIGESTS[algorithm]).digest(), given):
                return payload
        raise TokenRejected("Invalid signature")


def base64url_decode(text: str) -> bytes:
    """Strict, canonical, unpadded base64url. A last character whose unused low bits are set decodes
    to the same bytes, so a token would have several spellings and revoking one would miss the others."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != text.encode():
        raise ValueError("not canonical base64url")
    return decoded


def _claims(payload: bytes) -> Claims:
    try:
        data = json.loads(payload)
    except ValueError:
        raise TokenRejected("token invalid!") from None
    sub, exp = (data.get("sub"), data.get("exp")) if isinstance(data, dict) else (None, None)
    if not isinstance(sub, str) or not sub or isinstance(exp, bool) or not isinstance(exp, int):
        raise TokenRejected("token invalid!")
    return Claims(sub, exp)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    """Issues and checks tokens; holds the revocation state (persisted by the caller's store)."""

    def __init__(
        self,
        codec: TokenCodec | None,
        expire_seconds: int,
        cache_enabled: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.codec = codec
        self.expire_seconds = expire_seconds
        self.cache_enabled = cache_enabled
        self.clock = clock
        self.not_before_ms: dict[str, int] = {}
        self.revoked: dict[str, int] = {}
        self._issued_ms: OrderedDict[str, int] = OrderedDict()
        self._verified: OrderedDict[str, Claims] = OrderedDict()
        self._reuse: dict[str, tuple[str, int]] = {}

    def use(self, codec: TokenCodec | None, expire_seconds: int) -> None:
        """Switch key(s) or lifetime; tokens verified with a key no longer configured must be re-checked."""
        if codec is not self.codec:
            self._verified.clear()
            self._reuse.clear()
        self.codec = codec
        self.expire_seconds = expire_seconds

    def issue(self, username: str) -> tuple[str, int]:
        """(token, tokenTtl); with the token cache on, a token is reused for 90% of its life."""
        now_ms = int(self.clock() * 1000)
        if self.codec is None:
            return AUTH_DISABLED, self.expire_seconds
        if self.cache_enabled:
            cached = self._reuse.get(username)
            if cached and now_ms + self.expire_seconds // 10 * 1000 <= cached[1] and self._usable(cached[0]):
                return cached[0], (cached[1] - now_ms) // 1000
        exp = now_ms // 1000 + self.expire_seconds
        token = self.codec.sign(username, exp)
        _remember(self._issued_ms, token, now_ms)
        if self.cache_enabled:
            self._reuse[username] = (token, now_ms + self.expire_seconds * 1000)
        return token, self.expire_seconds

    def _usable(self, token: str) -> bool:
        try:
            self.verify(token)
        except TokenRejected:
            return False
        return True

    def verify(self, token: str) -> Claims:
        """Who the token names, or TokenRejected with Nacos's message."""
        if self.codec is None:
            raise TokenRejected("token invalid!")
        claims = self._verified.get(token)
        if claims is None:
            claims = self.codec.verify(token)
            _remember(self._verified, token, claims)
        if claims.exp < math.floor(self.clock()):
            raise TokenRejected("token expired!")
        if self._revoked(token, claims):
            raise TokenRejected("token invalid!")
        return claims

    def _revoked(self, token: str, claims: Claims) -> bool:
        if self.revoked and token_digest(token) in self.revoked:
            return True
        not_before = self.not_before_ms.get(claims.sub)
        if not_before is None:
            return False
        issued_ms = self._issued_ms.get(token)
        if issued_ms is not None:
            return issued_ms < not_before
        return (claims.exp - self.expire_seconds) * 1000 < not_before - 999

    def revoke_user(self, username: str) -> int:
        """Every token of `username` issued before now stops working; returns the instant (ms)."""
        now_ms = int(self.clock() * 1000)
        self.not_before_ms[username] = now_ms
        self._reuse.pop(username, None)
        return now_ms

    def revoke_token(self, token: str) -> tuple[str, int] | None:
        """Logout: (digest, exp) to persist, or None when the token is not valid anyway."""
        try:
            claims = self.verify(token)
        except TokenRejected:
            return None
        digest = token_digest(token)
        self.revoked[digest] = claims.exp
        if self._reuse.get(claims.sub, ("",))[0] == token:
            del self._reuse[claims.sub]
        return digest, claims.exp

    def forget_expired(self) -> None:
        now_s = math.floor(self.clock())
        self.revoked = {d: exp for d, exp in self.revoked.items() if exp >= now_s}


V = TypeVar("V")


def _remember(cache: OrderedDict[str, V], token: str, value: V) -> None:
    """Bounded memo: the oldest entry goes when the cache is full."""
    cache[token] = value
    if len(cache) > VERIFIED_CACHE_SIZE:
        cache.popitem(last=False)
