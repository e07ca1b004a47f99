"""The one settings table, and how it is loaded.

Every option the server reads is a field of `Settings`; its metadata names the Java property key
(as in Nacos's `application.properties`), the environment variable (Nacos's Docker name where one
exists) and a help text. Sources are applied in order, later winning:
defaults -> `<home>/conf/application.properties` -> environment -> command-line flags.

This is the only module that reads `os.environ`. A malformed value stops start-up with one sentence
that names the key, the value (never for secrets) and what was expected.

It is longer than the 600 lines style.md asks for because the table is one list of declarations (about
60 options, each with its key, variable, parser and help text); split, the settings reference would have to be
assembled from several places and a key could be declared twice.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROPERTIES_FILE = Path("conf") / "application.properties"
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class SettingsError(ValueError):
    """A setting has a value the server cannot use; the message is shown to the operator as-is."""


Parser = Callable[[str], Any]


def parse_bool(raw: str) -> bool:
    """Spring's relaxed booleans: true/yes/on/1 and false/no/off/0, any case."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("true or false")


def parse_int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("a whole number") from None


def parse_optional_int(raw: str) -> int | None:
    """A blank value means unset (Nacos's Docker scripts write `key=` when a variable is empty)."""
    return parse_int(raw) if raw.strip() else None


def parse_str(raw: str) -> str:
    return raw.strip()


def parse_secret(raw: str) -> str:
    """Secrets are kept exactly as written apart from surrounding blanks."""
    return raw.strip()


def parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def parse_networks(raw: str) -> tuple[str, ...]:
    """CIDR blocks (`10.0.0.0/8,fd00::/8`), checked here so a typo stops start-up."""
    blocks = parse_list(raw)
    try:
        return tuple(str(ipaddress.ip_network(block, strict=False)) for block in blocks)
    except ValueError:
        raise ValueError("comma-separated CIDR blocks such as 10.0.0.0/8,fd00::/8") from None


def parse_members(raw: str) -> tuple[str, ...]:
    """`nacos.member.list` is comma-separated; Docker's NACOS_SERVERS is blank-separated: both are read."""
    return tuple(item for item in re.split(r"[\s,]+", raw) if item)


def choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError("one of " + ", ".join(allowed))
        return value

    return parse


def parse_mode_env(raw: str) -> bool:
    """Nacos's Docker `MODE` is `standalone` or `cluster`; it maps onto `nacos.standalone`."""
    return choice("standalone", "cluster")(raw) == "standalone"


