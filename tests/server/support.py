"""Small helpers shared by the in-process server tests (publishing, raw ASGI calls, zips)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import httpx

from pynacos.server.app import NacosApp

CFG = "/v1/cs/configs"
GROUP = "DEFAULT_GROUP"
ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


async def publish(
    client: httpx.AsyncClient, data_id: str = "a.yaml", content: str = "k: v", group: str = GROUP, **extra: str
) -> str:
    """v1 publish; answers `"<status> <body>"` so a test can compare in one line."""
    form = {"dataId": data_id, "group": group, "content": content, **extra}
    response = await client.post(CFG, data=form)
    return f"{response.status_code} {response.text}"


async def delete(client: httpx.AsyncClient, data_id: str = "a.yaml", group: str = GROUP, **extra: str) -> str:
    response = await client.delete(CFG, params={"dataId": data_id, "group": group, **extra})
    return f"{response.status_code} {response.text}"


async def show_all(client: httpx.AsyncClient, data_id: str = "a.yaml", group: str = GROUP, **extra: str) -> Any:
    response = await client.get(CFG, params={"show": "all", "dataId": data_id, "group": group, **extra})
    assert response.status_code == 200
    return response.json()


async def create_namespace(client: httpx.AsyncClient, namespace_id: str, name: str | None = None) -> None:
    form = {"customNamespaceId": namespace_id, "namespaceName": name or namespace_id}
    response = await client.post("/v1/console/namespaces", data=form)
    assert (response.status_code, response.text) == (200, "true")


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def raw_request(
    app: NacosApp,
    method: str,
    raw_path: bytes,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """Call the ASGI app with a path exactly as given (httpx would normalise `/./` away)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path.decode("latin-1"),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return RawResponse(
        start["status"],
        {k.decode().lower(): v.decode() for k, v in start["headers"]},
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


def make_zip(entries: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def read_zip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
