// Line diff (longest common subsequence) for "review before publishing" and history compare.

import { h } from "./dom.js";

const MAX_CELLS = 4_000_000; // beyond this the middle part is shown as replaced, not aligned

/** [{op: "same"|"del"|"add", a: lineNoOrNull, b: lineNoOrNull, text}] */
export function diffLines(before, after) {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out = [];
  for (let i = 0; i < start; i++) out.push({ op: "same", a: i + 1, b: i + 1, text: a[i] });
  out.push(...middle(a, b, start, endA, endB));
  for (let i = endA, j = endB; i < a.length; i++, j++) out.push({ op: "same", a: i + 1, b: j + 1, text: a[i] });
  return out;
}

function splitLines(text) {
  if (!text) return [];
  const lines = String(text).split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function middle(a, b, start, endA, endB) {
  const n = endA - start;
  const m = endB - start;
  if (n * m > MAX_CELLS) {
    return [
      ...a.slice(start, endA).map((text, i) => ({ op: "del", a: start + i + 1, b: null, text })),
      ...b.slice(start, endB).map((text, j) => ({ op: "add", a: null, b: start + j + 1, text })),
    ];
  }
  // lcs[i][j] = length of the LCS of a[start+i..] and b[start+j..]
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[start + i] === b[start + j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      out.push({ op: "same", a: start + i + 1, b: start + j + 1, text: a[start + i] });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ op: "del", a: start + i + 1, b: null, text: a[start + i] });
      i++;
    } else {
      out.push({ op: "add", a: null, b: start + j + 1, text: b[start + j] });
      j++;
    }
  }
  return out;
}

export function summary(rows) {
  const added = rows.filter((r) => r.op === "add").length;
  const removed = rows.filter((r) => r.op === "del").length;
  return added || removed ? `${added} line(s) added, ${removed} removed` : "No changes";
}

/** A diff table; long runs of unchanged lines are folded to 3 lines of context. */
export function renderDiff(before, after, labels = ["before", "after"]) {
  const rows = diffLines(before, after);
  const keep = rows.map((r, i) => r.op !== "same" || near(rows, i, 3));
  const body = [];
  let folded = 0;
  rows.forEach((r, i) => {
    if (!keep[i]) {
      folded++;
      return;
    }
    if (folded) body.push(foldRow(folded));
    folded = 0;
    const mark = { same: " ", del: "-", add: "+" }[r.op];
    body.push(
      h("tr", { class: `d-${r.op}` }, h("td", { class: "ln" }, r.a ?? ""), h("td", { class: "ln" }, r.b ?? ""),
        h("td", { class: "mark" }, mark), h("td", { class: "code" }, r.text)),
    );
  });
  if (folded) body.push(foldRow(folded));
  return h(
    "div",
    { class: "diff" },
    h("p", { class: "diff-summary" }, `${labels[0]} → ${labels[1]}: ${summary(rows)}`),
    h("table", { class: "diff-table" }, h("tbody", {}, body)),
  );
}

function near(rows, i, context) {
  for (let k = Math.max(0, i - context); k <= Math.min(rows.length - 1, i + context); k++) {
    if (rows[k].op !== "same") return true;
  }
  return false;
}

function foldRow(count) {
  return h("tr", { class: "d-fold" }, h("td", { colspan: 4 }, `… ${count} unchanged line(s) …`));
}
