// Create or edit one configuration: type-aware validation, a diff to review before publishing,
// compare-and-set against the version loaded, and the beta (gray) version if there is one.

import { configResource, del, get, need, post } from "../api.js";
import { button, clear, confirmAction, debounce, field, h, input, link, notice, say, select, table } from "../dom.js";
import { renderDiff } from "../diff.js";
import { validate } from "../validate.js";
import { configHash } from "./configs.js";

export const TYPES = ["text", "json", "xml", "yaml", "html", "properties", "toml"];

function keyOf(params, ctx) {
  return { dataId: params.dataId || "", groupName: params.groupName || "DEFAULT_GROUP",
    namespaceId: params.namespaceId || ctx.namespace() };
}

export async function renderNew(root, params, ctx) {
  drawEditor(root, ctx, { ...keyOf(params, ctx), dataId: "", content: "", type: "text" }, true);
}

export async function renderEdit(root, params, ctx) {
  const key = keyOf(params, ctx);
  const msg = h("div", { class: "msg" });
  clear(root).append(h("h1", {}, "Configuration"), msg);
  const current = await ctx.run(msg, () => get("v3/console/cs/config", key,
    { need: need("r", configResource(key.namespaceId, key.groupName, key.dataId)) }));
  if (!current) return;
  drawEditor(root, ctx, current, false, params.published ? "Published." : "");
}

function drawEditor(root, ctx, original, creating, flash = "") {
  const msg = h("div", { class: "msg", id: "editor-msg" });
  const f = {
    dataId: input("dataId", original.dataId, { id: "cfg-dataId", disabled: !creating, required: true }),
    groupName: input("groupName", original.groupName || "DEFAULT_GROUP", { id: "cfg-group", disabled: !creating }),
    type: select("type", TYPES, TYPES.includes(original.type) ? original.type : "text"),
    desc: input("desc", original.desc || "", { id: "cfg-desc" }),
    configTags: input("configTags", original.configTags || "", { id: "cfg-tags", placeholder: "comma separated" }),
    appName: input("appName", original.appName || "", { id: "cfg-app" }),
    betaIps: input("betaIps", "", { id: "cfg-beta-ips", placeholder: "optional: 10.0.0.1,10.0.0.2" }),
  };
  f.type.id = "cfg-type";
  const content = h("textarea", { id: "cfg-content", name: "content", spellcheck: "false", rows: 14 });
  content.value = original.content || "";
  const status = h("div", { class: "validation", id: "cfg-validation", "aria-live": "polite" });
  const check = () => {
    const r = validate(f.type.value, content.value);
    status.className = `validation ${r.ok ? "ok" : "bad"}`;
    status.textContent = r.message;
    return r;
  };
  content.addEventListener("input", debounce(check, 250));
  f.type.addEventListener("change", check);
  const review = h("div", { class: "review", id: "cfg-review" });
  const ns = original.namespaceId || ctx.namespace();
  const title = creating ? "Create configuration" : `Edit ${original.dataId}`;
  const side = creating ? "" : h("div", { class: "links" },
    link("History", configHash("config/history", original)),
    link("Listeners", configHash("config/listeners", original)));
  clear(root).append(
    h("h1", {}, title),
    h("p", { class: "sub" }, `Namespace ${ns}`, creating ? "" : ` · md5 ${original.md5 || ""}`),
    side,
    h("div", { class: "form-grid" }, field("Data ID", f.dataId), field("Group", f.groupName), field("Format", f.type),
      field("Description", f.desc), field("Tags", f.configTags), field("Application", f.appName)),
    field("Content", content),
    status,
    field("Beta: publish only to these client IPs", f.betaIps, "Leave empty to publish to everyone."),
    h("div", { class: "actions" }, button("Review changes", () => showReview(), "primary"),
      link("Back to list", "#/configs")),
    msg, review);
  check();
  if (flash) say(msg, "ok", flash);
  if (!creating) drawBeta(root, original, ctx);

  function showReview() {
    clear(msg);
    const dataId = f.dataId.value.trim();
    if (!dataId) {
      say(msg, "error", "Enter a Data ID.");
      return;
    }
    if (!content.value.trim()) {
      say(msg, "error", "The content is empty; Nacos does not store empty configurations.");
      return;
    }
    const result = check();
    const beta = f.betaIps.value.trim();
    clear(review).append(
      h("h2", {}, beta ? `Review: beta for ${beta}` : "Review before publishing"),
      result.ok ? "" : notice("warn", `${result.message} Publish anyway only if the application accepts it.`),
      renderDiff(creating ? "" : original.content, content.value, [creating ? "(new)" : "published", "yours"]),
      h("div", { class: "actions" }, button(result.ok ? "Publish" : "Publish anyway", () => publish(), "primary publish"),
        button("Keep editing", () => clear(review), "link")));
    review.scrollIntoView({ block: "nearest" });
  }

  async function publish() {
    const key = { dataId: f.dataId.value.trim(), groupName: f.groupName.value.trim() || "DEFAULT_GROUP", namespaceId: ns };
    const headers = {};
    if (!creating && original.md5) headers.casMd5 = original.md5;
    const beta = f.betaIps.value.trim();
    if (beta) headers.betaIps = beta;
    const form = { ...key, content: content.value, type: f.type.value, desc: f.desc.value,
      configTags: f.configTags.value, appName: f.appName.value };
    const done = await ctx.run(msg, () => post("v3/console/cs/config", form,
      { headers, need: need("w", configResource(key.namespaceId, key.groupName, key.dataId)) }));
    if (done === undefined) {
      if (/md5 may have changed/i.test(msg.textContent)) {
        msg.append(notice("warn", "Someone published a newer version after you opened this page. Reload to see it."));
      }
      return;
    }
    clear(review);
    ctx.go(`${configHash("config/edit", key)}&published=${Date.now()}`);
  }
}

