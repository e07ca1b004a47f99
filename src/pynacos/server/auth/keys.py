"""The token secret key: Nacos's lenient Base64 decoding and the start-up checks on it.

Nacos (2.3+) decodes the key with jjwt's lenient decoder: junk at both ends is ignored, a missing
padding is fine, `=` inside counts as zero bits, a lone trailing character is dropped. Keys that
worked on Nacos must work here, so the same rules apply (URL-safe `-`/`_` are accepted too). What
is refused: keys under 32 bytes, keys with fewer than 8 distinct bytes, and the public keys from
Nacos's docs and sample files, with which anyone can mint an admin token.
"""

from __future__ import annotations

import base64
import string

PROPERTY = "nacos.core.auth.plugin.nacos.token.secret.key"
DOCS = "https://nacos.io/docs/latest/manual/admin/auth/"
NACOS_KEY_ERROR = (
    "the length of secret key must great than or equal 32 bytes; And the secret key  must be encoded by base64."
    f"Please see {DOCS}"
)
FIX = f"Make a key with `pynacos secret` and set {PROPERTY} (or NACOS_AUTH_TOKEN) to it."
PUBLIC_KEYS = frozenset(
    {
        "SecretKey012345678901234567890123456789012345678901234567890123456789",
        "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5",
        "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=",
    }
)
_ALPHABET = set(string.ascii_letters + string.digits + "+/-_")
MIN_BYTES = 32


class InvalidKey(ValueError):
    """A key the server refuses; the message never contains the key."""


def decode(text: str) -> bytes:
    """Lenient Base64 as Nacos reads keys; raises ValueError("Illegal base64 character: 'c'")."""
    allowed = _ALPHABET | {"="}
    start, end = 0, len(text)
    while start < end and text[start] not in allowed:
        start += 1
    while end > start and text[end - 1] not in allowed:
        end -= 1
    body = text[start:end].rstrip("=")
    for char in body:
        if char not in allowed:
            raise ValueError(f"Illegal base64 character: '{char}'")
    body = body.replace("=", "A").replace("-", "+").replace("_", "/")
    if len(body) % 4 == 1:
        body = body[:-1]
    return base64.b64decode(body + "=" * (-len(body) % 4))


def _public_bytes() -> set[bytes]:
    return {decode(k) for k in PUBLIC_KEYS}


def check(text: str) -> tuple[bytes, list[str]]:
    """Decode and vet a key; returns (key bytes, warnings) or raises InvalidKey with the fix."""
    if text in PUBLIC_KEYS:
        raise InvalidKey(f"{PROPERTY} is a key published in Nacos's documentation; anyone can forge tokens. {FIX}")
    try:
        key = decode(text)
    except ValueError as exc:
        raise InvalidKey(f"{NACOS_KEY_ERROR} ({PROPERTY}: {exc}) {FIX}") from None
    if len(key) < MIN_BYTES:
        detail = (
            f"The specified key byte array is {len(key) * 8} bits which is not secure enough for any JWT "
            "HMAC-SHA algorithm."
        )
        raise InvalidKey(f"{NACOS_KEY_ERROR} ({PROPERTY}: {detail}) {FIX}")
    if key in _public_bytes():
        raise InvalidKey(f"{PROPERTY} decodes to a key published in Nacos's documentation. {FIX}")
    if len(set(key)) < 8:
        raise InvalidKey(f"{PROPERTY} has fewer than 8 distinct bytes, which is not random. {FIX}")
    warnings = []
    if len(text.strip()) % 4:
        warnings.append(f"{PROPERTY} is not standard Base64 (length not a multiple of 4); it is read leniently.")
    return key, warnings


def algorithm_for(key: bytes) -> str:
    """Nacos signs with HS256, HS384 or HS512 by key length (32-47, 48-63, 64+ bytes)."""
    if len(key) >= 64:
        return "HS512"
    if len(key) >= 48:
        return "HS384"
    return "HS256"
