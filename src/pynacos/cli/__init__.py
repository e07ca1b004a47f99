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
