"""_listener: the md5 table, the Listening-Configs probe and the changed-keys answer, as plain bytes."""

from __future__ import annotations

from pynacos.client import ConfigChange
from pynacos.client._listener import MAX_KEYS_PER_PROBE, ConfigKey, ListenerTable, parse_changed, probe_line
from pynacos.client._models import ConfigValue

A = ConfigKey("a.yaml", "DEFAULT_GROUP")
B = ConfigKey("b.json", "DEFAULT_GROUP", "dev")


def noop(change: ConfigChange) -> None:
    pass


def test_probe_line_has_four_fields_and_an_empty_tenant_for_public() -> None:
    assert probe_line(A, "") == "a.yaml\x02DEFAULT_GROUP\x02\x02\x01"
    assert probe_line(B, "abc") == "b.json\x02DEFAULT_GROUP\x02abc\x02dev\x01"


def test_table_starts_from_the_current_content_without_a_callback() -> None:
    table = ListenerTable()
    seen: list[ConfigChange] = []
    assert table.add(A, seen.append, ConfigValue("v1", "m1"))
    assert table.add(B, seen.append, None)
    assert table.probes() == ["a.yaml\x02DEFAULT_GROUP\x02m1\x02\x01b.json\x02DEFAULT_GROUP\x02\x02dev\x01"]
    assert table.content(A) == "v1" and table.content(B) is None
    assert seen == []


def test_update_with_the_same_md5_calls_nobody() -> None:
    table = ListenerTable()
    table.add(A, noop, ConfigValue("v1", "m1"))
    assert table.update(A, ConfigValue("v1", "m1")) == []


def test_update_with_new_content_calls_every_callback_once() -> None:
    table = ListenerTable()
    first: list[ConfigChange] = []
    second: list[ConfigChange] = []
    table.add(B, first.append, ConfigValue("v1", "m1"))
    assert not table.add(B, second.append, None)
    assert not table.add(B, second.append, None)
    calls = table.update(B, ConfigValue("v2", "m2"))
    change = ConfigChange("b.json", "DEFAULT_GROUP", "dev", "v2", "m2")
    assert calls == [(first.append, change), (second.append, change)]
    assert table.probes() == [probe_line(B, "m2")]


def test_deletion_is_a_change_to_none_with_an_empty_md5() -> None:
    table = ListenerTable()
    table.add(A, noop, ConfigValue("v1", "m1"))
    [(_, change)] = table.update(A, None)
    assert change == ConfigChange("a.yaml", "DEFAULT_GROUP", "", None, "")
    assert table.probes() == [probe_line(A, "")]
    assert table.update(A, None) == []


def test_unwatched_keys_are_ignored() -> None:
    assert ListenerTable().update(A, ConfigValue("v", "m")) == []


def test_remove_one_callback_then_the_last() -> None:
    table = ListenerTable()
    other: list[ConfigChange] = []
    table.add(A, noop, None)
    table.add(A, other.append, None)
    assert not table.remove(A, noop)
    assert A in table and len(table) == 1
    assert table.remove(A, other.append)
    assert A not in table and table.probes() == []
    assert table.remove(A)


def test_remove_without_a_callback_drops_the_key() -> None:
    table = ListenerTable()
    table.add(A, noop, None)
    table.add(A, print, None)
    assert table.remove(A) and table.keys() == []


def test_many_keys_are_split_into_probes_of_3000() -> None:
    table = ListenerTable()
    for i in range(MAX_KEYS_PER_PROBE + 1):
        table.add(ConfigKey(f"k{i}", "g"), noop, None)
    probes = table.probes()
    assert [p.count("\x01") for p in probes] == [MAX_KEYS_PER_PROBE, 1]


def test_changed_keys_are_parsed_from_the_url_encoded_answer() -> None:
    body = b"a.yaml%02DEFAULT_GROUP%01b.json%02DEFAULT_GROUP%02dev%01\n"
    assert parse_changed(body) == [A, B]


def test_no_change_is_an_empty_body() -> None:
    assert parse_changed(b"") == []
    assert parse_changed(b"\n") == []


def test_junk_lines_are_skipped() -> None:
    assert parse_changed(b"%01%01only-one-field%01a.yaml%02DEFAULT_GROUP%01") == [A]


def test_plus_and_percent_escapes_decode() -> None:
    assert parse_changed(b"a%3Ab%02G%01") == [ConfigKey("a:b", "G")]
