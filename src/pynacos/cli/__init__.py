"""The `pynacos` command line (click)."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from pynacos.cli import servers

#: the top-level modules the `server` extra installs (pyproject.toml): one missing means the extra is not installed
SERVER_EXTRA = frozenset(
    {
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "aiosqlite",
        "jproperties",
        "prometheus_client",
        "multipart",
        "python_multipart",
        "yaml",
        "bcrypt",
        "jwt",
        "orjson",
    }
)


@contextlib.contextmanager
def _needs_server_extra(command: str) -> Iterator[None]:
    """`pip install pynacos` is the SDK only: a server command then says which extra to install instead of
    dying with `ModuleNotFoundError: No module named 'sqlalchemy'`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in SERVER_EXTRA:
            raise
        raise click.ClickException(
            f"`pynacos {command}` needs the server extra, which is not installed (no module named {exc.name!r}). "
            "Install it with: pip install 'pynacos[server]' (or 'pynacos[mysql]' / 'pynacos[postgresql]' to keep "
            "the data in MySQL or PostgreSQL)."
        ) from None


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
    with _needs_server_extra("server"):
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
@click.option(
    "--server",
    "server_url",
    default=None,
    help="Check a running server: host:port, or a URL with the context path (http://127.0.0.1:8848/nacos).",
)
@click.option("--username", default=None, help="Also try one login with these credentials.")
@click.option("--password", default=None, envvar="NACOS_PASSWORD", help="(or NACOS_PASSWORD)")
@click.option(
    "--cluster", is_flag=True, help="Also ask every member of --server's cluster (members down, identity, secret)."
)
def doctor(home: str | None, server_url: str | None, username: str | None, password: str | None, cluster: bool) -> None:
    """Explain auth problems (secret, identity, TTL, risky switches, login, clock skew) and their fixes."""
    from pynacos.cli.doctor import check_server, check_settings
    from pynacos.cli.doctor_cluster import check_cluster

    if home is None and server_url is None:
        raise click.UsageError("give --home DIR, --server URL, or both")
    with _needs_server_extra("doctor --home"):
        findings = check_settings(home) if home else []
    try:
        findings += check_server(server_url, username, password) if server_url else []
        if cluster:
            if server_url is None:
                raise click.UsageError("--cluster needs --server (any member of the cluster)")
            findings += check_cluster(server_url, username, password)
    except servers.BadAddress as exc:
        raise click.UsageError(str(exc)) from None
    for finding in findings:
        click.echo(finding.line())
    if any(f.level == "problem" for f in findings):
        raise SystemExit(1)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--home", type=click.Path(file_okay=False), default=".", show_default=True)
def db_upgrade(home: str) -> None:
    """Create the tables the configured database lacks (never altering existing ones), and say what was done."""
    with _needs_server_extra("db upgrade"):
        from pynacos.cli.db import upgrade
        from pynacos.server.settings import SettingsError

        try:
            lines = upgrade(home)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)


@main.group()
def user() -> None:
    """User management on the server's own database."""


