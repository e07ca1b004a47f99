"""The JSON shapes Nacos gives configs and history rows (ids as strings, times as Nacos writes them)."""

from __future__ import annotations

from datetime import datetime
from email.utils import formatdate
from typing import Any

from pynacos.server.config.gray import GrayConfig
from pynacos.server.config.models import Config, HistoryRow


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso(moment: datetime) -> str:
    """Jackson's `java.sql.Timestamp` form: `2024-05-06T10:11:12.000+08:00` in the server's zone."""
    return moment.astimezone().isoformat(timespec="milliseconds")


def http_date(moment: datetime) -> str:
    return formatdate(moment.timestamp(), usegmt=True)


def config_all(config: Config) -> dict[str, Any]:
    """`show=all` (ConfigAllInfo)."""
    return {
        "id": str(config.id),
        "dataId": config.key.data_id,
        "group": config.key.group,
        "content": config.content,
        "md5": config.md5,
        "encryptedDataKey": config.encrypted_data_key,
        "tenant": config.key.tenant,
        "appName": config.app_name,
        "type": config.type,
        "createTime": epoch_ms(config.created),
        "modifyTime": epoch_ms(config.modified),
        "createUser": config.src_user,
        "createIp": config.src_ip,
        "desc": config.desc,
        "use": config.use,
        "effect": config.effect,
        "schema": config.schema,
        "configTags": ",".join(config.tags) or None,
    }


def config_item(config: Config) -> dict[str, Any]:
    """A search result row (ConfigInfo)."""
    return {
        "id": str(config.id),
        "dataId": config.key.data_id,
        "group": config.key.group,
        "content": config.content,
        "md5": None,
        "encryptedDataKey": config.encrypted_data_key,
        "tenant": config.key.tenant,
        "appName": config.app_name,
        "type": config.type,
    }


def beta(version: GrayConfig) -> dict[str, Any]:
    """`GET ?beta=true` (ConfigInfo4Beta): the id as a string, `type` null (gray rows keep none)."""
    return {
        "id": str(version.id),
        "dataId": version.key.data_id,
        "group": version.key.group,
        "content": version.content,
        "md5": version.md5,
        "encryptedDataKey": version.encrypted_data_key,
        "tenant": version.key.tenant,
        "appName": version.app_name,
        "type": None,
        "betaIps": version.rule.expr,
    }


def catalog(config: Config) -> dict[str, Any]:
    return {
        "createTime": epoch_ms(config.created),
        "modifyTime": epoch_ms(config.modified),
        "createUser": config.src_user,
        "createIp": config.src_ip,
        "desc": config.desc,
        "use": config.use,
        "effect": config.effect,
        "type": config.type,
        "schema": config.schema,
        "configTags": ",".join(config.tags) or None,
    }


def history_item(row: HistoryRow, detail: bool = False) -> dict[str, Any]:
    """A history row; the list leaves content and md5 out, the detail fills them in."""
    return {
        "id": str(row.nid),
        "lastId": -1,
        "dataId": row.key.data_id,
        "group": row.key.group,
        "tenant": row.key.tenant,
        "appName": row.app_name,
        "md5": row.md5 if detail else None,
        "content": row.content if detail else None,
        "srcIp": row.src_ip,
        "srcUser": row.src_user,
        "opType": row.op_type,
        "publishType": row.publish_type,
        "grayName": row.gray_name,
        "extInfo": row.ext_info,
        "createdTime": iso(row.created),
        "lastModifiedTime": iso(row.modified),
        "encryptedDataKey": row.encrypted_data_key if detail else None,
    }


def namespace_config(config: Config) -> dict[str, Any]:
    """`/history/configs` rows."""
    return {
        "id": "0",
        "dataId": config.key.data_id,
        "group": config.key.group,
        "content": None,
        "md5": None,
        "encryptedDataKey": None,
        "tenant": config.key.tenant,
        "appName": config.app_name,
        "type": config.type,
        "lastModified": 0,
    }
