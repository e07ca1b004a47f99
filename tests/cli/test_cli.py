"""The command line: doctor, user init-admin, settings-doc (docs/settings.md stays current)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pynacos.cli import main, servers
from pynacos.server.settings import reference_markdown
from tests.integration.server_process import ServerProcess, free_port

KEY = base64.b64encode(bytes(range(3, 43))).decode()


def write_props(home: Path, *lines: str) -> None:
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "application.properties").write_text("\n".join(lines) + "\n")


def test_docs_settings_reference_is_current() -> None:
    path = Path(__file__).parents[2] / "docs" / "settings.md"
    assert path.read_text() == reference_markdown(), "run: pynacos settings-doc > docs/settings.md"


def test_doctor_explains_a_public_key(tmp_path: Path) -> None:
    write_props(
        tmp_path,
        "nacos.core.auth.enabled=true",
        "nacos.core.auth.plugin.nacos.token.secret.key=SecretKey012345678901234567890123456789012345678901234567890123456789",
    )
    result = CliRunner().invoke(main, ["doctor", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert "PROBLEM" in result.output
    assert "pynacos secret" in result.output


def test_doctor_warns_when_auth_is_off_about_login_noise(tmp_path: Path) -> None:
    write_props(tmp_path, "server.port=8848")
    result = CliRunner().invoke(main, ["doctor", "--home", str(tmp_path)])
    assert result.exit_code == 0
    assert "user not found!" in result.output


def test_doctor_flags_short_and_long_ttl(tmp_path: Path) -> None:
    write_props(tmp_path, "nacos.core.auth.plugin.nacos.token.expire.seconds=20")
    assert "log in almost every call" in CliRunner().invoke(main, ["doctor", "--home", str(tmp_path)]).output


def test_doctor_points_at_unrestricted_active_health_check_targets(tmp_path: Path) -> None:
    write_props(tmp_path, "pynacos.naming.health.active.enabled=true")
    assert (
        "pynacos.naming.health.active.targets" in CliRunner().invoke(main, ["doctor", "--home", str(tmp_path)]).output
    )
    write_props(
        tmp_path, "pynacos.naming.health.active.enabled=true", "pynacos.naming.health.active.targets=10.0.0.0/8"
    )
    assert "active health checks" not in CliRunner().invoke(main, ["doctor", "--home", str(tmp_path)]).output


def test_init_admin_then_doctor_against_the_running_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_props(home, "nacos.core.auth.enabled=true", f"nacos.core.auth.plugin.nacos.token.secret.key={KEY}")
    server = ServerProcess(
        home,
        {
            "nacos.core.auth.enabled": "true",
            "nacos.core.auth.plugin.nacos.token.secret.key": KEY,
        },
    )
    server.start()
    try:
        before = CliRunner().invoke(main, ["doctor", "--server", server.base])
        assert "no admin exists" in before.output
        created = CliRunner().invoke(main, ["user", "init-admin", "--home", str(home), "--password", "Init-Passw0rd"])
        assert created.exit_code == 0, created.output
        again = CliRunner().invoke(main, ["user", "init-admin", "--home", str(home)])
        assert again.exit_code != 0
        server.stop()
        server.start()  # the running server loaded its users at start
        result = CliRunner().invoke(
            main, ["doctor", "--server", server.base, "--username", "nacos", "--password", "Init-Passw0rd"]
        )
        assert result.exit_code == 0, result.output
        assert "login as 'nacos' works" in result.output
        wrong = CliRunner().invoke(main, ["doctor", "--server", server.base, "--username", "nacos", "--password", "x"])
        assert wrong.exit_code == 1
        assert "does not exist or the password is wrong" in wrong.output
    finally:
        server.stop()


# --- issue 14, item 7: packaging and server addresses ------------------------------------------

#: runs the CLI with some modules made impossible to import, as after `pip install pynacos` (no extra)
WITHOUT = """
import sys

BLOCKED = set(sys.argv[1].split(","))


