// History of one configuration: every version, compare with the current content, restore one (with a
// diff first: restoring is a publish like any other and writes its own history row).

import { configResource, get, need, post } from "../api.js";
import { button, clear, h, link, say, select, table, time } from "../dom.js";
import { renderDiff } from "../diff.js";
import { configHash } from "./configs.js";
import { pager } from "./common.js";

const OPS = { I: "created", U: "updated", D: "deleted" };

export async function render(root, params, ctx) {
  const key = { dataId: params.dataId || "", groupName: params.groupName || "DEFAULT_GROUP",
    namespaceId: params.namespaceId || ctx.namespace() };
  const pageNo = Number(params.pageNo || 1);
  const msg = h("div", { class: "msg", id: "history-msg" });
  const detail = h("div", { class: "history-detail", id: "history-detail" });
  clear(root).append(h("h1", {}, `History of ${key.dataId}`), h("p", { class: "sub" }, `${key.groupName} · ${key.namespaceId}`),
    link("Back to the configuration", configHash("config/edit", key)), msg);
  const needRead = { need: need("r", configResource(key.namespaceId, key.groupName, key.dataId)) };
  const page = await ctx.run(msg, () => get("v3/console/cs/history/list", { ...key, pageNo, pageSize: 20 }, needRead));
  if (!page) return;
  root.append(table([
    { title: "Version", cell: (r) => r.id },
    { title: "When", cell: (r) => time(r.modifyTime || r.createTime) },
    { title: "Change", cell: (r) => `${OPS[(r.opType || "").trim()] || r.opType}${r.publishType === "gray" ? " (beta/gray)" : ""}` },
    { title: "By", cell: (r) => r.srcUser || "" },
    { title: "From", cell: (r) => r.srcIp || "" },
    { title: "", cell: (r) => button("Compare / restore", () => showVersion(r), "link compare") },
  ], page.pageItems || [], "No history yet."),
  pager(page, pageNo, (n) => ctx.go(`#/config/history?${new URLSearchParams({ ...key, pageNo: n })}`)),
  detail);

  async function showVersion(row) {
    clear(detail);
    const [version, current] = await Promise.all([
      ctx.run(msg, () => get("v3/console/cs/history", { ...key, nid: row.id }, needRead)),
      get("v3/console/cs/config", key).catch(() => null),
    ]);
    if (!version) return;
    const out = h("div", { class: "msg" });
    const diffSlot = h("div", {});
    const against = select("against", [["", current ? "the current content" : "(deleted: nothing)"],
      ...(page.pageItems || []).filter((r) => r.id !== row.id).map((r) => [r.id, `version ${r.id}`])], "");
    against.id = "history-against";
    const redraw = async () => {
      let base = current ? current.content : "";
      let label = current ? "current" : "(deleted)";
      if (against.value) {
        const other = await ctx.run(out, () => get("v3/console/cs/history", { ...key, nid: against.value }, needRead));
        if (!other) return;
        [base, label] = [other.content, `version ${against.value}`];
      }
      clear(diffSlot).append(renderDiff(base, version.content, [label, `version ${row.id}`]));
    };
    against.addEventListener("change", redraw);
    detail.append(
      h("h2", {}, `Version ${row.id}`),
      h("p", { class: "hint" }, (row.opType || "").trim() === "I"
        ? "This is the content the configuration was created with."
        : "This is the content as it was before this change."),
      h("label", { class: "inline" }, "Compare with ", against),
      diffSlot,
      h("div", { class: "actions" }, button("Restore this version", () => restore(version, current, out), "primary restore")),
      out);
    await redraw();
    detail.scrollIntoView({ block: "nearest" });
  }

  async function restore(version, current, out) {
    const form = { ...key, content: version.content, type: extType(version) || (current && current.type) || "text" };
    const headers = current && current.md5 ? { casMd5: current.md5 } : {};
    const ok = await ctx.run(out, () => post("v3/console/cs/config", form,
      { headers, need: need("w", configResource(key.namespaceId, key.groupName, key.dataId)) }));
    if (ok === undefined) return;
    say(out, "ok", `Restored version ${version.id}.`);
    ctx.go(`${configHash("config/edit", key)}&published=${Date.now()}`);
  }
}

function extType(version) {
  try {
    return JSON.parse(version.extInfo || "{}").type || "";
  } catch {
    return "";
  }
}
