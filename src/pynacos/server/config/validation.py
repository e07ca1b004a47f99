"""Nacos's two validation layers for config parameters, with Nacos's exact messages.

Layer 1 (`check_*`, Nacos's param-check filter) limits length and characters and answers with the
bare message. Layer 2 (`validate_*`, Nacos's ParamUtils) answers `caused: <msg>;` (v1) or code 20002
(v2). pynacos adds one rule Nacos lacks: `.` and `..` are not names (they become paths elsewhere).
"""

from __future__ import annotations

import functools
import re

from pynacos.server.config.models import CONFIG_TYPES
from pynacos.server.errors import BadRequest, ParamCheckFailed
from pynacos.server.namespaces.service import normalise

_NAMESPACE = re.compile(r"[A-Za-z0-9_-]+")
_NAME = re.compile(r"[A-Za-z0-9_.:-]*")
_VALID = re.compile(r"[\w.:-]+")
_SHOW_NAME_BAD = set("@#$%^&*")
MAX_TAGS = 5


def _filter_error(label: str, limit: int | None = None) -> ParamCheckFailed:
    if limit is not None:
        return ParamCheckFailed(f"Param '{label}' is illegal, the param length should not exceed {limit}.")
    return ParamCheckFailed(f"Param '{label}' is illegal, illegal characters should not appear in the param.")


def check_namespace(value: str) -> None:
    if not value.strip():
        return
    if len(value) > 64:
        raise _filter_error("namespaceId/tenant", 64)
    if not _NAMESPACE.fullmatch(value):
        raise _filter_error("namespaceId/tenant")


def check_name(label: str, value: str, limit: int) -> None:
    """dataId (256) and group (128): `[A-Za-z0-9_.:-]`, and never `.` or `..`."""
    if not value.strip():
        return
    if len(value) > limit:
        raise _filter_error(label, limit)
    if not _NAME.fullmatch(value) or value in (".", ".."):
        raise _filter_error(label)


def check_show_name(value: str) -> None:
    if len(value) > 256:
        raise _filter_error("namespaceShowName", 256)
    if any(c in _SHOW_NAME_BAD for c in value):
        raise _filter_error("namespaceShowName")


def check_key(tenant: str, group: str, data_id: str) -> None:
    check_namespace(tenant)
    check_name("dataId", data_id, 256)
    check_name("group", group, 128)


@functools.lru_cache(maxsize=65536)
def check_readable_key(tenant: str, group: str, data_id: str) -> None:
    """Both layers for a read; only keys that passed are cached (a refusal raises every time)."""
    check_key(tenant, group, data_id)
    validate_tenant(normalise(tenant))
    validate_key(data_id, group)


def valid_name(value: str) -> bool:
    """Nacos's ParamUtils.isValid: letters, digits, `_`, `.`, `:` and `-` (Unicode letters too)."""
    return bool(_VALID.fullmatch(value))


def validate_key(data_id: str, group: str) -> None:
    if not data_id.strip() or not _VALID.fullmatch(data_id.strip()):
        raise BadRequest(f"invalid dataId : {data_id}")
    if not group.strip() or not _VALID.fullmatch(group.strip()):
        raise BadRequest(f"invalid group : {group}")


def validate_tenant(tenant: str, label: str = "tenant") -> None:
    if not tenant:
        return
    if not _VALID.fullmatch(tenant.strip()):
        raise BadRequest(f"invalid {label}")
    if len(tenant) > 128:
        raise BadRequest(f"too long {label}, over 128")


def validate_content(content: str, max_content: int) -> None:
    if not content.strip():
        raise BadRequest(f"content is blank : {content}")
    if len(content) > max_content // 4 and len(content.encode("utf-8")) > max_content:
        raise BadRequest(f"invalid content, over {max_content}")


def validate_extras(
    tags: tuple[str, ...] | None,
    desc: str | None,
    use: str | None,
    effect: str | None,
    type_: str | None,
    schema: str | None,
) -> None:
    if tags is not None:
        if len(tags) > MAX_TAGS:
            raise BadRequest(f"too much config_tags, over {MAX_TAGS}")
        if any(len(tag) > 64 for tag in tags):
            raise BadRequest("too long tag, over 64")
    for label, value, limit in (
        ("desc", desc, 128),
        ("use", use, 32),
        ("effect", effect, 32),
        ("type", type_, 32),
        ("schema", schema, 32768),
    ):
        if value is not None and len(value) > limit:
            raise BadRequest(f"too long {label}, over {limit}")


_HEADER_SAFE = re.compile(r"[\x21-\x7e]*")


def validate_encrypted_data_key(value: str | None) -> None:
    """It is sent back in the `Encrypted-Data-Key` header: printable ASCII only, so no CR/LF can
    split the header and no non-Latin-1 character can break every later read of the config."""
    if value and not _HEADER_SAFE.fullmatch(value):
        raise BadRequest("encryptedDataKey must be printable ASCII (it is sent back in a header)")


def parse_ids(raw: str) -> list[int]:
    """`ids=1,2,3`: ASCII digits only (`isdigit` also accepts `²`), within a Java long; others skipped."""
    return [int(i) for i in (part.strip() for part in raw.split(",")) if i.isascii() and i.isdigit() and len(i) < 19]


def normalise_type(value: str | None) -> str:
    """Absent or unknown types are stored as `text`, as Nacos does."""
    return value if value in CONFIG_TYPES else "text"


def parse_tags(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return tuple(tag.strip() for tag in raw.split(",") if tag.strip())