class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Missing())
from pynacos.cli import main

sys.argv = ["pynacos", *sys.argv[2:]]
main()
"""


def run_without(blocked: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NACOS_", "PYNACOS_"))}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, blocked, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.parametrize(
    "command", [["server", "--home", "."], ["doctor", "--home", "."], ["user", "init-admin", "--home", "."]]
)
def test_server_commands_without_the_server_extra_name_the_extra(tmp_path: Path, command: list[str]) -> None:
    args = [arg if arg != "." else str(tmp_path) for arg in command]
    result = run_without("sqlalchemy,starlette", *args)
    assert result.returncode == 1, result.stderr
    assert "pip install 'pynacos[server]'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("platform", "url", "driver"),
    [
        ("mysql", "jdbc:mysql://127.0.0.1:1/nacos", "asyncmy"),
        ("postgresql", "jdbc:postgresql://127.0.0.1:1/nacos", "asyncpg"),
    ],
)
def test_a_missing_database_driver_names_its_extra(tmp_path: Path, platform: str, url: str, driver: str) -> None:
    write_props(tmp_path, f"spring.sql.init.platform={platform}", f"db.url.0={url}", "db.user.0=u", "db.password.0=p")
    result = run_without(driver, "server", "--home", str(tmp_path), "--port", str(free_port()))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"pip install 'pynacos[{platform}]'" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("h:1", ("h:1", None)),
        ("h", ("h:8848", None)),
        ("h:1/nacos", ("h:1", "/nacos")),
        ("http://h:1/nacos/", ("http://h:1", "/nacos")),
        ("https://h/custom", ("https://h", "/custom")),
        ("http://h:1", ("http://h:1", None)),
        ("[::1]:1", ("[::1]:1", None)),
    ],
)
def test_server_addresses_are_split_into_address_and_context_path(given: str, expected: tuple[str, str | None]) -> None:
    assert servers.split(given) == expected


def test_doctor_base_url_adds_scheme_and_context_only_to_host_port() -> None:
    assert servers.base_url("127.0.0.1:8848") == "http://127.0.0.1:8848/nacos"
    assert servers.base_url("http://127.0.0.1:8848/nacos") == "http://127.0.0.1:8848/nacos"
    assert servers.base_url("http://127.0.0.1:8848") == "http://127.0.0.1:8848"


def test_config_refuses_urls_naming_different_context_paths() -> None:
    result = CliRunner().invoke(main, ["config", "get", "d", "--server", "http://a:1/nacos,http://b:1/other"])
    assert result.exit_code == 2
    assert "context path" in result.output


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("plain") / "home", {"server.address": "127.0.0.1"})
    server.start()
    yield server
    server.stop()


@pytest.mark.integration
def test_config_and_doctor_take_both_address_forms(plain_server: ServerProcess) -> None:
    url, address = plain_server.base, plain_server.address
    put = CliRunner().invoke(main, ["config", "put", "cli-forms", "hello", "--server", url])
    assert put.exit_code == 0, put.output
    got = CliRunner().invoke(main, ["config", "get", "cli-forms", "--server", address])
    assert (got.exit_code, got.output) == (0, "hello\n")
    got = CliRunner().invoke(main, ["config", "get", "cli-forms", "--server", url + "/"])
    assert (got.exit_code, got.output) == (0, "hello\n")
    for server in (url, address):
        checked = CliRunner().invoke(main, ["doctor", "--server", server])
        assert checked.exit_code == 0, checked.output
        assert "auth_enabled=false" in checked.output


@pytest.mark.integration
def test_doctor_says_when_a_url_lacks_the_context_path(plain_server: ServerProcess) -> None:
    without = f"http://{plain_server.address}"
    checked = CliRunner().invoke(main, ["doctor", "--server", without])
    assert "has no context path" in checked.output
    assert f"{without}/nacos" in checked.output
    assert "auth_enabled=false" in checked.output
    assert "404" in checked.output  # explained, not reported as the server's state
    assert "server state answered 404" not in checked.output
