"""Config center over HTTP v1 (`/v1/cs/...`), with Nacos's exact bodies and headers.

One path serves several Nacos handlers picked by a parameter value (`show=all`, `search=accurate`,
`export=true`, `delType=ids`, ...); the variants share the route's policy, as in Nacos.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import CONFIG_READ, CONFIG_WRITE, Secured, namespaced
from pynacos.server.characters import JAVA_LONG_MAX
from pynacos.server.config import gray, shapes, validation
from pynacos.server.config.gray import GrayConfig, GrayRule
from pynacos.server.config.longpoll import LongPollHub
from pynacos.server.config.models import Config, ConfigKey, HistoryRow, Publish
from pynacos.server.config.service import ConfigService, Search
from pynacos.server.config.transfer import ConfigTransfer, Permits, resource_of
from pynacos.server.errors import BadRequest, Forbidden, MissingParameter
from pynacos.server.http import Call, Params
from pynacos.server.namespaces.service import normalise
from pynacos.server.routing import Route, route

NOT_FOUND_BODY = "config data not exist\n"
MAX_LISTEN_KEYS = 10000
WORD, LINE = "\x02", "\x01"


def key_from(params: Params, check: bool = True) -> ConfigKey:
    """dataId, group and namespace of a request, through Nacos's param-check filter."""
    data_id, group = params.required("dataId"), params.required("group")
    tenant = params.namespace()
    if check:
        validation.check_key(tenant, group, data_id)
    return ConfigKey(normalise(tenant), group, data_id)


def config_headers(config: Config | GrayConfig, config_type: str | None = None) -> dict[str, str]:
    """The headers of a read: the served version's md5, time and key; the type is the formal config's."""
    headers = {
        **http.NO_CACHE,
        "Config-Type": (config.type if isinstance(config, Config) else config_type) or "text",
        "Content-MD5": config.md5,
        "Last-Modified": shapes.http_date(config.modified),
    }
    if config.encrypted_data_key:
        headers["Encrypted-Data-Key"] = config.encrypted_data_key
    return headers


def gray_rule_of(call: Call) -> GrayRule | None:
    """Header `betaIps` makes a beta version, else param `tag` a tag version (the tag is checked either way)."""
    tag = call.params.optional("tag") or ""
    tag_rule = gray.tag_rule(tag) if tag.strip() else None
    beta_ips = call.headers.get("betaIps", "")
    return gray.beta_rule(beta_ips) if beta_ips.strip() else tag_rule


async def publish(service: ConfigService, call: Call, key: ConfigKey, content: str, v2: bool = False) -> None:
    """A formal publish, or a gray one when the request names a beta list or a tag."""
    rule = gray_rule_of(call)
    request = publish_request(call, key, content, v2)
    if rule is None:
        await service.publish(request)
    else:
        await service.publish_gray(request, rule)


def served_tag(call: Call) -> str | None:
    """The tag a read asks for: param `tag`, else header `Vipserver-Tag`."""
    tag = call.params.optional("tag")
    if tag is not None and tag.strip():
        return tag
    return call.headers.get("Vipserver-Tag", "").strip() or None


def gray_headers(version: GrayConfig, formal: Config | None) -> dict[str, str]:
    """A read served from a gray version also says which: `isBeta`, or the `tag` it matched."""
    headers = config_headers(version, formal.type if formal else None)
    if version.rule.type == gray.BETA:
        headers["isBeta"] = "true"
    else:
        headers["tag"] = java_url_encode(version.rule.expr)
    return headers


def publish_request(call: Call, key: ConfigKey, content: str, v2: bool = False) -> Publish:
    """A publish from v1 (`src_user`, `config_tags`) or v2 (`srcUser`, `configTags`) parameter names."""
    p = call.params
    src_user = p.optional("srcUser" if v2 else "src_user")
    if src_user is None:
        src_user = call.principal.username if call.principal else p.optional("username")
    return Publish(
        key=key,
        content=content,
        type=p.get("type"),
        app_name=p.get("appName"),
        desc=p.get("desc"),
        use=p.get("use"),
        effect=p.get("effect"),
        schema=p.get("schema"),
        tags=validation.parse_tags(p.get("configTags" if v2 else "config_tags")),
        encrypted_data_key=p.optional("encryptedDataKey"),
        cas_md5=call.headers.get("casMd5", "").strip() or None,  # blank: a plain publish, as in Nacos
        src_user=src_user,
        src_ip=call.client_ip,
    )


