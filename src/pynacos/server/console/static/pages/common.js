// Small pieces several pages share.

import { button, h } from "../dom.js";

/** Previous/next for a Nacos Page `{totalCount, pageNumber, pagesAvailable, pageItems}`. */
export function pager(page, pageNo, go) {
  const pages = Number(page.pagesAvailable || 1);
  if (pages <= 1) return h("p", { class: "count" }, `${page.totalCount ?? 0} item(s)`);
  return h("div", { class: "pager" },
    button("‹ Previous", () => go(pageNo - 1), pageNo <= 1 ? "hidden" : ""),
    h("span", {}, `Page ${pageNo} of ${pages} (${page.totalCount} items)`),
    button("Next ›", () => go(pageNo + 1), pageNo >= pages ? "hidden" : ""));
}

/** key=value lines <-> a metadata object (values stay strings, as Nacos stores them). */
export function metadataText(meta) {
  return Object.entries(meta || {}).map(([k, v]) => `${k}=${v}`).join("\n");
}

export function parseMetadata(text) {
  const out = {};
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`Metadata line ${i + 1}: write key=value`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}
