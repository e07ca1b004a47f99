"""The command line: doctor, user init-admin, settings-doc (docs/settings.md stays current)."""

from __future__ import annotations

import base64
from pathlib import Path

from click.testing import CliRunner

from pynacos.cli import main
from pynacos.server.settings import reference_markdown
from tests.integration.server_process import ServerProcess

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
