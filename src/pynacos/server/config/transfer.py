"""Config export and import as Nacos's console does it: a zip of `<group>/<dataId>` entries.

v1 exports carry `.meta.yml` (app names), v2 exports `.metadata.yml` (type, app name, description).
Import checks every item before writing any: with `policy=ABORT` one conflict imports nothing
(Nacos writes the items before the conflict, leaving a half import behind).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Awaitable, Callable
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
from pynacos.server.http import Call, Params
from pynacos.server.namespaces.service import normalise

META_V1, META_V2 = ".meta.yml", ".metadata.yml"
POLICIES = ("ABORT", "SKIP", "OVERWRITE")


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


@dataclass
class ImportPlan:
    items: list[ImportItem] = field(default_factory=list)
    unrecognized: list[str] = field(default_factory=list)


#: may this call do action "r" or "w" on these resources (`ns:group:config/dataId`)? (the auth guard's answer)
Permits = Callable[[Call, list[str], str], bool]


class ConfigTransfer:
    def __init__(
        self, service: ConfigService, namespace_exists: Any, permits: Permits = lambda call, r, a: True
    ) -> None:
        self.service = service
        self.namespace_exists = namespace_exists
        self.permits = permits

    def export_response(self, params: Params, v2: bool) -> Response:
        ids = validation.parse_ids(params.text("ids"))
        tenant = normalise(params.namespace())
        if ids:
            configs = self.service.by_ids(ids, tenant)
        else:
            configs = self.service.search(
                Search(
                    tenant=tenant,
                    data_id=params.text("dataId"),
                    group=params.text("group"),
                    app_name=params.text("appName"),
                    blur=True,
                )
            )
        stamp = time.strftime("%Y%m%d%H%M%S")
        headers = {"Content-Disposition": f"attachment;filename=nacos_config_export_{stamp}.zip"}
        return Response(export_zip(configs, v2), headers=headers, media_type="application/zip")

    async def import_response(self, call: Call) -> Response:
        return await _answered(self._import(call), "import success")

    async def _import(self, call: Call) -> dict[str, Any]:
        p = call.params
        policy = _policy_of(p)
        tenant = normalise(p.namespace())  # the namespace the caller was authorised on
        validation.check_namespace(tenant)
        upload = await _uploaded_file(call)
        if upload is None:
            raise ImportRejected(100005, "导入的文件数据为空", {})
        if tenant and not self.namespace_exists(tenant):
            raise ImportRejected(100001, "目标 namespace 不存在", {"succCount": 0})
        plan = parse_zip(upload, tenant)
        if not plan.items:
            raise ImportRejected(100005, "导入的文件数据为空", {"succCount": 0})
        self._check_writable(call, plan)
        src_user = p.optional("src_user") or (call.principal.username if call.principal else None)
        return await self._apply(plan, policy, src_user, call.client_ip)

    async def clone_response(self, call: Call) -> Response:
        """`POST ?clone=true&tenant=<target>`: copy configs picked by id, optionally renamed, into the target.

        The route's policy checked write on the target namespace; each source config must also be readable
        by the caller, or it is treated as not found (Nacos copies any id, whatever namespace it is in).
        """
        return await _answered(self._clone(call), "Clone Completed Successfully")

    async def _clone(self, call: Call) -> dict[str, Any]:
        p = call.params
        picks = await _clone_picks(call)
        if not picks:
            raise ImportRejected(100006, "没有选择任何配置", {"succCount": 0})
        policy = _policy_of(p)
        p.required("tenant")
        tenant = normalise(p.namespace())  # the namespace the caller was authorised on, whatever alias named it
        validation.check_namespace(tenant)
        if tenant and not self.namespace_exists(tenant):
            raise ImportRejected(100001, "目标 namespace 不存在", {"succCount": 0})
        sources = [c for c in self.service.by_ids(picks, tenant=None) if self.permits(call, [resource_of(c.key)], "r")]
        if not sources:
            raise ImportRejected(100005, "导入的文件数据为空", {"succCount": 0})
        plan = ImportPlan([_clone_item(source, picks[source.id], tenant) for source in sources])
        self._check_writable(call, plan)
        src_user = p.optional("src_user") or (call.principal.username if call.principal else None)
        return await self._apply(plan, policy, src_user, call.client_ip)

    def _check_writable(self, call: Call, plan: ImportPlan) -> None:
        """The route's policy saw only the query's group and dataId; the zip or the clone body names the
        keys actually written, and each must be writable, or nothing is written (403)."""
        if any(not self.permits(call, [resource_of(item.key)], "w") for item in plan.items):
            raise AuthFailed("authorization failed!")

    async def _apply(self, plan: ImportPlan, policy: str, src_user: str | None, ip: str) -> dict[str, Any]:
        requests = [_publish_of(item, src_user, ip) for item in plan.items]
        failed = [r for r in requests if not self._valid(r)]
        conflicts = [r for r in requests if policy == "ABORT" and self.service.get(r.key) is not None]
        if policy == "ABORT" and (failed or conflicts):
            first = (failed or conflicts)[0]
            rest = [_item_json(r.key) for r in requests if r is not first]
            return _result(0, [_item_json(first.key)], rest, plan.unrecognized)
        done, skipped = 0, [_item_json(r.key) for r in failed]
        for request in requests:
            if request in failed:
                continue
            stored = await self.service.publish(request, insert_only=policy != "OVERWRITE")
            if stored is None:
                skipped.append(_item_json(request.key))
            else:
                done += 1
        return _result(done, [], skipped, plan.unrecognized)

    def _valid(self, request: Publish) -> bool:
        try:
            validation.check_key(request.key.tenant, request.key.group, request.key.data_id)
            self.service.validate(request)
        except NacosError:
            return False
        return True


async def _answered(work: Awaitable[dict[str, Any]], message: str) -> Response:
    """An import or clone answer: HTTP 200 either way, Nacos's code and message telling which."""
    try:
        data = await work
    except ImportRejected as exc:
        return http.rest_result(exc.data, exc.code, exc.message)
    return http.rest_result(data, 200, message)


