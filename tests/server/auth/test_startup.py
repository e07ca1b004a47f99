"""Start-up checks and live reload of the auth settings (auth.md §1)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pynacos.cli import main
from pynacos.server import app as app_module
from pynacos.server import settings as settings_module
from tests.conftest import asgi_client, started

GOOD_KEY = base64.b64encode(bytes(range(7, 47))).decode()


def start_with(tmp_path: Path, *lines: str) -> tuple[int, str]:
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "application.properties").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["server", "--home", str(tmp_path), "--port", "1"])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["nacos.core.auth.enabled=true"], "is not set"),
        (["nacos.core.auth.enabled=true", "nacos.core.auth.plugin.nacos.token.secret.key=c2hvcnQ="], "secret key"),
        (
            [
                "nacos.core.auth.enabled=true",
                "nacos.core.auth.plugin.nacos.token.secret.key="
                "SecretKey012345678901234567890123456789012345678901234567890123456789",
            ],
            "published in Nacos's documentation",
        ),
        (
            [
                "nacos.core.auth.enabled=true",
                f"nacos.core.auth.plugin.nacos.token.secret.key={GOOD_KEY}",
                "nacos.core.auth.system.type=",
            ],
            "ErrCode:50001",
        ),
        (
            [
                "nacos.core.auth.enabled=true",
                f"nacos.core.auth.plugin.nacos.token.secret.key={GOOD_KEY}",
                "nacos.core.auth.system.type=ldap",
            ],
            "installed: nacos",
        ),
        (
            [
                "nacos.core.auth.enabled=true",
                f"nacos.core.auth.plugin.nacos.token.secret.key={GOOD_KEY}",
                "nacos.standalone=false",
            ],
            "ErrCode:50002",
        ),
        (["server.port=abc"], "Setting server.port has the value 'abc'"),
        (["nacos.core.auth.enabled=maybe"], "expected true or false"),
    ],
)
def test_bad_settings_refuse_to_start_with_the_fix(tmp_path: Path, lines: list[str], expected: str) -> None:
    code, output = start_with(tmp_path, *lines)
    assert code != 0
    assert expected in output
    assert "SecretKey0123" not in output


def test_missing_key_message_says_how_to_make_one(tmp_path: Path) -> None:
    _, output = start_with(tmp_path, "nacos.core.auth.enabled=true")
    assert "pynacos secret" in output


def test_secret_command_prints_a_usable_key() -> None:
    from pynacos.server.auth import keys

    result = CliRunner().invoke(main, ["secret"])
    key, warnings = keys.check(result.output.strip())
    assert len(key) == 32
    assert warnings == []


def test_old_key_names_are_read_with_a_deprecation_note(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "application.properties").write_text(f"nacos.core.auth.default.token.secret.key={GOOD_KEY}\n")
    loaded = settings_module.load(tmp_path, environ={})
    assert loaded.token_secret_key == GOOD_KEY
    assert any("deprecated" in note for note in loaded.notes)


def test_environment_beats_file_and_flags_beat_environment(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "application.properties").write_text("server.port=1000\nnacos.core.auth.enabled=false\n")
    loaded = settings_module.load(
        tmp_path, {"port": 3000}, environ={"NACOS_SERVER_PORT": "2000", "NACOS_AUTH_ENABLE": "true"}
    )
    assert (loaded.port, loaded.auth_enabled) == (3000, True)


async def test_auth_switch_reloads_from_application_properties(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "PROPERTIES_POLL", 0.05)
    conf = tmp_path / "conf"
    conf.mkdir()
    props = conf / "application.properties"
    props.write_text(f"nacos.core.auth.plugin.nacos.token.secret.key={GOOD_KEY}\n")
    settings = settings_module.load(tmp_path, environ={})
    server = app_module.NacosApp(settings, lambda: settings_module.load(tmp_path, environ={}))
    await server.start()
    await server.ready.wait()
    try:
        async with asgi_client(server) as client:
            assert (await client.get("/v1/cs/configs", params={"dataId": "a", "group": "g"})).status_code == 404
            props.write_text(props.read_text() + "nacos.core.auth.enabled=true\n")
            await wait_for_status(client, 403)
    finally:
        await server.stop()


async def wait_for_status(client: httpx.AsyncClient, status: int) -> None:
    for _ in range(100):
        if (await client.get("/v1/cs/configs", params={"dataId": "a", "group": "g"})).status_code == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saw {status}")


async def test_started_helper_is_importable() -> None:
    assert callable(started)
