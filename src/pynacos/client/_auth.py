"""The auth session: when to log in, which token to send, what a refusal means. No I/O, no sleeping.

Invariants (every driver, sync or async, relies on them):
1. At most one login is in flight per session: a driver holds its lock (threading.Lock or
   asyncio.Lock) around plan() -> login -> on_login_reply(), and asks plan() again once it holds
   the lock, so callers that queued behind a login use its token instead of logging in again.
2. A token is sent only while usable: logged in, before `expires_at` (a little before the
   server's expiry), not marked stale. Login requests never carry a token (the server would echo
   it back unchecked).
3. `refresh_at` is a jittered point between 75 % and 85 % of tokenTtl. Clients started together
   do not refresh together, and a refresh that fails leaves 15 % of the lifetime to retry while
   calls keep using the current token; a refresh is done by one caller while others proceed.
4. After a failed login, the next one waits until `retry_at`: 1 s, 2 s, 4 s ... 60 s, times a
   jitter in [0.8, 1.2], or the server's Retry-After if longer. Meanwhile a call that has no
   usable token fails fast with the last failure instead of hammering the server.
5. A 401/403 about the token (not `authorization failed!`) marks it stale only if it is still the
   current token: fifty calls refused together cause one new login. The call is retried once
   with the new token; refused again, the refusal is a login failure (backoff, a log line).
6. `AUTH_DISABLED` as the token, a 404 for the login path, or a 200 without a token mean the
   server has no auth: nothing is sent until a refusal says otherwise. A login refused for its
   credentials is followed by one probe: the call is sent without a token. Nacos checks the
   password even with auth off, so a server that answers the probe does not check tokens: calls
   go on without one, and the wrong credentials are logged once (a Java client would log the
   failed login every few seconds). A refused probe raises the login failure.
7. Each distinct failure cause is logged once with its likely cause and fix, then at most once a
   minute while it lasts; passwords and tokens are never logged.

Theory of operation: a driver calls `plan(now)` before each call. USE -> send `token_for(now)`;
REFRESH -> try to take the lock without waiting, log in if it got it, else go on with the current
token; LOGIN -> take the lock (waiting), ask again, log in; FAIL -> raise `error()`. The reply of
the call goes to `rejects()`; True means "ensure a token again and retry once" (`auth_flow`).
"""

from __future__ import annotations

import enum
import json
import logging
import random
from collections.abc import Callable, Generator

from pynacos.client._exceptions import AuthError, Unauthenticated
from pynacos.client._models import LoginReply
from pynacos.client._protocol import AUTHORIZATION_FAILED, Reply, Request, message_of

log = logging.getLogger("pynacos.client")

LOGIN = "/v1/auth/login"
AUTH_DISABLED = "AUTH_DISABLED"
BACKOFF_BASE = 1.0
BACKOFF_MAX = 60.0
LOG_INTERVAL = 60.0
REFRESH_WINDOW = (0.75, 0.85)
CREDENTIALS_HINT = (
    "wrong password or no such user; the server answers the same for both. "
    "Fix: check username/password (client.set_credentials(...) or NACOS_USERNAME/NACOS_PASSWORD)"
)


class Plan(enum.Enum):
    USE = "use"
    REFRESH = "refresh"
    LOGIN = "login"
    FAIL = "fail"


class FailureLog:
    """One line per distinct cause, then at most one per `interval` while it lasts."""

    def __init__(self, interval: float = LOG_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, cause: str, text: str, now: float, level: int = logging.WARNING) -> bool:
        last = self._last.get(cause)
        if last is not None and now - last < self.interval:
            self._suppressed[cause] = self._suppressed.get(cause, 0) + 1
            return False
        repeats = self._suppressed.pop(cause, 0)
        suffix = f" (still failing: {repeats} more time(s) since the last report)" if last is not None else ""
        log.log(level, "%s%s", text, suffix)
        self._last[cause] = now
        return True

    def clear(self) -> bool:
        """The problem is gone; True if anything had been reported (worth saying it recovered)."""
        reported = bool(self._last)
        self._last.clear()
        self._suppressed.clear()
        return reported


