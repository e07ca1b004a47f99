"""Nacos's two validation layers for config parameters, with Nacos's exact messages.

Layer 1 (`check_*`, Nacos's param-check filter) limits length and characters and answers with the
bare message. Layer 2 (`validate_*`, Nacos's ParamUtils) answers `caused: <msg>;` (v1) or code 20002
(v2). pynacos adds rules Nacos lacks: `.` and `..` are not names (they become paths elsewhere), and
what a publish stores holds no NUL and fits its column on every backend (characters.py), so a dataId
of 256 characters, which Nacos's filter lets through to a varchar(255) column, is refused before it.
"""

from __future__ import annotations

import functools
import re

from pynacos.server.characters import JAVA_LONG_MAX, refuse_nul
from pynacos.server.config.models import CONFIG_TYPES, ConfigKey
from pynacos.server.errors import BadRequest, ParamCheckFailed
from pynacos.server.namespaces.service import normalise

_NAMESPACE = re.compile(r"[A-Za-z0-9_-]+")
_NAME = re.compile(r"[A-Za-z0-9_.:-]*")
_VALID = re.compile(r"[\w.:-]+")
_SHOW_NAME_BAD = set("@#$%^&*")
MAX_TAGS = 5
#: column widths of config_info (storage/tables.py) that Nacos's checks do not already keep to
MAX_STORED_DATA_ID = 255
MAX_APP_NAME = 128
MAX_SRC_USER = 256
MAX_ENCRYPTED_DATA_KEY = 1024
MAX_GRAY_ENCRYPTED_DATA_KEY = 256  # config_info_gray's column is narrower
MAX_SCHEMA_BYTES = 65535  # MySQL TEXT


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


def validate_storable_key(key: ConfigKey) -> None:
    if len(key.data_id) > MAX_STORED_DATA_ID:
        raise BadRequest(f"too long dataId, over {MAX_STORED_DATA_ID}")


def validate_content(content: str, max_content: int) -> None:
    if not content.strip():
        raise BadRequest(f"content is blank : {content}")
    refuse_nul("content", content)
    if len(content) > max_content // 4 and len(content.encode("utf-8")) > max_content:
        raise BadRequest(f"invalid content, over {max_content}")


def validate_extras(
    tags: tuple[str, ...] | None,
    desc: str | None,
    use: str | None,
    effect: str | None,
    type_: str | None,
    schema: str | None,
    app_name: str | None = None,
) -> None:
    if tags is not None:
        if len(tags) > MAX_TAGS:
            raise BadRequest(f"too much config_tags, over {MAX_TAGS}")
        if any(len(tag) > 64 for tag in tags):
            raise BadRequest("too long tag, over 64")
        for tag in tags:
            refuse_nul("config_tags", tag)
    for label, value, limit in (
        ("desc", desc, 128),
        ("use", use, 32),
        ("effect", effect, 32),
        ("type", type_, 32),
        ("schema", schema, 32768),
        ("appName", app_name, MAX_APP_NAME),
    ):
        if value is not None and len(value) > limit:
            raise BadRequest(f"too long {label}, over {limit}")
        refuse_nul(label, value)
    if schema is not None and len(schema) > MAX_SCHEMA_BYTES // 4 and len(schema.encode()) > MAX_SCHEMA_BYTES:
        raise BadRequest(f"too long schema, over {MAX_SCHEMA_BYTES} bytes")


def validate_src_user(src_user: str | None) -> None:
    """The user a change is recorded under (a `src_user` parameter when auth is off): a column, so bounded."""
    if src_user is not None and len(src_user) > MAX_SRC_USER:
        raise BadRequest(f"too long src_user, over {MAX_SRC_USER}")
    refuse_nul("src_user", src_user)


_HEADER_SAFE = re.compile(r"[\x21-\x7e]*")


def validate_encrypted_data_key(value: str | None, limit: int = MAX_ENCRYPTED_DATA_KEY) -> None:
    """It is sent back in the `Encrypted-Data-Key` header: printable ASCII only, so no CR/LF can
    split the header and no non-Latin-1 character can break every later read of the config."""
    if value and not _HEADER_SAFE.fullmatch(value):
        raise BadRequest("encryptedDataKey must be printable ASCII (it is sent back in a header)")
    if value and len(value) > limit:
        raise BadRequest(f"too long encryptedDataKey, over {limit}")


_ID = re.compile(r"[+-]?[0-9]{1,19}")


def parse_ids(raw: str) -> list[int]:
    """`ids=1,2,3` as Spring binds a `List<Long>`: blank entries are skipped, anything that is not a Java
    long is a 400 (ASCII digits only: `isdigit` also accepts `²`). Skipping bad entries instead would
    answer `true` to a request that deleted nothing it named."""
    ids = []
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        if not _ID.fullmatch(part) or not -JAVA_LONG_MAX - 1 <= int(part) <= JAVA_LONG_MAX:
            raise BadRequest(f"ids must be whole numbers within a Java long, not '{part[:64]}'")
        ids.append(int(part))
    return ids


def normalise_type(value: str | None) -> str:
    """Absent or unknown types are stored as `text`, as Nacos does."""
    return value if value in CONFIG_TYPES else "text"


def parse_tags(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return tuple(tag.strip() for tag in raw.split(",") if tag.strip())
