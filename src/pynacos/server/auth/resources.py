"""Namespaced resources and permission patterns, matched field by field.

A request names `<namespace>:<group>:<kind>/<name>` (auth.md §8.1), and `:` is legal inside group
names and dataIds, so the joined string cannot be split back reliably, and a glob over it let `*`
run from one field into the next: `dev:G:*` granted group `G:prod` as well. Here each field is
matched on its own, with `*` (the only wildcard) never leaving its field.

The request side is a `Resource`: a `str` (its joined form, so everything typed `list[str]` keeps
working: route readers, `Guard.permits`, third-party plugins) that also carries its fields.

A permission pattern is read as fields:
- namespace: up to the first `:` (namespace ids cannot contain `:`); `public` and `""` are the same;
- kind/name: from the first later `:`-separated part that contains `/` (group names cannot contain
  `/`; names may contain both `:` and `/`), or a last part that is exactly `*`;
- group: everything between, `:` included, so `dev:G:prod:config/x` is group `G:prod`.
Missing fields mean everything below: `*` is every resource, `dev` and `dev:*` every resource in
namespace `dev`, `dev:G` every resource in group `G` of `dev`. kind/name `*` is any kind and name;
otherwise kind and name are matched separately (`config/*`, `*/app`).
A request string that is not namespaced (`console/users`) has no fields and matches no pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from pynacos.server.wildcards import wildcard

PUBLIC = "public"


class Resource(str):
    """`<namespace>:<group>:<kind>/<name>` that remembers its four fields."""

    namespace: str
    group: str
    kind: str
    name: str

    def __new__(cls, namespace: str, group: str, kind: str, name: str) -> Resource:
        self = super().__new__(cls, f"{namespace}:{group}:{kind}/{name}")
        self.namespace, self.group, self.kind, self.name = namespace, group, kind, name
        return self

    def __getnewargs__(self) -> tuple[str, str, str, str]:  # type: ignore[override]
        return self.namespace, self.group, self.kind, self.name


@dataclass(frozen=True)
class Pattern:
    """A permission's resource as per-field predicates."""

    namespace: Callable[[str], bool]
    group: Callable[[str], bool]
    kind: Callable[[str], bool]
    name: Callable[[str], bool]

    def matches(self, resource: Resource) -> bool:
        return (
            self.namespace(_public_form(resource.namespace))
            and self.group(resource.group)
            and self.kind(resource.kind)
            and self.name(resource.name)
        )


def _public_form(namespace: str) -> str:
    return "" if namespace == PUBLIC else namespace


def _split(text: str) -> tuple[str, list[str], int | None]:
    """(namespace, the `:`-separated parts after it, index of the part where kind/name starts)."""
    namespace, _, rest = text.partition(":")
    parts = rest.split(":") if rest else []
    cut = next((i for i, part in enumerate(parts) if i > 0 and "/" in part), None)
    return namespace, parts, cut


def _target(parts: list[str]) -> tuple[str, str]:
    kind, slash, name = ":".join(parts).partition("/")
    return kind, name if slash else "*"


def fields(text: str) -> tuple[str, str, str, str]:
    """(namespace, group, kind, name) of a permission pattern; missing trailing fields are `*`."""
    namespace, parts, cut = _split(text)
    if cut is None and len(parts) > 1 and parts[-1] == "*":
        cut = len(parts) - 1
    if cut is None:
        return namespace, ":".join(parts) or "*", "*", "*"
    return namespace, ":".join(parts[:cut]), *_target(parts[cut:])


def parse_resource(text: str) -> Resource | None:
    """The fields of a request resource, or None when it is not `<ns>:<group>:<kind>/<name>`."""
    if isinstance(text, Resource):
        return text
    namespace, parts, cut = _split(text)
    if cut is None:
        return None
    return Resource(namespace, ":".join(parts[:cut]), *_target(parts[cut:]))


@functools.lru_cache(maxsize=4096)
def pattern(text: str) -> Pattern:
    """A permission's resource, compiled once per distinct text."""
    namespace, group, kind, name = fields(text)
    return Pattern(wildcard(_public_form(namespace)), wildcard(group), wildcard(kind), wildcard(name))


def resource_matches(permission: str, resource: str) -> bool:
    """Does a stored permission's resource pattern cover the resource a request names?"""
    parsed = parse_resource(resource)
    return parsed is not None and pattern(permission).matches(parsed)
