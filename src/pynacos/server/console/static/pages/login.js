// Login, and the first-admin screen shown while auth is on and no administrator exists.

import { ApiError, post } from "../api.js";
import { button, clear, field, h, input, notice, say } from "../dom.js";
import * as session from "../session.js";

const BOOTSTRAP_HEADER = "X-Pynacos-Bootstrap";

export function renderLogin(root, { reason, done }) {
  const msg = h("div", { class: "msg" });
  const user = input("username", "", { id: "login-username", autocomplete: "username", required: true });
  const pass = input("password", "", { id: "login-password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card login", id: "login-form" },
    h("h1", {}, "pynacos console"),
    reason ? h("p", { class: "reason", id: "login-reason", role: "status" }, reason) : null,
    field("User name", user),
    field("Password", pass),
    h("button", { type: "submit", class: "primary" }, "Log in"),
    msg);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(msg, "info", "Logging in…");
    try {
      const login = await post("v3/auth/user/login", { username: user.value, password: pass.value }, { noRedirect: true });
      if (!login || !login.accessToken) throw new ApiError("failed", "The server answered without a token.");
      session.save(login);
      done();
    } catch (err) {
      say(msg, "error", loginFailure(err));
      pass.value = "";
      pass.focus();
    }
  });
  clear(root).append(h("div", { class: "center" }, form));
  user.focus();
}

function loginFailure(err) {
  if (!(err instanceof ApiError)) return String(err);
  if (err.status === 429) return `Too many failed attempts: ${err.message}`;
  if (/user not found/i.test(err.message)) return "Wrong user name or password.";
  return err.explain();
}

export function renderFirstAdmin(root, { done, toLogin }) {
  const msg = h("div", { class: "msg" });
  const pass = input("password", "", { id: "admin-password", type: "password", autocomplete: "new-password" });
  const again = input("again", "", { id: "admin-password-again", type: "password", autocomplete: "new-password" });
  const bootstrap = input("bootstrap", "", { id: "admin-bootstrap", autocomplete: "off" });
  const form = h("form", { class: "card login", id: "first-admin-form" },
    h("h1", {}, "Create the administrator"),
    h("p", {}, "Auth is on and no administrator exists yet. Choose the password of the administrator ",
      h("code", {}, "nacos"), "."),
    h("p", { class: "hint" }, "This works only from the server's own host (loopback), or with the bootstrap token: ",
      "the content of the bootstrap token file in the server's data directory. The same rules as ",
      h("code", {}, "POST /v3/auth/user/admin"), "."),
    field("Password", pass),
    field("Repeat the password", again),
    field("Bootstrap token (only when not on the server's host)", bootstrap),
    h("button", { type: "submit", class: "primary" }, "Create administrator"),
    msg);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pass.value || pass.value !== again.value) {
      say(msg, "error", pass.value ? "The two passwords differ." : "Enter a password.");
      return;
    }
    const headers = bootstrap.value.trim() ? { [BOOTSTRAP_HEADER]: bootstrap.value.trim() } : {};
    try {
      const created = await post("v3/auth/user/admin", { password: pass.value }, { headers, noRedirect: true });
      const login = await post("v3/auth/user/login", { username: created.username, password: pass.value }, { noRedirect: true });
      session.save(login);
      done();
    } catch (err) {
      if (err instanceof ApiError && /have admin user/i.test(err.message)) {
        clear(msg).append(notice("warn", "An administrator exists already. "), button("Go to login", toLogin, "link"));
        return;
      }
      say(msg, "error", err instanceof ApiError ? err.explain() : String(err));
    }
  });
  clear(root).append(h("div", { class: "center" }, form));
  pass.focus();
}
