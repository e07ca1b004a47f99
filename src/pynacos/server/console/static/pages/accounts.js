// Users, roles and permissions (administrators only). The permission editor shows, before a permission
// is added, which existing configurations and services its resource pattern covers.

import { del, get, post, put } from "../api.js";
import { button, clear, confirmAction, debounce, field, h, input, modal, say, select, table } from "../dom.js";
import { pager } from "./common.js";

const PAGE = 50;
const needs = (resource, action = "w") => ({ need: { action, resource } });

export async function renderUsers(root, params, ctx) {
  const msg = h("div", { class: "msg", id: "users-msg" });
  const pageNo = Number(params.pageNo || 1);
  clear(root).append(h("h1", {}, "Users"), h("div", { class: "toolbar" }, button("Create user…", () => createUser(ctx, msg))), msg);
  const page = await ctx.run(msg, () => get("v3/auth/user/list", { pageNo, pageSize: PAGE, search: "blur", username: "" },
    needs("console/users", "r")));
  if (!page) return;
  root.append(table([
    { title: "User", cell: (u) => u.username },
    { title: "", cell: (u) => h("span", { class: "row-actions" },
      button("Set password…", () => setPassword(u.username, ctx, msg), "link"),
      button("Delete", () => confirmAction("Delete user", `Delete user ${u.username}? Their tokens stop working.`, "Delete",
        async () => {
          const ok = await ctx.run(msg, () => del("v3/auth/user", { username: u.username }, needs("console/users")));
          if (ok !== undefined) ctx.go(`#/users?t=${Date.now()}`);
        }), "link danger")) },
  ], page.pageItems || []), pager(page, pageNo, (n) => ctx.go(`#/users?pageNo=${n}`)));
}

function createUser(ctx, msg) {
  const name = input("username", "", { id: "new-user-name" });
  const pass = input("password", "", { type: "password", id: "new-user-password", autocomplete: "new-password" });
  const out = h("div", { class: "msg" });
  modal("Create user", h("div", {}, field("User name", name), field("Password", pass), out), [
    ["Create", async (close) => {
      const ok = await ctx.run(out, () => post("v3/auth/user", { username: name.value, password: pass.value }, needs("console/users")));
      if (ok === undefined) return;
      close();
      say(msg, "ok", `User ${name.value} created. Give it a role, then permissions to that role.`);
      ctx.go(`#/users?t=${Date.now()}`);
    }, "primary"],
  ]);
}

function setPassword(username, ctx, msg) {
  const pass = input("password", "", { type: "password", autocomplete: "new-password" });
  const out = h("div", { class: "msg" });
  modal(`Password of ${username}`, h("div", {}, field("New password", pass), out), [
    ["Save", async (close) => {
      const ok = await ctx.run(out, () => put("v3/auth/user", { username, newPassword: pass.value }, needs("console/user/password")));
      if (ok === undefined) return;
      close();
      say(msg, "ok", `Password of ${username} changed.`);
    }, "primary"],
  ]);
}

export async function renderRoles(root, params, ctx) {
  const msg = h("div", { class: "msg", id: "roles-msg" });
  const pageNo = Number(params.pageNo || 1);
  const role = input("role", "", { id: "new-role", placeholder: "role, e.g. dev-read" });
  const user = input("username", "", { id: "new-role-user", placeholder: "user name" });
  const form = h("form", { class: "search", id: "role-form" }, role, user, h("button", { type: "submit", class: "primary" }, "Give role"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = await ctx.run(msg, () => post("v3/auth/role", { role: role.value, username: user.value }, needs("console/roles")));
    if (ok !== undefined) ctx.go(`#/roles?t=${Date.now()}`);
  });
  clear(root).append(h("h1", {}, "Roles"), h("p", { class: "hint" }, "A role groups permissions; a user has the permissions of "
    + "all their roles. ROLE_ADMIN is the administrator role."), form, msg);
  const page = await ctx.run(msg, () => get("v3/auth/role/list", { pageNo, pageSize: PAGE, search: "blur", role: "", username: "" },
    needs("console/roles", "r")));
  if (!page) return;
  root.append(table([
    { title: "Role", cell: (r) => r.role },
    { title: "User", cell: (r) => r.username },
    { title: "", cell: (r) => (r.role === "ROLE_ADMIN" ? "" : button("Remove", () => confirmAction("Remove role",
      `Take role ${r.role} from ${r.username}?`, "Remove", async () => {
        const ok = await ctx.run(msg, () => del("v3/auth/role", { role: r.role, username: r.username }, needs("console/roles")));
        if (ok !== undefined) ctx.go(`#/roles?t=${Date.now()}`);
      }), "link danger")) },
  ], page.pageItems || []), pager(page, pageNo, (n) => ctx.go(`#/roles?pageNo=${n}`)));
}