def page_args(params: Params, key_text: str) -> tuple[int, int]:
    page_no, page_size = params.integer("pageNo"), params.integer("pageSize")
    if page_no <= 0 or page_size <= 0:
        raise BadRequest(f"serialize page error, {key_text};caused: pageNo and pageSize must be greater than zero")
    return page_no, page_size


def long_param(params: Params, name: str) -> int:
    """`nid` and `id` are Long parameters in Nacos; a missing one names that type."""
    if not params.text(name).strip():
        raise MissingParameter(name, "Long")
    return params.integer(name, limit=JAVA_LONG_MAX)


def history_matches(row: HistoryRow, key: ConfigKey) -> HistoryRow:
    if row.key != key:
        raise Forbidden("Please check dataId, group or namespaceId.")
    return row


class ConfigRoutes:
    """Handlers of `/v1/cs/*`; `routes()` is this module's part of the route table."""

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
        self.on_blur_search = on_blur_search  # Nacos's fuzzySearch figure
        self._encoded: dict[ConfigKey, tuple[Config, bytes, list[tuple[bytes, bytes]]]] = {}

    def routes(self) -> list[Route]:
        return [
            route("/v1/cs/configs", "GET", self.get_variants, CONFIG_READ),
            route("/v1/cs/configs", "POST", self.post_variants, CONFIG_WRITE),
            route("/v1/cs/configs", "DELETE", self.delete_variants, CONFIG_WRITE),
            route("/v1/cs/configs/listener", "POST", self.listen, Secured("r", listen_resources)),
            route("/v1/cs/configs/listener", "GET", self.listeners_of_config, CONFIG_READ),
            route("/v1/cs/listener", "GET", self.configs_of_listener, Secured("r", resource="/v1/cs/listener")),
            route("/v1/cs/configs/catalog", "GET", self.catalog, CONFIG_READ),
            route("/v1/cs/history", "GET", self.history, CONFIG_READ),
            route("/v1/cs/history/previous", "GET", self.history_previous, CONFIG_READ),
            route("/v1/cs/history/configs", "GET", self.history_configs, CONFIG_READ),
        ]

    async def get_variants(self, call: Call) -> Response:
        p = call.params
        if p.get("show") == "all":
            return self.show_all(call)
        if p.get("search") in ("accurate", "blur"):
            return self.search(call)
        if p.get("export") == "true" or p.get("exportV2") == "true":
            return self.transfer.export_response(call, v2=p.get("exportV2") == "true")
        if p.flag("beta"):
            version = self.service.gray_named(key_from(p), gray.BETA)
            return http.rest_result(shapes.beta(version) if version else None, message="query beta ok")
        return self.get(call)

    def get(self, call: Call) -> Response:
        """The hot path: validation results and encoded answers are cached per config version."""
        params = call.params
        data_id, group = params.required("dataId"), params.required("group")
        tenant = params.namespace()
        validation.check_readable_key(tenant, group, data_id)
        key = ConfigKey(normalise(tenant), group, data_id)
        config = self.service.get(key)
        version = self.service.gray_for(key, call.client_ip, served_tag(call)) if self.service.has_gray(key) else None
        if version is not None:
            return http.text(version.content, headers=gray_headers(version, config), media_type=http.TEXT_UTF8)
        if config is None or params.optional("tag"):  # an unmatched tag param never falls back to the formal one
            self._encoded.pop(key, None)
            return http.text(NOT_FOUND_BODY, 404, media_type=http.JSON_UTF8)
        cached = self._encoded.get(config.key)
        if cached is None or cached[0] is not config:
            headers = http.encode_headers(config_headers(config), http.TEXT_UTF8)
            cached = self._encoded[config.key] = (config, config.content.encode("utf-8"), headers)
        return http.Prebuilt(cached[1], cached[2])

    def show_all(self, call: Call) -> Response:
        config = self.service.get(key_from(call.params))
        if config is None:
            return http.text("", media_type=http.JSON_UTF8)
        return http.json(shapes.config_all(config))

    def search(self, call: Call) -> Response:
        blur = call.params.get("search") == "blur"
        page = search_page(self.service, call.params, blur=blur, readable=readable_by(self.transfer.permits, call))
        if blur:
            self.on_blur_search()
        return http.json(page)

    async def post_variants(self, call: Call) -> Response:
        if call.params.get("import") == "true":
            return await self.transfer.import_response(call)
        if call.params.get("clone") == "true":
            return await self.transfer.clone_response(call)
        p = call.params
        key = key_from(p)
        await publish(self.service, call, key, p.required("content"))
        return http.boolean(True)

    async def delete_variants(self, call: Call) -> Response:
        p = call.params
        if p.flag("beta"):  # "stop beta" must never fall through to deleting the formal config
            await self.service.remove_gray(key_from(p), gray.BETA, self._user(call), call.client_ip)
            return http.rest_result(True, message="stop beta ok")
        if p.get("delType") == "ids":
            ids = validation.parse_ids(p.required("ids"))
            configs = self.service.by_ids(ids, normalise(p.namespace()))
            self.transfer.check_all(call, [c.key for c in configs], "w")  # every one, before deleting any
            for config in configs:
                await self.service.remove(config.key, self._user(call), call.client_ip)
            return http.rest_result(True)
        key = key_from(p)
        validation.validate_tenant(key.tenant)
        validation.validate_key(key.data_id, key.group)
        await remove(self.service, call, key, self._user(call))
        return http.boolean(True)

    def _user(self, call: Call) -> str | None:
        return call.principal.username if call.principal else call.params.optional("username")

    async def listen(self, call: Call) -> Response:
        """Nacos's long-polling listener; see `longpoll.py` for the invariants."""
        md5s, as_sent = parse_listening(call.params.text("Listening-Configs"))
        timeout_header = call.headers.get("Long-Pulling-Timeout")
        hold_for = hold_seconds(timeout_header) if timeout_header is not None else 0.0  # a bad header is a 400
        with self.hub.hold(md5s, call.client_ip) as waiter:
            tag = call.headers.get("Vipserver-Tag", "").strip() or None
            changed = [
                as_sent.get(key, key) for key, md5 in md5s.items() if self.service.md5(key, call.client_ip, tag) != md5
            ]
            if timeout_header is None:
                return short_poll_response(changed, call.headers.get("Client-Version", ""))
            if changed:
                return changed_response(changed)
            if call.header_flag("Long-Pulling-Timeout-No-Hangup"):
                return http.text("", media_type=http.JSON_UTF8)
            key = await waiter.wait(hold_for, stop=client_gone(call))
        if key is None:
            return http.text("", media_type=http.JSON_UTF8)
        return changed_response([as_sent.get(key, key)])

    async def listeners_of_config(self, call: Call) -> Response:
        p = call.params
        group = p.required("group").strip() or "DEFAULT_GROUP"
        key = ConfigKey(normalise(p.namespace()), group, p.required("dataId"))
        status = {w.client_ip: w.md5s[key] for w in self.hub.listeners_of(key)}
        return http.json({"collectStatus": 200, "lisentersGroupkeyStatus": status})

    async def configs_of_listener(self, call: Call) -> Response:
        p = call.params
        ip, tenant, everything = p.required("ip"), p.text("tenant"), p.flag("all")
        status: dict[str, str] = {}
        for waiter in self.hub.all_waiters():
            if waiter.client_ip != ip:
                continue
            for key, md5 in waiter.md5s.items():
                group_key = key.group_key()
                if not key.tenant or everything or (tenant and tenant in group_key):
                    status[group_key] = md5
        return http.json({"collectStatus": 200, "lisentersGroupkeyStatus": status})

    async def catalog(self, call: Call) -> Response:
        config = self.service.get(key_from(call.params))
        return http.rest_result(shapes.catalog(config) if config else None)

    async def history(self, call: Call) -> Response:
        p = call.params
        if p.get("search") == "accurate":
            key = key_from(p)
            page_no, page_size = p.integer("pageNo", 1), p.integer("pageSize", 100)
            if page_no <= 0 or page_size <= 0:
                raise BadRequest("pageNo and pageSize must be greater than zero")
            total, rows = await self.service.history_page(key, page_no, min(page_size, 500))
            items = [shapes.history_item(r) for r in rows]
            return http.json(http.page(total, page_no, min(page_size, 500), items))
        nid = long_param(p, "nid")
        key = key_from(p)
        row = await self.service.history_row(nid)
        if row is None:
            return http.text("", media_type=http.JSON_UTF8)
        return http.json(shapes.history_item(history_matches(row, key), detail=True))

    async def history_previous(self, call: Call) -> Response:
        config_id = long_param(call.params, "id")
        key = key_from(call.params)
        row = await self.service.history_previous(config_id)
        if row is None:
            return http.text("", media_type=http.JSON_UTF8)
        return http.json(shapes.history_item(history_matches(row, key), detail=True))

    async def history_configs(self, call: Call) -> Response:
        return http.json(
            namespace_configs(self.service, call.params, "tenant", readable_by(self.transfer.permits, call))
        )


