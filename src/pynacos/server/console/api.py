"""Nacos 3.x console API `/v3/console/**` (protocol-v3 G.7): what Nacos's own web console calls.

Every route calls the handler of the 3.x admin route doing the same thing (config/http_v3.py,
naming/http_v3.py, namespaces/http_v3.py, ops/) or the helper that handler uses, so a rule has one
implementation; what is the console's own is only the wire around that call:
- names: `customNamespaceId` (create, exist), `targetNamespaceId` and the body `[{"cfgId","dataId","group"}]`
  (clone), `srcUser` (import, clone);
- `/cs/config/list` is always a blur search without a content filter (`/searchDetail` has both);
- `PUT /ns/instance` treats an absent `ephemeral` as false (the console edits persistent instances by
  default); `/ns/instance/list` answers a Page, not an array;
- `DELETE /cs/config/beta` that fails in storage is HTTP 200 `{"code":500,"message":"Internal Server Error",
  "data":false}`; `/core/namespace/exist` is a boolean (`public` exists, blank does not);
- `/server/state` is the bare string map of `/v1/console/server/state` (G.7.2) whose auth keys describe the
  console scope (`nacos.core.auth.console.enabled`), which is what decides whether this API needs a login;
- `/server/announcement` knows `zh-CN` and `en-US` only, and reads nothing else from disk.
Errors are the 3.x `Result` documents (router style "v2"); auth refusals are the guard's error documents.
Every `/v3/console/` path is checked while `nacos.core.auth.console.enabled` is on (auth/guard.py);
`/v3/console/ai/**` is not served (404).

Where 3.0.3 is not followed:
- `/core/cluster/nodes` filters by `keyword` (an address prefix, as `/v1/core/cluster/nodes`); 3.0.3 reads
  the parameter and ignores it;
- `/ns/instance/list` refuses a page below 1 (400 code 20002) as every other PageForm; 3.0.3 skips the check;
- clone needs write on the target namespace (`<targetNamespaceId>:*:config/*`) and then read on every
  source and write on every target config; 3.0.3's resource parser reads `namespaceId`, which this route
  does not take, so it checks a namespace unrelated to the target (the public one unless `namespaceId` is sent);
- `/health/readiness` answers 503 while data loads, as `/v2/console/health/readiness` (3.0.3: 500);
- `/server/state`'s `auth_enabled` is the console scope's switch; 3.0.3 merges the server module's value
  (core or admin scope on) and the console's into one map, and which one wins depends on hash order;
- the admin handlers' own departures (config/http_v3.py, naming/http_v3.py, namespaces/http_v3.py
  docstrings) hold here too: listings show real times and ids, `GET /instance` needs read, and so on.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pynacos.server import http
from pynacos.server.auth.policy import (
    AUTHENTICATED,
    CONFIG_READ_V3,
    CONFIG_WRITE_V3,
    PUBLIC,
    Secured,
    namespaced,
)
from pynacos.server.auth.system import AuthSystem
from pynacos.server.config import validation
from pynacos.server.config.http_v3 import ConfigRoutesV3, checked_policy, transfer_result
from pynacos.server.config.transfer import CLONE_CONSOLE
from pynacos.server.errors import MissingParameter
from pynacos.server.http import Call, Params
from pynacos.server.namespaces.http import NAMESPACE_WRITE, MissingV2
from pynacos.server.namespaces.http_v3 import NamespaceRoutesV3
from pynacos.server.namespaces.service import normalise
from pynacos.server.naming.http import NAMING_READ, NAMING_WRITE
from pynacos.server.naming.http_v3 import NamingRoutesV3, page_form
from pynacos.server.ops.http import OpsRoutes
from pynacos.server.ops.http_v3 import CoreRoutes
from pynacos.server.routing import Route, route
from pynacos.server.storage.outage import StorageHealth, is_storage_error

BASE = "/v3/console"
LANGUAGES = ("zh-CN", "en-US")
NAMESPACE_READ = Secured("r", resource="console/namespaces")
CLUSTER_READ = Secured("r", resource="/v1/core/cluster")
LISTENER_READ = Secured("r", resource="/v1/cs/listener")
#: `DELETE /cs/config/beta` when storage fails: Spring's `Result.failure(500, reason phrase, false)`
BETA_REMOVAL_FAILED = {"code": 500, "message": "Internal Server Error", "data": False}


def clone_target(params: Params) -> list[str]:
    """The clone's policy names the namespace the handler writes to (`targetNamespaceId`)."""
    return [namespaced(params.text("targetNamespaceId"), "", "config", "")]


