"""Gray configs (protocol.md A.1): a beta version served to listed client IPs, and tag versions served
to clients that ask for a tag, next to the formal config of the same key.

A gray version is a row of `config_info_gray` named `beta` or `tag_<tag>`, whose `gray_rule` column
holds the rule as Nacos 2.5 writes it (`{"type":"beta","version":"1.0.0","expr":"ip1,ip2",
"priority":2147483647}`), so a database is readable by either server. Beta outranks tag; a client
that matches no gray version gets the formal config.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pynacos.server.config.models import ConfigKey
from pynacos.server.config.validation import valid_name
from pynacos.server.errors import BadRequest

BETA = "beta"
TAG = "tag"
RULE_VERSION = "1.0.0"
BETA_PRIORITY = 2**31 - 1  # Java's Integer.MAX_VALUE
TAG_PRIORITY = 2**31 - 2
MAX_TAG_LENGTH = 16
DEFAULT_MAX_VERSIONS = 10


class GrayRuleInvalid(BadRequest):
    code = 20011
    title = "config gray rule format invalid"


class GrayVersionsExceeded(BadRequest):
    code = 20010
    title = "config gray version version over max count"


@dataclass(frozen=True)
class GrayRule:
    type: str
    expr: str
    priority: int
    version: str = RULE_VERSION

    @property
    def name(self) -> str:
        """The `gray_name` of its row: `beta`, or `tag_<tag>`."""
        return BETA if self.type == BETA else f"{TAG}_{self.expr}"

    def matches(self, client_ip: str, tag: str | None) -> bool:
        if self.type == BETA:
            address = _address(client_ip)
            return address is not None and address in self._beta_addresses
        return tag is not None and tag == self.expr

    @functools.cached_property
    def _beta_addresses(self) -> frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        """Compared as addresses, so Java's `0:0:0:0:0:0:0:1` and a dual-stack `::ffff:10.0.0.1` match."""
        found = (_address(item.strip()) for item in self.expr.split(","))
        return frozenset(address for address in found if address is not None)

    def stored(self) -> str:
        """The `gray_rule` column, in Gson's field order."""
        return json.dumps(
            {"type": self.type, "version": self.version, "expr": self.expr, "priority": self.priority},
            separators=(",", ":"),
        )

    def history_info(self, src_user: str | None) -> str:
        """A gray history row's `ext_info`: Nacos writes the rule's fields again, as strings."""
        rule = {"type": self.type, "expr": self.expr, "version": self.version, "priority": str(self.priority)}
        info: dict[str, str] = {"gray_name": self.name}
        if src_user:
            info["src_user"] = src_user
        info["gray_rule"] = json.dumps(rule, separators=(",", ":"))
        return json.dumps(info, separators=(",", ":"))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def parse_stored_rule(text: str) -> GrayRule | None:
    """A `gray_rule` column; None for a rule type or version this server does not know."""
    try:
        fields = json.loads(text)
        rule = GrayRule(str(fields["type"]), str(fields["expr"]), int(fields["priority"]), str(fields["version"]))
    except (ValueError, KeyError, TypeError):
        return None
    return rule if rule.type in (BETA, TAG) and rule.version == RULE_VERSION else None


def beta_rule(beta_ips: str) -> GrayRule:
    """The `betaIps` header: IP literals, comma-separated (blanks around them are dropped).

    Nacos keeps the list as written, so `1.1.1.1, 2.2.2.2` never matches the second client; and a
    host name can never match a client address. Both are refused here instead of failing silently.
    """
    ips = [item.strip() for item in beta_ips.split(",") if item.strip()]
    for ip in ips:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise GrayRuleInvalid(f"config gray rule format invalid: betaIps holds '{ip}', not an IP address") from None
    return GrayRule(BETA, ",".join(dict.fromkeys(ips)), BETA_PRIORITY)


def tag_rule(tag: str) -> GrayRule:
    """Nacos's ParamUtils tag check first: the characters of a dataId, at most 16 of them."""
    if not valid_name(tag.strip()):
        raise BadRequest(f"invalid tag : {tag}")
    if len(tag) > MAX_TAG_LENGTH:
        raise BadRequest(f"too long tag, over {MAX_TAG_LENGTH}")
    return GrayRule(TAG, tag, TAG_PRIORITY)


@dataclass(frozen=True)
class GrayConfig:
    """One stored gray version of a config."""

    id: int
    key: ConfigKey
    rule: GrayRule
    content: str
    md5: str
    app_name: str = ""
    encrypted_data_key: str = ""
    src_user: str | None = None
    src_ip: str | None = None
    created: datetime = field(default_factory=datetime.now)
    modified: datetime = field(default_factory=datetime.now)

    @property
    def name(self) -> str:
        return self.rule.name


def ranked(grays: Iterable[GrayConfig]) -> tuple[GrayConfig, ...]:
    """Highest priority first (beta before tags), as Nacos tries them."""
    return tuple(sorted(grays, key=lambda gray: (-gray.rule.priority, gray.name)))


def matching(grays: tuple[GrayConfig, ...], client_ip: str, tag: str | None) -> GrayConfig | None:
    return next((gray for gray in grays if gray.rule.matches(client_ip, tag)), None)


def check_capacity(existing: Iterable[GrayConfig], name: str, limit: int) -> None:
    """At most `limit` gray versions per config; replacing an existing one is always allowed."""
    names = {gray.name for gray in existing}
    if name not in names and len(names) >= limit:
        raise GrayVersionsExceeded(f"gray config version is over max count :{limit}")
