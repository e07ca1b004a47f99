"""The character rules of server/characters.py (issue 14 item 4): NUL is refused wherever a request carries
text, invisible characters in names, and everything else is data."""

from __future__ import annotations

import httpx
import pytest

from pynacos.server.characters import is_visible
from pynacos.server.errors import BadRequest
from pynacos.server.http import parse_pairs
from tests.server.support import CFG


@pytest.mark.parametrize("raw", [b"a=x%00y", b"a%00=1", b"a=\x00", b"b=1&a=%00"])
def test_nul_anywhere_in_the_parameters_is_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="parameters must not contain NUL characters"):
        parse_pairs(raw)


def test_an_escaped_percent_before_00_is_text_not_nul() -> None:
    assert parse_pairs(b"a=%2500&b=%01") == [("a", "%00"), ("b", "\x01")]


@pytest.mark.parametrize("name", ["svc", "café", "order😀svc", "a:b.c-d_e"])
def test_visible_names(name: str) -> None:
    assert is_visible(name)


@pytest.mark.parametrize("name", ["a\x00", "a b", "a\tb", "\u202eabc", "a\u200bb", "\ufeffa", "a\u2028b", "a\u00a0b"])
def test_invisible_names(name: str) -> None:
    assert not is_visible(name)


async def test_a_publish_with_nul_is_a_400_and_stores_nothing(client: httpx.AsyncClient) -> None:
    for form in ({"content": "x\x00y"}, {"content": "x", "desc": "\x00"}, {"content": "x", "appName": "\x00"}):
        response = await client.post(CFG, data={"dataId": "n.txt", "group": "G", **form})
        assert (response.status_code, response.text) == (400, "caused: parameters must not contain NUL characters;")
    assert (await client.get(CFG, params={"dataId": "n.txt", "group": "G"})).status_code == 404


async def test_control_characters_and_emoji_in_content_are_kept(client: httpx.AsyncClient) -> None:
    content = "a\x01\x1b[31m\x7f\r\n\t😀𝄞"
    assert (await client.post(CFG, data={"dataId": "c.txt", "group": "G", "content": content})).text == "true"
    assert (await client.get(CFG, params={"dataId": "c.txt", "group": "G"})).text == content
