"""Nacos's own schema (2.5.1 `mysql-schema.sql`), in SQLAlchemy Core.

Table and column names match Nacos so that a database written by Nacos can be read as it is, and
the same tables serve SQLite, MySQL/MariaDB and PostgreSQL. `metadata.create_all` only creates
tables that are missing: an existing table keeps its columns and indexes (older Nacos layouts are
read through `schema.Schema`), so the details below (defaults, indexes, SQLite AUTOINCREMENT) shape
new databases only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.sql.ddl import BaseDDLElement, DDLIfCallable

metadata = MetaData()

#: BIGINT AUTO_INCREMENT everywhere but SQLite, where only INTEGER PRIMARY KEY auto-increments
Serial = BigInteger().with_variant(Integer(), "sqlite")

#: Nacos's `longtext`: MySQL's TEXT holds only 64 KiB, far below maxContent (10 MiB)
LongText = Text().with_variant(LONGTEXT(), "mysql", "mariadb")

#: Nacos's MySQL tables auto-increment without ever reusing an id; SQLite does the same only with
#: AUTOINCREMENT, otherwise deleting the newest row hands its id (a history `nid`, a config id that
#: clients cite) to the next insert.
NO_REUSE: dict[str, Any] = {"sqlite_autoincrement": True}

_MYSQL = ("mysql", "mariadb")


def now_default() -> Any:
    """`DEFAULT CURRENT_TIMESTAMP`, as in Nacos's DDL: Nacos nodes leave e.g. his_config_info.gmt_create
    to the database, so a table pynacos creates must supply it too."""
    return text("CURRENT_TIMESTAMP")


def nacos_index(table: str, name: str, *columns: str) -> tuple[Index, Index]:
    """Nacos's index, under its own name on MySQL, where names are per table; PostgreSQL and SQLite
    name indexes per database (idx_tenant_id, idx_gmt_modified occur twice), so there the table
    name is prefixed."""
    return (
        Index(name, *columns).ddl_if(callable_=_mysql_is(True)),
        Index(f"{table}_{name}", *columns).ddl_if(callable_=_mysql_is(False)),
    )


def _mysql_is(wanted: bool) -> DDLIfCallable:
    def check(
        ddl: BaseDDLElement,
        target: SchemaItem | str,
        bind: Connection | None,
        tables: list[Table] | None = None,
        state: Any | None = None,
        *,
        dialect: Dialect,
        compiler: DDLCompiler | None = None,
        checkfirst: bool = True,
    ) -> bool:
        return (dialect.name in _MYSQL) == wanted

    return check


def capacity_table(name: str, owner: str) -> Table:
    """group_capacity / tenant_capacity (0 = the server default); Nacos reads them, pynacos only
    creates them so that a Nacos node can use a database pynacos set up."""
    limits = ("quota", "usage", "max_size", "max_aggr_count", "max_aggr_size", "max_history_count")
    return Table(
        name,
        metadata,
        Column("id", Serial, primary_key=True, autoincrement=True),
        Column(owner, String(128), nullable=False, server_default=""),
        *(Column(limit, Integer, nullable=False, server_default="0") for limit in limits),
        Column("gmt_create", DateTime, nullable=False, server_default=now_default()),
        Column("gmt_modified", DateTime, nullable=False, server_default=now_default()),
        UniqueConstraint(owner, name=f"uk_{owner}"),
        **NO_REUSE,
    )


config_info = Table(
    "config_info",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("data_id", String(255), nullable=False),
    Column("group_id", String(128)),
    Column("content", LongText, nullable=False),
    Column("md5", String(32)),
    Column("gmt_create", DateTime, nullable=False, server_default=now_default()),
    Column("gmt_modified", DateTime, nullable=False, server_default=now_default()),
    Column("src_user", Text),
    Column("src_ip", String(50)),
    Column("app_name", String(128)),
    Column("tenant_id", String(128), server_default=""),
    Column("c_desc", String(256)),
    Column("c_use", String(64)),
    Column("effect", String(64)),
    Column("type", String(64)),
    Column("c_schema", Text),
    Column("encrypted_data_key", String(1024), nullable=False, server_default=""),
    UniqueConstraint("data_id", "group_id", "tenant_id", name="uk_configinfo_datagrouptenant"),
    **NO_REUSE,
)

config_info_gray = Table(
    "config_info_gray",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("data_id", String(255), nullable=False),
    Column("group_id", String(128), nullable=False),
    Column("content", LongText, nullable=False),
    Column("md5", String(32)),
    Column("src_user", Text),
    Column("src_ip", String(100)),
    Column("gmt_create", DateTime, nullable=False, server_default=now_default()),
    Column("gmt_modified", DateTime, nullable=False, server_default=now_default()),
    Column("app_name", String(128)),
    Column("tenant_id", String(128), server_default=""),
    Column("gray_name", String(128), nullable=False),
    Column("gray_rule", Text, nullable=False),
    Column("encrypted_data_key", String(256), nullable=False, server_default=""),
    UniqueConstraint("data_id", "group_id", "tenant_id", "gray_name", name="uk_configinfogray_datagrouptenantgray"),
    *nacos_index("config_info_gray", "idx_dataid_gmt_modified", "data_id", "gmt_modified"),
    *nacos_index("config_info_gray", "idx_gmt_modified", "gmt_modified"),
    **NO_REUSE,
)

config_tags_relation = Table(
    "config_tags_relation",
    metadata,
    Column("id", BigInteger, nullable=False),
    Column("tag_name", String(128), nullable=False),
    Column("tag_type", String(64)),
    Column("data_id", String(255), nullable=False),
    Column("group_id", String(128), nullable=False),
    Column("tenant_id", String(128), server_default=""),
    Column("nid", Serial, primary_key=True, autoincrement=True),
    UniqueConstraint("id", "tag_name", "tag_type", name="uk_configtagrelation_configidtag"),
    *nacos_index("config_tags_relation", "idx_tenant_id", "tenant_id"),
    **NO_REUSE,
)

group_capacity = capacity_table("group_capacity", "group_id")
tenant_capacity = capacity_table("tenant_capacity", "tenant_id")

his_config_info = Table(
    "his_config_info",
    metadata,
    Column("id", BigInteger, nullable=False),
    Column("nid", Serial, primary_key=True, autoincrement=True),
    Column("data_id", String(255), nullable=False),
    Column("group_id", String(128), nullable=False),
    Column("app_name", String(128)),
    Column("content", LongText, nullable=False),
    Column("md5", String(32)),
    Column("gmt_create", DateTime, nullable=False, server_default=now_default()),
    Column("gmt_modified", DateTime, nullable=False, server_default=now_default()),
    Column("src_user", Text),
    Column("src_ip", String(50)),
    Column("op_type", String(10)),
    Column("tenant_id", String(128), server_default=""),
    Column("encrypted_data_key", String(1024), nullable=False, server_default=""),
    Column("publish_type", String(50), server_default="formal"),
    Column("gray_name", String(50)),
    Column("ext_info", LongText),
    *nacos_index("his_config_info", "idx_gmt_create", "gmt_create"),
    *nacos_index("his_config_info", "idx_gmt_modified", "gmt_modified"),
    *nacos_index("his_config_info", "idx_did", "data_id"),
    **NO_REUSE,
)

tenant_info = Table(
    "tenant_info",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("kp", String(128), nullable=False),
    Column("tenant_id", String(128), server_default=""),
    Column("tenant_name", String(128), server_default=""),
    Column("tenant_desc", String(256)),
    Column("create_source", String(32)),
    Column("gmt_create", BigInteger, nullable=False),
    Column("gmt_modified", BigInteger, nullable=False),
    UniqueConstraint("kp", "tenant_id", name="uk_tenant_info_kptenantid"),
    *nacos_index("tenant_info", "idx_tenant_id", "tenant_id"),
    **NO_REUSE,
)

users = Table(
    "users",
    metadata,
    Column("username", String(50), primary_key=True),
    Column("password", String(500), nullable=False),
    Column("enabled", Boolean, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("username", String(50), nullable=False),
    Column("role", String(50), nullable=False),
    UniqueConstraint("username", "role", name="idx_user_role"),
)

permissions = Table(
    "permissions",
    metadata,
    Column("role", String(50), nullable=False),
    Column("resource", String(128), nullable=False),
    Column("action", String(8), nullable=False),
    UniqueConstraint("role", "resource", "action", name="uk_role_permission"),
)

# pynacos additions (not in Nacos's schema): revocation state that must survive a restart.
user_state = Table(
    "pynacos_user_state",
    metadata,
    Column("username", String(50), primary_key=True),
    Column("not_before_ms", BigInteger, nullable=False),
)

revoked_tokens = Table(
    "pynacos_revoked_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("exp", BigInteger, nullable=False),
)

# Naming state that must be durable. Nacos keeps it in Raft, not SQL, so these tables are pynacos's own.
# Names can be long (service 512 chars), so rows are keyed by a SHA-256 of the name parts: MySQL
# limits a key to 3072 bytes.


def _service_names() -> list[Column[str]]:
    """The service's names, repeated in each naming table (new Column objects: one table each)."""
    return [
        Column("namespace_id", String(128), nullable=False),
        Column("group_name", String(128), nullable=False),
        Column("service_name", String(512), nullable=False),
    ]


