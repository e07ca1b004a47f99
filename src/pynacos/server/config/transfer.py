"""Config export and import as Nacos's console does it: a zip of `<group>/<dataId>` entries.

v1 exports carry `.meta.yml` (app names), v2 exports `.metadata.yml` (type, app name, description).
Import checks every item before writing any: with `policy=ABORT` one conflict imports nothing
(Nacos writes the items before the conflict, leaving a half import behind). Every config an export
or import touches must pass the caller's read or write check, not only the one its query names.

An archive is a promise about sizes that decompression keeps (a 400 KiB zip may inflate to 400 MiB),
so an import reads it in this order, stopping at the first refusal:
1. the entry count from the archive's end record (at most `MAX_ENTRIES`), before anything is parsed;
2. the names from the central directory: every one must be writable by the caller (403 otherwise);
3. the declared sizes: the total at most `MAX_TOTAL`, no entry inflating more than `MAX_RATIO` times;
4. then the entries, one by one. zipfile never returns more than an entry's declared size (a lie
   fails its CRC), and an entry over the content limit is reported in `failData`, never inflated.
"""

from __future__ import annotations

import asyncio
import io
import struct
import time
import zipfile
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import namespaced
from pynacos.server.config import validation
from pynacos.server.config.models import Config, ConfigKey, Publish
from pynacos.server.config.service import ConfigService, Search
from pynacos.server.errors import AuthFailed, BadRequest, NacosError
from pynacos.server.http import NAMESPACE_ALIASES, Call, Params
from pynacos.server.namespaces.service import normalise

META_V1, META_V2 = ".meta.yml", ".metadata.yml"
POLICIES = ("ABORT", "SKIP", "OVERWRITE")
MAX_ENTRIES = 10_000
MAX_TOTAL = 64 * 1024 * 1024
MAX_RATIO = 200
#: entries this small are never refused for their ratio (a short repetitive config compresses well)
RATIO_FLOOR = 1024 * 1024
_END_RECORD = b"PK\x05\x06"
PARSE_FAILED = "解析数据失败"
NO_VALID_DATA = "未读取到合法数据"


