"""ClientSettings: one object, from arguments or NACOS_* variables (arguments win)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynacos.client import ClientSettings
from pynacos.client._settings import endpoint_url, parse_server_list


def test_a_comma_separated_string_becomes_the_server_list() -> None:
    settings = ClientSettings(" h1:8848, h2:8848 ,,http://h3:80/ ")
    assert settings.servers == ("h1:8848", "h2:8848", "http://h3:80")


def test_a_list_is_kept_in_order() -> None:
    assert ClientSettings(["b:1", "a:2"]).servers == ("b:1", "a:2")


@pytest.mark.parametrize("addresses", ["", " , ", []])
def test_an_empty_server_list_is_refused(addresses: str | list[str]) -> None:
    with pytest.raises(ValueError, match="server_addresses"):
        ClientSettings(addresses)


@pytest.mark.parametrize(("raw", "context"), [("/nacos", "/nacos"), ("nacos/", "/nacos"), ("/", ""), ("", "")])
def test_context_path_is_normalised(raw: str, context: str) -> None:
    assert ClientSettings(context_path=raw).context_path == context


@pytest.mark.parametrize(("raw", "namespace"), [("public", ""), ("PUBLIC", ""), (" dev ", "dev"), ("", "")])
def test_public_and_empty_are_the_same_namespace(raw: str, namespace: str) -> None:
    assert ClientSettings(namespace=raw).namespace == namespace


@pytest.mark.parametrize(
    "bad",
    [{"timeout": 0}, {"long_poll_timeout_ms": 9999}, {"subscribe_interval": -1}, {"endpoint_refresh_interval": 0}],
)
def test_nonsense_timeouts_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ClientSettings(**bad)  # type: ignore[arg-type]


def test_password_is_not_in_the_repr() -> None:
    assert "hunter2" not in repr(ClientSettings(username="u", password="hunter2"))


def test_defaults() -> None:
    settings = ClientSettings()
    assert settings.servers == ("127.0.0.1:8848",)
    assert (settings.timeout, settings.long_poll_timeout_ms, settings.snapshot_dir) == (5.0, 30000, None)
    assert (settings.username, settings.password, settings.context_path) == (None, None, "/nacos")


ENV = {
    "NACOS_SERVER_ADDR": "e1:8848,e2:8848",
    "NACOS_NAMESPACE": "env-ns",
    "NACOS_USERNAME": "env-user",
    "NACOS_PASSWORD": "env-pass",
    "NACOS_CONTEXT_PATH": "/ctx",
    "UNRELATED": "x",
}


def test_from_env_reads_nacos_variables() -> None:
    settings = ClientSettings.from_env(ENV)
    assert settings.servers == ("e1:8848", "e2:8848")
    assert (settings.namespace, settings.username, settings.password, settings.context_path) == (
        "env-ns",
        "env-user",
        "env-pass",
        "/ctx",
    )


def test_explicit_arguments_win_over_the_environment(tmp_path: Path) -> None:
    settings = ClientSettings.from_env(
        ENV, server_addresses="arg:1", username="arg-user", password=None, timeout=2.0, snapshot_dir=tmp_path
    )
    assert settings.servers == ("arg:1",)
    assert (settings.username, settings.password, settings.timeout, settings.snapshot_dir) == (
        "arg-user",
        "env-pass",
        2.0,
        tmp_path,
    )


def test_from_env_uses_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NACOS_SERVER_ADDR", "proc:8848")
    monkeypatch.setenv("NACOS_NAMESPACE", "")
    assert ClientSettings.from_env().servers == ("proc:8848",)
    assert ClientSettings.from_env().namespace == ""


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("addr:8080", "http://addr:8080/nacos/serverlist"),
        ("addr", "http://addr:8080/nacos/serverlist"),
        ("https://addr", "https://addr/nacos/serverlist"),
        ("http://addr:8080/custom/list", "http://addr:8080/custom/list"),
    ],
)
def test_where_an_address_server_is_asked(endpoint: str, url: str) -> None:
    assert endpoint_url(endpoint) == url


def test_an_address_server_answer_is_one_server_per_line() -> None:
    assert parse_server_list("e", 200, " a:8848\n\nb:8848 \n") == ["a:8848", "b:8848"]
    with pytest.raises(ValueError, match="the address server e listed no servers \\(HTTP 200\\)"):
        parse_server_list("e", 200, "\n")
    with pytest.raises(ValueError, match="HTTP 500"):
        parse_server_list("e", 500, "a:8848")


def test_a_server_without_a_port_is_on_8848_as_in_nacos_clients() -> None:
    settings = ClientSettings("h1, h2:9000, [::1], http://h3, https://h4:1/")
    assert settings.servers == ("h1:8848", "h2:9000", "[::1]:8848", "http://h3", "https://h4:1")
    assert parse_server_list("e", 200, "10.0.0.1\n10.0.0.2:8849") == ["10.0.0.1:8848", "10.0.0.2:8849"]