CLONE_WRITE = Secured("w", clone_target)


def with_default(params: Params, name: str, value: str) -> Params:
    """`params` with `name` set to `value` where it is absent or blank (a Spring default)."""
    if params.get(name, "").strip():
        return params
    return Params([*((k, v) for k, v in params.items() if k != name), (name, value)])


class ConsoleRoutes:
    """Handlers of `/v3/console/**` over the 3.x admin handlers; `routes()` is their part of the table."""

    def __init__(
        self,
        config: ConfigRoutesV3,
        naming: NamingRoutesV3,
        namespaces: NamespaceRoutesV3,
        core: CoreRoutes,
        ops: OpsRoutes,
        auth: AuthSystem,
        storage: StorageHealth,
    ) -> None:
        self.config = config
        self.naming = naming
        self.namespaces = namespaces
        self.core = core
        self.ops = ops
        self.auth = auth
        self.storage = storage

    def routes(self) -> list[Route]:
        return [*self._server_routes(), *self._core_routes(), *self._config_routes(), *self._naming_routes()]

    def _server_routes(self) -> list[Route]:
        server, health = f"{BASE}/server", f"{BASE}/health"
        return [
            route(f"{server}/state", "GET", self.state, PUBLIC, "v2", before_ready=True),
            route(f"{server}/announcement", "GET", self.announcement, PUBLIC, "v2"),
            route(f"{server}/guide", "GET", self.guide, PUBLIC, "v2"),
            route(f"{health}/liveness", "GET", self.ops.liveness_v2, PUBLIC, "v2", before_ready=True),
            route(f"{health}/readiness", "GET", self.ops.readiness_v2, PUBLIC, "v2", before_ready=True),
        ]

    def _core_routes(self) -> list[Route]:
        ns, v3 = f"{BASE}/core/namespace", self.namespaces
        return [
            route(f"{ns}/list", "GET", v3.list, AUTHENTICATED, "v2"),
            route(ns, "GET", v3.get, NAMESPACE_READ, "v2"),
            route(ns, "POST", self.create_namespace, NAMESPACE_WRITE, "v2"),
            route(ns, "PUT", v3.update, NAMESPACE_WRITE, "v2"),
            route(ns, "DELETE", v3.delete, NAMESPACE_WRITE, "v2"),
            route(f"{ns}/exist", "GET", self.namespace_exists, AUTHENTICATED, "v2"),
            route(f"{BASE}/core/cluster/nodes", "GET", self.nodes, CLUSTER_READ, "v2"),
        ]

    def _config_routes(self) -> list[Route]:
        config, history, v3 = f"{BASE}/cs/config", f"{BASE}/cs/history", self.config
        read, write = CONFIG_READ_V3, CONFIG_WRITE_V3
        return [
            route(config, "GET", v3.get, read, "v2"),
            route(config, "POST", v3.publish, write, "v2"),
            route(config, "DELETE", v3.delete, write, "v2"),
            route(f"{config}/batchDelete", "DELETE", v3.delete_batch, write, "v2"),
            route(f"{config}/list", "GET", self.list_configs, read, "v2"),
            route(f"{config}/searchDetail", "GET", v3.search, read, "v2"),
            route(f"{config}/listener", "GET", v3.listeners_of_config, read, "v2"),
            route(f"{config}/listener/ip", "GET", v3.configs_of_listener, LISTENER_READ, "v2"),
            route(f"{config}/export2", "GET", v3.export, read, "v2"),
            route(f"{config}/import", "POST", self.import_configs, write, "v2"),
            route(f"{config}/clone", "POST", self.clone, CLONE_WRITE, "v2"),
            route(f"{config}/beta", "GET", v3.get_beta, read, "v2"),
            route(f"{config}/beta", "DELETE", self.stop_beta, write, "v2"),
            route(history, "GET", v3.history_detail, read, "v2"),
            route(f"{history}/list", "GET", v3.history_list, read, "v2"),
            route(f"{history}/previous", "GET", v3.history_previous, read, "v2"),
            route(f"{history}/configs", "GET", v3.history_configs, read, "v2"),
        ]

    def _naming_routes(self) -> list[Route]:
        service, v3 = f"{BASE}/ns/service", self.naming
        read, write = NAMING_READ, NAMING_WRITE
        return [
            route(service, "GET", v3.get_service, read, "v2"),
            route(service, "POST", v3.create_service, write, "v2"),
            route(service, "PUT", v3.update_service, write, "v2"),
            route(service, "DELETE", v3.delete_service, write, "v2"),
            route(f"{service}/list", "GET", v3.list_services, read, "v2"),
            route(f"{service}/subscribers", "GET", v3.subscribers, read, "v2"),
            route(f"{service}/selector/types", "GET", v3.selector_types, AUTHENTICATED, "v2"),
            route(f"{service}/cluster", "PUT", v3.update_cluster, write, "v2"),
            # a `@RequestMapping` without a method in Nacos: any method lists
            route(f"{BASE}/ns/instance/list", "GET,POST,PUT,DELETE", self.list_instances, read, "v2"),
            route(f"{BASE}/ns/instance", "PUT", self.update_instance, write, "v2"),
        ]

    # -- server ------------------------------------------------------------------------------------

    async def state(self, call: Call) -> Response:
        return http.json(self.ops.state_map() | self.auth.guard.state(console=True))

    async def announcement(self, call: Call) -> Response:
        """`conf/announcement_<language>.conf`, for the two languages the console ships only."""
        language = call.params.text("language", "zh-CN") or "zh-CN"
        if language not in LANGUAGES:
            return http.json({"code": 30000, "message": f"Unsupported language: {language}", "data": None})
        return http.result(self.ops.conf_text(f"announcement_{language}.conf"))

    async def guide(self, call: Call) -> Response:
        return http.result(self.ops.conf_text("console-guide.conf"))

    # -- core --------------------------------------------------------------------------------------

    async def create_namespace(self, call: Call) -> Response:
        """`customNamespaceId` (blank: a random UUID, else trimmed) and `namespaceName` (must be given)."""
        p = call.params
        if p.get("namespaceName") is None:
            raise MissingV2("namespaceName")
        namespace_id = p.text("customNamespaceId").strip()
        validation.check_namespace(namespace_id)  # the parameter checker, as on the v1 and admin creates
        validation.check_show_name(p["namespaceName"])
        await self.namespaces.create_new(namespace_id, p["namespaceName"], p.get("namespaceDesc"))
        return http.result(True)

    async def namespace_exists(self, call: Call) -> Response:
        """Is the id taken: `public` is, a blank id never is (the console then makes a UUID)."""
        custom = call.params.required("customNamespaceId").strip()
        if not custom:
            return http.result(False)
        return http.result(normalise(custom) == "" or self.namespaces.service.exists(custom))

    async def nodes(self, call: Call) -> Response:
        """NacosMembers whose address starts with `keyword`, sorted by address (as `/v1/core/cluster/nodes`)."""
        keyword = call.params.text("keyword").strip()
        members = sorted(self.core.members(), key=lambda m: m.address)
        return http.result([m.json() for m in members if m.address.startswith(keyword)])

    # -- config ------------------------------------------------------------------------------------

    async def list_configs(self, call: Call) -> Response:
        """Always blur (`*` is the wildcard), no content filter: `/searchDetail` has those."""
        return http.result(self.config.search_page(call, blur=True, content=""))

    async def import_configs(self, call: Call) -> Response:
        checked_policy(call.params)
        return await transfer_result(self.config.transfer.import_configs(call, src_user_name="srcUser"))

    async def clone(self, call: Call) -> Response:
        """`?targetNamespaceId=` with a JSON body `[{"cfgId":1,"dataId":..,"group":..}]` (new names optional)."""
        if "targetNamespaceId" not in call.params:
            raise MissingParameter("targetNamespaceId")
        checked_policy(call.params)
        return await transfer_result(self.config.transfer.clone_configs(call, CLONE_CONSOLE))

    async def stop_beta(self, call: Call) -> Response:
        """The admin route's removal; a storage failure is the console's HTTP 200 failure document."""
        try:
            return await self.config.stop_beta(call)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            self.storage.failed(exc, f"{call.method} {call.path}")
            return http.json(BETA_REMOVAL_FAILED)

    # -- naming ------------------------------------------------------------------------------------

    async def list_instances(self, call: Call) -> Response:
        """The admin list of one cluster, as a Page (PageForm: 1/100)."""
        page_no, page_size = page_form(call.params)
        shown = self.naming.cluster_instances(call.params)
        items: list[dict[str, Any]] = shown[(page_no - 1) * page_size : page_no * page_size]
        return http.result(http.page(len(shown), page_no, page_size, items))

    async def update_instance(self, call: Call) -> Response:
        """The admin update, with `ephemeral` false unless given."""
        call.params = with_default(call.params, "ephemeral", "false")
        return await self.naming.update(call)