def readable_by(permits: Permits, call: Call) -> Callable[[ConfigKey], bool]:
    """Which configs a listing may show this caller: those it may read. The route's policy checked only the
    group and dataId its parameters name, which a search pattern or a namespace listing goes beyond."""
    return lambda key: permits(call, [resource_of(key)], "r")


def search_page(
    service: ConfigService,
    params: Params,
    blur: bool,
    readable: Callable[[ConfigKey], bool],
    content: str = "",
) -> dict[str, Any]:
    """A search page (v1 `search=accurate|blur`, v2 `searchDetail` with its `config_detail` content filter)
    of the configs the caller may read; the total counts only those."""
    data_id, group = params.required("dataId"), params.required("group")
    if not blur:  # Nacos's param-check filter skips blur searches only
        validation.check_key(params.namespace(), group, data_id)
    page_no, page_size = page_args(params, f"dataId={data_id}, group={group}")
    query = Search(
        tenant=normalise(params.namespace()),
        data_id=data_id,
        group=group,
        app_name=params.text("appName"),
        tags=validation.parse_tags(params.get("config_tags")) or (),
        types=(validation.parse_tags(params.get("types")) or ()) if blur else (),
        content=content,
        blur=blur,
    )
    return paged_search(service, query, readable, page_no, page_size, shapes.config_item)


