"""How a user may name a server on the command line: `host:port`, or a URL with the context path.

`pynacos doctor --server` used to need `http://host:8848/nacos` while `pynacos config --server` needed
`host:port` (a URL there became `.../nacos/nacos/v1/...` and answered 404). Both commands now take
both forms: `host[:port]` means `http://host:port` with the context path `/nacos`; a URL keeps its
scheme and port, and its path, when it has one, is the context path.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORT = 8848
DEFAULT_CONTEXT = "/nacos"


class BadAddress(ValueError):
    """A `--server` value that names no server."""


def split(address: str) -> tuple[str, str | None]:
    """(`host:port` or `scheme://host:port`, the context path the URL names or None)."""
    address = address.strip()
    if "://" not in address:
        host, slash, path = address.partition("/")
        if not host:
            raise BadAddress(f"no host in {address!r}: give host:port or http://host:port/nacos")
        return _with_port(host), "/" + path.strip("/") if slash and path.strip("/") else None
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadAddress(f"{address!r} is not an http(s) URL: give host:port or http://host:port/nacos")
    context = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}", context or None


def base_url(address: str) -> str:
    """The one URL a single-server check talks to: `host:port` gets `http://` and `/nacos`; a URL is kept
    as given (without a path it may be a server with an empty context path, which doctor then checks)."""
    server, context = split(address)
    if "://" not in server:
        return f"http://{server}{context or DEFAULT_CONTEXT}"
    return server + (context or "")


def _with_port(host: str) -> str:
    """`host` -> `host:8848`; `host:1` and `[::1]:1` are kept."""
    return host if ":" in host.rpartition("]")[2] else f"{host}:{DEFAULT_PORT}"
