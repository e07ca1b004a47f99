"""Nacos tokens: JWT as Nacos writes them, checked in Nacos's order, plus exact revocation.

Wire format (auth.md §3): header one of three constants (`{"alg":"HS256"}` etc., no `typ`), payload
`{"sub":<user>,"exp":<epoch s>,...}`, HMAC by key length. Verification order and messages follow
Nacos: blank -> `user not found!`, not 3 parts -> `token invalid!`, unknown header -> `unsupported
signature algorithm`, bad MAC -> `Invalid signature`, `exp < now` -> `token expired!` (inclusive).

Tokens this server issues add two claims after `sub` and `exp`: `iat`, the issue instant in seconds
with millisecond precision (a JSON number such as `1700000000.123`), and `jti`, 16 random characters.
Nacos servers and clients ignore claims they do not know, so these tokens work everywhere Nacos's
do; `jti` makes every login a distinct token (two logins in one second used to be the same bytes,
so logging one out killed the other).

Revocation (invariants):
1. Every token has an issue instant: its `iat`, or, without one (Nacos, older pynacos), the earliest
   instant it can have been issued, `exp - MAX_TTL`. It never depends on the TTL now configured, so
   lowering the TTL (a common incident response) cannot move an old token past a revocation.
2. A token dated in the future (beyond `CLOCK_LEEWAY_MS` of node clock skew), or living longer than
   MAX_TTL, cannot have come from a server with this key and a legal TTL: it is refused, so a forged
   far-future `exp` cannot outlive every revocation.
3. A user has a "not before" instant (ms, persisted), set just past now on password change, role
   change or deletion; a token issued before it is refused. A token issued on this node in the same
   millisecond as the change, but after it, is dated not before it (in-process order is exact).
   Across nodes the order is the nodes' clocks.
4. Logout puts the token's SHA-256 in a revoked set kept until the token's `exp`.
5. Key rotation: tokens are signed with the current key; the previous key (optional) still
   verifies, so clients holding older tokens keep working until those expire.
For a token without `iat` rule 1 can only err towards refusing: one issued less than `MAX_TTL - TTL`
after a change is refused too (its client logs in again here and gets a token with `iat`).
Verified tokens are remembered (bounded) so the hot path is a dict lookup, but expiry, plausibility
and revocation are checked on every use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
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
#: the longest token lifetime a server may be configured with (seconds)
MAX_TTL = 604800
#: how far a token's issue instant may lie ahead of this node's clock (skew between nodes)
CLOCK_LEEWAY_MS = 30_000


class TokenRejected(Exception):
    """The token is not accepted; the message is Nacos's text for the reason."""


@dataclass(frozen=True)
class Claims:
    sub: str
    exp: int
    #: `iat` in milliseconds; None for tokens without one (issued by Nacos or an older pynacos)
    iat_ms: int | None = None

    @property
    def issued_ms(self) -> int:
        """The issue instant, or the earliest one possible: revocation errs only towards refusing."""
        return self.iat_ms if self.iat_ms is not None else (self.exp - MAX_TTL) * 1000


class TokenCodec:
    """Signs with the current key, verifies with the current or the previous one."""

    def __init__(self, key: bytes, previous: bytes | None = None) -> None:
        self.key = key
        self.previous = previous

    def sign(self, sub: str, exp: int, iat_ms: int | None = None) -> str:
        """Nacos's `{"sub","exp"}`; with `iat_ms`, also `iat` (seconds, ms precision) and a random `jti`."""
        import jwt  # PyJWT (and cryptography) cost ~0.1 s and ~10 MB: load it at the first login only

        claims: dict[str, object] = {"sub": sub, "exp": exp}
        if iat_ms is not None:
            claims.update(iat=iat_ms / 1000, jti=secrets.token_urlsafe(12))
        return jwt.encode(claims, self.key, algorithm=algorithm_for(self.key), headers={"typ": None})

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
    if not isinstance(data, dict):
        raise TokenRejected("token invalid!")
    sub, exp = data.get("sub"), data.get("exp")
    if not isinstance(sub, str) or not sub or isinstance(exp, bool) or not isinstance(exp, int):
        raise TokenRejected("token invalid!")
    return Claims(sub, exp, _iat_ms(data.get("iat")))


def _iat_ms(iat: object) -> int | None:
    """`iat` is a NumericDate (seconds, fractions allowed); anything else present is not a token of ours."""
    if iat is None:
        return None
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise TokenRejected("token invalid!")
    return round(iat * 1000)


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
        token = self.codec.sign(username, exp, self._issue_instant(username, now_ms))
        if self.cache_enabled:
            self._reuse[username] = (token, now_ms + self.expire_seconds * 1000)
        return token, self.expire_seconds

    def _issue_instant(self, username: str, now_ms: int) -> int:
        """Now, or the user's "not before" when a change in this very millisecond set it just past now:
        a login after a change is never dated before it (bounded to 1 ms, should the clock step back)."""
        return max(now_ms, min(self.not_before_ms.get(username, 0), now_ms + 1))

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
        now = self.clock()
        if claims.exp < math.floor(now):
            raise TokenRejected("token expired!")
        if not _plausible(claims, int(now * 1000)) or self._revoked(token, claims):
            raise TokenRejected("token invalid!")
        return claims

    def _revoked(self, token: str, claims: Claims) -> bool:
        if self.revoked and token_digest(token) in self.revoked:
            return True
        not_before = self.not_before_ms.get(claims.sub)
        return not_before is not None and claims.issued_ms < not_before

    def revoke_user(self, username: str) -> int:
        """Every token of `username` issued up to now stops working; returns the new "not before" (ms),
        one past now, so a token issued earlier in this same millisecond is refused too."""
        instant = max(int(self.clock() * 1000) + 1, self.not_before_ms.get(username, 0))
        self.not_before_ms[username] = instant
        self._reuse.pop(username, None)
        return instant

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


def _plausible(claims: Claims, now_ms: int) -> bool:
    """Issued no later than now (give or take node skew) and living no longer than MAX_TTL: a token that
    fails this was not issued by a server with this key and a legal TTL, and would outlive revocations."""
    issued = claims.issued_ms
    return issued <= now_ms + CLOCK_LEEWAY_MS and claims.exp * 1000 - issued <= MAX_TTL * 1000


V = TypeVar("V")


def _remember(cache: OrderedDict[str, V], token: str, value: V) -> None:
    """Bounded memo: the oldest entry goes when the cache is full."""
    cache[token] = value
    if len(cache) > VERIFIED_CACHE_SIZE:
        cache.popitem(last=False)
