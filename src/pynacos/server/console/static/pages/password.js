// Change my own password (identity only: any logged-in user may change their own).

import { post, put } from "../api.js";
import * as session from "../session.js";
import { clear, field, h, input, say } from "../dom.js";

export async function render(root, params, ctx) {
  const u = session.user();
  const msg = h("div", { class: "msg", id: "password-msg" });
  const pass = input("newPassword", "", { type: "password", id: "new-password", autocomplete: "new-password" });
  const again = input("again", "", { type: "password", id: "new-password-again", autocomplete: "new-password" });
  const form = h("form", { class: "card narrow", id: "password-form" }, h("h1", {}, "Change my password"),
    h("p", {}, `User ${u ? u.username : ""}`), field("New password", pass), field("Repeat", again),
    h("button", { type: "submit", class: "primary" }, "Change password"), msg);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pass.value || pass.value !== again.value) {
      say(msg, "error", pass.value ? "The two passwords differ." : "Enter a password.");
      return;
    }
    const ok = await ctx.run(msg, () => put("v3/auth/user", { username: u.username, newPassword: pass.value },
      { need: { action: "w", resource: "console/user/password" } }));
    if (ok !== undefined) {
      // the server revoked every earlier token of this user, this one too: continue with a fresh login
      // (without the old token: a login that presents an invalid token is refused, as in Nacos)
      session.clearSession();
      const login = await ctx.run(msg, () => post("v3/auth/user/login",
        { username: u.username, password: pass.value }, { noRedirect: true }));
      if (login !== undefined) session.save(login);
      say(msg, "ok", "Password changed. Earlier logins of this user have ended; this one goes on.");
      pass.value = "";
      again.value = "";
    }
  });
  clear(root).append(form);
}
