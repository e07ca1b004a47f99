"""BCrypt passwords as Nacos stores them (`$2a$10$...`), and a cache so that clients sending
`username`/`password` on every request do not cost one BCrypt each (Nacos issue 11901).

BCrypt only reads 72 bytes, so two passwords sharing their first 72 bytes would both match; such
passwords are refused when set and fail when used (never silently truncated). An unknown user is
checked against a dummy hash of the same cost so that the answer takes as long as a wrong password.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import string
import time

import bcrypt

MAX_PASSWORD_BYTES = 72
ROUNDS = 10
CREDENTIAL_CACHE_SECONDS = 60.0
_CACHE_LIMIT = 10_000


class PasswordTooLong(ValueError):
    def __init__(self) -> None:
        super().__init__(f"Password length must not exceed {MAX_PASSWORD_BYTES} bytes")


def check_length(password: str) -> bytes:
    raw = password.encode("utf-8")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise PasswordTooLong()
    return raw


def hash_password(password: str) -> str:
    return bcrypt.hashpw(check_length(password), bcrypt.gensalt(ROUNDS, prefix=b"2a")).decode()


def verify(password: str, stored: str | None) -> bool:
    """Constant-effort check: unknown users and over-long passwords still pay one BCrypt."""
    raw = password.encode("utf-8")
    dummy = _dummy_hash()
    target = stored.encode() if stored and stored.startswith(("$2a$", "$2b$", "$2y$")) else dummy
    if target.startswith(b"$2y$"):
        target = b"$2b$" + target[4:]
    try:
        matched = bcrypt.checkpw(raw[:MAX_PASSWORD_BYTES], target)
    except ValueError:
        matched = False
    return matched and target is not dummy and len(raw) <= MAX_PASSWORD_BYTES


@functools.cache
def _dummy_hash() -> bytes:
    """Made at first use, not at import: one BCrypt costs ~70 ms of start-up."""
    return bcrypt.hashpw(secrets.token_bytes(16).hex().encode(), bcrypt.gensalt(ROUNDS, prefix=b"2a"))


async def verify_async(password: str, stored: str | None) -> bool:
    """BCrypt takes ~50-100 ms of CPU: run it in a thread so the event loop keeps serving."""
    return await asyncio.to_thread(verify, password, stored)


def generate(length: int = 20) -> str:
    """A random password with at least one lower, upper, digit and symbol (Nacos's policy, longer)."""
    symbols = "!@#$%&"
    alphabet = string.ascii_letters + string.digits + symbols
    picks = [
        secrets.choice(string.ascii_lowercase),
        secrets.choice(string.ascii_uppercase),
        secrets.choice(string.digits),
        secrets.choice(symbols),
    ]
    picks += [secrets.choice(alphabet) for _ in range(length - len(picks))]
    secrets.SystemRandom().shuffle(picks)
    return "".join(picks)


class CredentialCache:
    """Remembers successful (username, password) checks for 60 s, keyed by an HMAC of both.

    An entry also records the stored hash it matched, so a password change invalidates it at once.
    Neither the password nor a plain hash of it is kept.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[str, str, float]] = {}

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def hit(self, username: str, password: str, stored: str | None) -> bool:
        entry = self._entries.get(self._digest(username, password))
        return entry is not None and entry[0] == username and entry[1] == stored and entry[2] > time.monotonic()

    def remember(self, username: str, password: str, stored: str) -> None:
        if len(self._entries) >= _CACHE_LIMIT:
            self._entries.clear()
        expires = time.monotonic() + CREDENTIAL_CACHE_SECONDS
        self._entries[self._digest(username, password)] = (username, stored, expires)
