// Services and instances: list and search, create and delete services, instances per cluster with
// health, weight, enable/disable and metadata, and the subscribers of a service.

import { del, get, need, post, put, serviceResource } from "../api.js";
import { button, clear, confirmAction, field, h, input, link, modal, say, select, table } from "../dom.js";
import { metadataText, pager, parseMetadata } from "./common.js";

const PAGE_SIZE = 20;
const serviceHash = (ns, group, name) =>
  `#/service?${new URLSearchParams({ namespaceId: ns, groupName: group, serviceName: name })}`;

export async function renderList(root, params, ctx) {
  const ns = ctx.namespace();
  const pageNo = Number(params.pageNo || 1);
  const msg = h("div", { class: "msg" });
  const name = input("serviceName", params.serviceName || "", { placeholder: "service name contains", id: "search-service" });
  const group = input("groupName", params.groupName || "", { placeholder: "group contains" });
  const form = h("form", { class: "search" }, name, group, h("button", { type: "submit", class: "primary" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.go(`#/services?${new URLSearchParams({ serviceName: name.value, groupName: group.value })}`);
  });
  clear(root).append(h("h1", {}, "Services"), h("p", { class: "sub" }, `Namespace ${ns}`), form,
    h("div", { class: "toolbar" }, button("Create service…", () => createDialog(ns, ctx))), msg);
  const page = await ctx.run(msg, () => get("v3/console/ns/service/list", {
    namespaceId: ns, serviceNameParam: params.serviceName || "", groupNameParam: params.groupName || "",
    pageNo, pageSize: PAGE_SIZE,
  }, { need: need("r", serviceResource(ns, "", "")) }));
  if (!page) return;
  root.append(table([
    { title: "Service", cell: (s) => link(s.name, serviceHash(ns, s.groupName, s.name)) },
    { title: "Group", cell: (s) => s.groupName },
    { title: "Clusters", cell: (s) => s.clusterCount },
    { title: "Instances", cell: (s) => s.ipCount },
    { title: "Healthy", cell: (s) => healthCell(s.healthyInstanceCount, s.ipCount) },
    { title: "", cell: (s) => button("Delete", () => deleteService(ns, s.groupName, s.name, ctx, msg), "link danger") },
  ], page.pageItems || [], "No service matches."),
  pager(page, pageNo, (n) => ctx.go(`#/services?${new URLSearchParams({ ...params, pageNo: n })}`)));
}

function healthCell(healthy, total) {
  const cls = Number(total) === 0 ? "" : Number(healthy) === Number(total) ? "ok" : Number(healthy) === 0 ? "bad" : "warn";
  return h("span", { class: `tag ${cls}` }, `${healthy} / ${total}`);
}

function createDialog(ns, ctx) {
  const name = input("serviceName", "", { id: "new-service-name" });
  const group = input("groupName", "DEFAULT_GROUP");
  const threshold = input("protectThreshold", "0", { type: "number", step: "0.1", min: "0", max: "1" });
  const ephemeral = select("ephemeral", [["true", "ephemeral (instances heartbeat)"], ["false", "persistent"]], "true");
  const meta = h("textarea", { rows: 3, placeholder: "key=value per line" });
  const out = h("div", { class: "msg" });
  modal("Create service", h("div", {}, field("Name", name), field("Group", group), field("Protect threshold", threshold),
    field("Kind", ephemeral), field("Metadata", meta), out), [
    ["Create", async (close) => {
      let metadata;
      try {
        metadata = JSON.stringify(parseMetadata(meta.value));
      } catch (err) {
        say(out, "error", err.message);
        return;
      }
      const ok = await ctx.run(out, () => post("v3/console/ns/service", {
        namespaceId: ns, groupName: group.value, serviceName: name.value, protectThreshold: threshold.value,
        ephemeral: ephemeral.value, metadata,
      }, { need: need("w", serviceResource(ns, group.value, name.value)) }));
      if (ok === undefined) return;
      close();
      ctx.go(serviceHash(ns, group.value, name.value));
    }, "primary"],
  ]);
}

function deleteService(ns, group, name, ctx, msg) {
  confirmAction("Delete service", `Delete ${group}@@${name}? Only a service without instances can be deleted.`, "Delete",
    async () => {
      const ok = await ctx.run(msg, () => del("v3/console/ns/service", { namespaceId: ns, groupName: group, serviceName: name },
        { need: need("w", serviceResource(ns, group, name)) }));
      if (ok !== undefined) ctx.go("#/services");
    });
}

export async function renderService(root, params, ctx) {
  const key = { namespaceId: params.namespaceId || ctx.namespace(), groupName: params.groupName || "DEFAULT_GROUP",
    serviceName: params.serviceName || "" };
  const res = serviceResource(key.namespaceId, key.groupName, key.serviceName);
  const msg = h("div", { class: "msg" });
  clear(root).append(h("h1", {}, `Service ${key.serviceName}`), h("p", { class: "sub" }, `${key.groupName} · ${key.namespaceId}`),
    link("All services", "#/services"), msg);
  const detail = await ctx.run(msg, () => get("v3/console/ns/service", key, { need: need("r", res) }));
  if (!detail) return;
  root.append(serviceForm(key, detail, ctx, res));
  for (const clusterName of Object.keys(detail.clusterMap || { DEFAULT: {} }).sort()) {
    const section = h("section", { class: "cluster" }, h("h2", {}, `Cluster ${clusterName}`));
    root.append(section);
    await drawInstances(section, key, clusterName, ctx, res);
  }
  const subs = h("section", {}, h("h2", {}, "Subscribers"));
  root.append(subs);
  const page = await ctx.run(subs, () => get("v3/console/ns/service/subscribers", { ...key, pageNo: 1, pageSize: 100 },
    { need: need("r", res) }));
  if (page) {
    subs.append(table([
      { title: "Address", cell: (s) => `${s.ip}:${s.port}` },
      { title: "Agent", cell: (s) => s.agent || "" },
      { title: "App", cell: (s) => s.appName || "" },
    ], page.pageItems || [], "No client subscribes to this service."));
  }
}

function serviceForm(key, detail, ctx, res) {
  const threshold = input("protectThreshold", String(detail.protectThreshold ?? 0), { type: "number", step: "0.1" });
  const meta = h("textarea", { rows: 3, id: "service-metadata" });
  meta.value = metadataText(detail.metadata);
  const out = h("div", { class: "msg" });
  return h("section", { class: "card" },
    h("p", {}, detail.ephemeral ? "Ephemeral service: instances stay while their client heartbeats."
      : "Persistent service: instances stay until removed."),
    h("div", { class: "form-grid" }, field("Protect threshold", threshold), field("Metadata (key=value per line)", meta)),
    h("div", { class: "actions" }, button("Save service", async () => {
      let metadata;
      try {
        metadata = JSON.stringify(parseMetadata(meta.value));
      } catch (err) {
        say(out, "error", err.message);
        return;
      }
      const ok = await ctx.run(out, () => put("v3/console/ns/service", { ...key, protectThreshold: threshold.value, metadata },
        { need: need("w", res) }));
      if (ok !== undefined) say(out, "ok", "Saved.");
    }, "primary")), out);
}

async function drawInstances(section, key, clusterName, ctx, res) {
  const out = h("div", { class: "msg" });
  section.append(out);
  const page = await ctx.run(out, () => get("v3/console/ns/instance/list", { ...key, clusterName, pageNo: 1, pageSize: 500 },
    { need: need("r", res) }));
  if (!page) return;
  const redraw = () => {
    clear(section).append(h("h2", {}, `Cluster ${clusterName}`));
    drawInstances(section, key, clusterName, ctx, res);
  };
  section.append(table([
    { title: "Address", cell: (i) => `${i.ip}:${i.port}` },
    { title: "Health", cell: (i) => h("span", { class: `tag ${i.healthy ? "ok" : "bad"}` }, i.healthy ? "healthy" : "unhealthy") },
    { title: "Weight", cell: (i) => String(i.weight) },
    { title: "Enabled", cell: (i) => (i.enabled ? "yes" : "no") },
    { title: "Kind", cell: (i) => (i.ephemeral ? "ephemeral" : "persistent") },
    { title: "Metadata", cell: (i) => metadataList(i.metadata), cls: "meta" },
    { title: "", cell: (i) => h("span", { class: "row-actions" },
      button(i.enabled ? "Disable" : "Enable", () => updateInstance(key, i, { enabled: !i.enabled }, ctx, out, res, redraw), "link"),
      button("Edit…", () => editInstance(key, i, ctx, res, redraw), "link")) },
  ], page.pageItems || [], "No instance in this cluster."));
}

function metadataList(meta) {
  const entries = Object.entries(meta || {});
  if (!entries.length) return "";
  return h("ul", { class: "kv" }, entries.map(([k, v]) => h("li", {}, h("b", {}, k), "=", v)));
}

async function updateInstance(key, inst, change, ctx, out, res, redraw) {
  const form = {
    ...key, ip: inst.ip, port: inst.port, clusterName: inst.clusterName || "DEFAULT", ephemeral: inst.ephemeral,
    weight: inst.weight, enabled: inst.enabled, healthy: inst.healthy, metadata: JSON.stringify(inst.metadata || {}), ...change,
  };
  const ok = await ctx.run(out, () => put("v3/console/ns/instance", form, { need: need("w", res) }));
  if (ok !== undefined) redraw();
  return ok;
}

function editInstance(key, inst, ctx, res, redraw) {
  const weight = input("weight", String(inst.weight), { type: "number", step: "0.1", min: "0", max: "10000" });
  const enabled = select("enabled", [["true", "enabled"], ["false", "disabled"]], String(inst.enabled));
  const meta = h("textarea", { rows: 4 });
  meta.value = metadataText(inst.metadata);
  const out = h("div", { class: "msg" });
  modal(`Instance ${inst.ip}:${inst.port}`, h("div", {}, field("Weight (0-10000)", weight), field("State", enabled),
    field("Metadata (key=value per line)", meta), out), [
    ["Save", async (close) => {
      let metadata;
      try {
        metadata = parseMetadata(meta.value);
      } catch (err) {
        say(out, "error", err.message);
        return;
      }
      const ok = await updateInstance(key, inst, { weight: weight.value, enabled: enabled.value === "true",
        metadata: JSON.stringify(metadata) }, ctx, out, res, redraw);
      if (ok !== undefined) close();
    }, "primary"],
  ]);
}
