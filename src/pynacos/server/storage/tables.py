"""Nacos's own schema (2.5.1 `mysql-schema.sql`), in SQLAlchemy Core.

Table and column names match Nacos so that a database written by Nacos can be read as it is, and
the same tables serve SQLite, MySQL/MariaDB and PostgreSQL.
"""

from __future__ import annotations

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
)

metadata = MetaData()

#: BIGINT AUTO_INCREMENT everywhere but SQLite, where only INTEGER PRIMARY KEY auto-increments
Serial = BigInteger().with_variant(Integer(), "sqlite")

config_info = Table(
    "config_info",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("data_id", String(255), nullable=False),
    Column("group_id", String(128)),
    Column("content", Text, nullable=False),
    Column("md5", String(32)),
    Column("gmt_create", DateTime, nullable=False),
    Column("gmt_modified", DateTime, nullable=False),
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
)

config_info_gray = Table(
    "config_info_gray",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("data_id", String(255), nullable=False),
    Column("group_id", String(128), nullable=False),
    Column("content", Text, nullable=False),
    Column("md5", String(32)),
    Column("src_user", Text),
    Column("src_ip", String(100)),
    Column("gmt_create", DateTime, nullable=False),
    Column("gmt_modified", DateTime, nullable=False),
    Column("app_name", String(128)),
    Column("tenant_id", String(128), server_default=""),
    Column("gray_name", String(128), nullable=False),
    Column("gray_rule", Text, nullable=False),
    Column("encrypted_data_key", String(256), nullable=False, server_default=""),
    UniqueConstraint("data_id", "group_id", "tenant_id", "gray_name", name="uk_configinfogray_datagrouptenantgray"),
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
    Index("idx_tenant_id", "tenant_id"),
)

his_config_info = Table(
    "his_config_info",
    metadata,
    Column("id", BigInteger, nullable=False),
    Column("nid", Serial, primary_key=True, autoincrement=True),
    Column("data_id", String(255), nullable=False),
    Column("group_id", String(128), nullable=False),
    Column("app_name", String(128)),
    Column("content", Text, nullable=False),
    Column("md5", String(32)),
    Column("gmt_create", DateTime, nullable=False),
    Column("gmt_modified", DateTime, nullable=False),
    Column("src_user", Text),
    Column("src_ip", String(50)),
    Column("op_type", String(10)),
    Column("tenant_id", String(128), server_default=""),
    Column("encrypted_data_key", String(1024), nullable=False, server_default=""),
    Column("publish_type", String(50), server_default="formal"),
    Column("gray_name", String(50)),
    Column("ext_info", Text),
    Index("idx_gmt_modified", "gmt_modified"),
    Index("idx_did", "data_id"),
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
naming_services = Table(
    "pynacos_naming_service",
    metadata,
    Column("service_hash", String(64), primary_key=True),
    Column("namespace_id", String(128), nullable=False),
    Column("group_name", String(128), nullable=False),
    Column("service_name", String(512), nullable=False),
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
    Column("service_hash", String(64), nullable=False, index=True),
    Column("namespace_id", String(128), nullable=False),
    Column("group_name", String(128), nullable=False),
    Column("service_name", String(512), nullable=False),
    Column("ip", String(128), nullable=False),
    Column("port", Integer, nullable=False),
    Column("cluster_name", String(64), nullable=False),
    Column("weight", Float, nullable=False),
    Column("healthy", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("instance_id", String(1024)),
)