def paged_search(
    service: ConfigService,
    query: Search,
    readable: Callable[[ConfigKey], bool],
    page_no: int,
    page_size: int,
    shape: Callable[[Config], dict[str, Any]],
) -> dict[str, Any]:
    """One page of the configs a search finds that the caller may read; the total counts only those."""
    found = [c for c in service.search(query) if readable(c.key)]
    items = [shape(c) for c in found[(page_no - 1) * page_size : page_no * page_size]]
    return http.page(len(found), page_no, page_size, items)


async def remove(service: ConfigService, call: Call, key: ConfigKey, user: str | None) -> None:
    """A delete with `tag=t` stops the tag version `t` only (Nacos 2.5.1 looks for a gray named `t`,
    which never exists); without a tag it deletes the formal config and leaves gray versions, as Nacos."""
    tag = call.params.optional("tag") or ""
    if tag.strip():
        await service.remove_gray(key, gray.tag_rule(tag).name, user, call.client_ip)
    else:
        await service.remove(key, user, call.client_ip)


def namespace_configs(
    service: ConfigService,
    params: Params,
    required_name: str,
    readable: Callable[[ConfigKey], bool],
    shape: Callable[[Config], dict[str, Any]] = shapes.namespace_config,
) -> list[dict[str, Any]]:
    """`/history/configs`: every config of one namespace the caller may read, in Nacos's short shape."""
    params.required(required_name)
    tenant = params.namespace()
    validation.check_namespace(tenant)
    found = service.search(Search(tenant=normalise(tenant)))
    return [shape(c) for c in found if readable(c.key)]