export async function renderPermissions(root, params, ctx) {
  const msg = h("div", { class: "msg", id: "perms-msg" });
  const pageNo = Number(params.pageNo || 1);
  clear(root).append(h("h1", {}, "Permissions"), editor(ctx, msg), msg);
  const page = await ctx.run(msg, () => get("v3/auth/permission/list", { pageNo, pageSize: PAGE, search: "blur", role: "" },
    needs("console/permissions", "r")));
  if (!page) return;
  root.append(table([
    { title: "Role", cell: (p) => p.role },
    { title: "Resource", cell: (p) => h("code", {}, p.resource) },
    { title: "Action", cell: (p) => ({ r: "read", w: "write", rw: "read and write" }[p.action] || p.action) },
    { title: "", cell: (p) => h("span", { class: "row-actions" },
      button("Covers…", () => coverageDialog(p.resource, p.action, ctx), "link"),
      button("Delete", () => confirmAction("Delete permission", `Take ${p.action} on ${p.resource} from role ${p.role}?`, "Delete",
        async () => {
          const ok = await ctx.run(msg, () => del("v3/auth/permission", p, needs("console/permissions")));
          if (ok !== undefined) ctx.go(`#/permissions?t=${Date.now()}`);
        }), "link danger")) },
  ], page.pageItems || []), pager(page, pageNo, (n) => ctx.go(`#/permissions?pageNo=${n}`)));
}

function editor(ctx, msg) {
  const role = input("role", "", { id: "perm-role", placeholder: "role" });
  const resource = input("resource", "", { id: "perm-resource", placeholder: "namespace:group:config/dataId" });
  const action = select("action", [["r", "read"], ["w", "write"], ["rw", "read and write"]], "r");
  action.id = "perm-action";
  const preview = h("div", { class: "coverage", id: "perm-coverage", "aria-live": "polite" });
  const refresh = debounce(() => drawCoverage(preview, resource.value.trim(), action.value, ctx), 300);
  resource.addEventListener("input", refresh);
  action.addEventListener("change", refresh);
  const form = h("form", { class: "card", id: "perm-form" },
    h("h2", {}, "Add a permission"),
    h("p", { class: "hint" }, "Resources: ", h("code", {}, "<namespace>:<group>:config/<dataId>"), " or ",
      h("code", {}, "<namespace>:<group>:naming/<service>"), "; * matches anything. Example: ", h("code", {}, "dev:*:config/*"), "."),
    h("div", { class: "form-grid" }, field("Role", role), field("Resource", resource), field("Action", action)),
    preview,
    h("button", { type: "submit", class: "primary" }, "Add permission"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = await ctx.run(msg, () => post("v3/auth/permission", { role: role.value, resource: resource.value, action: action.value },
      needs("console/permissions")));
    if (ok !== undefined) {
      say(msg, "ok", "Permission added.");
      ctx.go(`#/permissions?t=${Date.now()}`);
    }
  });
  return form;
}

async function drawCoverage(box, resource, action, ctx) {
  clear(box);
  if (!resource) return;
  box.append(h("p", { class: "hint" }, "Checking what this pattern covers…"));
  const data = await ctx.run(box, () => get("v3/console/auth/coverage", { resource, action }));
  if (!data) return;
  clear(box).append(coverage(data));
}

function coverage(data) {
  const configs = data.configs || [];
  const services = data.services || [];
  return h("div", {},
    h("p", {}, `Covers ${configs.length} configuration(s) and ${services.length} service(s)${data.truncated ? " (first ones only)" : ""}.`),
    configs.length ? h("ul", { class: "covered" }, configs.map((c) => h("li", {}, `config ${c.namespaceId} / ${c.groupName} / ${c.dataId}`))) : null,
    services.length ? h("ul", { class: "covered" }, services.map((s) => h("li", {}, `service ${s.namespaceId} / ${s.groupName} / ${s.serviceName}`))) : null);
}

function coverageDialog(resource, action, ctx) {
  const box = h("div", { class: "coverage" });
  modal(`What ${resource} covers`, box, []);
  drawCoverage(box, resource, action, ctx);
}