def _service_hash() -> Column[str]:
    """Indexed: the rows of one service are found (and deleted) by it."""
    return Column("service_hash", String(64), nullable=False, index=True)


naming_services = Table(
    "pynacos_naming_service",
    metadata,
    Column("service_hash", String(64), primary_key=True),
    *_service_names(),
    Column("ephemeral", Boolean, nullable=False),
    Column("has_metadata", Boolean, nullable=False),
    Column("protect_threshold", Float, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("selector", Text, nullable=False),
)

persistent_instances = Table(
    "pynacos_persistent_instance",
    metadata,
    Column("instance_hash", String(64), primary_key=True),
    _service_hash(),
    *_service_names(),
    Column("ip", String(128), nullable=False),
    Column("port", Integer, nullable=False),
    Column("cluster_name", String(64), nullable=False),
    Column("weight", Float, nullable=False),
    Column("healthy", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("instance_id", String(1024)),
)

# Per-cluster health-check configuration (`PUT /v1/ns/cluster`), one JSON document a cluster.
naming_clusters = Table(
    "pynacos_naming_cluster",
    metadata,
    Column("cluster_hash", String(64), primary_key=True),
    _service_hash(),
    *_service_names(),
    Column("cluster_name", String(128), nullable=False),
    Column("config", Text, nullable=False),
)

# `PUT /instance`, PATCH and metadata-batch overrides of persistent services' instances, keyed by
# `ip:port:cluster` as in memory (ephemeral instances' overrides live and die with them in memory).
naming_overrides = Table(
    "pynacos_naming_override",
    metadata,
    Column("override_hash", String(64), primary_key=True),
    _service_hash(),
    *_service_names(),
    Column("address", String(256), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("weight", Float, nullable=False),
    Column("metadata", Text, nullable=False),
)

# Naming switches changed through `PUT /v1/ns/operator/switches` (Nacos keeps them in Raft).
naming_switches = Table(
    "pynacos_naming_switch",
    metadata,
    Column("entry", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)