@user.command("init-admin")
@click.option("--home", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--password", default=None, help="Password for `nacos` (default: a random one, printed).")
def init_admin(home: str, password: str | None) -> None:
    """Create the first admin `nacos` (ROLE_ADMIN) if none exists."""
    import asyncio

    with _needs_server_extra("user init-admin"):
        from pynacos.cli.admin import create_first_admin
        from pynacos.server.errors import NacosError

        try:
            created = asyncio.run(create_first_admin(Path(home), password))
        except NacosError as exc:
            raise click.ClickException(exc.detail) from None
    if created is None:
        raise click.ClickException("an admin already exists; nothing changed")
    click.echo(f"username: nacos\npassword: {created}")


# --- SDK commands: talk to any Nacos-compatible server through pynacos.client ------------------

_CONNECTION_OPTIONS = [
    click.option(
        "--server",
        "server_addresses",
        default=None,
        help="host:port[,host:port], or URLs with the context path (http://host:8848/nacos); or NACOS_SERVER_ADDR.",
    ),
    click.option("--namespace", default=None, help="Namespace id (or NACOS_NAMESPACE); default public."),
    click.option("--username", default=None, help="(or NACOS_USERNAME)"),
    click.option("--password", default=None, help="(or NACOS_PASSWORD)"),
    click.option("--context-path", default=None, help="(or NACOS_CONTEXT_PATH); default /nacos."),
    click.option("--timeout", type=float, default=None, help="Seconds per call (default 5)."),
]


def _connection(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_CONNECTION_OPTIONS):
        command = option(command)
    return command


def _settings(connection: dict[str, Any]) -> Any:
    from pynacos.client import ClientSettings

    try:
        return ClientSettings.from_env(**_addresses(connection))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _addresses(connection: dict[str, Any]) -> dict[str, Any]:
    """`--server` (or NACOS_SERVER_ADDR) may hold URLs such as `http://host:8848/nacos`, as doctor takes:
    the address goes to the SDK without its path, and the path becomes the context path."""
    raw = connection.get("server_addresses") or os.environ.get("NACOS_SERVER_ADDR")
    if not raw:
        return connection
    pairs = [servers.split(part) for part in raw.split(",") if part.strip()]
    named = {context for _, context in pairs if context is not None}
    given = connection.get("context_path")
    if len(named) > 1 or (named and given is not None and "/" + given.strip("/") not in named):
        raise click.UsageError("the --server URLs and --context-path name different context paths")
    context = given if given is not None else next(iter(named), None)
    return {**connection, "server_addresses": ",".join(a for a, _ in pairs), "context_path": context}


@contextlib.contextmanager
def _sdk_errors() -> Iterator[None]:
    """SDK failures are expected outcomes: one `Error: ...` line and exit code 1, no traceback."""
    from pynacos.client import NacosError

    try:
        yield
    except NacosError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def config() -> None:
    """Read, write and watch configs on any Nacos-compatible server."""


@config.command("get")
@click.argument("data_id")
@click.option("--group", "-g", default="DEFAULT_GROUP", show_default=True)
@_connection
def config_get(data_id: str, group: str, **connection: Any) -> None:
    """Print a config's content (exit 1 if it does not exist)."""
    from pynacos.client import ConfigClient

    with _sdk_errors(), ConfigClient(_settings(connection)) as client:
        content = client.get(data_id, group)
    if content is None:
        raise click.ClickException(f"config not found: {group}/{data_id}")
    click.echo(content)


@config.command("put")
@click.argument("data_id")
@click.argument("content", required=False)
@click.option(
    "--file", "-f", "source", type=click.File("r"), default=None, help="Read the content from a file (- = stdin)."
)
@click.option("--group", "-g", default="DEFAULT_GROUP", show_default=True)
@click.option("--type", "config_type", default=None, help="properties, yaml, json, xml, html, text, toml.")
@click.option("--cas-md5", default=None, help="Only replace the config if its md5 is still this.")
@_connection
def config_put(
    data_id: str,
    content: str | None,
    source: Any,
    group: str,
    config_type: str | None,
    cas_md5: str | None,
    **connection: Any,
) -> None:
    """Publish a config (content as an argument, or --file)."""
    from pynacos.client import ConfigClient

    if (content is None) == (source is None):
        raise click.UsageError("give the content as an argument or with --file, not both")
    text = content if content is not None else source.read()
    with _sdk_errors(), ConfigClient(_settings(connection)) as client:
        if not client.publish(data_id, group, text, type=config_type, cas_md5=cas_md5):
            raise click.ClickException("the server did not accept the config")
    click.echo(f"published {group}/{data_id}")


@config.command("rm")
@click.argument("data_id")
@click.option("--group", "-g", default="DEFAULT_GROUP", show_default=True)
@_connection
def config_rm(data_id: str, group: str, **connection: Any) -> None:
    """Delete a config (succeeds when it does not exist)."""
    from pynacos.client import ConfigClient

    with _sdk_errors(), ConfigClient(_settings(connection)) as client:
        client.remove(data_id, group)
    click.echo(f"removed {group}/{data_id}")


@config.command("watch")
@click.argument("data_id")
@click.option("--group", "-g", default="DEFAULT_GROUP", show_default=True)
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after this many changes.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@_connection
def config_watch(data_id: str, group: str, count: int | None, duration: float | None, **connection: Any) -> None:
    """Print the current content, then each change, until Ctrl-C (or --count/--duration)."""
    import queue

    from pynacos.client import ConfigChange, ConfigClient

    changes: queue.Queue[ConfigChange] = queue.Queue()
    deadline = None if duration is None else time.monotonic() + duration
    with _sdk_errors(), ConfigClient(_settings(connection)) as client:
        current = client.add_listener(data_id, group, changes.put)
        click.echo(f"# current: {'(absent)' if current is None else current}")
        seen = 0
        while (count is None or seen < count) and (deadline is None or time.monotonic() < deadline):
            try:
                change = changes.get(timeout=0.2)
            except queue.Empty:
                continue
            seen += 1
            click.echo(
                f"# changed (md5 {change.md5 or '-'}): {'(deleted)' if change.content is None else change.content}"
            )


@main.group()
def naming() -> None:
    """Register, list and deregister service instances on any Nacos-compatible server."""


def _metadata(pairs: tuple[str, ...]) -> dict[str, str]:
    try:
        return dict(pair.split("=", 1) for pair in pairs)
    except ValueError:
        raise click.BadParameter("metadata is key=value", param_hint="--metadata") from None


@naming.command("register")
@click.argument("service")
@click.argument("ip")
@click.argument("port", type=click.IntRange(1, 65535))
@click.option("--group", "-g", default="DEFAULT_GROUP", show_default=True)
@click.option("--cluster", default="DEFAULT", show_default=True)
@click.option("--weight", type=float, default=1.0, show_default=True)
@click.option("--metadata", "-m", multiple=True, help="key=value (repeatable).")
@click.option("--persistent", is_flag=True, help="A persistent instance (stays without heartbeats).")
@click.option("--hold", is_flag=True, help="Keep sending heartbeats until Ctrl-C (ephemeral instances).")
@_connection
def naming_register(
    service: str,
    ip: str,
    port: int,
    group: str,
    cluster: str,
    weight: float,
    metadata: tuple[str, ...],
    persistent: bool,
    hold: bool,
    **connection: Any,
) -> None:
    """Register an instance. Ephemeral ones expire about 30 s later unless --hold keeps them alive."""
    from pynacos.client import NamingClient

    with _sdk_errors(), NamingClient(_settings(connection)) as client:
        client.register_instance(service, ip, port, weight, cluster, _metadata(metadata), not persistent, group)
        click.echo(f"registered {ip}:{port} in {group}@@{service}")
        if hold:
            click.echo("sending heartbeats; Ctrl-C to stop")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)


