// The shell: decides between first-admin, login and the console, draws the frame (banner, navigation,
// namespace choice) and routes `#/page?args` to a page module. Pages never touch the token.

import { ApiError, get, request, setAuthLostHandler } from "./api.js";
import { button, clear, h, notice, select } from "./dom.js";
import * as session from "./session.js";
import { renderFirstAdmin, renderLogin } from "./pages/login.js";
import { ROUTES } from "./pages/index.js";

const NS_KEY = "pynacos.namespace";
const app = document.getElementById("app");
let serverState = {};
let expiryTimer = 0;

const ctx = {
  namespace: () => sessionStorage.getItem(NS_KEY) || "public",
  setNamespace(id) {
    sessionStorage.setItem(NS_KEY, id || "public");
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  namespaces: [],
  refreshNamespaces: () => loadNamespaces().then(drawNamespacePicker),
  state: () => serverState,
  /** Run a page action; an ApiError becomes an inline notice in `slot` (unless it already left for the login page). */
  async run(slot, fn) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (!err.redirected && slot) {
        clear(slot).append(notice("error", err.explain()));
      }
      return undefined;
    }
  },
};

async function boot() {
  setAuthLostHandler(loginAgain);
  try {
    serverState = (await get("v3/console/server/state")) || {};
  } catch (err) {
    fatal(`The console API did not answer: ${err instanceof ApiError ? err.explain() : err}`);
    return;
  }
  session.setAuthOn(serverState.login_page_enabled === "true");
  if (!session.authOn() && !(await consoleIsOpen())) session.setAuthOn(true);
  if (session.authOn() && serverState.auth_admin_request === "true") {
    renderFirstAdmin(app, { done: start, toLogin: () => loginAgain("") });
    return;
  }
  start();
}

/** The state says auth is off: ask an identity-only route whether the console scope agrees. */
async function consoleIsOpen() {
  if (session.token()) return true;
  try {
    await get("v3/console/core/namespace/list");
    return true;
  } catch (err) {
    return !(err instanceof ApiError && err.kind === "auth");
  }
}

function start() {
  if (session.authOn() && !session.token()) {
    renderLogin(app, { reason: takeReason(), done: start });
    return;
  }
  drawShell();
  scheduleExpiry();
  loadNamespaces().then(drawNamespacePicker);
  route();
}

let pendingReason = "";
function takeReason() {
  const r = pendingReason;
  pendingReason = "";
  return r;
}

/** A token that stopped working: forget it and show the login page with one line saying why. */
function loginAgain(reason) {
  clearTimeout(expiryTimer);
  session.clearSession();
  session.setAuthOn(true);
  for (const overlay of document.querySelectorAll(".overlay")) overlay.remove();
  pendingReason = reason;
  start();
}

function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const u = session.user();
  if (!u || !u.expiresAt) return;
  const left = u.expiresAt - Date.now();
  if (left < 2 ** 31) expiryTimer = setTimeout(() => loginAgain("Your session expired. Please log in again."), Math.max(left, 0));
}

async function logout() {
  clearTimeout(expiryTimer);
  // revoke the token on the server too (a copy of it elsewhere stops working); leave whatever it answers
  await request("POST", "v3/auth/user/logout").catch(() => null);
  session.clearSession();
  pendingReason = "You have logged out.";
  location.hash = "";
  start();
}

let shell = null;

function drawShell() {
  const u = session.user();
  const admin = session.isAdmin();
  const nav = h("nav", { class: "nav", "aria-label": "Sections" });
  for (const [hash, label, adminOnly] of NAV) {
    if (adminOnly && !admin) continue;
    nav.append(h("a", { href: hash, "data-nav": hash }, label));
  }
  const userBox = session.authOn()
    ? h("div", { class: "user" },
      h("span", { class: "who", title: u && u.admin ? "administrator" : "user" }, u ? u.username : ""),
      h("a", { href: "#/password" }, "Change password"),
      button("Log out", logout, "link logout"))
    : h("div", { class: "user" }, h("span", { class: "who" }, "auth off"));
  const picker = h("div", { class: "ns-picker" });
  const main = h("main", { class: "main", id: "main" });
  clear(app).append(
    h("header", { class: "top" },
      h("a", { class: "brand", href: "#/configs" }, "pynacos"),
      picker,
      userBox),
    session.authOn() ? "" : authOffBanner(),
    h("div", { class: "body" }, nav, main),
  );
  shell = { nav, picker, main };
}

function authOffBanner() {
  return h("div", { class: "banner danger", role: "alert", id: "auth-off-banner" },
    h("strong", {}, "Authentication is off. "),
    "Anyone who can reach this port can read and change every configuration, service, namespace and user. ",
    "Turn on nacos.core.auth.enabled (and nacos.core.auth.console.enabled) with a strong token secret key; ",
    "`pynacos doctor` shows what else to set.");
}

const NAV = [
  ["#/configs", "Configurations", false],
  ["#/services", "Services", false],
  ["#/namespaces", "Namespaces", false],
  ["#/users", "Users", true],
  ["#/roles", "Roles", true],
  ["#/permissions", "Permissions", true],
  ["#/auth-health", "Auth health", true],
];

async function loadNamespaces() {
  try {
    const list = await get("v3/console/core/namespace/list");
    ctx.namespaces = Array.isArray(list) ? list : [];
  } catch {
    ctx.namespaces = [{ namespace: "public", namespaceShowName: "public" }];
  }
  if (!ctx.namespaces.some((n) => n.namespace === ctx.namespace())) ctx.setNamespace("public");
}

function drawNamespacePicker() {
  if (!shell) return;
  const options = ctx.namespaces.map((n) => [n.namespace, n.namespaceShowName === n.namespace
    ? n.namespace : `${n.namespaceShowName} (${n.namespace})`]);
  const sel = select("namespace", options, ctx.namespace());
  sel.addEventListener("change", () => {
    ctx.setNamespace(sel.value);
    route();
  });
  clear(shell.picker).append(h("label", { class: "ns-label" }, "Namespace ", sel));
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  return { path: path || "configs", params: Object.fromEntries(new URLSearchParams(query || "")) };
}

async function route() {
  if (!shell || !document.body.contains(shell.main)) return;
  const { path, params } = parseHash();
  const section = path.startsWith("config") ? "configs" : path === "service" ? "services" : path;
  for (const a of shell.nav.querySelectorAll("a")) {
    a.classList.toggle("active", a.getAttribute("data-nav") === `#/${section}`);
  }
  const page = ROUTES[path];
  // a fresh container per visit: a slow page still rendering when the user moves on writes into a
  // detached element instead of under the next page
  const main = h("div", { class: "view" });
  clear(shell.main).append(main);
  if (!page) {
    main.append(notice("warn", `No page called "${path}".`));
    return;
  }
  if (page.admin && !session.isAdmin()) {
    main.append(notice("error", "This page is for administrators (ROLE_ADMIN). Your account does not have that role."));
    return;
  }
  try {
    await page.render(main, params, ctx);
  } catch (err) {
    if (err instanceof ApiError) {
      if (!err.redirected) main.append(notice("error", err.explain()));
    } else {
      main.append(notice("error", `The page failed: ${err && err.message ? err.message : err}`));
      throw err;
    }
  }
}

function fatal(text) {
  clear(app).append(h("div", { class: "center" }, notice("error", text)));
}

window.addEventListener("hashchange", route);
boot();