class AuthSession:
    """Token, expiry, refresh point, backoff and last failure of one client (see module docstring)."""

    def __init__(self, username: str | None, password: str | None, rng: Callable[[], float] = random.random) -> None:
        self.rng = rng
        self.log = FailureLog()
        self.set_credentials(username, password)

    def set_credentials(self, username: str | None, password: str | None) -> None:
        """New credentials start from scratch: no token, no failure, no backoff."""
        self.username = username or ""
        self.password = password or ""
        self.token: str | None = None
        self.last_login: LoginReply | None = None
        self.logged_in_at = self.expires_at = self.refresh_at = 0.0
        self.auth_off = self.stale = False
        self.failure: AuthError | None = None
        self.failures = 0
        self.retry_at = 0.0
        self.probe_without_token = False
        self._announce_recovery = self.log.clear()  # say so when the new credentials work

    # --- what to do before a call -----------------------------------------------------------

    def plan(self, now: float) -> Plan:
        if not self.username or (self.auth_off and not self.stale):
            return Plan.USE
        usable = self.usable(now)
        if now < self.retry_at:
            return Plan.USE if usable else Plan.FAIL
        if usable:
            return Plan.REFRESH if now >= self.refresh_at else Plan.USE
        return Plan.LOGIN

    def usable(self, now: float) -> bool:
        return self.token is not None and not self.stale and now < self.expires_at

    def token_for(self, now: float) -> str | None:
        return self.token if self.usable(now) else None

    def error(self) -> AuthError:
        """A fresh copy of the last failure (raising one instance twice chains tracebacks)."""
        failure = self.failure or Unauthenticated(403, "login failed")
        return type(failure)(failure.code, failure.reason, failure.hint)

    # --- login --------------------------------------------------------------------------------

    def login_request(self) -> Request:
        """Form-encoded: the password stays out of URLs (and so out of access logs)."""
        return Request("POST", LOGIN, data={"username": self.username, "password": self.password})

    def on_login_reply(self, reply: Reply, now: float) -> None:
        if reply.status == 404:
            self._auth_off("the server has no login endpoint (no auth plugin)")
        elif reply.status == 200:
            self._on_login_ok(reply, now)
        else:
            self._failed(*self._classify(reply), now, retry_after=_retry_after(reply))

    def _on_login_ok(self, reply: Reply, now: float) -> None:
        try:
            body = json.loads(reply.body)
            token, ttl = str(body.get("accessToken") or ""), int(body.get("tokenTtl") or 18000)
        except (ValueError, TypeError, AttributeError):
            self._failed("bad-reply", Unauthenticated(200, f"unreadable login answer: {reply.text[:200]!r}"), now)
            return
        self.last_login = LoginReply(token, ttl, bool(body.get("globalAdmin")), str(body.get("username") or ""))
        if not token or token == AUTH_DISABLED:
            self._auth_off("the server has auth turned off (login answered without a usable token)")
            return
        ttl = max(ttl, 1)
        self.token, self.stale, self.auth_off = token, False, False
        self.logged_in_at = now
        self.expires_at = now + max(ttl - 2.0, ttl * 0.9)
        low, high = REFRESH_WINDOW
        self.refresh_at = now + ttl * (low + (high - low) * self.rng())
        self._recovered()

    def _auth_off(self, why: str) -> None:
        if not self.auth_off:
            log.info("%s; sending no token", why)
        self.token, self.auth_off, self.stale = None, True, False
        self._recovered()

    def _recovered(self) -> None:
        if self.log.clear() or self._announce_recovery:
            log.warning("login as %r works again", self.username)
        self.failure, self.failures, self.retry_at = None, 0, 0.0
        self._announce_recovery = False

    def _classify(self, reply: Reply) -> tuple[str, AuthError]:
        message = message_of(reply) or f"HTTP {reply.status}"
        who = f"login as {self.username!r} refused"
        if reply.status == 429:
            wait = _retry_after(reply)
            hint = (
                "too many failed logins: the server locked this user"
                + (f" for {wait:.0f} s" if wait else "")
                + ". Fix: correct the password everywhere it is used, then wait"
            )
            return "locked", Unauthenticated(429, f"{who}: {message}", hint)
        if reply.status in (401, 403) or "not found" in message.lower():
            return "credentials", Unauthenticated(reply.status, f"{who}: {message}", CREDENTIALS_HINT)
        return f"status-{reply.status}", Unauthenticated(
            reply.status, f"{who}: HTTP {reply.status} {message}", "unexpected answer from the login endpoint"
        )

    def _failed(self, cause: str, error: AuthError, now: float, retry_after: float | None = None) -> None:
        self.probe_without_token = cause == "credentials"
        self.failures += 1
        delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (self.failures - 1)) * (0.8 + 0.4 * self.rng())
        self.retry_at = now + max(min(delay, BACKOFF_MAX), retry_after or 0.0)
        self.failure = error
        self.log.report(cause, f"{error.reason}. Likely cause: {error.hint}", now)

    def take_probe(self, now: float) -> bool:
        """True (once per refused login) if the call should be tried without a token; see rule 6."""
        if self.token_for(now) is not None or self.plan(now) is not Plan.FAIL:
            return False
        probe, self.probe_without_token = self.probe_without_token, False
        return probe

    def works_without_token(self, now: float) -> None:
        """The probe was answered: the server has auth off; say so once and send no token from now on."""
        reason = self.failure.reason if self.failure else "login refused"
        text = (
            f"{reason}, but the server answers calls without a token (its auth is off): going on without one. "
            "Fix: correct the credentials, or drop them"
        )
        self.log.report("auth-off-bad-credentials", text, now)
        self.token, self.auth_off, self.stale = None, True, False
        self.failure, self.failures, self.retry_at = None, 0, 0.0

    # --- what a refused call means ------------------------------------------------------------

    def rejects(self, reply: Reply, token_used: str | None, now: float) -> bool:
        """True if the reply refuses our identity and a new login is worth one retry."""
        if reply.status not in (401, 403) or not self.username:
            return False
        message = message_of(reply)
        if AUTHORIZATION_FAILED in message:
            return False
        if token_used is not None and token_used == self.token:
            self.stale = True
            if "expired" in message and now < self.refresh_at:
                self._warn_skew(now)
        elif token_used is None:
            self.auth_off, self.stale = False, True
        return True

    def _warn_skew(self, now: float) -> None:
        text = (
            f"the server said the token expired {now - self.logged_in_at:.0f} s after login "
            f"(tokenTtl {self.last_login.token_ttl if self.last_login else '?'} s); logging in again. "
            "Likely cause: the servers' clocks differ (or differ from the one that issued it). Fix: sync them (NTP)"
        )
        self.log.report("clock-skew", text, now)

    def after_retry(self, reply: Reply, token_used: str | None, now: float) -> None:
        """The retry was refused too: a login failure with the likeliest cause; raises it."""
        if not self.rejects(reply, token_used, now):
            return
        message = message_of(reply)
        if "Invalid signature" in message:
            cause, hint = (
                "key-mismatch",
                "the servers do not share nacos.core.auth.plugin.nacos.token.secret.key "
                "(during a key rotation set pynacos.auth.token.previous.secret.key). Fix: the same key everywhere",
            )
        elif "expired" in message:
            cause, hint = "clock-skew", "the servers' clocks differ. Fix: sync them (NTP)"
        else:
            cause, hint = "token-rejected", "the server refuses tokens it just issued; check its auth settings"
        self._failed(cause, Unauthenticated(reply.status, f"fresh token refused: {message}", hint), now)
        raise self.error()


