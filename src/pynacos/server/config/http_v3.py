"""Nacos 3.x config API: the admin routes `/v3/admin/cs/*` (protocol-v3 G.2) and the client read
`/v3/client/cs/config` (G.5).

Every handler calls what the v1/v2 routes call (`publish`, `remove`, the search, history and gray
helpers, `ConfigTransfer` with its per-config checks); only the wire is 3.x's:
- names: `groupName` (never `group`), `namespaceId` (blank: public, answered as `"public"`), `srcUser`,
  `configTags`; policies read the same names (`config_resources_v3`);
- answers: the `Result` envelope, errors with the 3.x code in `code`, its generic text in `message` and
  the reason in `data` (router style "v2"); the parameter checker's refusals stay plain text;
- the client read is not a `@NacosApi` route in 3.x: its errors are `caused: <reason>;` text and a
  missing config is HTTP 200 code 20004.

Scope (auth/guard.py): `/v3/admin/**` is checked while `nacos.core.auth.admin.enabled` is on (the
default), whatever `nacos.core.auth.enabled` says; `/v3/client/**` follows `nacos.core.auth.enabled`.

3.x defects not copied: clone is checked like the other admin routes (3.0.3 tags it CONSOLE_API, so the
server port never checks it); export without `ids` exports what the other parameters pick (3.0.3 fails);
list and namespace listings carry the real times and ids (3.0.3 answers 0); the by-IP listener filter
compares namespaces, not substrings of the group key; a delete with `tag` stops the tag version it names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import CONFIG_READ_V3, CONFIG_WRITE_V3
from pynacos.server.config import gray, shapes, validation
from pynacos.server.config.gray import GrayConfig
from pynacos.server.config.http import (
    history_matches,
    java_url_encode,
    long_param,
    namespace_configs,
    paged_search,
    publish,
    readable_by,
    remove,
)
from pynacos.server.config.http_v2 import MissingV2
from pynacos.server.config.longpoll import LongPollHub
from pynacos.server.config.models import Config, ConfigKey, HistoryRow, Publish
from pynacos.server.config.service import ConfigService, Search
from pynacos.server.config.transfer import CLONE_V3, POLICIES, ConfigTransfer, ImportRejected
from pynacos.server.errors import BadRequest, MissingParameter, NotFound
from pynacos.server.http import Call, Params
from pynacos.server.namespaces.service import normalise
from pynacos.server.routing import Route, route

ADMIN = "/v3/admin/cs"
CLIENT = "/v3/client/cs/config"
PUBLIC_ID = "public"
NOT_PUBLISHED = "Config not exist, please publish Config first."
MAX_HISTORY_PAGE = 500
#: pynacos's import/clone failure codes (2.x's) -> 3.x's, and 3.x's generic text for each
TRANSFER_CODES = {100001: 22001}
TRANSFER_TEXTS = {
    22001: "namespace not exist",
    100002: "Imported metadata is invalid",
    100003: "No valid data was read",
    100004: "Failed to parse data",
    100005: "Imported file data is empty",
    100006: "No configuration selected",
}


def key_v3(params: Params) -> ConfigKey:
    """`ConfigFormV3.validate()`: `groupName`, then `dataId` (blank is missing); then the parameter checker."""
    group, data_id = params.text("groupName"), params.text("dataId")
    for name, value in (("groupName", group), ("dataId", data_id)):
        if not value.strip():
            raise MissingV2(f"Required parameter '{name}' type String is not present")
    tenant = params.namespace()
    validation.check_key(tenant, group, data_id)
    return ConfigKey(normalise(tenant), group, data_id)


def page_form(params: Params) -> tuple[int, int]:
    """`PageForm`: pageNo 1 and pageSize 100 by default; below 1 is a 400 (20002)."""
    page_no, page_size = params.integer("pageNo", 1), params.integer("pageSize", 100)
    for name, value in (("pageNo", page_no), ("pageSize", page_size)):
        if value < 1:
            raise BadRequest(f"Required parameter '{name}' should be positive integer, current is {value}")
    return page_no, page_size


def user_of(call: Call) -> str | None:
    return call.principal.username if call.principal else None


# ---------------------------------------------------------------------------------------------------
# 3.x models (api/config/model/*.java), keys in Jackson's order


def basic_info(config: Config) -> dict[str, Any]:
    """ConfigBasicInfo: `id` as a string, the public namespace as `"public"`."""
    return {
        "id": str(config.id),
        "namespaceId": config.key.tenant or PUBLIC_ID,
        "groupName": config.key.group,
        "dataId": config.key.data_id,
        "md5": config.md5,
        "type": config.type,
        "appName": config.app_name,
        "createTime": shapes.epoch_ms(config.created),
        "modifyTime": shapes.epoch_ms(config.modified),
    }


def detail_info(config: Config) -> dict[str, Any]:
    """ConfigDetailInfo."""
    return {
        **basic_info(config),
        "content": config.content,
        "desc": config.desc,
        "encryptedDataKey": config.encrypted_data_key,
        "createUser": config.src_user,
        "createIp": config.src_ip,
        "configTags": ",".join(config.tags) or None,
    }


def gray_info(version: GrayConfig) -> dict[str, Any]:
    """ConfigGrayInfo: a gray row keeps no type, description or tags; `createUser` is its source user."""
    return {
        "id": str(version.id),
        "namespaceId": version.key.tenant or PUBLIC_ID,
        "groupName": version.key.group,
        "dataId": version.key.data_id,
        "md5": version.md5,
        "type": None,
        "appName": version.app_name,
        "createTime": shapes.epoch_ms(version.created),
        "modifyTime": shapes.epoch_ms(version.modified),
        "content": version.content,
        "desc": None,
        "encryptedDataKey": version.encrypted_data_key,
        "createUser": version.src_user,
        "createIp": version.src_ip,
        "configTags": None,
        "grayName": version.name,
        "grayRule": version.rule.stored(),
    }


def history_info(row: HistoryRow, detail: bool = False) -> dict[str, Any]:
    """ConfigHistoryBasicInfo (`id` = nid, no md5 in lists); the detail adds content and gray fields."""
    item: dict[str, Any] = {
        "id": str(row.nid),
        "namespaceId": row.key.tenant or PUBLIC_ID,
        "groupName": row.key.group,
        "dataId": row.key.data_id,
        "md5": row.md5 if detail else None,
        "type": None,
        "appName": row.app_name,
        "createTime": shapes.epoch_ms(row.created),
        "modifyTime": shapes.epoch_ms(row.modified),
        "srcIp": row.src_ip,
        "srcUser": row.src_user,
        "opType": row.op_type,
        "publishType": row.publish_type,
    }
    if detail:
        item.update(
            content=row.content, encryptedDataKey=row.encrypted_data_key, grayName=row.gray_name, extInfo=row.ext_info
        )
    return item


def query_response(served: Config | GrayConfig, formal: Config | None) -> dict[str, Any]:
    """The gRPC ConfigQueryResponse as Spring writes it (the client read's `data`)."""
    matched_tag = isinstance(served, GrayConfig) and served.rule.type != gray.BETA
    return {
        "resultCode": 200,
        "errorCode": 0,
        "message": None,
        "requestId": None,
        "content": served.content,
        "encryptedDataKey": served.encrypted_data_key or None,
        "contentType": (formal.type if formal else None) or "text",
        "md5": served.md5,
        "lastModified": shapes.epoch_ms(served.modified),
        "beta": isinstance(served, GrayConfig) and served.rule.type == gray.BETA,
        "tag": java_url_encode(served.rule.expr) if isinstance(served, GrayConfig) and matched_tag else None,
        "success": True,
    }


async def transfer_result(work: Awaitable[dict[str, Any]]) -> Response:
    """An import or clone: `Result.success(map)`, or HTTP 200 with the 3.x failure code and the map."""
    try:
        data = await work
    except ImportRejected as exc:
        code = TRANSFER_CODES.get(exc.code, exc.code)
        return http.json({"code": code, "message": TRANSFER_TEXTS.get(code, exc.message), "data": exc.data})
    return http.result(data)


def checked_policy(params: Params) -> None:
    """`SameConfigPolicy` binding: an unknown policy is a 400 before anything is read or written."""
    policy = params.text("policy", "ABORT").strip().upper() or "ABORT"
    if policy not in POLICIES:
        raise BadRequest(f"policy must be one of {', '.join(POLICIES)}, not '{params.text('policy')[:64]}'")


class ConfigRoutesV3:
    """Handlers of `/v3/admin/cs/*` and `/v3/client/cs/config`; `routes()` is their part of the table."""

    def __init__(
        self,
        service: ConfigService,
        hub: LongPollHub,
        transfer: ConfigTransfer,
        on_blur_search: Callable[[], None] = lambda: None,
    ) -> None:
        self.service = service
        self.hub = hub
        self.transfer = transfer
        self.permits = transfer.permits
        self.on_blur_search = on_blur_search

    def routes(self) -> list[Route]:
        config, history = f"{ADMIN}/config", f"{ADMIN}/history"
        read, write = CONFIG_READ_V3, CONFIG_WRITE_V3
        return [
            route(config, "GET", self.get, read, "v2"),
            route(config, "POST", self.publish, write, "v2"),
            route(config, "DELETE", self.delete, write, "v2"),
            route(f"{config}/batch", "DELETE", self.delete_batch, write, "v2"),
            route(f"{config}/listener", "GET", self.listeners_of_config, write, "v2"),  # sic: `w` in 3.x
            route(f"{config}/list", "GET", self.search, read, "v2"),
            route(f"{config}/beta", "GET", self.get_beta, read, "v2"),
            route(f"{config}/beta", "DELETE", self.stop_beta, write, "v2"),
            route(f"{config}/import", "POST", self.import_configs, write, "v2"),
            route(f"{config}/export", "GET", self.export, read, "v2"),
            route(f"{config}/clone", "POST", self.clone, write, "v2"),
            route(f"{config}/metadata", "PUT", self.update_metadata, write, "v2"),
            route(f"{history}/list", "GET", self.history_list, read, "v2"),
            route(history, "GET", self.history_detail, read, "v2"),
            route(f"{history}/previous", "GET", self.history_previous, read, "v2"),
            route(f"{history}/configs", "GET", self.history_configs, read, "v2"),
            route(f"{ADMIN}/listener", "GET", self.configs_of_listener, read, "v2"),
            route(CLIENT, "GET", self.client_get, read),
        ]

    async def get(self, call: Call) -> Response:
        config = self.service.get(key_v3(call.params))
        if config is None:
            raise NotFound(NOT_PUBLISHED)
        return http.result(detail_info(config))

    async def publish(self, call: Call) -> Response:
        """Upsert; header `betaIps` or parameter `tag` makes a gray version, header `casMd5` a CAS."""
        p = call.params
        key = key_v3(p)
        if not p.text("content").strip():
            raise MissingV2("Required parameter 'content' type String is not present")
        await publish(self.service, call, key, p.text("content"), v2=True)
        return http.result(True)

    async def delete(self, call: Call) -> Response:
        key = key_v3(call.params)
        validation.validate_key(key.data_id, key.group)
        await remove(self.service, call, key, user_of(call))
        return http.result(True)

    async def delete_batch(self, call: Call) -> Response:
        """Configs by id in any namespace, as in 3.x, but only if the caller may write every one of them
        (checked before any is deleted); unknown ids are skipped."""
        if "ids" not in call.params:
            raise MissingParameter("ids", "List")
        configs = self.service.by_ids(validation.parse_ids(call.params["ids"]), tenant=None)
        self.transfer.check_all(call, [c.key for c in configs], "w")
        for config in configs:
            await self.service.remove(config.key, user_of(call), call.client_ip)
        return http.result(True)

    async def listeners_of_config(self, call: Call) -> Response:
        """HTTP long polls on the config (one node answers for the cluster: `aggregation` is read, not used)."""
        key = key_v3(call.params)
        call.params.flag("aggregation", True)
        status = {waiter.client_ip: waiter.md5s[key] for waiter in self.hub.listeners_of(key)}
        return http.result({"queryType": "config", "listenersStatus": status})

    async def configs_of_listener(self, call: Call) -> Response:
        """What one client IP listens to: keys of the public namespace, of `namespaceId`, or with `all` every
        key, and of those only the ones the caller may read."""
        p = call.params
        ip, everything = p.required("ip"), p.flag("all")
        p.flag("aggregation", True)
        named = p.namespace()
        tenant = normalise(named) if named.strip() else ""
        readable = readable_by(self.permits, call)
        status = {
            key.group_key(): md5
            for waiter in self.hub.all_waiters()
            if waiter.client_ip == ip
            for key, md5 in waiter.md5s.items()
            if (everything or key.tenant == tenant) and readable(key)
        }
        return http.result({"queryType": "ip", "listenersStatus": status})

    async def search(self, call: Call) -> Response:
        """`search=blur` (default; `*` is the wildcard) or anything else for exact fields; `configDetail`
        filters on content; only configs the caller may read are counted and listed."""
        p = call.params
        return http.result(self.search_page(call, p.text("search", "blur") == "blur", p.text("configDetail")))

    def search_page(self, call: Call, blur: bool, content: str) -> dict[str, Any]:
        """The Page of ConfigBasicInfo a search finds; the console's list shares it, always blur and
        without a content filter."""
        p = call.params
        group, data_id = p.text("groupName"), p.text("dataId")
        if not blur:
            validation.check_key(p.namespace(), group, data_id)
        page_no, page_size = page_form(p)
        query = Search(
            tenant=normalise(p.namespace()),
            data_id=data_id,
            group=group,
            app_name=p.text("appName"),
            tags=validation.parse_tags(p.get("configTags")) or (),
            types=validation.parse_tags(p.get("type")) or (),
            content=content,
            blur=blur,
        )
        page = paged_search(self.service, query, readable_by(self.permits, call), page_no, page_size, basic_info)
        if blur:
            self.on_blur_search()
        return page

    async def get_beta(self, call: Call) -> Response:
        version = self.service.gray_named(key_v3(call.params), gray.BETA)
        if version is None:
            raise NotFound("Config is not in beta.")
        return http.result(gray_info(version))

    async def stop_beta(self, call: Call) -> Response:
        key = key_v3(call.params)
        await self.service.remove_gray(key, gray.BETA, user_of(call), call.client_ip)
        return http.result(True)

    async def import_configs(self, call: Call) -> Response:
        checked_policy(call.params)
        return await transfer_result(self.transfer.import_configs(call))

    async def export(self, call: Call) -> Response:
        """A zip with `.metadata.yml`, of `ids` or of what dataId/groupName/appName pick (every one readable)."""
        return self.transfer.export_response(call, v2=True, group_name="groupName")

    async def clone(self, call: Call) -> Response:
        """`?namespaceId=<target>` with a JSON body `[{"configId":1,"targetGroupName":..,"targetDataId":..}]`."""
        checked_policy(call.params)
        return await transfer_result(self.transfer.clone_configs(call, CLONE_V3))

    async def update_metadata(self, call: Call) -> Response:
        """`configTags` and `desc` of an existing config (absent: kept); the content stays, so listeners are
        not told. A change to the content meanwhile makes this a CAS conflict rather than undoing it."""
        p = call.params
        key = key_v3(p)
        config = self.service.get(key)
        if config is None:
            raise NotFound(NOT_PUBLISHED)
        request = Publish(
            key=key,
            content=config.content,
            type=config.type,
            app_name=config.app_name,
            desc=config.desc if p.get("desc") is None else p["desc"],
            use=config.use,
            effect=config.effect,
            schema=config.schema,
            tags=validation.parse_tags(p.get("configTags")),
            encrypted_data_key=config.encrypted_data_key or None,
            cas_md5=config.md5,
            src_user=user_of(call) or p.optional("srcUser"),
            src_ip=call.client_ip,
        )
        await self.service.publish(request)
        return http.result(True)

    async def history_list(self, call: Call) -> Response:
        key = key_v3(call.params)
        page_no, page_size = page_form(call.params)
        page_size = min(page_size, MAX_HISTORY_PAGE)
        total, rows = await self.service.history_page(key, page_no, page_size)
        return http.result(http.page(total, page_no, page_size, [history_info(r) for r in rows]))

    async def history_detail(self, call: Call) -> Response:
        nid = long_param(call.params, "nid")
        key = key_v3(call.params)
        row = await self.service.history_row(nid)
        if row is None:
            raise NotFound(f"certain config history for nid = {nid} not exist")
        return http.result(history_info(history_matches(row, key), detail=True))

    async def history_previous(self, call: Call) -> Response:
        config_id = long_param(call.params, "id")
        key = key_v3(call.params)
        row = await self.service.history_previous(config_id)
        if row is None:
            raise NotFound(f"previous config history for id = {config_id} not exist")
        return http.result(history_info(history_matches(row, key), detail=True))

    async def history_configs(self, call: Call) -> Response:
        p = call.params
        p.required("namespaceId")
        validation.check_namespace(p.namespace())  # the parameter checker first, as in 3.x
        validation.validate_tenant(normalise(p.namespace()), "namespaceId")
        readable = readable_by(self.permits, call)
        return http.result(namespace_configs(self.service, p, "namespaceId", readable, basic_info))

    async def client_get(self, call: Call) -> Response:
        """The served version (beta by client IP, else the formal config) as a ConfigQueryResponse."""
        key = key_v3(call.params)
        formal = self.service.get(key)
        version = self.service.gray_for(key, call.client_ip, None) if self.service.has_gray(key) else None
        served = version or formal
        if served is None:
            return http.json({"code": 20004, "message": "resource not found", "data": None})
        return http.result(query_response(served, formal))