class ImportRejected(Exception):
    """A whole import refused; answered as HTTP 200 with Nacos's code (as the console expects)."""

    def __init__(self, code: int, message: str, data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


@dataclass
class ImportItem:
    key: ConfigKey
    content: str
    type: str | None = None
    app_name: str | None = None
    desc: str | None = None
    encrypted_data_key: str | None = None
    #: why the entry cannot be imported, found while reading the archive (too large, not UTF-8)
    problem: str | None = None


@dataclass
class ImportPlan:
    items: list[ImportItem] = field(default_factory=list)
    unrecognized: list[str] = field(default_factory=list)


#: may this call do action "r" or "w" on these resources (`ns:group:config/dataId`)? (the auth guard's answer)
Permits = Callable[[Call, list[str], str], bool]


@dataclass(frozen=True)
class CloneNames:
    """How a clone request names things: the body fields of each pick, and the target namespace parameter."""

    id: str
    data_id: str
    group: str
    target: str
    #: the parameter naming the user recorded in the history (blank: the caller)
    src_user: str = "src_user"


CLONE_V1 = CloneNames("cfgId", "dataId", "group", "tenant")
#: Nacos 3.x `ConfigCloneInfo` and `?namespaceId=`
CLONE_V3 = CloneNames("configId", "targetDataId", "targetGroupName", "namespaceId")
#: Nacos 3.x console: `SameNamespaceCloneConfigBean`, `?targetNamespaceId=` and `srcUser`
CLONE_CONSOLE = CloneNames("cfgId", "dataId", "group", "targetNamespaceId", "srcUser")


class ConfigTransfer:
    def __init__(
        self, service: ConfigService, namespace_exists: Any, permits: Permits = lambda call, r, a: True
    ) -> None:
        self.service = service
        self.namespace_exists = namespace_exists
        self.permits = permits

    def export_response(self, call: Call, v2: bool, group_name: str = "group") -> Response:
        """A zip of the configs picked by `ids` or by the search; every one must be readable by the caller
        (ids are small sequential numbers: without this, `ids=1,...,60` exported other groups' configs)."""
        params = call.params
        ids = validation.parse_ids(params.text("ids"))
        validation.check_namespace(params.namespace())
        tenant = normalise(params.namespace())
        if ids:
            configs = self.service.by_ids(ids, tenant)
        else:
            configs = self.service.search(
                Search(
                    tenant=tenant,
                    data_id=params.text("dataId"),
                    group=params.text(group_name),
                    app_name=params.text("appName"),
                    blur=True,
                )
            )
        self.check_all(call, [c.key for c in configs], "r")
        stamp = time.strftime("%Y%m%d%H%M%S")
        headers = {"Content-Disposition": f"attachment;filename=nacos_config_export_{stamp}.zip"}
        return Response(export_zip(configs, v2), headers=headers, media_type="application/zip")

    def check_all(self, call: Call, keys: list[ConfigKey], action: str) -> None:
        """The route's policy saw only the query's group and dataId; a request acting on more configs (ids,
        a zip, a clone body) needs the action on each, or it is refused whole (403) before anything is done."""
        if any(not self.permits(call, [resource_of(key)], action) for key in keys):
            raise AuthFailed("authorization failed!")

    async def import_response(self, call: Call) -> Response:
        return await _answered(self.import_configs(call), "import success")

    async def import_configs(self, call: Call, src_user_name: str = "src_user") -> dict[str, Any]:
        """The import's result map, or ImportRejected; `src_user_name` names the parameter of the recorded user."""
        p = call.params
        policy = _policy_of(p)
        tenant = normalise(p.namespace())  # the namespace the caller was authorised on
        validation.check_namespace(tenant)
        upload = await _uploaded_file(call)
        if upload is None:
            raise ImportRejected(100005, "导入的文件数据为空", {})
        if tenant and not self.namespace_exists(tenant):
            raise ImportRejected(100001, "目标 namespace 不存在", {"succCount": 0})
        writable = lambda keys: self.check_all(call, keys, "w")  # noqa: E731
        plan = await asyncio.to_thread(parse_zip, upload, tenant, self.service.max_content, writable)
        if not plan.items:
            raise ImportRejected(100005, "导入的文件数据为空", {"succCount": 0})
        src_user = p.optional(src_user_name) or (call.principal.username if call.principal else None)
        return await self._apply(plan, policy, src_user, call.client_ip)

    async def clone_response(self, call: Call) -> Response:
        """`POST ?clone=true&tenant=<target>`: copy configs picked by id, optionally renamed, into the target.

        The route's policy checked write on the target namespace; each source config must also be readable
        by the caller, or it is treated as not found (Nacos copies any id, whatever namespace it is in).
        """
        return await _answered(self.clone_configs(call), "Clone Completed Successfully")

    async def clone_configs(self, call: Call, names: CloneNames = CLONE_V1) -> dict[str, Any]:
        """The clone's result map, or ImportRejected."""
        p = call.params
        picks = await _clone_picks(call, names)
        if not picks:
            raise ImportRejected(100006, "没有选择任何配置", {"succCount": 0})
        policy = _policy_of(p)
        p.required(names.target)
        tenant = normalise(_target_of(p, names.target))
        validation.check_namespace(tenant)
        if tenant and not self.namespace_exists(tenant):
            raise ImportRejected(100001, "目标 namespace 不存在", {"succCount": 0})
        sources = [c for c in self.service.by_ids(picks, tenant=None) if self.permits(call, [resource_of(c.key)], "r")]
        if not sources:
            raise ImportRejected(100005, "导入的文件数据为空", {"succCount": 0})
        plan = ImportPlan([_clone_item(source, picks[source.id], tenant) for source in sources])
        self.check_all(call, [item.key for item in plan.items], "w")
        src_user = p.optional(names.src_user) or (call.principal.username if call.principal else None)
        return await self._apply(plan, policy, src_user, call.client_ip)

    async def _apply(self, plan: ImportPlan, policy: str, src_user: str | None, ip: str) -> dict[str, Any]:
        requests = [(item, _publish_of(item, src_user, ip)) for item in plan.items]
        failed = {id(r): problem for item, r in requests if (problem := self._problem(item, r))}
        conflicts = [r for _, r in requests if policy == "ABORT" and self.service.get(r.key) is not None]
        if policy == "ABORT" and (failed or conflicts):
            first = next((r for _, r in requests if id(r) in failed), None) or conflicts[0]
            rest = [_item_json(r.key) for _, r in requests if r is not first]
            reason = failed.get(id(first), "config already exists (policy ABORT)")
            data = _result(0, [_item_json(first.key, reason)], rest, plan.unrecognized)
            if id(first) in failed:
                raise ImportRejected(100003, f"{NO_VALID_DATA}: {first.key.group}/{first.key.data_id}: {reason}", data)
            return data
        done, skipped = 0, []
        for _, request in requests:
            if id(request) in failed:
                continue
            stored = await self.service.publish(request, insert_only=policy != "OVERWRITE")
            if stored is None:
                skipped.append(_item_json(request.key))
            else:
                done += 1
        fail_data = [_item_json(r.key, failed[id(r)]) for _, r in requests if id(r) in failed]
        data = _result(done, fail_data, skipped, plan.unrecognized)
        if fail_data and not done:
            raise ImportRejected(100003, f"{NO_VALID_DATA}: nothing imported, {len(fail_data)} failed", data)
        return data

    def _problem(self, item: ImportItem, request: Publish) -> str | None:
        """Why this entry cannot be imported, or None (the reason goes into `failData`)."""
        if item.problem is not None:
            return item.problem
        try:
            validation.check_key(request.key.tenant, request.key.group, request.key.data_id)
            self.service.validate(request)
        except NacosError as exc:
            return exc.detail.strip()
        return None


async def _answered(work: Awaitable[dict[str, Any]], message: str) -> Response:
    """An import or clone answer: HTTP 200 either way, Nacos's code and message telling which. Entries
    that could not be imported are listed in `failData` with their reason; when none was written
    for such a reason the answer is Nacos's "no valid data" (100003), never a success."""
    try:
        data = await work
    except ImportRejected as exc:
        return http.rest_result(exc.data, exc.code, exc.message)
    if data.get("failData") and data["succCount"]:
        message = f"{message}, {len(data['failData'])} failed (see failData)"
    return http.rest_result(data, 200, message)


def _policy_of(params: Params) -> str:
    policy = params.text("policy", "ABORT").upper() or "ABORT"
    if policy not in POLICIES:
        raise ImportRejected(100002, f"policy must be one of {', '.join(POLICIES)}", {})
    return policy


def _target_of(params: Params, name: str) -> str:
    """The clone's target namespace: through `namespace()` when named by an alias (the namespace the caller
    was authorised on, whatever alias named it), else the one parameter that names it (3.x console's
    `targetNamespaceId`, which its route's policy reads too)."""
    return params.namespace() if name in NAMESPACE_ALIASES else params.text(name).strip()


def resource_of(key: ConfigKey) -> str:
    return namespaced(key.tenant, key.group, "config", key.data_id)


async def _clone_picks(call: Call, names: CloneNames) -> dict[int, dict[str, str]]:
    """The JSON body `[{"cfgId":1,"dataId":"new","group":"g"}, ...]` (v3: configId, targetDataId,
    targetGroupName) as {id: {"dataId": .., "group": ..}}; nulls are dropped."""
    shape = f"the clone body must be a JSON list of {{{names.id}, {names.data_id}, {names.group}}}"
    try:
        body = orjson.loads(await call.http_request.body() or b"[]")
    except orjson.JSONDecodeError:
        raise BadRequest(shape) from None
    if not isinstance(body, list):
        raise BadRequest(shape)
    renames = {names.data_id: "dataId", names.group: "group"}
    picks: dict[int, dict[str, str]] = {}
    for entry in body:
        if entry is None:
            continue
        cfg_id = entry.get(names.id) if isinstance(entry, dict) else None
        if isinstance(cfg_id, str) and cfg_id.isascii() and cfg_id.isdigit():
            cfg_id = int(cfg_id)  # the console sends ids as the strings the server lists them as
        if isinstance(cfg_id, bool) or not isinstance(cfg_id, int):
            raise BadRequest(f"every clone entry needs a numeric {names.id}")
        fields = {renames[k]: v for k, v in entry.items() if k in renames and isinstance(v, str) and v.strip()}
        picks.setdefault(cfg_id, fields)
    return picks


def _clone_item(source: Config, names: dict[str, str], tenant: str) -> ImportItem:
    key = ConfigKey(tenant, names.get("group", source.key.group), names.get("dataId", source.key.data_id))
    return ImportItem(key, source.content, source.type, source.app_name or None, source.desc, source.encrypted_data_key)


async def _uploaded_file(call: Call) -> bytes | None:
    if not call.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    try:
        async with call.http_request.form() as form:  # closes the spooled upload files; the router bounds the body
            _refuse_unread_fields(form.keys(), call.params)
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return None
            data = await upload.read()
    except MultiPartException as exc:  # a client error, not a server fault
        raise BadRequest(f"malformed multipart body: {exc.message}") from None
    return data or None


#: parameters an import reads; in a multipart body they would be seen by neither the auth check nor the handler
_QUERY_ONLY = frozenset({*NAMESPACE_ALIASES, "policy", "src_user"})


def _refuse_unread_fields(names: Iterable[str], params: Params) -> None:
    """Import parameters come from the query string (the auth check has already read it): one sent as a
    multipart field instead would be silently ignored, so the import would land in the public namespace."""
    for name in names:
        if name in _QUERY_ONLY and name not in params:
            raise BadRequest(f"send '{name}' in the query string: multipart fields other than 'file' are not read")


def _publish_of(item: ImportItem, src_user: str | None, ip: str) -> Publish:
    return Publish(
        key=item.key,
        content=item.content,
        type=item.type,
        app_name=item.app_name,
        desc=item.desc,
        encrypted_data_key=item.encrypted_data_key,
        src_user=src_user,
        src_ip=ip,
    )


def _item_json(key: ConfigKey, reason: str | None = None) -> dict[str, str]:
    """Nacos's `{dataId, group}`; a failed entry also says why (`reason`, which Nacos lacks)."""
    item = {"dataId": key.data_id, "group": key.group}
    if reason is not None:
        item["reason"] = reason
    return item


def _result(done: int, failed: list[Any], skipped: list[Any], unrecognized: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"succCount": done, "skipCount": len(skipped)}
    if failed:
        data["failData"] = failed
    if skipped:
        data["skipData"] = skipped
    if unrecognized:
        data["unrecognizedCount"] = len(unrecognized)
        data["unrecognizedData"] = [{"itemName": name} for name in unrecognized]
    return data


def export_zip(configs: list[Config], v2: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for config in configs:
            archive.writestr(f"{config.key.group}/{config.key.data_id}", config.content.encode("utf-8"))
        if v2:
            archive.writestr(META_V2, _metadata_v2(configs))
        elif any(c.app_name for c in configs):
            archive.writestr(META_V1, _metadata_v1(configs))
    return buffer.getvalue()


def _metadata_v1(configs: list[Config]) -> str:
    lines = []
    for config in configs:
        if config.app_name:
            stem, dot, ext = config.key.data_id.rpartition(".")
            name = f"{stem}~{ext}" if dot else config.key.data_id
            lines.append(f"{config.key.group}.{name}.app={config.app_name}\r\n")
    return "".join(lines)


def _metadata_v2(configs: list[Config]) -> str:
    items = []
    for config in configs:
        item = {
            "appName": config.app_name or None,
            "dataId": config.key.data_id,
            "desc": config.desc,
            "group": config.key.group,
            "type": config.type,
        }
        items.append({k: v for k, v in item.items() if v is not None})
    return str(yaml.safe_dump({"metadata": items}, sort_keys=True, allow_unicode=True))


def parse_zip(
    data: bytes,
    tenant: str,
    max_content: int,
    writable: Callable[[list[ConfigKey]], None] = lambda keys: None,
) -> ImportPlan:
    """The import plan of an archive, read in the order of the module docstring (runs in a thread)."""
    if _entry_count(data) > MAX_ENTRIES:
        raise ImportRejected(100004, f"{PARSE_FAILED}: more than {MAX_ENTRIES} entries", {"succCount": 0})
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            writable([ConfigKey(tenant, g, d) for g, d in (_split_name(i.filename) for i in infos) if d])
            _check_sizes(infos)
            files = {i.filename: _read_entry(archive, i, max_content) for i in infos}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
        raise ImportRejected(100004, PARSE_FAILED, {"succCount": 0}) from None
    meta = {name: files.pop(name) for name in (META_V1, META_V2) if name in files}
    if any(isinstance(m, Problem) for m in meta.values()):
        raise ImportRejected(100002, "导入的元数据非法", {"succCount": 0})
    if META_V2 in meta:
        return _plan_v2(files, str(meta[META_V2]), tenant)
    return _plan_v1(files, str(meta.get(META_V1, "")), tenant)


class Problem(str):
    """An entry that could not be read as a config; the text says why."""


def _entry_count(data: bytes) -> int:
    """The entry count of the archive's end record, read before zipfile builds an object per entry."""
    tail = data[-(22 + 65535) :]
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) - at < 22:
        raise ImportRejected(100004, PARSE_FAILED, {"succCount": 0})
    count: int = struct.unpack_from("<H", tail, at + 10)[0]
    return count


def _split_name(name: str) -> tuple[str, str]:
    """`<group>/<dataId>` -> (group, dataId); ("", "") for anything else (reported as unrecognized)."""
    group, sep, data_id = name.partition("/")
    return (group, data_id) if sep and "/" not in data_id else ("", "")


def _check_sizes(infos: list[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL:
        raise ImportRejected(100004, f"{PARSE_FAILED}: over {MAX_TOTAL} bytes uncompressed", {"succCount": 0})
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportRejected(
                100004, f"{PARSE_FAILED}: {info.filename[:256]} inflates over {MAX_RATIO} times", {"succCount": 0}
            )


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_content: int) -> str:
    if info.file_size > max_content:
        return Problem(f"content over {max_content} bytes")
    with archive.open(info) as entry:
        body = entry.read(max_content + 1)
    if len(body) > max_content:
        return Problem(f"content over {max_content} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return Problem("content is not UTF-8")


def _plan_v1(files: dict[str, str], meta: str, tenant: str) -> ImportPlan:
    apps: dict[str, str] = {}
    for line in meta.splitlines():
        if not line.strip():
            continue
        parts = line.split("=")
        if len(parts) != 2:
            raise ImportRejected(100002, "导入的元数据非法", {"succCount": 0})
        apps[parts[0].removesuffix(".app")] = parts[1].strip()
    plan = ImportPlan()
    for name, content in files.items():
        group, data_id = _split_name(name)
        if not data_id:
            plan.unrecognized.append(name)
            continue
        stem, dot, ext = data_id.rpartition(".")
        app = apps.get(f"{group}.{stem}~{ext}" if dot else f"{group}.{data_id}")
        plan.items.append(_item(ConfigKey(tenant, group, data_id), content, app_name=app))
    return plan


def _plan_v2(files: dict[str, str], meta_text: str, tenant: str) -> ImportPlan:
    try:
        meta = yaml.safe_load(meta_text) or {}
        listed = {(m["group"], m["dataId"]): m for m in meta.get("metadata") or []}
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        raise ImportRejected(100002, "导入的元数据非法", {"succCount": 0}) from None
    if any(not all(str(m.get(k) or "").strip() for k in ("dataId", "group", "type")) for m in listed.values()):
        raise ImportRejected(100002, "导入的元数据非法", {"succCount": 0})
    plan = ImportPlan()
    for name, content in files.items():
        group, data_id = _split_name(name)
        entry = listed.pop((group, data_id), None) if data_id else None
        if entry is None:
            plan.unrecognized.append(f"未在元数据中找到: {name}")
            continue
        key = ConfigKey(tenant, group, data_id)
        plan.items.append(_item(key, content, entry.get("type"), entry.get("appName"), entry.get("desc")))
    plan.unrecognized.extend(f"未在文件中找到: {g}/{d}" for g, d in listed)
    return plan


def _item(
    key: ConfigKey, content: str, kind: str | None = None, app_name: str | None = None, desc: str | None = None
) -> ImportItem:
    """An import item; an entry that could not be read keeps its reason instead of content."""
    problem = str(content) if isinstance(content, Problem) else None
    return ImportItem(key, "" if problem else content, kind, app_name, desc, problem=problem)
