"""`pynacos config|naming|login` against real servers, through click's CliRunner."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pynacos.cli import main
from pynacos.client import ConfigClient
from tests.client.servers import start_auth_server
from tests.integration.server_process import ServerProcess, free_port


def run(server: ServerProcess, *args: str, env: dict[str, str] | None = None, stdin: str | None = None):  # type: ignore[no-untyped-def]
    """Invoke with the server given by NACOS_SERVER_ADDR, as a user would set it."""
    environment = {"NACOS_SERVER_ADDR": server.address, **(env or {})}
    return CliRunner().invoke(main, list(args), env=environment, input=stdin, catch_exceptions=False)


def test_config_put_get_rm(plain_server: ServerProcess) -> None:
    put = run(plain_server, "config", "put", "cli.yaml", "port: 1", "--type", "yaml")
    assert (put.exit_code, put.output) == (0, "published DEFAULT_GROUP/cli.yaml\n")
    assert run(plain_server, "config", "get", "cli.yaml").output == "port: 1\n"
    assert run(plain_server, "config", "rm", "cli.yaml").exit_code == 0
    missing = run(plain_server, "config", "get", "cli.yaml")
    assert missing.exit_code == 1 and "config not found: DEFAULT_GROUP/cli.yaml" in missing.output


def test_config_put_from_stdin_with_group_and_explicit_server(plain_server: ServerProcess) -> None:
    args = ["config", "put", "stdin.txt", "-f", "-", "-g", "G1", "--server", plain_server.address]
    assert CliRunner().invoke(main, args, input="from stdin").exit_code == 0
    assert run(plain_server, "config", "get", "stdin.txt", "-g", "G1").output == "from stdin\n"


def test_config_put_needs_exactly_one_content(plain_server: ServerProcess, tmp_path: Path) -> None:
    source = tmp_path / "c.txt"
    source.write_text("x")
    both = run(plain_server, "config", "put", "a", "inline", "--file", str(source))
    assert both.exit_code == 2 and "not both" in both.output
    assert run(plain_server, "config", "put", "a").exit_code == 2


def test_config_put_with_a_stale_cas_md5_fails_cleanly(plain_server: ServerProcess) -> None:
    run(plain_server, "config", "put", "cas-cli", "v1")
    result = run(plain_server, "config", "put", "cas-cli", "v2", "--cas-md5", "0" * 32)
    assert result.exit_code == 1 and result.output.startswith("Error: caused: Cas publish fail")


def test_config_watch_prints_current_then_changes(plain_server: ServerProcess) -> None:
    run(plain_server, "config", "put", "watch-cli", "before")

    def publish_later() -> None:
        time.sleep(0.8)
        with ConfigClient(plain_server.address) as client:
            client.publish("watch-cli", "DEFAULT_GROUP", "after")

    threading.Thread(target=publish_later).start()
    result = run(plain_server, "config", "watch", "watch-cli", "--count", "1", "--duration", "10")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "# current: before"
    assert lines[1].startswith("# changed (md5 ") and lines[1].endswith("): after")


def test_naming_register_list_deregister(plain_server: ServerProcess) -> None:
    args = ["cli-svc", "10.9.0.1", "8080", "--persistent", "-m", "zone=a", "--weight", "2"]
    assert (
        run(plain_server, "naming", "register", *args).output == "registered 10.9.0.1:8080 in DEFAULT_GROUP@@cli-svc\n"
    )
    listed = run(plain_server, "naming", "list", "cli-svc")
    assert listed.output == '10.9.0.1:8080\tweight=2\thealthy\tcluster=DEFAULT\t{"zone": "a"}\n'
    as_json = json.loads(run(plain_server, "naming", "list", "cli-svc", "--json").output)
    assert (as_json["ip"], as_json["ephemeral"], as_json["metadata"]) == ("10.9.0.1", False, {"zone": "a"})
    removed = run(plain_server, "naming", "deregister", "cli-svc", "10.9.0.1", "8080", "--persistent")
    assert removed.exit_code == 0
    assert run(plain_server, "naming", "list", "cli-svc").output == ""


def test_naming_rejects_bad_metadata(plain_server: ServerProcess) -> None:
    result = run(plain_server, "naming", "register", "s", "10.9.0.2", "80", "-m", "novalue")
    assert result.exit_code == 2 and "key=value" in result.output


def test_an_unreachable_server_is_one_error_line() -> None:
    args = ["config", "get", "x", "--server", f"127.0.0.1:{free_port()}", "--timeout", "0.3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: no server answered") and "Traceback" not in result.output


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server, admin = start_auth_server(tmp_path_factory.mktemp("cli-auth") / "home")
    admin.add_user("cli-user", "Cli-Passw0rd!")
    yield server
    server.stop()


def test_login_prints_the_token_and_its_ttl(auth_server: ServerProcess) -> None:
    result = run(auth_server, "login", "--username", "cli-user", env={"NACOS_PASSWORD": "Cli-Passw0rd!"})
    assert result.exit_code == 0
    token, ttl, admin = result.output.splitlines()
    assert token.startswith("accessToken: eyJhbGciOiJIUzI1NiJ9.")
    assert (ttl, admin) == ("tokenTtl: 18000", "globalAdmin: false")


def test_login_with_a_wrong_password_says_what_to_check(auth_server: ServerProcess) -> None:
    result = run(auth_server, "login", "--username", "cli-user", "--password", "nope")
    assert result.exit_code == 1
    assert "login as 'cli-user' refused: user not found!" in result.output
    assert "check username/password" in result.output


def test_login_needs_a_username(auth_server: ServerProcess) -> None:
    assert run(auth_server, "login").exit_code == 2


def test_login_against_a_server_with_auth_off(plain_server: ServerProcess) -> None:
    result = run(plain_server, "login", "--username", "nobody", "--password", "x")
    assert result.exit_code == 1  # auth off still checks the user store (auth.md §5.3)
    assert "user not found!" in result.output


def test_config_commands_use_credentials_from_the_environment(auth_server: ServerProcess) -> None:
    env = {"NACOS_USERNAME": "cli-user", "NACOS_PASSWORD": "Cli-Passw0rd!"}
    assert run(auth_server, "config", "put", "auth-cli", "secret-ish", env=env).exit_code == 0
    assert run(auth_server, "config", "get", "auth-cli", env=env).output == "secret-ish\n"
    refused = run(auth_server, "config", "get", "auth-cli")
    assert refused.exit_code == 1 and "user not found!" in refused.output
