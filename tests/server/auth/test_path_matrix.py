"""Route x principal x path variant (security.md §3): odd paths are refused, never served unchecked."""

from __future__ import annotations

import httpx
import pytest

from pynacos.server.app import NacosApp
from tests.server.support import raw_request

SECURED = [
    ("GET", "/v1/auth/users", {"pageNo": "1", "pageSize": "5"}),
    ("POST", "/v1/auth/users", {"username": "zed", "password": "Zed-passw0rd"}),
    ("GET", "/v1/cs/configs", {"dataId": "a", "group": "g"}),
    ("GET", "/v1/cs/history", {"search": "accurate", "dataId": "a", "group": "g"}),
    ("POST", "/v1/console/namespaces", {"customNamespaceId": "n1", "namespaceName": "n1"}),
    ("GET", "/v2/cs/config", {"dataId": "a", "group": "g"}),
]
VARIANTS = {
    "canonical": lambda p: "/nacos" + p,
    "trailing slash": lambda p: "/nacos" + p + "/",
    "double slash": lambda p: "/nacos/" + p,
    "dot segment": lambda p: "/nacos/." + p,
    "dot-dot": lambda p: "/nacos/v1/../" + p.lstrip("/"),
    "encoded dot": lambda p: "/nacos/%2e" + p,
    "encoded slash": lambda p: "/nacos" + p.replace("/", "%2F", 2),
    "semicolon": lambda p: "/nacos" + p + ";jsessionid=x",
    "backslash": lambda p: "/nacos" + p.replace("/", "\\", 2),
    "upper case": lambda p: "/NACOS" + p.upper(),
    "missing context": lambda p: p,
    "doubled context": lambda p: "/nacos/nacos" + p,
    "extended context": lambda p: "/nacosx" + p,
}
EXPECTED = {
    "double slash": 400,
    "dot segment": 400,
    "dot-dot": 400,
    "encoded dot": 400,
    "encoded slash": 400,
    "semicolon": 400,
    "backslash": 400,
    "upper case": 404,
    "missing context": 404,
    "doubled context": 404,
    "extended context": 404,
}


async def raw(app: NacosApp, method: str, path: str, params: dict[str, str], token: str | None) -> int:
    """Send the path bytes exactly as written (httpx would normalise them)."""
    query = str(httpx.QueryParams({**params, **({"accessToken": token} if token else {})})).encode()
    return (await raw_request(app, method, path.encode(), query)).status


@pytest.mark.parametrize("principal", ["anonymous", "user", "admin"])
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(("method", "path", "params"), SECURED)
async def test_variant_outcome(
    app: NacosApp,
    admin_token: str,
    user_token: str,
    principal: str,
    variant: str,
    method: str,
    path: str,
    params: dict[str, str],
) -> None:
    token = {"anonymous": None, "user": user_token, "admin": admin_token}[principal]
    status = await raw(app, method, VARIANTS[variant](path), params, token)
    fresh = {k: v + "c" if k == "username" else v for k, v in params.items()}  # creating twice would differ
    canonical = await raw(app, method, "/nacos" + path, fresh, token)
    if variant in EXPECTED:
        assert status == EXPECTED[variant]
    else:
        assert status == canonical
    if principal == "anonymous":
        assert status in (400, 403, 404)
