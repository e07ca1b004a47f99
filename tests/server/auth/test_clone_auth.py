"""Clone checks read access to every source config, not only write access to the target namespace."""

from __future__ import annotations

import httpx

from pynacos.server.app import NacosApp
from pynacos.server.config.models import ConfigKey

CFG = "/v1/cs/configs"


async def test_clone_cannot_copy_configs_the_caller_cannot_read(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str, user_token: str
) -> None:
    secret = {"dataId": "secret.properties", "group": "G", "tenant": "prod"}
    await client.post(CFG, data={**secret, "content": "password=x", "accessToken": admin_token})
    own = {"dataId": "own.properties", "group": "G", "tenant": "dev"}
    await client.post(CFG, data={**own, "content": "mine", "accessToken": admin_token})
    ids = {c.key.data_id: c.id for c in app.configs.all()}
    target = {"clone": "true", "tenant": "dev", "policy": "OVERWRITE", "accessToken": user_token}
    stolen = await client.post(CFG, params=target, json=[{"cfgId": ids["secret.properties"], "dataId": "copy"}])
    assert stolen.json() == {"code": 100005, "message": "导入的文件数据为空", "data": {"succCount": 0}}
    assert app.configs.get(ConfigKey("dev", "G", "copy")) is None
    copied = await client.post(CFG, params=target, json=[{"cfgId": ids["own.properties"], "dataId": "own-copy"}])
    assert copied.json()["data"]["succCount"] == 1
    into_prod = await client.post(CFG, params={**target, "tenant": "prod"}, json=[{"cfgId": ids["own.properties"]}])
    assert into_prod.status_code == 403


async def test_clone_writes_where_write_was_checked_and_only_keys_the_caller_may_write(
    app: NacosApp, client: httpx.AsyncClient, admin_token: str
) -> None:
    """A blank `tenant` with `namespaceId=dev` clones into dev (the namespace checked), and a body naming a
    group the caller may not write is refused whole, whatever group the query names."""
    await app.namespaces.create("dev", "dev", None)
    accounts = app.auth.accounts
    await accounts.create_user("u2", "User-Passw0rd!")
    await accounts.add_role("dev-g", "u2")
    await accounts.add_permission("dev-g", "dev:G:*", "rw")
    token = (await client.post("/v1/auth/login", data={"username": "u2", "password": "User-Passw0rd!"})).json()
    user = token["accessToken"]
    source = {"dataId": "s.properties", "group": "G", "tenant": "dev"}
    await client.post(CFG, data={**source, "content": "v", "accessToken": admin_token})
    public = {"dataId": "s.properties", "group": "G"}
    await client.post(CFG, data={**public, "content": "public original", "accessToken": admin_token})
    cfg_id = str(next(c.id for c in app.configs.all() if c.key.tenant == "dev"))
    aliased = {"clone": "true", "tenant": "", "namespaceId": "dev", "policy": "OVERWRITE", "accessToken": user}
    aliased |= {"group": "G", "dataId": "copy.properties"}  # the route's own check reads these
    copied = await client.post(CFG, params=aliased, json=[{"cfgId": cfg_id, "dataId": "copy.properties"}])
    assert copied.json()["data"]["succCount"] == 1  # a string cfgId, as the console sends it
    assert app.configs.get(ConfigKey("dev", "G", "copy.properties")) is not None
    assert app.configs.get(ConfigKey("", "G", "copy.properties")) is None
    elsewhere = {**aliased, "dataId": "x"}
    refused = await client.post(CFG, params=elsewhere, json=[{"cfgId": cfg_id, "group": "OTHER"}])
    assert refused.status_code == 403
    assert app.configs.get(ConfigKey("dev", "OTHER", "s.properties")) is None
