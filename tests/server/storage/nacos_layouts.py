"""Databases as Nacos 2.0, 2.4 and 3.x left them, built by hand: their DDL (the column sets of each
version's `mysql-schema.sql`, spec F.3.4/F.3.5) and rows written the way Nacos writes them.

The DDL is written once in MySQL's words and lowered to PostgreSQL/SQLite by token; non-unique
indexes are left out (pynacos never reads them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

WORDS = {
    "mysql": {"ID": "bigint NOT NULL AUTO_INCREMENT", "LONGTEXT": "longtext", "DATETIME": "datetime", "Q": "`"},
    "postgresql": {"ID": "bigserial NOT NULL", "LONGTEXT": "text", "DATETIME": "timestamp", "Q": '"'},
    "sqlite": {"ID": "INTEGER NOT NULL", "LONGTEXT": "TEXT", "DATETIME": "DATETIME", "Q": '"'},
}
MYSQL_TAIL = " ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin"

#: encrypted_data_key arrived in 2.1; publish_type/gray_name/ext_info and config_info_gray in 2.5
EDK = ", encrypted_data_key varchar(1024) NOT NULL DEFAULT ''"
HIS_25 = ", publish_type varchar(50) DEFAULT 'formal', gray_name varchar(50) DEFAULT NULL, ext_info {LONGTEXT}"

CONFIG_INFO = """CREATE TABLE config_info (
  id {ID}, data_id varchar(255) NOT NULL, group_id varchar(128) DEFAULT NULL, content {LONGTEXT} NOT NULL,
  md5 varchar(32) DEFAULT NULL, gmt_create {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gmt_modified {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP, src_user text, src_ip varchar(50) DEFAULT NULL,
  app_name varchar(128) DEFAULT NULL, tenant_id varchar(128) DEFAULT '', c_desc varchar(256) DEFAULT NULL,
  c_use varchar(64) DEFAULT NULL, effect varchar(64) DEFAULT NULL, type varchar(64) DEFAULT NULL,
  c_schema text{EDK}, PRIMARY KEY (id),
  CONSTRAINT uk_configinfo_datagrouptenant UNIQUE (data_id, group_id, tenant_id))"""

CONFIG_INFO_BETA = """CREATE TABLE config_info_beta (
  id {ID}, data_id varchar(255) NOT NULL, group_id varchar(128) NOT NULL, app_name varchar(128) DEFAULT NULL,
  content {LONGTEXT} NOT NULL, beta_ips varchar(1024) DEFAULT NULL, md5 varchar(32) DEFAULT NULL,
  gmt_create {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP, gmt_modified {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP,
  src_user text, src_ip varchar(50) DEFAULT NULL, tenant_id varchar(128) DEFAULT ''{EDK}, PRIMARY KEY (id),
  CONSTRAINT uk_configinfobeta_datagrouptenant UNIQUE (data_id, group_id, tenant_id))"""

CONFIG_INFO_TAG = """CREATE TABLE config_info_tag (
  id {ID}, data_id varchar(255) NOT NULL, group_id varchar(128) NOT NULL, tenant_id varchar(128) DEFAULT '',
  tag_id varchar(128) NOT NULL, app_name varchar(128) DEFAULT NULL, content {LONGTEXT} NOT NULL,
  md5 varchar(32) DEFAULT NULL, gmt_create {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gmt_modified {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP, src_user text, src_ip varchar(50) DEFAULT NULL,
  PRIMARY KEY (id), CONSTRAINT uk_configinfotag_datagrouptenanttag UNIQUE (data_id, group_id, tenant_id, tag_id))"""

CONFIG_INFO_AGGR = """CREATE TABLE config_info_aggr (
  id {ID}, data_id varchar(255) NOT NULL, group_id varchar(128) NOT NULL, datum_id varchar(255) NOT NULL,
  content {LONGTEXT} NOT NULL, gmt_modified {DATETIME} NOT NULL, app_name varchar(128) DEFAULT NULL,
  tenant_id varchar(128) DEFAULT '', PRIMARY KEY (id),
  CONSTRAINT uk_configinfoaggr_datagrouptenantdatum UNIQUE (data_id, group_id, tenant_id, datum_id))"""

CONFIG_INFO_GRAY = """CREATE TABLE config_info_gray (
  id {ID}, data_id varchar(255) NOT NULL, group_id varchar(128) NOT NULL, content {LONGTEXT} NOT NULL,
  md5 varchar(32) DEFAULT NULL, src_user text, src_ip varchar(100) DEFAULT NULL,
  gmt_create {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP, gmt_modified {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP,
  app_name varchar(128) DEFAULT NULL, tenant_id varchar(128) DEFAULT '', gray_name varchar(128) NOT NULL,
  gray_rule text NOT NULL, encrypted_data_key varchar(256) NOT NULL DEFAULT '', PRIMARY KEY (id),
  CONSTRAINT uk_configinfogray_datagrouptenantgray UNIQUE (data_id, group_id, tenant_id, gray_name))"""

CONFIG_TAGS = """CREATE TABLE config_tags_relation (
  id bigint NOT NULL, tag_name varchar(128) NOT NULL, tag_type varchar(64) DEFAULT NULL,
  data_id varchar(255) NOT NULL, group_id varchar(128) NOT NULL, tenant_id varchar(128) DEFAULT '',
  nid {ID}, PRIMARY KEY (nid), CONSTRAINT uk_configtagrelation_configidtag UNIQUE (id, tag_name, tag_type))"""

CAPACITY = """CREATE TABLE {KIND}_capacity (
  id {ID}, {KIND}_id varchar(128) NOT NULL DEFAULT '', quota int NOT NULL DEFAULT 0, {Q}usage{Q} int NOT NULL DEFAULT 0,
  max_size int NOT NULL DEFAULT 0, max_aggr_count int NOT NULL DEFAULT 0, max_aggr_size int NOT NULL DEFAULT 0,
  max_history_count int NOT NULL DEFAULT 0, gmt_create {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gmt_modified {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id),
  CONSTRAINT uk_{KIND}_id UNIQUE ({KIND}_id))"""

HIS_CONFIG_INFO = """CREATE TABLE his_config_info (
  id bigint NOT NULL, nid {ID}, data_id varchar(255) NOT NULL, group_id varchar(128) NOT NULL,
  app_name varchar(128) DEFAULT NULL, content {LONGTEXT} NOT NULL, md5 varchar(32) DEFAULT NULL,
  gmt_create {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP, gmt_modified {DATETIME} NOT NULL DEFAULT CURRENT_TIMESTAMP,
  src_user text, src_ip varchar(50) DEFAULT NULL, op_type char(10) DEFAULT NULL,
  tenant_id varchar(128) DEFAULT ''{EDK}{HIS_25}, PRIMARY KEY (nid))"""

TENANT_INFO = """CREATE TABLE tenant_info (
  id {ID}, kp varchar(128) NOT NULL, tenant_id varchar(128) DEFAULT '', tenant_name varchar(128) DEFAULT '',
  tenant_desc varchar(256) DEFAULT NULL, create_source varchar(32) DEFAULT NULL, gmt_create bigint NOT NULL,
  gmt_modified bigint NOT NULL, PRIMARY KEY (id), CONSTRAINT uk_tenant_info_kptenantid UNIQUE (kp, tenant_id))"""

AUTH = [
    "CREATE TABLE users (username varchar(50) NOT NULL PRIMARY KEY, password varchar(500) NOT NULL,"
    " enabled boolean NOT NULL)",
    "CREATE TABLE roles (username varchar(50) NOT NULL, role varchar(50) NOT NULL,"
    " CONSTRAINT idx_user_role UNIQUE (username, role))",
    "CREATE TABLE permissions (role varchar(50) NOT NULL, resource varchar(128) NOT NULL, action varchar(8) NOT NULL,"
    " CONSTRAINT uk_role_permission UNIQUE (role, resource, action))",
]

#: BCrypt of `nacos`, the default user Nacos's schema file inserted up to 2.3
NACOS_HASH = "$2a$10$EuWPZHzz32dJN7jexM34MOeYirDdFAZm2kuWj7VEOJhhZkDrxfvUu"


def ddl(version: str, dialect: str) -> list[str]:
    """CREATE TABLE statements of Nacos `version` ("2.0", "2.4" or "3.0") for `dialect`."""
    words = {
        **WORDS[dialect],
        "EDK": "" if version == "2.0" else EDK,
        "HIS_25": HIS_25 if version == "3.0" else "",
    }
    tables = [CONFIG_INFO, CONFIG_TAGS, HIS_CONFIG_INFO, TENANT_INFO]
    tables += [CONFIG_INFO_GRAY] if version == "3.0" else [CONFIG_INFO_BETA, CONFIG_INFO_TAG, CONFIG_INFO_AGGR]
    tables += [CAPACITY.replace("{KIND}", kind) for kind in ("group", "tenant")]
    statements = [_fill(statement, words) for statement in tables] + AUTH
    return [s + MYSQL_TAIL if dialect == "mysql" else s for s in statements]


def _fill(statement: str, words: dict[str, str]) -> str:
    for _ in range(2):  # HIS_25 itself holds {LONGTEXT}
        for name, word in words.items():
            statement = statement.replace("{" + name + "}", word)
    return statement


class NacosWriter:
    """Inserts rows as a Nacos node of `version` does (its column set, its public tenant)."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.public = "public" if version == "3.0" else ""
        self.clock = datetime(2025, 1, 1, 10, 0, 0)

    def config(self, config_id: int, data_id: str, group: str, tenant: str, content: str, **extra: Any) -> Executable:
        row = {"id": config_id, **self._written(data_id, group, tenant, content), "type": extra.pop("type", "text")}
        row.update(extra)
        if self.version != "2.0":
            row["encrypted_data_key"] = ""
        return _insert("config_info", row)

    def history(
        self, nid: int, config_id: int, op: str, data_id: str, group: str, tenant: str, content: str
    ) -> Executable:
        row = {"id": config_id, "nid": nid, **self._written(data_id, group, tenant, content), "op_type": op}
        if self.version != "2.0":
            row["encrypted_data_key"] = ""
        if self.version == "3.0":
            row.update(publish_type="formal", gray_name="", ext_info='{"src_user":"nacos","type":"yaml"}')
        return _insert("his_config_info", row)

    def _written(self, data_id: str, group: str, tenant: str, content: str) -> dict[str, Any]:
        """The columns every config-like row shares, as this node writes them."""
        return {
            "data_id": data_id,
            "group_id": group,
            "tenant_id": tenant,
            "app_name": "",
            "content": content,
            "md5": hashlib.md5(content.encode()).hexdigest(),
            "gmt_create": self.clock,
            "gmt_modified": self.clock,
            "src_user": "nacos",
            "src_ip": "10.0.0.5",
        }

    def gray(self, gray_id: int, data_id: str, gray_name: str, rule: str, content: str) -> Executable:
        """A `config_info_gray` row of the public namespace (2.5+), with the rule JSON as Gson writes it."""
        row = self._written(data_id, "DEFAULT_GROUP", self.public, content)
        row.update(id=gray_id, gray_name=gray_name, gray_rule=rule, encrypted_data_key="")
        return _insert("config_info_gray", row)

    def legacy_gray(self, table: str, data_id: str, content: str, **columns: str) -> Executable:
        """A row of Nacos 2.0-2.4's `config_info_beta` (`beta_ips=`) or `config_info_tag` (`tag_id=`)."""
        return _insert(table, {**self._written(data_id, "DEFAULT_GROUP", "", content), **columns})


def _insert(table: str, row: dict[str, Any]) -> Executable:
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    return text(f"INSERT INTO {table} ({names}) VALUES ({marks})").bindparams(**row)


APP_V0 = "server:\n  port: 8080\n"
APP_V1 = "server:\n  port: 9090\n"


async def build(engine: AsyncEngine, version: str, dialect: str, extra: Sequence[Executable] = ()) -> None:
    """A Nacos `version` database: app.yaml in public (changed once), db.properties in `dev`, a tag,
    for 2.0 the default nacos/nacos admin its schema file inserted, then the `extra` statements."""
    nacos = NacosWriter(version)
    async with engine.begin() as conn:
        for statement in ddl(version, dialect):
            await conn.execute(text(statement))
        await conn.execute(nacos.config(1, "app.yaml", "DEFAULT_GROUP", nacos.public, APP_V1, type="yaml"))
        await conn.execute(nacos.config(2, "db.properties", "G", "dev", "url=jdbc:x", type="properties"))
        await conn.execute(nacos.history(1, 0, "I", "app.yaml", "DEFAULT_GROUP", nacos.public, APP_V0))
        await conn.execute(nacos.history(2, 1, "U", "app.yaml", "DEFAULT_GROUP", nacos.public, APP_V0))
        await conn.execute(nacos.history(3, 0, "I", "db.properties", "G", "dev", "url=jdbc:x"))
        await conn.execute(
            _insert(
                "config_tags_relation",
                {
                    "id": 1,
                    "tag_name": "web",
                    "tag_type": "",
                    "data_id": "app.yaml",
                    "group_id": "DEFAULT_GROUP",
                    "tenant_id": nacos.public,
                    "nid": 1,
                },
            )
        )
        stamp = 1735725600000
        await conn.execute(
            _insert(
                "tenant_info",
                {
                    "id": 1,
                    "kp": "1",
                    "tenant_id": "dev",
                    "tenant_name": "Dev",
                    "tenant_desc": "development",
                    "create_source": "nacos",
                    "gmt_create": stamp,
                    "gmt_modified": stamp,
                },
            )
        )
        if version == "2.0":
            await conn.execute(_insert("users", {"username": "nacos", "password": NACOS_HASH, "enabled": True}))
            await conn.execute(_insert("roles", {"username": "nacos", "role": "ROLE_ADMIN"}))
        for more in extra:
            await conn.execute(more)
        if dialect == "postgresql":  # rows above carry explicit ids; move the sequences past them
            for table, column in (
                ("config_info", "id"),
                ("his_config_info", "nid"),
                ("tenant_info", "id"),
                ("config_tags_relation", "nid"),
            ):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT MAX({column}) FROM {table}))"
                    )
                )