class EnsureToken:
    """A flow step: the driver makes the session usable (single-flight login) before the next send."""


ENSURE_TOKEN = EnsureToken()
Step = Request | EnsureToken


def auth_flow(
    session: AuthSession, request: Request, clock: Callable[[], float]
) -> Generator[Step, Reply | None, Reply]:
    """Attach the token; on a refusal about the token, log in again once and retry once.

    Drivers answer ENSURE_TOKEN with None (after their locked login) and a Request with its Reply.
    """
    yield ENSURE_TOKEN
    if session.take_probe(clock()):
        reply = yield request
        assert reply is not None
        if session.rejects(reply, None, clock()):
            raise session.error()
        if reply.status >= 500:
            session.probe_without_token = True  # no verdict on auth: probe again on the next call
        else:
            session.works_without_token(clock())
        return reply
    token = _usable_token(session, clock())
    reply = yield request.with_token(token)
    assert reply is not None
    if not session.rejects(reply, token, clock()):
        return reply
    yield ENSURE_TOKEN
    token = _usable_token(session, clock())
    reply = yield request.with_token(token)
    assert reply is not None
    session.after_retry(reply, token, clock())
    return reply


def _usable_token(session: AuthSession, now: float) -> str | None:
    """The token to send (None with no auth); the last login failure when there is none to send."""
    if session.plan(now) is Plan.FAIL:
        raise session.error()
    return session.token_for(now)


def _retry_after(reply: Reply) -> float | None:
    try:
        return float(reply.headers.get("retry-after", ""))
    except ValueError:
        return None
