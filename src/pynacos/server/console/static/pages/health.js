// Auth health: what `pynacos doctor` checks, live from the running server (settings, recent failures
// grouped by cause, client and user, throttled accounts), each with its fix.

import { get } from "../api.js";
import { button, clear, h, table, time } from "../dom.js";

const LABEL = { ok: "ok", warn: "warning", fail: "problem" };
/** The server's reasons are Nacos's terse texts; say what each usually means. */
const MEANING = {
  "user not found!": "wrong user name or password",
  "token expired!": "an expired token",
  "token invalid!": "an invalid or revoked token",
  "Invalid signature": "a token signed with another key (do the nodes share the secret key?)",
  "authorization failed!": "a permission the user does not have",
};

function reason(text) {
  const meaning = MEANING[text];
  return meaning ? h("span", {}, meaning, h("small", { class: "raw" }, ` (${text})`)) : text;
}

export async function render(root, params, ctx) {
  const msg = h("div", { class: "msg" });
  clear(root).append(h("h1", {}, "Auth health"),
    h("p", { class: "hint" }, "The checks of `pynacos doctor`, against this running server. Failures come from the "
      + "rate-limited auth failure log."),
    h("div", { class: "toolbar" }, button("Refresh", () => ctx.go(`#/auth-health?t=${Date.now()}`))), msg);
  const data = await ctx.run(msg, () => get("v3/console/auth/health", {}, { need: { action: "r", resource: "console/auth/health" } }));
  if (!data) return;
  const checks = data.checks || [];
  const bad = checks.filter((c) => c.status !== "ok").length;
  root.append(
    h("section", { id: "health-checks" }, h("h2", {}, bad ? `Checks: ${bad} need attention` : "Checks: all sound"),
      table([
        { title: "", cell: (c) => h("span", { class: `tag ${c.status === "ok" ? "ok" : c.status === "warn" ? "warn" : "bad"}` },
          LABEL[c.status] || c.status) },
        { title: "Check", cell: (c) => c.name },
        { title: "Detail", cell: (c) => c.detail || "" },
        { title: "Fix", cell: (c) => (c.fix ? h("span", { class: "fix" }, c.fix) : "") },
      ], checks, "No checks reported.")),
    h("section", { id: "health-failures" }, h("h2", {}, "Recent auth failures"),
      table([
        { title: "Cause", cell: (f) => reason(f.reason) },
        { title: "Client", cell: (f) => f.client },
        { title: "User", cell: (f) => f.user || "(none)" },
        { title: "Count", cell: (f) => String(f.count) },
        { title: "Last seen", cell: (f) => whenever(f.lastSeen) },
      ], data.failures || [], "No auth failure recorded recently.")),
    h("section", { id: "health-throttled" }, h("h2", {}, "Throttled logins"),
      table([
        { title: "User", cell: (t) => t.user },
        { title: "Client", cell: (t) => t.client },
        { title: "Until", cell: (t) => whenever(t.until) },
      ], data.throttled || [], "No account or client is throttled.")),
  );
}

/** Seconds or milliseconds since the epoch, or already a date string. */
function whenever(value) {
  if (typeof value === "number") return time(value < 1e12 ? value * 1000 : value);
  return String(value ?? "");
}
