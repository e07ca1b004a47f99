// Content checks before publishing, by config type. JSON and XML use the browser's own parsers;
// properties and YAML get small structural checks written here (no library is loaded): they catch the
// mistakes that break an application's start-up (a tab in YAML indentation, a duplicate key, a bad
// \u escape), not every corner of the YAML specification.

/** -> {ok: boolean, message: string} */
export function validate(type, text) {
  const check = CHECKS[(type || "text").toLowerCase()];
  if (!check || !text.trim()) return { ok: true, message: "" };
  try {
    const problem = check(text);
    return problem ? { ok: false, message: problem } : { ok: true, message: `Valid ${type.toUpperCase()}.` };
  } catch (err) {
    return { ok: false, message: String(err && err.message ? err.message : err) };
  }
}

const CHECKS = { json: checkJson, xml: checkXml, properties: checkProperties, yaml: checkYaml };

function checkJson(text) {
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return `Invalid JSON: ${err.message}`;
  }
}

function checkXml(text) {
  const doc = new DOMParser().parseFromString(text, "application/xml");
  const error = doc.getElementsByTagName("parsererror")[0];
  if (!error) return null;
  const detail = (error.textContent || "").replace(/\s+/g, " ").trim();
  return `Invalid XML: ${detail.slice(0, 300)}`;
}

/** Java properties: logical lines (a trailing odd backslash continues), `key=value`, `key: value` or `key value`. */
export function checkProperties(text) {
  const lines = text.split(/\r?\n/);
  const seen = new Map();
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i].replace(/^[ \t\f]+/, "");
    while (endsWithContinuation(logical) && i + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++i].replace(/^[ \t\f]+/, "");
    }
    if (!logical || logical[0] === "#" || logical[0] === "!") continue;
    const key = propertyKey(logical);
    if (!key) return `Line ${start + 1}: a property without a key`;
    const bad = logical.match(/\\u(?![0-9a-fA-F]{4})/);
    if (bad) return `Line ${start + 1}: malformed \\uXXXX escape`;
    if (seen.has(key)) return `Line ${start + 1}: key "${key}" is already defined on line ${seen.get(key)}`;
    seen.set(key, start + 1);
  }
  return null;
}

function endsWithContinuation(line) {
  const m = line.match(/\\+$/);
  return Boolean(m && m[0].length % 2 === 1);
}

function propertyKey(line) {
  let key = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") {
      key += line[i + 1] ?? "";
      i++;
    } else if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") {
      break;
    } else {
      key += c;
    }
  }
  return key;
}

/** YAML structure sanity: indentation, tabs, block scalars, duplicate keys, quotes, bracket balance. */
export function checkYaml(text) {
  const lines = text.split(/\r?\n/);
  const stack = [{ indent: -1, keys: new Set() }]; // open mappings by indentation
  let block = null; // indentation of the key that opened a `|` or `>` block
  let flowDepth = 0;
  let prev = null; // {indent, scalar: bool} of the last content line
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n];
    const where = `Line ${n + 1}`;
    if (!raw.trim() || /^\s*#/.test(raw)) continue;
    const indent = raw.match(/^ */)[0].length;
    if (block !== null) {
      if (indent > block) continue;
      block = null;
    }
    if (/^ *\t/.test(raw)) return `${where}: a tab in the indentation (YAML allows only spaces)`;
    const line = stripComment(raw.slice(indent));
    if (flowDepth > 0) {
      flowDepth += balance(line);
      if (flowDepth < 0) return `${where}: a closing bracket without an opening one`;
      continue;
    }
    if (/^(---|\.\.\.)(\s|$)/.test(line) && indent === 0) {
      stack.length = 1;
      stack[0].keys = new Set();
      prev = null;
      continue;
    }
    const keyLine = KEY.test(line) || /^- /.test(line);
    if (prev && prev.scalar && indent > prev.indent) {
      if (keyLine) return `${where}: unexpected indentation (the line above already has a value)`;
      continue; // a plain scalar continued on the next line
    }
    while (stack.length > 1 && stack[stack.length - 1].indent > indent) stack.pop();
    let rest = line;
    let at = indent;
    while (/^- /.test(rest) || rest === "-") {
      // a sequence item opens a fresh mapping at the item's content column
      at += rest === "-" ? 1 : 2 + rest.slice(2).match(/^ */)[0].length;
      rest = rest === "-" ? "" : rest.slice(2).trimStart();
      while (stack.length > 1 && stack[stack.length - 1].indent >= at) stack.pop();
      stack.push({ indent: at, keys: new Set() });
    }
    const quoteProblem = unclosedQuote(rest);
    if (quoteProblem) return `${where}: ${quoteProblem}`;
    const m = rest.match(KEY);
    if (m) {
      const key = m[1].trim();
      const value = (m[3] || "").trim();
      let top = stack[stack.length - 1];
      if (top.indent !== at) {
        top = { indent: at, keys: new Set() };
        stack.push(top);
      }
      if (top.keys.has(key)) return `${where}: duplicate key "${key}"`;
      top.keys.add(key);
      if (/^[|>][-+0-9]*$/.test(value)) block = at;
      flowDepth = balance(value);
      prev = { indent: at, scalar: Boolean(value) && !/^[|>&!]/.test(value) && flowDepth === 0 };
      continue;
    }
    flowDepth = balance(rest);
    prev = { indent: at, scalar: rest !== "" && flowDepth === 0 };
  }
  if (flowDepth > 0) return "An opening [ or { is never closed";
  return null;
}

const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'"{[#&*!|>%@`\s-][^#]*?|-[^\s#][^#]*?|\?)\s*:(\s+(.*))?$/;

function stripComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:[{,]/.test(line[i - 1])) quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i).trimEnd();
    }
  }
  return line.trimEnd();
}

function unclosedQuote(text) {
  const value = text.replace(/^[^'"]*?:\s+/, "");
  const q = value[0];
  if (q !== '"' && q !== "'") return null;
  const closed = q === '"' ? /^"(?:[^"\\]|\\.)*"/.test(value) : /^'(?:[^']|'')*'/.test(value);
  return closed ? null : "a quoted value is not closed on its line";
}

function balance(text) {
  let depth = 0;
  let quote = null;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
  }
  return depth;
}