async def client_gone(call: Call) -> None:
    """Returns when the client disconnects (the request body has been read already)."""
    while (await call.http_request.receive())["type"] != "http.disconnect":
        pass


def parse_listening(raw: str) -> tuple[dict[ConfigKey, str], dict[ConfigKey, ConfigKey]]:
    """`dataId^2group^2md5[^2tenant]^1...` -> ({key: client md5}, {key: the key as the client spelled it}).

    Anything malformed is a 400. Changed keys are answered as spelled: a client listening with
    tenant `public` matches the answer against `public`, not against the normalised `""`.
    """
    invalid = BadRequest("invalid probeModify")
    text = unquote_plus(raw)
    lines = text.split(LINE)[:-1]  # a trailing fragment without its terminator is ignored
    if not text.strip() or not lines or len(lines) > MAX_LISTEN_KEYS:
        raise invalid
    md5s: dict[ConfigKey, str] = {}
    as_sent: dict[ConfigKey, ConfigKey] = {}
    for line in lines:
        fields = line.split(WORD)
        if len(fields) not in (3, 4):
            raise invalid
        tenant = fields[3] if len(fields) == 4 else ""
        validation.check_key(tenant, fields[1], fields[0])
        key = ConfigKey(normalise(tenant), fields[1], fields[0])
        md5s[key] = fields[2]
        if tenant != key.tenant:
            as_sent[key] = ConfigKey(tenant, key.group, key.data_id)
    return md5s, as_sent


def listen_resources(params: Params) -> list[str]:
    """Listening is reading: every listened key needs read permission (Nacos checked `<ns>:*:*` only)."""
    keys, _ = parse_listening(params.text("Listening-Configs"))
    return [namespaced(k.tenant, k.group, "config", k.data_id) for k in keys]


def hold_seconds(header: str) -> float:
    """Nacos answers 500 ms before the client's timeout, never sooner than 10 s; pynacos caps at 120 s."""
    try:
        requested = int(header.strip())
    except ValueError:
        raise BadRequest("Long-Pulling-Timeout must be a whole number of milliseconds") from None
    return min(max(10000, requested - 500), 120000) / 1000


def java_url_encode(text: str) -> str:
    """`java.net.URLEncoder`: like quote_plus, but `*` is kept and `~` is escaped."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def changed_keys_text(keys: list[ConfigKey]) -> str:
    return "".join(WORD.join([k.data_id, k.group] + ([k.tenant] if k.tenant else [])) + LINE for k in keys)


def changed_response(keys: list[ConfigKey]) -> Response:
    return http.text(java_url_encode(changed_keys_text(keys)) + "\n", headers=http.NO_CACHE, media_type=http.JSON_UTF8)


def short_poll_response(keys: list[ConfigKey], client_version: str) -> Response:
    """No `Long-Pulling-Timeout`: answer at once; old clients read the result from headers."""
    new_format = java_url_encode(changed_keys_text(keys))
    headers: dict[str, str] = {}
    digits = "".join(c for c in client_version if "0" <= c <= "9")[:3]  # "2.0.3" -> 203; never a huge or odd number
    if keys and int(digits or "200") < 204:
        headers["Probe-Modify-Response"] = "".join(f"{k.data_id}:{k.group};" for k in keys)
        headers["Probe-Modify-Response-New"] = new_format
    return http.text(new_format + ("\n" if keys else ""), headers=headers, media_type=http.JSON_UTF8)
