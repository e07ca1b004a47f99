// Content checks before publishing, by config type. JSON uses the browser's parser; XML, properties
// and YAML get small checks written here (no library is loaded): they catch the
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

/** XML well-formedness, written here: the browser's DOMParser reports errors through an element with an
 *  inline style, which the console's own CSP refuses (and logs) on every bad keystroke. */
export function checkXml(text) {
  const stack = [];
  let roots = 0;
  let i = 0;
  const lineAt = (at) => text.slice(0, at).split("\n").length;
  const fail = (at, what) => `Invalid XML: line ${lineAt(at)}: ${what}`;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = text.slice(i, lt === -1 ? text.length : lt);
    const amp = badEntity(chunk);
    if (amp >= 0) return fail(i + amp, "a bare & (write &amp;)");
    if (!stack.length && chunk.trim()) return fail(i, "text outside the root element");
    if (lt === -1) break;
    const special = [["<!--", "-->", "comment"], ["<![CDATA[", "]]>", "CDATA section"], ["<?", "?>", "processing instruction"]];
    const kind = special.find(([open]) => text.startsWith(open, lt));
    if (kind) {
      const end = text.indexOf(kind[1], lt + kind[0].length);
      if (end === -1) return fail(lt, `an unclosed ${kind[2]}`);
      if (kind[0] === "<![CDATA[" && !stack.length) return fail(lt, "CDATA outside the root element");
      i = end + kind[1].length;
      continue;
    }
    if (text.startsWith("<!DOCTYPE", lt)) {
      const end = doctypeEnd(text, lt);
      if (end === -1 || roots) return fail(lt, "a malformed DOCTYPE");
      i = end;
      continue;
    }
    const gt = tagEnd(text, lt);
    if (gt === -1) return fail(lt, "a tag that is never closed with >");
    const tag = text.slice(lt + 1, gt);
    const closing = tag.match(/^\/([A-Za-z_:][\w.:-]*)\s*$/);
    if (closing) {
      const open = stack.pop();
      if (open !== closing[1]) return fail(lt, open ? `</${closing[1]}> closes <${open}>` : `</${closing[1]}> without an opening tag`);
      i = gt + 1;
      continue;
    }
    const m = tag.match(/^([A-Za-z_:][\w.:-]*)([\s\S]*?)(\/?)$/);
    if (!m) return fail(lt, "a malformed tag");
    const attrProblem = checkAttributes(m[2]);
    if (attrProblem) return fail(lt, attrProblem);
    if (!stack.length && ++roots > 1) return fail(lt, "a second root element");
    if (!m[3]) stack.push(m[1]);
    i = gt + 1;
  }
  if (stack.length) return `Invalid XML: <${stack[stack.length - 1]}> is never closed`;
  if (!roots) return "Invalid XML: no root element";
  return null;
}

function badEntity(chunk) {
  const re = /&(?!(?:[A-Za-z_:][\w.:-]*|#\d+|#x[0-9a-fA-F]+);)/;
  const m = chunk.match(re);
  return m ? m.index : -1;
}

/** The > ending a tag, skipping quoted attribute values. */
function tagEnd(text, from) {
  let quote = null;
  for (let k = from + 1; k < text.length; k++) {
    const c = text[k];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "<") return -1;
    else if (c === ">") return k;
  }
  return -1;
}

function doctypeEnd(text, from) {
  let depth = 0;
  for (let k = from; k < text.length; k++) {
    if (text[k] === "[") depth++;
    else if (text[k] === "]") depth--;
    else if (text[k] === ">" && depth === 0) return k + 1;
  }
  return -1;
}

function checkAttributes(source) {
  const seen = new Set();
  const re = /\s+([A-Za-z_:][\w.:-]*)\s*=\s*("[^"<]*"|'[^'<]*')/y;
  let at = 0;
  while (at < source.length) {
    if (!source.slice(at).trim()) return null;
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) return `a malformed attribute near "${source.slice(at).trim().slice(0, 20)}"`;
    if (seen.has(m[1])) return `attribute ${m[1]} appears twice`;
    if (badEntity(m[2]) >= 0) return "a bare & in an attribute value";
    seen.add(m[1]);
    at = re.lastIndex;
  }
  return null;
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
