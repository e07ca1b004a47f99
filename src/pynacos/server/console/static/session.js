// The login lives in sessionStorage (one tab, gone when it closes): no cookie carries authority, so a
// cross-site request can never ride on it, and the token is sent only as the `accessToken` header.

const KEY = "pynacos.session";
let authRequired = false;

function read() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

export function save(login) {
  const expiresAt = Date.now() + Number(login.tokenTtl || 0) * 1000;
  sessionStorage.setItem(
    KEY,
    JSON.stringify({ token: login.accessToken, username: login.username, admin: Boolean(login.globalAdmin), expiresAt }),
  );
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

export function token() {
  const s = read();
  return s ? s.token : null;
}

export function user() {
  const s = read();
  return s ? { username: s.username, admin: s.admin, expiresAt: s.expiresAt } : null;
}

/** Auth off: everyone acts as an admin (the server checks nothing). */
export function isAdmin() {
  if (!authRequired) return true;
  const s = read();
  return Boolean(s && s.admin);
}

export function setAuthOn(on) {
  authRequired = on;
}

export function authOn() {
  return authRequired;
}
