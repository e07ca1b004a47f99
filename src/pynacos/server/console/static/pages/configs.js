// Configurations: search (dataId, group, tag, content), select, export, import, clone, delete.

import { configResource, del, get, need, request, saveBlob } from "../api.js";
import { button, clear, confirmAction, field, h, input, link, modal, say, select, table } from "../dom.js";
import { pager } from "./common.js";

const PAGE_SIZE = 20;

/** A search term as a blur pattern: `*` is the only wildcard, so a bare word matches as a substring. */
export function pattern(text) {
  const t = (text || "").trim();
  if (!t) return "";
  return t.includes("*") ? t : `*${t}*`;
}

export const configHash = (page, c) =>
  `#/${page}?${new URLSearchParams({ dataId: c.dataId, groupName: c.groupName, namespaceId: c.namespaceId || "public" })}`;

export async function render(root, params, ctx) {
  const ns = ctx.namespace();
  const msg = h("div", { class: "msg" });
  const q = {
    dataId: input("dataId", params.dataId || "", { placeholder: "dataId (* wildcard)", id: "search-dataId" }),
    groupName: input("groupName", params.groupName || "", { placeholder: "group", id: "search-group" }),
    tag: input("tag", params.tag || "", { placeholder: "tag", id: "search-tag" }),
    content: input("content", params.content || "", { placeholder: "text in the content", id: "search-content" }),
  };
  const pageNo = Number(params.pageNo || 1);
  const form = h("form", { class: "search", id: "config-search" }, Object.values(q),
    h("button", { type: "submit", class: "primary" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const args = Object.fromEntries(Object.entries(q).map(([k, el]) => [k, el.value]).filter(([, v]) => v));
    ctx.go(`#/configs?${new URLSearchParams(args)}`);
  });
  const results = h("div", { class: "results" });
  const selected = new Map();
  const toolbar = h("div", { class: "toolbar" },
    h("a", { href: `#/config/new?${new URLSearchParams({ namespaceId: ns })}`, id: "create-config" }, "Create"),
    button("Export selected", () => exportConfigs(ns, [...selected.values()], msg), ""),
    button("Export all", () => exportConfigs(ns, [], msg), ""),
    button("Import…", () => importDialog(ns, ctx), ""),
    button("Clone selected…", () => cloneDialog([...selected.values()], ctx, msg), ""),
    button("Delete selected", () => deleteSelected(ns, [...selected.values()], ctx, msg), "danger"));
  clear(root).append(h("h1", {}, "Configurations"), h("p", { class: "sub" }, `Namespace ${ns}`), form, toolbar, msg, results);

  const query = {
    namespaceId: ns,
    dataId: pattern(params.dataId),
    groupName: pattern(params.groupName),
    configTags: (params.tag || "").trim(),
    pageNo,
    pageSize: PAGE_SIZE,
  };
  const path = params.content ? "v3/console/cs/config/searchDetail" : "v3/console/cs/config/list";
  if (params.content) Object.assign(query, { configDetail: pattern(params.content), search: "blur" });
  const page = await ctx.run(msg, () => get(path, query, { need: need("r", configResource(ns, "", "")) }));
  if (!page) return;
  const rows = page.pageItems || [];
  results.append(
    table(
      [
        { title: "", cell: (c) => checkbox(c, selected) },
        { title: "Data ID", cell: (c) => link(c.dataId, configHash("config/edit", c)), cls: "data-id" },
        { title: "Group", cell: (c) => c.groupName },
        { title: "Type", cell: (c) => c.type || "text" },
        { title: "App", cell: (c) => c.appName || "" },
        { title: "", cell: (c) => rowActions(c, ctx, msg) },
      ],
      rows,
      "No configuration matches.",
    ),
    pager(page, pageNo, (n) => ctx.go(`#/configs?${new URLSearchParams({ ...params, pageNo: n })}`)),
  );
}

function checkbox(c, selected) {
  const box = h("input", { type: "checkbox", "aria-label": `select ${c.dataId}` });
  box.addEventListener("change", () => (box.checked ? selected.set(c.id, c) : selected.delete(c.id)));
  return box;
}

function rowActions(c, ctx, msg) {
  return h("span", { class: "row-actions" },
    link("Edit", configHash("config/edit", c)),
    link("History", configHash("config/history", c)),
    link("Listeners", configHash("config/listeners", c)),
    button("Delete", () => confirmAction("Delete configuration", `Delete ${c.dataId} (${c.groupName})? Clients will `
      + "see it disappear; its history is kept.", "Delete", async () => {
      const ok = await ctx.run(msg, () => del("v3/console/cs/config",
        { dataId: c.dataId, groupName: c.groupName, namespaceId: c.namespaceId },
        { need: need("w", configResource(c.namespaceId, c.groupName, c.dataId)) }));
      if (ok !== undefined) ctx.go(location.hash);
    }), "link danger"));
}

async function exportConfigs(ns, chosen, msg) {
  const ids = chosen.map((c) => c.id).join(",");
  try {
    const blob = await get("v3/console/cs/config/export2", { namespaceId: ns, ids }, {
      blob: true, need: need("r", configResource(ns, "", "")),
    });
    const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
    saveBlob(blob, `nacos_config_export_${stamp}.zip`);
    say(msg, "ok", chosen.length ? `Exported ${chosen.length} configuration(s).` : "Exported the namespace.");
  } catch (err) {
    say(msg, "error", err.explain ? err.explain() : String(err));
  }
}

function importDialog(ns, ctx) {
  const file = h("input", { type: "file", accept: ".zip", name: "file" });
  const policy = select("policy", [["ABORT", "stop at the first existing config"], ["SKIP", "skip existing configs"],
    ["OVERWRITE", "overwrite existing configs"]], "ABORT");
  const out = h("div", { class: "msg" });
  modal("Import configurations", h("div", {}, h("p", {}, `Into namespace ${ns}, from a zip made by Export.`),
    field("Zip file", file), field("When a config exists", policy), out), [
    ["Import", async () => {
      if (!file.files[0]) {
        say(out, "error", "Choose a file.");
        return;
      }
      const data = new FormData();
      data.append("file", file.files[0]);
      const result = await ctx.run(out, () => request("POST", "v3/console/cs/config/import", {
        query: { namespaceId: ns, policy: policy.value }, multipart: data, need: need("w", configResource(ns, "", "")),
      }));
      if (result !== undefined) say(out, "ok", `Imported ${result.succCount ?? 0}, skipped ${result.skipCount ?? 0}.`);
    }, "primary"],
  ]);
}

function cloneDialog(chosen, ctx, msg) {
  if (!chosen.length) {
    say(msg, "warn", "Select the configurations to clone first.");
    return;
  }
  const target = select("target", ctx.namespaces.map((n) => [n.namespace, n.namespaceShowName]), ctx.namespace());
  const policy = select("policy", ["ABORT", "SKIP", "OVERWRITE"], "ABORT");
  const out = h("div", { class: "msg" });
  modal("Clone configurations", h("div", {}, h("p", {}, `${chosen.length} configuration(s) into another namespace.`),
    field("Target namespace", target), field("When a config exists", policy), out), [
    ["Clone", async () => {
      const body = chosen.map((c) => ({ cfgId: c.id, dataId: c.dataId, group: c.groupName }));
      const result = await ctx.run(out, () => request("POST", "v3/console/cs/config/clone", {
        query: { targetNamespaceId: target.value, policy: policy.value }, json: body,
        need: need("w", configResource(target.value, "", "")),
      }));
      if (result !== undefined) say(out, "ok", `Cloned ${result.succCount ?? 0}, skipped ${result.skipCount ?? 0}.`);
    }, "primary"],
  ]);
}

function deleteSelected(ns, chosen, ctx, msg) {
  if (!chosen.length) {
    say(msg, "warn", "Select the configurations to delete first.");
    return;
  }
  confirmAction("Delete configurations", `Delete ${chosen.length} configuration(s) from ${ns}?`, "Delete", async () => {
    const ok = await ctx.run(msg, () => del("v3/console/cs/config/batchDelete", { ids: chosen.map((c) => c.id).join(",") },
      { need: need("w", configResource(ns, "", "")) }));
    if (ok !== undefined) ctx.go(location.hash);
  });
}
