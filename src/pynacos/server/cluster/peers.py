"""Talking to the other members over their HTTP port: health reports, and messages with retry.

Every call is signed with the server identity value (auth/node_signature.py: time, nonce and an HMAC
over method, path, query and body; the value itself never travels), carries `User-Agent:
Nacos-Server:<version>` and `Nacos-Server: <version>`, and goes to an `Internal` route on the peer, which
refuses it (403) unless the signature is good, fresh and not replayed. Timeouts are short (connect 1 s,
answer 3 s): a slow peer must not hold a message meant for the others.

Reports (F.1.5): every 2 s this node POSTs its Member JSON to every peer's `/v1/core/cluster/report`
(Nacos: one peer per round over gRPC; here all of them, so a dead node is seen within about 2 s plus the
fail count). The answer is the peer's own Member; success makes the peer UP, failure SUSPICIOUS, then
DOWN (members.py). The report also carries a fingerprint of the token secret,
HMAC-SHA256(secret, "pynacos-token-secret-fingerprint"), never the secret: each side compares the other's
with its own, and a difference (tokens from one node refused by the other) is logged and shown in the
member's `extendInfo.pynacosIssues`. A 403 means the peer refused this node's identity: logged (at most
once a minute per peer) with the settings to fix, and shown there too.

Messages (`send`): to every UP or SUSPICIOUS member at once; on failure (or while the peer is DOWN) again
after 500 + n²·1000 ms, n = 0..7, then every 49.5 s, for as long as the peer is listed (F.2.3), and at once
when the peer turns UP again (its report arrived: it is back, no need to wait out the delay). Messages
with a `key` are coalesced per peer: while one for (peer, key) is pending, a newer one replaces it, and
one sent during a delivery is delivered after it. Receivers re-read the database, so only the newest
matters and nothing piles up behind a dead peer. At most MAX_PENDING (peer, key) slots wait at once (a peer
down for hours while many distinct keys change); beyond that a message is dropped with a warning, which
costs nothing lasting: a config change is caught up by repair.py, a restarted peer reloads everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from pynacos.server.auth.node_signature import node_key, signed_headers
from pynacos.server.cluster.members import DOWN, NACOS_VERSION, UP, Member, MemberList
from pynacos.server.log_limits import RateLimitedLog
from pynacos.server.settings import Settings

log = logging.getLogger("pynacos.cluster")

REPORT_PATH = "/v1/core/cluster/report"
REPORT_INTERVAL = 2.0
FINGERPRINT_FIELD = "pynacosTokenSecretFingerprint"
FINGERPRINT_INFO = b"pynacos-token-secret-fingerprint"
TIMEOUT = httpx.Timeout(3.0, connect=1.0)
MAX_PENDING = 100_000
IDENTITY_ISSUE = "identity"
SECRET_ISSUE = "tokenSecret"
IDENTITY_REFUSED = (
    "refused this node's server identity (HTTP 403, its log says why): set "
    "nacos.core.auth.server.identity.value to the same value on every node, and keep the nodes' clocks "
    "within 30 s of each other (NTP)"
)
SECRET_DIFFERS = (
    "has a different token secret: tokens issued by one node are refused by the other. Set "
    "nacos.core.auth.plugin.nacos.token.secret.key to the same value on every node"
)
Payload = Mapping[str, Any]


def fingerprint(secret: bytes) -> str:
    return hmac.new(secret, FINGERPRINT_INFO, "sha256").hexdigest()


def retry_delay(attempt: int) -> float:
    """Seconds before retry `attempt` (0-based): 0.5, 1.5, 4.5, 9.5, 16.5, 25.5, 36.5, then 49.5 for ever."""
    n = min(attempt, 7)
    return 0.5 + n * n


class Peers:
    """The HTTP client to every peer; `send` for messages, `report_forever` for member health."""

    def __init__(self, members: MemberList, settings: Settings, secret_fingerprint: str) -> None:
        self.members = members
        self.settings = settings
        self.fingerprint = secret_fingerprint
        self.headers = {"User-Agent": f"Nacos-Server:{NACOS_VERSION}", "Nacos-Server": NACOS_VERSION}
        self.key = node_key(settings.identity_value)
        self.client = httpx.AsyncClient(timeout=TIMEOUT, trust_env=False)
        self.problems = RateLimitedLog(log)
        self._latest: dict[tuple[str, str], tuple[str, Payload]] = {}
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._unique = itertools.count()
        #: set when a member turns UP: deliveries waiting to retry it go at once
        self._back: dict[str, asyncio.Event] = {}
        members.on_state_change(self._state_changed)

    def _state_changed(self, member: Member, old: str, new: str) -> None:
        if new == UP:
            self._back.pop(member.address, asyncio.Event()).set()

    async def _wait_retry(self, address: str, failures: int) -> None:
        back = self._back.setdefault(address, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(back.wait(), retry_delay(failures))

    def url(self, member: Member, path: str) -> str:
        return f"http://{member.address}{self.settings.context_path}{path}"

    async def post(self, member: Member, path: str, data: Payload | None = None, body: Any = None) -> httpx.Response:
        """One call to a peer's Internal route (form `data` or JSON `body`); raises httpx.HTTPError."""
        request = self.client.build_request("POST", self.url(member, path), data=data, json=body, headers=self.headers)
        request.headers.update(signed_headers(self.key, "POST", path, request.url.query, request.content))
        response = await self.client.send(request)
        if response.status_code == 403:
            self.identity_refused(member)
        return response

    def send(self, path: str, data: Payload, key: str | None = None, retry: bool = True) -> None:
        """POST `data` (a form) to `path` on every peer, in the background (module docstring)."""
        for member in self.members.peers():
            if not retry and member.state == DOWN:
                continue
            slot = (member.address, key if key is not None else f"#{next(self._unique)}")
            if slot not in self._running and len(self._running) >= MAX_PENDING:
                self.problems.log(
                    logging.WARNING,
                    ("full", member.address),
                    "too many messages waiting for %s: dropped",
                    member.address,
                )
                continue
            self._latest[slot] = (path, data)
            if slot not in self._running:
                self._running[slot] = asyncio.get_running_loop().create_task(self._deliver(slot, retry))

    async def _deliver(self, slot: tuple[str, str], retry: bool) -> None:
        """Deliver the newest message of `slot` until none is left; failures wait `retry_delay`. The slot
        leaves `_running` in the same step that finds nothing left, so a message sent after is not stranded."""
        try:
            failures = 0
            while True:
                member = self.members.get(slot[0])
                message = self._latest.pop(slot, None)
                if member is None or message is None:
                    return
                if await self._attempt(member, *message):
                    failures = 0
                    continue
                if not retry:
                    continue  # once each: a newer message (if any) gets its one attempt, then the slot is done
                self._latest.setdefault(slot, message)
                await self._wait_retry(slot[0], failures)
                failures += 1
        finally:
            self._running.pop(slot, None)

    async def _attempt(self, member: Member, path: str, data: Payload) -> bool:
        if member.state == DOWN:
            return False
        try:
            response = await self.post(member, path, data=data)
        except httpx.HTTPError as exc:
            log.debug("%s to %s failed: %s", path, member.address, exc.__class__.__name__)
            return False
        if response.status_code != 200:
            self.problems.log(
                logging.WARNING,
                (member.address, path, response.status_code),
                "member %s answered %d to %s; retrying",
                member.address,
                response.status_code,
                path,
            )
        return response.status_code == 200

    async def report_forever(self) -> None:
        while True:
            try:
                self.members.reload_if_changed()
                await asyncio.gather(*(self.report(m) for m in self.members.peers()))
            except Exception:  # a bug here must not end the reports for good
                log.exception("member health reports failed")
            await asyncio.sleep(REPORT_INTERVAL)

    async def report(self, member: Member) -> None:
        """Send this node's Member to `member`; its answer (its own Member) updates its state."""
        body = {**self.members.self_member.json(), FINGERPRINT_FIELD: self.fingerprint}
        try:
            response = await self.post(member, REPORT_PATH, body=body)
        except httpx.ConnectError:
            self.members.failed(member, refused=True)
            return
        except httpx.HTTPError:
            self.members.failed(member, refused=False)
            return
        reply = _member_of_reply(response)
        if reply is None:
            self.members.failed(member, refused=False)
            return
        member.issues.pop(IDENTITY_ISSUE, None)
        self.compare_fingerprint(member, reply.get(FINGERPRINT_FIELD))
        extend = reply.get("extendInfo")
        self.members.succeeded(member, extend if isinstance(extend, dict) else {})

    def identity_refused(self, member: Member) -> None:
        member.issues[IDENTITY_ISSUE] = IDENTITY_REFUSED
        self.problems.log(
            logging.ERROR, (member.address, IDENTITY_ISSUE), "member %s %s", member.address, IDENTITY_REFUSED
        )

    def compare_fingerprint(self, member: Member, theirs: object) -> None:
        """Record (and log, rate-limited) a peer whose token secret differs from this node's."""
        if not isinstance(theirs, str) or hmac.compare_digest(theirs.encode(), self.fingerprint.encode()):
            member.issues.pop(SECRET_ISSUE, None)
            return
        member.issues[SECRET_ISSUE] = SECRET_DIFFERS
        self.problems.log(logging.ERROR, (member.address, SECRET_ISSUE), "member %s %s", member.address, SECRET_DIFFERS)

    async def close(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.client.aclose()


def _member_of_reply(response: httpx.Response) -> dict[str, Any] | None:
    """The peer's Member from `{"code":200,"data":"<Member JSON>"}`, or None for any other answer."""
    if response.status_code != 200:
        return None
    try:
        body = response.json()
        data = json.loads(body["data"]) if isinstance(body.get("data"), str) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return data if isinstance(data, dict) and body.get("code") == 200 else None