async function drawBeta(root, c, ctx) {
  const box = h("section", { class: "beta", id: "cfg-beta" });
  root.append(box);
  let beta;
  try {
    beta = await get("v3/console/cs/config/beta", { dataId: c.dataId, groupName: c.groupName, namespaceId: c.namespaceId });
  } catch {
    return; // no beta version: nothing to show
  }
  if (!beta || !beta.content) return;
  const msg = h("div", { class: "msg" });
  box.append(h("h2", {}, "Beta version"),
    h("p", {}, `Served only to ${betaTargets(beta.grayRule)}.`),
    renderDiff(c.content, beta.content, ["published", "beta"]),
    h("div", { class: "actions" }, button("Stop the beta", () => confirmAction("Stop the beta",
      "Remove the beta version? Its clients go back to the published content.", "Stop beta", async () => {
        const ok = await ctx.run(msg, () => del("v3/console/cs/config/beta",
          { dataId: c.dataId, groupName: c.groupName, namespaceId: c.namespaceId },
          { need: need("w", configResource(c.namespaceId, c.groupName, c.dataId)) }));
        if (ok !== undefined) ctx.go(configHash("config/edit", c));
      }), "danger")), msg);
}

function betaTargets(rule) {
  try {
    const parsed = JSON.parse(rule);
    return parsed.expr || parsed.value || rule;
  } catch {
    return rule || "some clients";
  }
}

export async function renderListeners(root, params, ctx) {
  const key = keyOf(params, ctx);
  const msg = h("div", { class: "msg" });
  clear(root).append(h("h1", {}, `Listeners of ${key.dataId}`), h("p", { class: "sub" }, `${key.groupName} · ${key.namespaceId}`),
    link("Back to the configuration", configHash("config/edit", key)), msg);
  const [info, current] = await Promise.all([
    ctx.run(msg, () => get("v3/console/cs/config/listener", key,
      { need: need("r", configResource(key.namespaceId, key.groupName, key.dataId)) })),
    get("v3/console/cs/config", key).catch(() => null),
  ]);
  if (!info) return;
  const rows = Object.entries(info.listenersStatus || {}).map(([ip, md5]) => ({ ip, md5 }));
  const md5 = current ? current.md5 : "";
  root.append(table([
    { title: "Client", cell: (r) => r.ip },
    { title: "md5 it has", cell: (r) => r.md5 },
    { title: "", cell: (r) => (r.md5 === md5 ? h("span", { class: "tag ok" }, "up to date")
      : h("span", { class: "tag warn" }, "stale")) },
  ], rows, "No client listens to this configuration."));
}
