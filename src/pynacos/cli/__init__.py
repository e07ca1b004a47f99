"""The `pynacos` command line (click)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="pynacos")
def main() -> None:
    """A Nacos-compatible config center and service registry."""


@main.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="nacos.home: conf/application.properties is read from here, data/ lives here.",
)
@click.option("--port", type=int, default=None, help="server.port (default 8848).")
@click.option("--mode", type=click.Choice(["standalone", "cluster"]), default=None, help="nacos.standalone.")
@click.option("--address", default=None, help="server.address to listen on.")
def server(home: str, port: int | None, mode: str | None, address: str | None) -> None:
    """Run the server in the foreground until SIGTERM or Ctrl-C."""
    from pynacos.server import settings as settings_module
    from pynacos.server.auth import system as auth_system
    from pynacos.server.runner import run

    flags = {"port": port, "address": address, "standalone": None if mode is None else mode == "standalone"}
    try:
        loaded = settings_module.load(Path(home), flags)
        warnings = auth_system.check(loaded)
        settings_module.check_startup(loaded)
    except settings_module.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    run(loaded, warnings, lambda: settings_module.load(Path(home), flags))


@main.command()
@click.option("--bytes", "size", type=click.IntRange(32, 512), default=32, show_default=True)
def secret(size: int) -> None:
    """Print a fresh random Base64 key for nacos.core.auth.plugin.nacos.token.secret.key."""
    click.echo(base64.b64encode(secrets.token_bytes(size)).decode())


@main.command("settings-doc")
def settings_doc() -> None:
    """Print the settings reference (docs/settings.md) generated from the settings table."""
    from pynacos.server.settings import reference_markdown

    click.echo(reference_markdown(), nl=False)


@main.command()
@click.option("--home", type=click.Path(file_okay=False), default=None, help="Check this settings directory.")
@click.option("--server", "server_url", default=None, help="Check a running server, e.g. http://127.0.0.1:8848/nacos.")
@click.option("--username", default=None, help="Also try one login with these credentials.")
@click.option("--password", default=None, envvar="NACOS_PASSWORD", help="(or NACOS_PASSWORD)")
def doctor(home: str | None, server_url: str | None, username: str | None, password: str | None) -> None:
    """Explain auth problems (secret, identity, TTL, risky switches, login, clock skew) and their fixes."""
    from pynacos.cli.doctor import check_server, check_settings

    if home is None and server_url is None:
        raise click.UsageError("give --home DIR, --server URL, or both")
    findings = (check_settings(home) if home else []) + (
        check_server(server_url, username, password) if server_url else []
    )
    for finding in findings:
        click.echo(finding.line())
    if any(f.level == "problem" for f in findings):
        raise SystemExit(1)


@main.group()
def user() -> None:
    """User management on the server's own database."""


@user.command("init-admin")
@click.option("--home", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--password", default=None, help="Password for `nacos` (default: a random one, printed).")
def init_admin(home: str, password: str | None) -> None:
    """Create the first admin `nacos` (ROLE_ADMIN) if none exists."""
    import asyncio

    from pynacos.cli.admin import create_first_admin
    from pynacos.server.errors import NacosError

    try:
        created = asyncio.run(create_first_admin(Path(home), password))
    except NacosError as exc:
        raise click.ClickException(exc.detail) from None
    if created is None:
        raise click.ClickException("an admin already exists; nothing changed")
    click.echo(f"username: nacos\npassword: {created}")