@naming.command("list")
@click.argument("service")
@click.option("--group", "-g", default="DEFAULT_GROUP", show_default=True)
@click.option("--healthy-only", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per instance.")
@_connection
def naming_list(service: str, group: str, healthy_only: bool, as_json: bool, **connection: Any) -> None:
    """List a service's instances: ip:port, weight, health, cluster, metadata."""
    import dataclasses
    import json

    from pynacos.client import NamingClient

    with _sdk_errors(), NamingClient(_settings(connection)) as client:
        instances = client.list_instances(service, group, healthy_only)
    for i in instances:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(i), sort_keys=True))
        else:
            state = "healthy" if i.healthy else "unhealthy"
            click.echo(f"{i.address}\tweight={i.weight:g}\t{state}\tcluster={i.cluster_name}\t{json.dumps(i.metadata)}")


@naming.command("deregister")
@click.argument("service")
@click.argument("ip")
@click.argument("port", type=click.IntRange(1, 65535))
@click.option("--group", "-g", default="DEFAULT_GROUP", show_default=True)
@click.option("--cluster", default="DEFAULT", show_default=True)
@click.option("--persistent", is_flag=True)
@_connection
def naming_deregister(
    service: str, ip: str, port: int, group: str, cluster: str, persistent: bool, **connection: Any
) -> None:
    """Remove an instance (succeeds when it is not registered)."""
    from pynacos.client import NamingClient

    with _sdk_errors(), NamingClient(_settings(connection)) as client:
        client.deregister_instance(service, ip, port, cluster, not persistent, group)
    click.echo(f"deregistered {ip}:{port} from {group}@@{service}")


@main.command()
@_connection
def login(**connection: Any) -> None:
    """Log in once and print the access token and its lifetime (tokenTtl, seconds)."""
    from pynacos.client import ConfigClient

    settings = _settings(connection)
    if not settings.username:
        raise click.UsageError("give --username (or NACOS_USERNAME) and --password (or NACOS_PASSWORD)")
    with _sdk_errors(), ConfigClient(settings) as client:
        reply = client.login()
    if reply is None:
        click.echo("the server has auth turned off: calls need no token")
        return
    click.echo(f"accessToken: {reply.access_token}")
    click.echo(f"tokenTtl: {reply.token_ttl}")
    click.echo(f"globalAdmin: {str(reply.global_admin).lower()}")
