"""JWT and key handling exactly as Nacos does it (auth.md §3, §4), plus revocation."""

from __future__ import annotations

import base64

import pytest

from pynacos.server.auth import keys
from pynacos.server.auth.tokens import AUTH_DISABLED, TokenCodec, TokenRejected, TokenService

DOC_KEY = "SecretKey012345678901234567890123456789012345678901234567890123456789"
DOC_TOKEN = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuYWNvcyIsImV4cCI6MTYwNTYyOTE2Nn0.2TogGhhr11_vLEjqKko1HJHUJEmsPuCxkur-CfNojDo"
)
KEY32 = bytes(range(100, 132))


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_documented_key_decodes_leniently_to_51_bytes() -> None:
    assert len(keys.decode(DOC_KEY)) == 51
    assert keys.algorithm_for(keys.decode(DOC_KEY)) == "HS384"


def test_documented_sample_token_verifies_then_is_expired() -> None:
    codec = TokenCodec(keys.decode(DOC_KEY))
    assert codec.verify(DOC_TOKEN).sub == "nacos"
    service = TokenService(codec, 18000, clock=Clock())
    with pytest.raises(TokenRejected, match="^token expired!$"):
        service.verify(DOC_TOKEN)


@pytest.mark.parametrize(
    ("size", "header"),
    [(32, "eyJhbGciOiJIUzI1NiJ9"), (48, "eyJhbGciOiJIUzM4NCJ9"), (64, "eyJhbGciOiJIUzUxMiJ9")],
)
def test_algorithm_follows_key_length_with_nacos_header_bytes(size: int, header: str) -> None:
    token = TokenCodec(bytes(range(size))).sign("nacos", 4102444800)
    parts = token.split(".")
    assert parts[0] == header
    assert base64.urlsafe_b64decode(parts[1] + "==") == b'{"sub":"nacos","exp":4102444800}'
    assert "=" not in token


def test_expiry_is_inclusive_to_the_second() -> None:
    clock = Clock(1000.0)
    service = TokenService(TokenCodec(KEY32), 10, clock=clock)
    token = TokenCodec(KEY32).sign("u", 1000)
    assert service.verify(token).sub == "u"
    clock.now = 1000.999
    assert service.verify(token).sub == "u"
    clock.now = 1001.0
    with pytest.raises(TokenRejected, match="token expired!"):
        service.verify(token)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "user not found!"),
        ("a.b", "token invalid!"),
        ("a.b.c.d", "token invalid!"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJuYWNvcyIsImV4cCI6NDEwMjQ0NDgwMH0.", "unsupported signature algorithm"),
        ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuIn0.abc", "unsupported signature algorithm"),
        ("x" * 5000, "token invalid!"),
    ],
)
def test_malformed_tokens_get_nacos_messages(token: str, message: str) -> None:
    with pytest.raises(TokenRejected, match=f"^{message}$"):
        TokenCodec(KEY32).verify(token)


def test_flipped_signature_bit_is_invalid_signature() -> None:
    token = TokenCodec(KEY32).sign("u", 4102444800)
    head, body, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(TokenRejected, match="Invalid signature"):
        TokenCodec(KEY32).verify(f"{head}.{body}.{flipped}")


def test_token_without_exp_is_refused() -> None:
    import jwt

    token = jwt.encode({"sub": "nacos"}, KEY32, algorithm="HS256", headers={"typ": None})
    with pytest.raises(TokenRejected, match="token invalid!"):
        TokenCodec(KEY32).verify(token)


def test_token_signed_with_the_public_default_key_is_refused() -> None:
    forged = TokenCodec(keys.decode(DOC_KEY)).sign("nacos", 4102444800)
    with pytest.raises(TokenRejected, match="Invalid signature"):
        TokenCodec(KEY32).verify(forged)


def test_previous_key_still_verifies_after_rotation() -> None:
    old, new = bytes(range(32)), bytes(range(32, 64))
    old_token = TokenCodec(old).sign("u", 4102444800)
    rotated = TokenCodec(new, previous=old)
    assert rotated.verify(old_token).sub == "u"
    assert rotated.sign("u", 4102444800).split(".")[2] != old_token.split(".")[2]
    with pytest.raises(TokenRejected, match="Invalid signature"):
        TokenCodec(new).verify(old_token)


def test_token_cache_reuses_for_90_percent_of_life_with_shrinking_ttl() -> None:
    clock = Clock(1_000_000.0)
    service = TokenService(TokenCodec(KEY32), 18000, cache_enabled=True, clock=clock)
    first, ttl = service.issue("u")
    assert ttl == 18000
    clock.now += 3600
    again, ttl_again = service.issue("u")
    assert again == first
    assert ttl_again == 14400
    clock.now += 18000 * 0.9 - 3600 + 1
    fresh, fresh_ttl = service.issue("u")
    assert fresh != first
    assert fresh_ttl == 18000


def test_without_cache_every_login_gets_a_full_ttl() -> None:
    service = TokenService(TokenCodec(KEY32), 18000, clock=Clock())
    assert service.issue("u")[1] == 18000


def test_no_key_gives_auth_disabled_token() -> None:
    assert TokenService(None, 18000).issue("u") == (AUTH_DISABLED, 18000)


def test_revoking_a_user_refuses_older_tokens_but_not_newer_ones() -> None:
    clock = Clock(5000.0)
    service = TokenService(TokenCodec(KEY32), 100, clock=clock)
    old, _ = service.issue("u")
    clock.now += 1.2  # tokens issued within one second are the same bytes (sub and exp only)
    service.revoke_user("u")
    clock.now += 0.1
    new, _ = service.issue("u")
    with pytest.raises(TokenRejected):
        service.verify(old)
    assert service.verify(new).sub == "u"


def test_revocation_uses_issue_time_for_tokens_from_elsewhere() -> None:
    clock = Clock(5000.0)
    other_process = TokenService(TokenCodec(KEY32), 100, clock=clock)
    token, _ = other_process.issue("u")
    clock.now += 5
    service = TokenService(TokenCodec(KEY32), 100, clock=clock)
    service.revoke_user("u")
    with pytest.raises(TokenRejected):
        service.verify(token)


def test_logout_revokes_only_that_token() -> None:
    clock = Clock()
    service = TokenService(TokenCodec(KEY32), 100, clock=clock)
    first, _ = service.issue("u")
    clock.now += 1
    second, _ = service.issue("u")
    assert service.revoke_token(first) is not None
    with pytest.raises(TokenRejected):
        service.verify(first)
    assert service.verify(second).sub == "u"


@pytest.mark.parametrize(
    "key",
    [
        DOC_KEY,
        "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5",
        "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=",
        base64.b64encode(b"short").decode(),
        "not base64 at all!! " * 4,
        base64.b64encode(b"a" * 40).decode(),
    ],
)
def test_refused_keys_never_echo_the_key(key: str) -> None:
    with pytest.raises(keys.InvalidKey) as caught:
        keys.check(key)
    assert key not in str(caught.value)
    assert keys.PROPERTY in str(caught.value)


def test_unpadded_key_is_accepted_with_a_warning() -> None:
    text = base64.b64encode(bytes(range(34))).decode().rstrip("=")
    key, warnings = keys.check(text)
    assert key == bytes(range(34))
    assert warnings