def parse_context_path(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if value and (not value.startswith("/") or "//" in value or any(c in value for c in "?#;% ")):
        raise ValueError("a path such as /nacos (or / for none)")
    return value


def parse_platform(raw: str) -> str:
    value = raw.strip().lower()
    if value in ("", "sqlite", "embedded", "derby"):
        return "sqlite"
    return choice("mysql", "postgresql")(value)


#: what Nacos's Docker image appends to its `db.url.0` when MYSQL_SERVICE_DB_PARAM is unset
DOCKER_DB_PARAM = "characterEncoding=utf8&connectTimeout=1000&socketTimeout=3000&autoReconnect=true&useSSL=false"
_DOCKER_DB = ("MYSQL_SERVICE_HOST", "MYSQL_SERVICE_PORT", "MYSQL_SERVICE_DB_NAME", "MYSQL_SERVICE_DB_PARAM")

EnvReader = Callable[[Mapping[str, str]], str | None]


def first_of(names: tuple[str, ...]) -> EnvReader:
    """Read the first of these variables that is set."""
    return lambda env: next((env[name] for name in names if name in env), None)


def docker_db_url(env: Mapping[str, str]) -> str | None:
    """`db.url.0` as the nacos/nacos-server image builds it from MYSQL_SERVICE_* (None without a host),
    so a compose file written for Nacos starts pynacos against the same MySQL."""
    host = env.get("MYSQL_SERVICE_HOST", "").strip()
    if not host:
        return None
    port = env.get("MYSQL_SERVICE_PORT", "").strip() or "3306"
    name = env.get("MYSQL_SERVICE_DB_NAME", "").strip()
    params = env.get("MYSQL_SERVICE_DB_PARAM", "").strip() or DOCKER_DB_PARAM
    return f"jdbc:mysql://{host}:{port}/{name}?{params}"


def option(
    default: Any,
    key: str,
    help: str,
    env: str | None = None,
    parse: Parser = parse_str,
    aliases: tuple[str, ...] = (),
    secret: bool = False,
    env_parse: Parser | None = None,
    env_aliases: tuple[str, ...] = (),
    env_read: EnvReader | None = None,
) -> Any:
    """One row of the settings table. `env_aliases` are further variables (Nacos Docker's) read when
    `env` is unset; `env_read` combines them into one value (default: the first one set)."""
    meta = {
        "key": key,
        "env": env,
        "help": help,
        "parse": parse,
        "aliases": aliases,
        "secret": secret,
        "env_parse": env_parse or parse,
        "env_aliases": env_aliases,
        "env_read": env_read or first_of(env_aliases),
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Everything the server can be told; built once at start-up (tests build it directly)."""

    home: str = option(".", "nacos.home", "Server home: conf/ and data/ live here.", env="NACOS_HOME")
    port: int = option(8848, "server.port", "HTTP port.", env="NACOS_SERVER_PORT", parse=parse_int)
    grpc_port_offset: int = option(
        1000,
        "nacos.server.grpc.port.offset",
        "The SDK gRPC port is the HTTP port plus this offset (9848 for 8848).",
        env="NACOS_GRPC_PORT_OFFSET",
        parse=parse_int,
    )
    grpc_max_inbound: int = option(
        10485760,
        "nacos.remote.server.grpc.sdk.max-inbound-message-size",
        "Largest gRPC message accepted, in bytes.",
        env="PYNACOS_GRPC_MAX_INBOUND",
        parse=parse_int,
    )
    grpc_max_connections_per_ip: int = option(
        2000,
        "pynacos.grpc.max.connections.per.ip",
        "Most gRPC connections from one client address (10,000 in all); more are refused.",
        env="PYNACOS_GRPC_MAX_CONNECTIONS_PER_IP",
        parse=parse_int,
    )
    grpc_tls: bool = option(
        False,
        "nacos.remote.server.rpc.tls.enableTls",
        "Serve gRPC over TLS (plaintext is then refused on that port).",
        env="PYNACOS_GRPC_TLS",
        parse=parse_bool,
    )
    grpc_tls_cert_chain: str = option(
        "",
        "nacos.remote.server.rpc.tls.certChainFile",
        "PEM certificate chain for gRPC TLS.",
        env="PYNACOS_GRPC_TLS_CERT_CHAIN",
    )
    grpc_tls_private_key: str = option(
        "",
        "nacos.remote.server.rpc.tls.certPrivateKey",
        "PEM private key for gRPC TLS (unencrypted).",
        env="PYNACOS_GRPC_TLS_PRIVATE_KEY",
    )
    address: str = option(
        "",
        "server.address",
        "Address to listen on. Empty: 127.0.0.1 while auth is off, every interface when it is on.",
        env="NACOS_SERVER_IP",
    )
    context_path: str = option(
        "/nacos",
        "server.servlet.contextPath",
        "Context path in front of every route.",
        env="NACOS_CONTEXT_PATH",
        parse=parse_context_path,
    )
    console_port: int | None = option(
        None,
        "nacos.console.port",
        "Serve the web console, /v3/console/** and /v3/auth/** on this second port as well (as Nacos 3.x does, at "
        "the root unless nacos.console.contextPath is set). Unset: no second port, the console is at "
        "/nacos/ (server.servlet.contextPath) on the main port only. No default: 3.x's 8080 would open a port 2.x "
        "users do not expect, often one another service of theirs uses.",
        env="NACOS_CONSOLE_PORT",
        parse=parse_optional_int,
    )
    console_context_path: str = option(
        "",
        "nacos.console.contextPath",
        "Context path on the console port (empty: the console is at its root).",
        env="NACOS_CONSOLE_CONTEXTPATH",
        parse=parse_context_path,
    )
    console_ui_enabled: bool = option(
        True,
        "nacos.console.ui.enabled",
        "Serve the web console's pages; false answers them with a short text (the HTTP and gRPC APIs are unaffected).",
        env="NACOS_CONSOLE_UI_ENABLED",
        parse=parse_bool,
    )
    standalone: bool = option(
        True,
        "nacos.standalone",
        "Run as a single node; false (`--mode cluster`, MODE=cluster) runs cluster mode on a shared MySQL or "
        "PostgreSQL database with the members of conf/cluster.conf or nacos.member.list (docs/cluster.md).",
        env="MODE",
        parse=parse_bool,
        env_parse=parse_mode_env,
    )
    member_list: tuple[str, ...] = option(
        (),
        "nacos.member.list",
        "Cluster members as host[:port] items (commas or blanks between them), read only when "
        "conf/cluster.conf does not exist; a missing port is this node's server.port.",
        env="MEMBER_LIST",
        parse=parse_members,
        env_aliases=("NACOS_SERVERS",),
    )
    member_ip: str = option(
        "",
        "nacos.server.ip",
        "This node's IP in the member list. Empty: server.address when it names one address, else the first "
        "non-loopback IPv4 address.",
        env="PYNACOS_MEMBER_IP",
        aliases=("nacos.inetutils.ip-address",),
    )
    member_fail_access_cnt: int = option(
        3,
        "nacos.core.member.fail-access-cnt",
        "A member that failed this many health reports in a row more (2 s apart) is DOWN; it is SUSPICIOUS before.",
        env="PYNACOS_MEMBER_FAIL_ACCESS_CNT",
        parse=parse_int,
    )
    member_address_check: bool = option(
        True,
        "pynacos.cluster.member.address.check",
        "Accept node-to-node messages only from the members' addresses (cluster.conf host names resolved), "
        "besides their signature (security.md §5.4). Turn off only where nodes reach each other through NAT, "
        "so their messages come from an address not listed.",
        env="PYNACOS_CLUSTER_MEMBER_ADDRESS_CHECK",
        parse=parse_bool,
    )
    storage: str = option(
        "sqlite",
        "spring.sql.init.platform",
        "Database: sqlite (embedded, under the data directory), mysql or postgresql.",
        env="SPRING_DATASOURCE_PLATFORM",
        parse=parse_platform,
        aliases=("spring.datasource.platform",),
    )
    db_num: int = option(
        1,
        "db.num",
        "Number of external databases (db.url.<i>); pynacos uses db.url.0 only.",
        env="MYSQL_DATABASE_NUM",
        parse=parse_int,
    )
    db_url: str = option(
        "",
        "db.url.0",
        "External database URL (JDBC form as in Nacos, or an SQLAlchemy URL). Without PYNACOS_DB_URL it is "
        "built as Nacos's Docker image does: jdbc:mysql://HOST:PORT(3306)/DB_NAME?DB_PARAM.",
        env="PYNACOS_DB_URL",
        aliases=("db.url",),
        env_aliases=_DOCKER_DB,
        env_read=docker_db_url,
    )
    db_user: str = option(
        "",
        "db.user.0",
        "External database user.",
        env="PYNACOS_DB_USER",
        aliases=("db.user",),
        env_aliases=("MYSQL_SERVICE_USER",),
    )
    db_password: str = option(
        "",
        "db.password.0",
        "External database password.",
        env="PYNACOS_DB_PASSWORD",
        parse=parse_secret,
        aliases=("db.password",),
        secret=True,
        env_aliases=("MYSQL_SERVICE_PASSWORD",),
    )
    db_connection_timeout_ms: int = option(
        30000,
        "db.pool.config.connectionTimeout",
        "Longest wait for a free database connection (ms); more fails the request.",
        env="DB_POOL_CONNECTION_TIMEOUT",
        parse=parse_int,
    )
    db_startup_wait_seconds: int = option(
        30,
        "pynacos.db.startup.wait.seconds",
        "How long start-up keeps trying to reach an external database that is not up yet (s); 0 tries once.",
        env="PYNACOS_DB_STARTUP_WAIT_SECONDS",
        parse=parse_int,
    )
    data_dir: str = option("", "pynacos.data.dir", "Data directory; empty means <home>/data.", env="PYNACOS_DATA_DIR")
    sqlite_synchronous: str = option(
        "full",
        "pynacos.storage.synchronous",
        "SQLite fsync policy: full (every acknowledged write survives power loss) or normal.",
        env="PYNACOS_STORAGE_SYNCHRONOUS",
        parse=choice("full", "normal"),
    )
    max_content: int = option(
        10485760, "maxContent", "Largest config content, in UTF-8 bytes.", env="PYNACOS_MAX_CONTENT", parse=parse_int
    )
    max_gray_versions: int = option(
        10,
        "nacos.config.gray.version.max.count",
        "Most gray versions (beta, tags) one config may have.",
        env="PYNACOS_CONFIG_GRAY_MAX_VERSIONS",
        parse=parse_int,
    )
    retention_days: int = option(
        30,
        "nacos.config.retention.days",
        "Days of config history to keep (0 or less keeps everything).",
        env="PYNACOS_CONFIG_RETENTION_DAYS",
        parse=parse_int,
    )
    default_tenant_quota: int = option(
        200, "defaultTenantQuota", "Quota shown for each namespace.", env="PYNACOS_TENANT_QUOTA", parse=parse_int
    )
    trusted_proxies: tuple[str, ...] = option(
        (),
        "pynacos.trusted.proxies",
        "Proxies whose X-Forwarded-For / X-Real-IP headers are believed (comma list of IPs or CIDR blocks); "
        "the client is the right-most forwarded address that is not one of them.",
        env="PYNACOS_TRUSTED_PROXIES",
        parse=parse_networks,
    )
    allowed_origins: tuple[str, ...] = option(
        (),
        "pynacos.http.allowed.origins",
        "Browser origins besides the server's own that may send state-changing requests "
        "(comma list such as https://console.example.com); other cross-site requests are refused.",
        env="PYNACOS_HTTP_ALLOWED_ORIGINS",
        parse=parse_list,
    )
    allowed_hosts: tuple[str, ...] = option(
        (),
        "pynacos.http.allowed.hosts",
        "Host names clients may use while auth is off, besides IP addresses and localhost (comma list); "
        "other Host headers are refused against DNS rebinding.",
        env="PYNACOS_HTTP_ALLOWED_HOSTS",
        parse=parse_list,
    )
    longpoll_max_total: int = option(
        10000,
        "pynacos.longpoll.max.total",
        "Most held config long polls on this node; more answer 503.",
        env="PYNACOS_LONGPOLL_MAX_TOTAL",
        parse=parse_int,
    )
    longpoll_max_per_ip: int = option(
        100,
        "pynacos.longpoll.max.per.ip",
        "Most held config long polls from one client IP; more answer 503.",
        env="PYNACOS_LONGPOLL_MAX_PER_IP",
        parse=parse_int,
    )
    naming_check_interval_ms: int = option(
        5000,
        "pynacos.naming.health.check.interval",
        "How often ephemeral instances are checked for missed beats (ms).",
        env="PYNACOS_NAMING_CHECK_INTERVAL",
        parse=parse_int,
    )
    empty_service_interval_ms: int = option(
        60000,
        "nacos.naming.clean.empty-service.interval",
        "How often services without instances are looked for (ms).",
        env="PYNACOS_NAMING_EMPTY_SERVICE_INTERVAL",
        parse=parse_int,
    )
    empty_service_expired_ms: int = option(
        60000,
        "nacos.naming.clean.empty-service.expired-time",
        "A service without instances, untouched this long (ms), is deleted.",
        env="PYNACOS_NAMING_EMPTY_SERVICE_EXPIRED",
        parse=parse_int,
    )
    naming_active_checks: bool = option(
        False,
        "pynacos.naming.health.active.enabled",
        "The server checks persistent instances itself (TCP or HTTP, per cluster) as Nacos does. Off by "
        "default: the checks connect to addresses that clients register.",
        env="PYNACOS_NAMING_ACTIVE_CHECKS",
        parse=parse_bool,
    )
    naming_check_targets: tuple[str, ...] = option(
        ("0.0.0.0/0", "::/0"),
        "pynacos.naming.health.active.targets",
        "CIDR blocks active checks may connect to. Loopback, link-local, cloud metadata addresses, multicast "
        "and 0.0.0.0/8 are never checked unless a block inside them is listed (e.g. 127.0.0.1/32).",
        env="PYNACOS_NAMING_CHECK_TARGETS",
        parse=parse_networks,
    )
    naming_push_enabled: bool = option(
        True,
        "pynacos.naming.push.enabled",
        "UDP push of instance changes to HTTP subscribers (Nacos's pushEnabled switch); off, they poll every 10 s.",
        env="PYNACOS_NAMING_PUSH_ENABLED",
        parse=parse_bool,
    )
    naming_push_ack_timeout_ms: int = option(
        10000,
        "pynacos.naming.push.ack.timeout",
        "A push not acknowledged within this time (ms) is sent once more, then given up after as long again.",
        env="PYNACOS_NAMING_PUSH_ACK_TIMEOUT",
        parse=parse_int,
    )
    naming_push_max_subscribers: int = option(
        10000,
        "pynacos.naming.push.max.subscribers",
        "Most UDP push subscribers on this node (at most 1000 per client IP); more just poll.",
        env="PYNACOS_NAMING_PUSH_MAX_SUBSCRIBERS",
        parse=parse_int,
    )
    access_log: bool = option(
        False,
        "pynacos.access.log",
        "Log one line per request (credentials redacted).",
        env="PYNACOS_ACCESS_LOG",
        parse=parse_bool,
    )
    log_level: str = option(
        "info",
        "pynacos.log.level",
        "Log level of the server.",
        env="PYNACOS_LOG_LEVEL",
        parse=choice("debug", "info", "warning", "error"),
    )
    auth_enabled: bool = option(
        False,
        "nacos.core.auth.enabled",
        "Check identity and permissions on every secured route.",
        env="NACOS_AUTH_ENABLE",
        parse=parse_bool,
    )
    auth_admin_enabled: bool = option(
        True,
        "nacos.core.auth.admin.enabled",
        "Nacos 3.x admin scope: /v3/admin/** needs a login and a permission even while "
        "nacos.core.auth.enabled is false.",
        env="NACOS_AUTH_ADMIN_ENABLE",
        parse=parse_bool,
    )
    auth_console_enabled: bool = option(
        True,
        "nacos.core.auth.console.enabled",
        "Nacos 3.x console scope: /v3/console/** needs a login and a permission even while "
        "nacos.core.auth.enabled is false.",
        env="NACOS_AUTH_CONSOLE_ENABLE",
        parse=parse_bool,
    )
    auth_system_type: str = option(
        "nacos",
        "nacos.core.auth.system.type",
        "Auth plugin, by name.",
        env="NACOS_AUTH_SYSTEM_TYPE",
        parse=lambda raw: raw.strip().lower(),
    )
    token_secret_key: str = option(
        "",
        "nacos.core.auth.plugin.nacos.token.secret.key",
        "Base64 HMAC key for tokens, 32 bytes or more once decoded (make one with `pynacos secret`).",
        env="NACOS_AUTH_TOKEN",
        parse=parse_secret,
        aliases=("nacos.core.auth.default.token.secret.key",),
        secret=True,
    )
    token_previous_secret_key: str = option(
        "",
        "pynacos.auth.token.previous.secret.key",
        "The key before the last rotation: its tokens stay valid until they expire.",
        env="PYNACOS_AUTH_TOKEN_PREVIOUS",
        parse=parse_secret,
        secret=True,
    )
    token_expire_seconds: int = option(
        18000,
        "nacos.core.auth.plugin.nacos.token.expire.seconds",
        "Token lifetime in seconds.",
        env="NACOS_AUTH_TOKEN_EXPIRE_SECONDS",
        parse=parse_int,
        aliases=("nacos.core.auth.default.token.expire.seconds",),
    )
    token_cache_enable: bool = option(
        False,
        "nacos.core.auth.plugin.nacos.token.cache.enable",
        "Reuse a user's token for the first 90% of its life.",
        env="PYNACOS_AUTH_TOKEN_CACHE_ENABLE",
        parse=parse_bool,
    )
    auth_caching_enabled: bool = option(
        True,
        "nacos.core.auth.caching.enabled",
        "Keep users, roles and permissions in memory.",
        env="NACOS_AUTH_CACHE_ENABLE",
        parse=parse_bool,
    )
    user_agent_auth_white: bool = option(
        False,
        "nacos.core.auth.enable.userAgentAuthWhite",
        "Let `User-Agent: Nacos-Server` skip auth (a known bypass; off unless you must).",
        env="NACOS_AUTH_USER_AGENT_AUTH_WHITE_ENABLE",
        parse=parse_bool,
    )
    identity_key: str = option(
        "",
        "nacos.core.auth.server.identity.key",
        "Header name that servers use to recognise each other.",
        env="NACOS_AUTH_IDENTITY_KEY",
    )
    identity_value: str = option(
        "",
        "nacos.core.auth.server.identity.value",
        "Value of that header (a secret shared by the cluster).",
        env="NACOS_AUTH_IDENTITY_VALUE",
        parse=parse_secret,
        secret=True,
    )
    notes: tuple[str, ...] = field(default=(), compare=False, metadata={"internal": True})

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else Path(self.home) / "data"

    @property
    def listen_address(self) -> str:
        """Protected mode: with auth off and no explicit address, only loopback is reachable."""
        if self.address:
            return self.address
        return "0.0.0.0" if self.auth_enabled else "127.0.0.1"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def table() -> list[dataclasses.Field[Any]]:
    """The rows of the settings table, in declaration order."""
    return [f for f in dataclasses.fields(Settings) if not f.metadata.get("internal")]


def read_properties(path: Path) -> dict[str, str]:
    """Java `.properties` syntax (escapes, continuations, `:`/`=` separators) via jproperties."""
    from jproperties import Properties

    props = Properties()
    try:
        with path.open("rb") as stream:
            props.load(stream, "utf-8")
    except OSError as exc:
        raise SettingsError(f"Cannot read {path}: {exc.strerror}.") from None
    return {key: str(value.data) for key, value in props.items()}


def load(
    home: str | Path,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: defaults, then the properties file, then the environment, then flags."""
    env = os.environ if environ is None else environ
    props_path = Path(home) / PROPERTIES_FILE
    props = read_properties(props_path) if props_path.exists() else {}
    values: dict[str, Any] = {"home": str(home)}
    notes: list[str] = []
    for row in table():
        if row.name == "home":
            continue
        _apply_properties(row, props, props_path, values, notes)
        _apply_env(row, env, values)
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = value
    return Settings(**values, notes=tuple(notes))


def _apply_properties(
    row: dataclasses.Field[Any], props: Mapping[str, str], source: Path, values: dict[str, Any], notes: list[str]
) -> None:
    meta = row.metadata
    for alias in meta["aliases"]:
        if alias in props:
            if alias.startswith("nacos.core.auth.default."):
                notes.append(f"{alias} is deprecated; use {meta['key']} (read for now).")
            values[row.name] = _parse(row, meta["parse"], props[alias], f"{alias} in {source}", alias)
    if meta["key"] in props:
        values[row.name] = _parse(row, meta["parse"], props[meta["key"]], f"{meta['key']} in {source}", meta["key"])


def _apply_env(row: dataclasses.Field[Any], env: Mapping[str, str], values: dict[str, Any]) -> None:
    meta = row.metadata
    name = meta["env"]
    if name and name in env:
        values[row.name] = _parse(row, meta["env_parse"], env[name], f"environment variable {name}", name)
        return
    raw = meta["env_read"](env)
    if raw is not None:
        names = "/".join(n for n in meta["env_aliases"] if n in env)
        values[row.name] = _parse(row, meta["env_parse"], raw, f"environment variable {names}", names)


def _parse(row: dataclasses.Field[Any], parse: Parser, raw: str, where: str, key: str) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        shown = "(hidden)" if row.metadata["secret"] else repr(raw)
        raise SettingsError(f"Setting {key} has the value {shown} ({where}); expected {exc}.") from None


def reference_markdown() -> str:
    """docs/settings.md, generated from the table (a test keeps the file current)."""
    lines = [
        "# Settings reference",
        "",
        "Generated from `src/pynacos/server/settings.py` by `pynacos settings-doc`; do not edit by hand.",
        "Sources, later winning: defaults, `<home>/conf/application.properties`, environment, command-line flags.",
        "",
        "| property key | environment | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for row in table():
        meta = row.metadata
        shown = _show_default(row.default)
        keys = "`" + meta["key"] + "`" + "".join(f" (alias `{a}`)" for a in meta["aliases"])
        env = ", ".join(f"`{name}`" for name in (meta["env"], *meta["env_aliases"]) if name)
        lines.append(f"| {keys} | {env} | `{shown}` | {meta['help']} |")
    return "\n".join(lines) + "\n"


def _show_default(default: Any) -> str:
    if default is None:
        return "(unset)"
    if isinstance(default, tuple):
        return ",".join(default)
    if isinstance(default, bool):
        return str(default).lower()
    return str(default)


def check_startup(settings: Settings) -> None:
    """Refuse combinations the server cannot honour, with the fix in the message."""
    if not settings.standalone:
        from pynacos.server.cluster.startup import check_cluster

        check_cluster(settings)
    if not 0 < settings.port < 65536:
        raise SettingsError(f"Setting server.port has the value {settings.port}; expected a port from 1 to 65535.")
    _check_console_port(settings)
    if settings.max_content <= 0:
        raise SettingsError(f"Setting maxContent has the value {settings.max_content}; expected a positive size.")
    if settings.naming_push_ack_timeout_ms <= 0:
        raise SettingsError(
            f"Setting pynacos.naming.push.ack.timeout has the value {settings.naming_push_ack_timeout_ms}; "
            "expected a positive number of milliseconds."
        )


def _check_console_port(settings: Settings) -> None:
    """The console port must be a port of its own: on the HTTP or gRPC port one listener would fail to bind."""
    port = settings.console_port
    if port is None:
        return
    if not 0 < port < 65536:
        raise SettingsError(f"Setting nacos.console.port has the value {port}; expected a port from 1 to 65535.")
    if port in (settings.port, settings.port + settings.grpc_port_offset):
        raise SettingsError(
            f"Setting nacos.console.port has the value {port}, which server.port or the gRPC port (server.port + "
            "nacos.server.grpc.port.offset) already uses; choose another port or leave it unset."
        )
