"""Config center over HTTP v2 (`/v2/cs/...`): the `{code,message,data}` envelope and its codes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import CONFIG_READ, CONFIG_WRITE
from pynacos.server.config import shapes, validation
from pynacos.server.config.http import (
    config_headers,
    gray_headers,
    history_matches,
    key_from,
    long_param,
    namespace_configs,
    publish,
    readable_by,
    remove,
    search_page,
    served_tag,
)
from pynacos.server.config.models import ConfigKey, HistoryRow
from pynacos.server.config.service import ConfigService
from pynacos.server.config.transfer import Permits
from pynacos.server.errors import BadRequest, NotFound
from pynacos.server.http import Call
from pynacos.server.routing import Route, route

_NOT_FOUND = orjson.dumps({"code": 20004, "message": "resource not found", "data": "config data not exist"}) + b"\n"


class MissingV2(BadRequest):
    """v2 publish reports missing fields with its own sentence and code 10000."""

    code = 10000
    title = "parameter missing"


def key_v2(call: Call) -> ConfigKey:
    key = key_from(call.params)
    validation.validate_tenant(key.tenant, "namespaceId")
    validation.validate_key(key.data_id, key.group)
    return key


class ConfigRoutesV2:
    def __init__(self, service: ConfigService, permits: Permits = lambda call, resources, action: True) -> None:
        self.service = service
        #: the auth guard's answer for configs a listing walks (always yes with auth off)
        self.permits = permits

    def routes(self) -> list[Route]:
        return [
            route("/v2/cs/config", "GET", self.get, CONFIG_READ, "v2"),
            route("/v2/cs/config", "POST", self.publish, CONFIG_WRITE, "v2"),
            route("/v2/cs/config", "DELETE", self.delete, CONFIG_WRITE, "v2"),
            route("/v2/cs/config/searchDetail", "GET", self.search_detail, CONFIG_READ),
            route("/v2/cs/history/list", "GET", self.history_list, CONFIG_READ, "v2"),
            route("/v2/cs/history", "GET", self.history_detail, CONFIG_READ, "v2"),
            route("/v2/cs/history/detail", "GET", self.history_diff, CONFIG_READ, "v2"),
            route("/v2/cs/history/previous", "GET", self.history_previous, CONFIG_READ, "v2"),
            route("/v2/cs/history/configs", "GET", self.history_configs, CONFIG_READ, "v2"),
        ]

    async def get(self, call: Call) -> Response:
        key = key_v2(call)
        config = self.service.get(key)
        version = self.service.gray_for(key, call.client_ip, served_tag(call))
        if version is not None:
            body = orjson.dumps({"code": 0, "message": "success", "data": version.content})
            return Response(body, headers=gray_headers(version, config), media_type=http.JSON_UTF8)
        if config is None or call.params.optional("tag"):
            return Response(_NOT_FOUND, 404, media_type=http.JSON_UTF8)
        body = orjson.dumps({"code": 0, "message": "success", "data": config.content})
        return Response(body, headers=config_headers(config), media_type=http.JSON_UTF8)

    async def publish(self, call: Call) -> Response:
        p = call.params
        for name in ("dataId", "group", "content"):
            if not p.text(name).strip():
                raise MissingV2(f"Required parameter '{name}' type String is not present")
        key = key_from(p)
        await publish(self.service, call, key, p.text("content"), v2=True)
        return http.result(True)

    async def delete(self, call: Call) -> Response:
        key = key_v2(call)
        await remove(self.service, call, key, call.principal.username if call.principal else None)
        return http.result(True)

    async def search_detail(self, call: Call) -> Response:
        """Console search with a content filter; a raw Page like the v1 search (not enveloped)."""
        p = call.params
        content = p.required("config_detail")
        blur = p.text("search", "blur") != "accurate"
        return http.json(search_page(self.service, p, blur, readable_by(self.permits, call), content))

    async def history_list(self, call: Call) -> Response:
        key = key_from(call.params)
        page_no, page_size = call.params.integer("pageNo", 1), min(call.params.integer("pageSize", 100), 500)
        if page_no <= 0 or page_size <= 0:
            raise BadRequest("pageNo and pageSize must be greater than zero")
        total, rows = await self.service.history_page(key, page_no, page_size)
        return http.result(http.page(total, page_no, page_size, [shapes.history_item(r) for r in rows]))

    async def _row(self, call: Call) -> HistoryRow:
        nid = long_param(call.params, "nid")
        row = await self.service.history_row(nid)
        if row is None:
            raise NotFound(f"certain config history for nid = {nid} not exist")
        return history_matches(row, key_from(call.params))

    async def history_detail(self, call: Call) -> Response:
        return http.result(shapes.history_item(await self._row(call), detail=True))

    async def history_diff(self, call: Call) -> Response:
        row = await self._row(call)
        return http.result(await self._diff(row))

    async def _diff(self, row: HistoryRow) -> dict[str, Any]:
        """What the change recorded by `row` turned the config from and into."""
        item = shapes.history_item(row, detail=True)
        base = {
            k: item[k]
            for k in (
                "dataId",
                "group",
                "tenant",
                "opType",
                "publishType",
                "grayName",
                "appName",
                "srcIp",
                "srcUser",
                "createdTime",
                "lastModifiedTime",
            )
        }
        base.update(id=row.nid, lastId=-1)
        original: dict[str, Any] = {
            "Md5": row.md5,
            "Content": row.content,
            "EncryptedDataKey": row.encrypted_data_key,
            "ExtInfo": row.ext_info,
        }
        updated: dict[str, Any] = dict.fromkeys(original)
        if row.op_type == "I":
            updated, original = original, dict.fromkeys(original, "")
        elif row.op_type == "U":
            after = await self.service.history_after(row)
            current = self.service.get(row.key)
            if after is not None:
                updated = {
                    "Md5": after.md5,
                    "Content": after.content,
                    "EncryptedDataKey": after.encrypted_data_key,
                    "ExtInfo": after.ext_info,
                }
            elif current is not None:  # Nacos leaves updateExtInfo unset when the live config answers
                updated = {
                    "Md5": current.md5,
                    "Content": current.content,
                    "EncryptedDataKey": current.encrypted_data_key,
                    "ExtInfo": None,
                }
        base.update({"original" + name: value for name, value in original.items()})
        base.update({"updated" + name: value for name, value in updated.items() if name != "ExtInfo"})
        base["updateExtInfo"] = updated["ExtInfo"]  # sic: Nacos's field is `updateExtInfo`
        return base

    async def history_previous(self, call: Call) -> Response:
        config_id = long_param(call.params, "id")
        row = await self.service.history_previous(config_id)
        if row is None:
            raise NotFound(f"previous config history for id = {config_id} not exist")
        return http.result(shapes.history_item(history_matches(row, key_from(call.params)), detail=True))

    async def history_configs(self, call: Call) -> Response:
        return http.result(namespace_configs(self.service, call.params, "namespaceId", readable_by(self.permits, call)))
