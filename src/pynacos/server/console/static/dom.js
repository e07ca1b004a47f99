// DOM building without markup: every value reaches the page through textContent or a property,
// never through innerHTML, so a dataId or metadata value that holds HTML stays text.

const FORBIDDEN_ATTR = /^(on|style$|srcdoc$)/i;

/** h("button", {class: "primary", onclick: fn}, "Save") -> element. Children: strings, nodes, arrays, null. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "value" || name === "checked" || name === "disabled" || name === "selected") el[name] = value;
    else if (FORBIDDEN_ATTR.test(name)) throw new Error(`attribute ${name} is not allowed`);
    else if (name === "href" && !String(value).startsWith("#")) throw new Error("only in-page links");
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A labelled form field; `input` is the control element. */
export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), input, hint ? h("small", {}, hint) : null);
}

export function input(name, value = "", attrs = {}) {
  return h("input", { name, value, autocomplete: "off", spellcheck: "false", ...attrs });
}

export function select(name, options, value) {
  const el = h("select", { name });
  for (const opt of options) {
    const [v, label] = Array.isArray(opt) ? opt : [opt, opt];
    el.append(h("option", { value: v, selected: v === value }, label));
  }
  return el;
}

export function button(label, onclick, cls = "") {
  return h("button", { type: "button", class: cls, onclick }, label);
}

/** A table from rows; columns: [{title, cell: row => node|string}] */
export function table(columns, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    { class: "grid" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.cls || "" }, c.cell(row))))),
    ),
  );
}

/** An inline notice: kind is "error", "ok", "warn" or "info". */
export function notice(kind, ...text) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...text);
}

/** Replace the content of a message slot with a notice (or nothing). */
export function say(slot, kind, ...text) {
  clear(slot);
  if (kind) slot.append(notice(kind, ...text));
}

/** A modal in the page (never window.confirm/alert: a dialog blocks and CSP-safe UIs need none). */
export function modal(title, body, actions) {
  const close = () => overlay.remove();
  const overlay = h(
    "div",
    { class: "overlay" },
    h(
      "div",
      { class: "modal", role: "dialog", "aria-label": title },
      h("h2", {}, title),
      body,
      h(
        "div",
        { class: "actions" },
        actions.map(([label, fn, cls]) => button(label, () => fn(close), cls || "")),
        button("Cancel", close, "link"),
      ),
    ),
  );
  document.body.append(overlay);
  return close;
}

/** Ask before a destructive action; resolves only if confirmed. */
export function confirmAction(title, text, label, onConfirm) {
  modal(title, h("p", {}, text), [
    [
      label,
      (close) => {
        close();
        onConfirm();
      },
      "danger",
    ],
  ]);
}

export function formValues(form) {
  const out = {};
  for (const el of form.querySelectorAll("input, select, textarea")) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? el.checked : el.value;
  }
  return out;
}

export function time(ms) {
  const n = Number(ms);
  if (!n) return "";
  const d = new Date(n);
  return d.toLocaleString();
}

export function link(label, hash) {
  return h("a", { href: hash }, label);
}

/** Debounce for validation while typing. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
