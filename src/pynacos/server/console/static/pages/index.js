// The route table: `#/<path>` -> page. `admin` pages are hidden from users without ROLE_ADMIN (the server
// refuses them anyway; hiding only avoids offering what would be refused).

import * as accounts from "./accounts.js";
import * as configEdit from "./config_edit.js";
import * as configs from "./configs.js";
import * as health from "./health.js";
import * as history from "./history.js";
import * as namespaces from "./namespaces.js";
import * as password from "./password.js";
import * as services from "./services.js";

export const ROUTES = {
  configs: { render: configs.render },
  "config/new": { render: configEdit.renderNew },
  "config/edit": { render: configEdit.renderEdit },
  "config/history": { render: history.render },
  "config/listeners": { render: configEdit.renderListeners },
  services: { render: services.renderList },
  service: { render: services.renderService },
  namespaces: { render: namespaces.render },
  users: { render: accounts.renderUsers, admin: true },
  roles: { render: accounts.renderRoles, admin: true },
  permissions: { render: accounts.renderPermissions, admin: true },
  "auth-health": { render: health.render, admin: true },
  password: { render: password.render },
};
