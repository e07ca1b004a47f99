// Namespaces: list with config counts, create, rename, delete.

import { del, get, post, put } from "../api.js";
import { button, clear, confirmAction, field, h, input, modal, say, table } from "../dom.js";

const NEED_W = { need: { action: "w", resource: "console/namespaces" } };

export async function render(root, params, ctx) {
  const msg = h("div", { class: "msg" });
  clear(root).append(h("h1", {}, "Namespaces"),
    h("div", { class: "toolbar" }, button("Create namespace…", () => editDialog(null, ctx, msg))), msg);
  const list = await ctx.run(msg, () => get("v3/console/core/namespace/list"));
  if (!list) return;
  root.append(table([
    { title: "ID", cell: (n) => n.namespace },
    { title: "Name", cell: (n) => n.namespaceShowName },
    { title: "Description", cell: (n) => n.namespaceDesc || "" },
    { title: "Configurations", cell: (n) => String(n.configCount ?? "") },
    { title: "", cell: (n) => (n.namespace === "public" ? "" : h("span", { class: "row-actions" },
      button("Use", () => {
        ctx.setNamespace(n.namespace);
        ctx.refreshNamespaces();
        ctx.go("#/configs");
      }, "link"),
      button("Edit…", () => editDialog(n, ctx, msg), "link"),
      button("Delete", () => confirmAction("Delete namespace", `Delete namespace ${n.namespaceShowName} (${n.namespace})? `
        + "Its configurations and services are not removed, only the namespace entry.", "Delete", async () => {
        const ok = await ctx.run(msg, () => del("v3/console/core/namespace", { namespaceId: n.namespace }, NEED_W));
        if (ok !== undefined) done(ctx);
      }), "link danger"))) },
  ], list));
}

function done(ctx) {
  ctx.refreshNamespaces();
  ctx.go(`#/namespaces?t=${Date.now()}`);
}

function editDialog(existing, ctx, msg) {
  const id = input("id", existing ? existing.namespace : "", { disabled: Boolean(existing), placeholder: "empty: a random id" });
  const name = input("name", existing ? existing.namespaceShowName : "");
  const desc = input("desc", existing ? existing.namespaceDesc || "" : "");
  const out = h("div", { class: "msg" });
  modal(existing ? "Edit namespace" : "Create namespace", h("div", {}, field("ID", id), field("Name", name),
    field("Description", desc), out), [
    [existing ? "Save" : "Create", async (close) => {
      if (!name.value.trim()) {
        say(out, "error", "Enter a name.");
        return;
      }
      const ok = await ctx.run(out, () => (existing
        ? put("v3/console/core/namespace", { namespaceId: existing.namespace, namespaceName: name.value, namespaceDesc: desc.value }, NEED_W)
        : post("v3/console/core/namespace", { customNamespaceId: id.value.trim(), namespaceName: name.value, namespaceDesc: desc.value }, NEED_W)));
      if (ok === undefined) return;
      close();
      say(msg, "ok", existing ? "Saved." : "Created.");
      done(ctx);
    }, "primary"],
  ]);
}