def _policy_of(params: Params) -> str:
    policy = params.text("policy", "ABORT").upper() or "ABORT"
    if policy not in POLICIES:
        raise ImportRejected(100002, f"policy must be one of {', '.join(POLICIES)}", {})
    return policy


def resource_of(key: ConfigKey) -> str:
    return namespaced(key.tenant, key.group, "config", key.data_id)


async def _clone_picks(call: Call) -> dict[int, dict[str, str]]:
    """The JSON body `[{"cfgId":1,"dataId":"new","group":"g"}, ...]` as {id: new names}; nulls are dropped."""
    try:
        body = orjson.loads(await call.request.body() or b"[]")
    except orjson.JSONDecodeError:
        raise BadRequest("the clone body must be a JSON list of {cfgId, dataId, group}") from None
    if not isinstance(body, list):
        raise BadRequest("the clone body must be a JSON list of {cfgId, dataId, group}")
    picks: dict[int, dict[str, str]] = {}
    for entry in body:
        if entry is None:
            continue
        cfg_id = entry.get("cfgId") if isinstance(entry, dict) else None
        if isinstance(cfg_id, str) and cfg_id.isascii() and cfg_id.isdigit():
            cfg_id = int(cfg_id)  # the console sends ids as the strings the server lists them as
        if isinstance(cfg_id, bool) or not isinstance(cfg_id, int):
            raise BadRequest("every clone entry needs a numeric cfgId")
        names = {k: v for k, v in entry.items() if k in ("dataId", "group") and isinstance(v, str) and v.strip()}
        picks.setdefault(cfg_id, names)
    return picks


def _clone_item(source: Config, names: dict[str, str], tenant: str) -> ImportItem:
    key = ConfigKey(tenant, names.get("group", source.key.group), names.get("dataId", source.key.data_id))
    return ImportItem(key, source.content, source.type, source.app_name or None, source.desc, source.encrypted_data_key)


async def _uploaded_file(call: Call) -> bytes | None:
    if not call.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    try:
        async with call.request.form(max_part_size=64 * 1024 * 1024) as form:  # closes the spooled upload files
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return None
            data = await upload.read()
    except MultiPartException as exc:  # a client error, not a server fault
        raise BadRequest(f"malformed multipart body: {exc.message}") from None
    return data or None


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


def _item_json(key: ConfigKey) -> dict[str, str]:
    return {"dataId": key.data_id, "group": key.group}


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


def parse_zip(data: bytes, tenant: str) -> ImportPlan:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportRejected(100004, "解析数据失败", {"succCount": 0}) from None
    try:
        files = {name: body.decode("utf-8") for name, body in entries.items()}
    except UnicodeDecodeError:
        raise ImportRejected(100004, "解析数据失败", {"succCount": 0}) from None
    if META_V2 in files:
        return _plan_v2(files, tenant)
    return _plan_v1(files, tenant)


def _plan_v1(files: dict[str, str], tenant: str) -> ImportPlan:
    apps: dict[str, str] = {}
    for line in files.pop(META_V1, "").splitlines():
        if not line.strip():
            continue
        parts = line.split("=")
        if len(parts) != 2:
            raise ImportRejected(100002, "导入的元数据非法", {"succCount": 0})
        apps[parts[0].removesuffix(".app")] = parts[1].strip()
    plan = ImportPlan()
    for name, content in files.items():
        group, sep, data_id = name.partition("/")
        if not sep or "/" in data_id:
            plan.unrecognized.append(name)
            continue
        stem, dot, ext = data_id.rpartition(".")
        app = apps.get(f"{group}.{stem}~{ext}" if dot else f"{group}.{data_id}")
        plan.items.append(ImportItem(ConfigKey(tenant, group, data_id), content, app_name=app))
    return plan


def _plan_v2(files: dict[str, str], tenant: str) -> ImportPlan:
    try:
        meta = yaml.safe_load(files.pop(META_V2)) or {}
        listed = {(m["group"], m["dataId"]): m for m in meta.get("metadata") or []}
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        raise ImportRejected(100002, "导入的元数据非法", {"succCount": 0}) from None
    if any(not all(str(m.get(k) or "").strip() for k in ("dataId", "group", "type")) for m in listed.values()):
        raise ImportRejected(100002, "导入的元数据非法", {"succCount": 0})
    plan = ImportPlan()
    for name, content in files.items():
        group, sep, data_id = name.partition("/")
        entry = listed.pop((group, data_id), None) if sep and "/" not in data_id else None
        if entry is None:
            plan.unrecognized.append(f"未在元数据中找到: {name}")
            continue
        plan.items.append(
            ImportItem(
                ConfigKey(tenant, group, data_id), content, entry.get("type"), entry.get("appName"), entry.get("desc")
            )
        )
    plan.unrecognized.extend(f"未在文件中找到: {g}/{d}" for g, d in listed)
    return plan
