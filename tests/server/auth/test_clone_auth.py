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
