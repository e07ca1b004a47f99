// Every call to the server: same origin only, the token in the `accessToken` header (never in a URL,
// never a cookie), forms urlencoded as Nacos's own console sends them. Errors of every shape the server
// writes (Result envelope, Spring error document, `caused: ...;` text) become one ApiError with a sentence.

import * as session from "./session.js";

/** The prefix every API path hangs off: the page's directory (`/nacos/` -> `/nacos`, `/` -> ``). */
export function apiBase(pathname = location.pathname) {
  const dir = pathname.slice(0, pathname.lastIndexOf("/") + 1);
  return dir.replace(/\/+$/, "");
}

const BASE = apiBase();

export class ApiError extends Error {
  /** kind: "auth" (log in again), "denied" (a permission is missing), "failed" (refused or not found),
   *  "network" (no answer). `need` is what the page asked for, to say which permission is missing. */
  constructor(kind, message, status = 0, need = null) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.need = need;
    this.redirected = false; // an "auth" error that already sent the user to the login page
  }

  /** One sentence for the page. */
  explain() {
    if (this.kind === "denied") {
      const what = this.need ? `${actionWord(this.need.action)} ${this.need.resource}` : "do this";
      return `You are not allowed to ${what}: your roles have no permission for it (server: ${this.message}). ` +
        "Ask an administrator to grant it.";
    }
    if (this.kind === "network") return `The server did not answer (${this.message}).`;
    return this.message;
  }
}

function actionWord(action) {
  return { r: "read", w: "change", rw: "read and change" }[action] || action;
}

let onAuthLost = () => {};
/** The shell registers what happens when the token stops working: back to the login page. */
export function setAuthLostHandler(fn) {
  onAuthLost = fn;
}

const TOKEN_REASONS = [
  [/token expired/i, "Your session expired. Please log in again."],
  [/token invalid|invalid signature|unsupported signature/i,
    "Your session is no longer valid (logged out elsewhere, revoked, or the server key changed). Please log in again."],
  [/session expired/i, "Your session expired. Please log in again."],
  [/user not found|unknown user/i, "Your login is not accepted any more (the user may have been deleted). Please log in again."],
];

/** A refusal that means "who are you?" rather than "you may not": the token is the problem. */
export function tokenProblem(message) {
  if (/^Code: 401/.test(message)) {
    const found = TOKEN_REASONS.find(([re]) => re.test(message));
    return found ? found[1] : "Please log in again.";
  }
  const found = TOKEN_REASONS.find(([re]) => re.test(message));
  return found && !/^Code: 403/.test(message) ? found[1] : null;
}

function urlFor(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null) params.append(k, String(v));
  const qs = params.toString();
  return `${BASE}/${path}${qs ? `?${qs}` : ""}`;
}

/**
 * request("GET", "v3/console/cs/config", {query, form, json, multipart, headers, need, blob, noRedirect})
 * GET/DELETE parameters go in the query; POST/PUT `form` as an urlencoded body.
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: "application/json", ...(opts.headers || {}) };
  const token = session.token();
  if (token) headers.accessToken = token;
  let body;
  if (opts.form) {
    body = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.form)) if (v !== undefined && v !== null) body.append(k, String(v));
  } else if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.multipart) {
    body = opts.multipart;
  }
  let response;
  try {
    response = await fetch(urlFor(path, opts.query), {
      method, headers, body, credentials: "omit", cache: "no-store", redirect: "error", mode: "same-origin",
    });
  } catch (err) {
    throw new ApiError("network", String(err && err.message ? err.message : err));
  }
  if (opts.blob && response.ok) return response.blob();
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = undefined;
  }
  if (response.ok) return unwrap(parsed, text, response.status, opts.need);
  throw failure(parsed, text, response.status, opts, Boolean(token));
}

function unwrap(parsed, text, status, need) {
  if (parsed === undefined) return text;
  if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && typeof parsed.code === "number" && "message" in parsed) {
    if (parsed.code === 0) return parsed.data;
    const detail = typeof parsed.data === "string" && parsed.data ? parsed.data : parsed.message;
    throw new ApiError("failed", String(detail), status, need);
  }
  return parsed;
}

function failure(parsed, text, status, opts, hadToken) {
  const need = opts.need;
  let message;
  if (parsed && typeof parsed === "object" && "status" in parsed && "message" in parsed) {
    message = String(parsed.message); // the auth filter's error document
  } else if (parsed && typeof parsed === "object" && "code" in parsed) {
    message = typeof parsed.data === "string" && parsed.data ? parsed.data : String(parsed.message);
  } else {
    message = String(text || `HTTP ${status}`).replace(/^caused: /, "").replace(/;\s*$/, "");
  }
  if (opts.noRedirect) return new ApiError("failed", message, status, need); // login, first admin
  const reason = status === 401 || status === 403 ? tokenProblem(message) : null;
  if (reason || status === 401) {
    // without a login while the console runs without one, this API's scope has auth on: say so, stay
    const redirected = hadToken || session.authOn();
    const err = new ApiError("auth", redirected ? reason || "Please log in." : `The server wants a login for this `
      + `(${message}): auth is on for this API while the console's own scope (nacos.core.auth.console.enabled) is off.`,
    status, need);
    err.redirected = redirected;
    if (redirected) onAuthLost(err.message);
    return err;
  }
  if (status === 403 && /authorization failed|access denied/i.test(message)) {
    return new ApiError("denied", message.replace(/^Code: 403, Message: /, "").replace(/\.$/, ""), status, need);
  }
  return new ApiError("failed", message || `HTTP ${status}`, status, need);
}

export const get = (path, query, extra = {}) => request("GET", path, { query, ...extra });
export const del = (path, query, extra = {}) => request("DELETE", path, { query, ...extra });
export const post = (path, form, extra = {}) => request("POST", path, { form, ...extra });
export const put = (path, form, extra = {}) => request("PUT", path, { form, ...extra });

/** Save a blob as a file through an object URL (the token stays in a header, never in a link). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Resources as the server's permission check names them (auth.md §8).
export const configResource = (ns, group, dataId) => ({ resource: `${ns || "public"}:${group || "*"}:config/${dataId || "*"}` });
export const serviceResource = (ns, group, name) => ({ resource: `${ns || "public"}:${group || "*"}:naming/${name || "*"}` });
export const need = (action, res) => ({ action, ...res });
