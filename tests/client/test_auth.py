"""_auth: the session state machine with an injected clock and random source; no server, no sleeping."""

from __future__ import annotations

import json
import logging

import pytest

from pynacos.client import Unauthenticated
from pynacos.client._auth import (
    AUTH_DISABLED,
    ENSURE_TOKEN,
    AuthSession,
    FailureLog,
    Plan,
    auth_flow,
)
from pynacos.client._protocol import Reply, Request

LOGGER = "pynacos.client"


def ok(token: str = "tok-1", ttl: int = 100) -> Reply:
    body = {"accessToken": token, "tokenTtl": ttl, "globalAdmin": False, "username": "u1"}
    return Reply(200, {}, json.dumps(body).encode())


def refused(status: int = 403, body: str = "user not found!", **headers: str) -> Reply:
    return Reply(status, headers, body.encode())


def spring(message: str, status: int = 403) -> Reply:
    return Reply(status, {}, json.dumps({"status": status, "message": message}).encode())


def session(rng: float = 0.5) -> AuthSession:
    return AuthSession("u1", "secret", rng=lambda: rng)


def logged_in(at: float = 0.0, ttl: int = 100, rng: float = 0.5) -> AuthSession:
    s = session(rng)
    s.on_login_reply(ok(ttl=ttl), at)
    return s


def test_without_credentials_nothing_is_sent_and_nothing_logs_in() -> None:
    s = AuthSession(None, None)
    assert s.plan(0) is Plan.USE
    assert s.token_for(0) is None
    assert not s.rejects(spring("user not found!"), None, 0)


def test_first_call_logs_in_then_uses_the_token() -> None:
    s = session()
    assert s.plan(0) is Plan.LOGIN
    s.on_login_reply(ok("abc", 100), 0)
    assert s.plan(1) is Plan.USE
    assert s.token_for(1) == "abc"
    assert s.last_login is not None and s.last_login.token_ttl == 100


def test_login_is_a_form_post_without_a_token() -> None:
    request = session().login_request()
    assert request == Request("POST", "/v1/auth/login", data={"username": "u1", "password": "secret"})
    assert "Authorization" not in request.headers


@pytest.mark.parametrize(("rng", "point"), [(0.0, 75.0), (0.5, 80.0), (1.0, 85.0)])
def test_refresh_point_is_jittered_between_75_and_85_percent_of_the_ttl(rng: float, point: float) -> None:
    s = logged_in(at=10, ttl=100, rng=rng)
    assert s.refresh_at == pytest.approx(10 + point)
    assert s.plan(10 + point - 0.01) is Plan.USE
    assert s.plan(10 + point) is Plan.REFRESH


def test_refresh_points_of_many_clients_spread_out() -> None:
    import random

    points: set[int] = set()
    rng = random.Random(7)
    for _ in range(50):
        s = AuthSession("u", "p", rng=rng.random)
        s.on_login_reply(ok(ttl=18000), 0)
        points.add(round(s.refresh_at))
        assert 0.75 * 18000 <= s.refresh_at <= 0.85 * 18000
    assert len(points) > 40


def test_token_stops_being_sent_a_little_before_it_expires() -> None:
    s = logged_in(at=0, ttl=20)
    assert s.usable(17.9)
    assert not s.usable(18.0)
    assert s.plan(18.0) is Plan.LOGIN
    assert s.token_for(18.0) is None


def test_a_refresh_that_fails_keeps_the_valid_token_in_use() -> None:
    s = logged_in(at=0, ttl=100)
    s.on_login_reply(refused(), 81)
    assert s.failures == 1
    assert s.plan(81.5) is Plan.USE and s.token_for(81.5) == "tok-1"
    assert s.plan(s.retry_at) is Plan.REFRESH
    s.on_login_reply(ok("tok-2"), s.retry_at)
    assert s.token_for(s.logged_in_at) == "tok-2" and s.failure is None


def test_failed_login_without_a_token_fails_fast_until_the_backoff_ends() -> None:
    s = session()
    s.on_login_reply(refused(), 0)
    assert s.plan(0.5) is Plan.FAIL
    assert s.plan(s.retry_at) is Plan.LOGIN
    error = s.error()
    assert isinstance(error, Unauthenticated) and error.code == 403
    assert "user not found!" in str(error)
    assert "check username/password" in str(error)
    assert "the server answers the same for both" in str(error)
    assert error is not s.error()


def test_backoff_doubles_from_one_second_to_a_minute() -> None:
    s = session(rng=0.5)
    now, delays = 0.0, []
    for _ in range(9):
        s.on_login_reply(refused(), now)
        delays.append(round(s.retry_at - now, 3))
        now = s.retry_at
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


@pytest.mark.parametrize(("rng", "first", "sixth", "cap"), [(0.0, 0.8, 25.6, 48.0), (1.0, 1.2, 38.4, 60.0)])
def test_backoff_jitter_is_plus_minus_20_percent_capped_at_60(
    rng: float, first: float, sixth: float, cap: float
) -> None:
    s = session(rng=rng)
    delays = []
    for _ in range(7):
        s.on_login_reply(refused(), 0)
        delays.append(round(s.retry_at, 3))
    assert delays[0] == first and delays[5] == sixth and delays[6] == cap


def test_locked_user_waits_for_retry_after() -> None:
    s = session()
    s.on_login_reply(refused(429, "Too many login attempts", **{"retry-after": "120"}), 0)
    assert s.retry_at == 120
    assert "locked" in str(s.error())


def test_nacos_unknown_user_500_counts_as_bad_credentials() -> None:
    s = session()
    s.on_login_reply(refused(500, "caused: User u1 not found;"), 0)
    assert "check username/password" in str(s.error())


def test_an_unexpected_login_answer_is_a_failure_with_its_status() -> None:
    s = session()
    s.on_login_reply(refused(500, "caused: db down;"), 0)
    assert s.error().code == 500 and "HTTP 500" in str(s.error())
    s.on_login_reply(Reply(200, {}, b"not json"), s.retry_at)
    assert "unreadable login answer" in str(s.error())


@pytest.mark.parametrize(
    "reply",
    [
        ok(AUTH_DISABLED, 18000),
        Reply(404, {}, b'{"status":404,"message":"No message available"}'),
        Reply(200, {}, b'{"code":23000,"message":"not nacos","data":null}'),
    ],
)
def test_auth_disabled_or_absent_means_no_token_is_sent(reply: Reply) -> None:
    s = session()
    s.on_login_reply(reply, 0)
    assert s.auth_off
    assert s.plan(1) is Plan.USE and s.token_for(1) is None


def test_auth_turned_on_later_is_noticed_by_the_first_refusal() -> None:
    s = session()
    s.on_login_reply(ok(AUTH_DISABLED), 0)
    assert s.rejects(spring("user not found!"), None, 5)
    assert s.plan(5) is Plan.LOGIN


def test_token_refused_marks_it_stale_and_asks_for_one_retry() -> None:
    for message in (
        "token invalid!",
        "token expired!",
        "Invalid signature",
        "user not found!",
        "unsupported signature algorithm",
    ):
        s = logged_in()
        assert s.rejects(spring(message), "tok-1", 90)
        assert s.stale and s.plan(90) is Plan.LOGIN and s.token_for(90) is None


def test_a_refusal_of_an_older_token_does_not_undo_a_newer_login() -> None:
    s = logged_in()
    s.on_login_reply(ok("tok-2"), 50)
    assert s.rejects(spring("token invalid!"), "tok-1", 51)
    assert not s.stale and s.token_for(51) == "tok-2"


def test_authorization_failure_is_not_an_identity_problem() -> None:
    s = logged_in()
    assert not s.rejects(spring("authorization failed!"), "tok-1", 1)
    assert not s.rejects(Reply(404, {}, b""), "tok-1", 1)
    assert not s.stale


def test_token_expired_long_before_its_ttl_is_reported_as_clock_skew(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    s = logged_in(at=0, ttl=100)
    assert s.rejects(spring("token expired!"), "tok-1", 3)
    assert "clock" in caplog.text and "NTP" in caplog.text


def test_retry_refused_again_is_a_failure_with_the_likely_cause(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    s = logged_in()
    with pytest.raises(Unauthenticated, match="secret.key"):
        s.after_retry(spring("Invalid signature"), "tok-1", 1)
    assert s.failures == 1 and s.plan(1.1) is Plan.FAIL
    assert "previous.secret.key" in caplog.text


@pytest.mark.parametrize(("message", "hint"), [("token expired!", "clocks"), ("token invalid!", "auth settings")])
def test_retry_refusal_hints(message: str, hint: str) -> None:
    s = logged_in()
    with pytest.raises(Unauthenticated, match=hint):
        s.after_retry(spring(message), "tok-1", 1)


def test_retry_that_succeeds_changes_nothing() -> None:
    s = logged_in()
    s.after_retry(Reply(200, {}, b"v"), "tok-1", 1)
    assert s.failures == 0 and not s.stale


def test_new_credentials_start_from_scratch() -> None:
    s = session()
    s.on_login_reply(refused(), 0)
    s.set_credentials("u1", "new-secret")
    assert s.plan(0.1) is Plan.LOGIN
    assert s.failure is None and s.failures == 0
    assert s.login_request().data == {"username": "u1", "password": "new-secret"}


def test_new_credentials_that_work_are_announced_after_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    s = session()
    s.on_login_reply(refused(), 0)
    s.set_credentials("u1", "new-secret")
    s.on_login_reply(ok(), 0.1)
    s.on_login_reply(ok(), 90)
    assert [r.getMessage() for r in caplog.records][1:] == ["login as 'u1' works again"]


def test_each_cause_is_logged_once_then_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    s = session()
    for second in range(125):
        if s.plan(second) is Plan.LOGIN:
            s.on_login_reply(refused(), second)
    lines = [r for r in caplog.records if "u1" in r.getMessage()]
    assert len(lines) == 3
    assert "check username/password" in lines[0].getMessage()
    assert "still failing" in lines[1].getMessage()
    assert "secret" not in caplog.text


def test_a_new_cause_is_logged_at_once_and_recovery_is_said(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    s = session()
    s.on_login_reply(refused(), 0)
    s.on_login_reply(refused(429, "Too many login attempts"), s.retry_at)
    s.on_login_reply(ok(), s.retry_at)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "locked" in messages[1]
    assert messages[2] == "login as 'u1' works again"


def test_failure_log_counts_what_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    failures = FailureLog(interval=60)
    assert failures.report("x", "boom", 0)
    assert not failures.report("x", "boom", 30)
    assert not failures.report("x", "boom", 59)
    assert failures.report("x", "boom", 60)
    assert caplog.records[-1].getMessage() == "boom (still failing: 2 more time(s) since the last report)"
    assert failures.clear() and not failures.clear()


def drive(flow, replies: list[Reply]) -> tuple[list[Request], Reply]:  # type: ignore[no-untyped-def]
    """Run an auth flow: ENSURE_TOKEN steps get None, requests get the next reply."""
    sent: list[Request] = []
    step = next(flow)
    try:
        while True:
            if step is ENSURE_TOKEN:
                step = flow.send(None)
            else:
                sent.append(step)
                step = flow.send(replies.pop(0))
    except StopIteration as stop:
        return sent, stop.value


def test_flow_attaches_the_token_and_returns_the_reply() -> None:
    s = logged_in()
    sent, result = drive(auth_flow(s, Request("GET", "/x"), lambda: 1.0), [Reply(200, {}, b"v")])
    assert [r.headers for r in sent] == [{"Authorization": "Bearer tok-1"}]
    assert result.body == b"v"


def test_flow_retries_once_with_the_new_token_after_a_refusal() -> None:
    s = logged_in()
    flow = auth_flow(s, Request("GET", "/x"), lambda: 1.0)
    assert next(flow) is ENSURE_TOKEN
    first = flow.send(None)
    assert first.headers == {"Authorization": "Bearer tok-1"}
    assert flow.send(spring("token invalid!")) is ENSURE_TOKEN
    s.on_login_reply(ok("tok-2"), 1.0)  # what the driver does for ENSURE_TOKEN
    second = flow.send(None)
    assert second.headers == {"Authorization": "Bearer tok-2"}
    with pytest.raises(StopIteration) as stop:
        flow.send(Reply(200, {}, b"v"))
    assert stop.value.value.body == b"v"


def test_flow_gives_up_after_the_second_refusal() -> None:
    s = logged_in()
    with pytest.raises(Unauthenticated, match="fresh token refused: token invalid!"):
        drive(auth_flow(s, Request("GET", "/x"), lambda: 1.0), [spring("token invalid!"), spring("token invalid!")])


def test_flow_passes_authorization_failures_through_without_retrying() -> None:
    s = logged_in()
    sent, result = drive(auth_flow(s, Request("GET", "/x"), lambda: 1.0), [spring("authorization failed!")])
    assert len(sent) == 1 and result.status == 403


def test_auth_off_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    s = session()
    s.on_login_reply(ok(AUTH_DISABLED), 0)
    s.on_login_reply(ok(AUTH_DISABLED), 10)
    assert [r.getMessage() for r in caplog.records] == [
        "the server has auth turned off (login answered without a usable token); sending no token"
    ]


def test_refused_login_then_a_call_answered_without_a_token_means_auth_is_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nacos checks passwords even with auth off: the call goes on without a token, said once."""
    s = session()
    s.on_login_reply(refused(), 0)
    sent, result = drive(auth_flow(s, Request("GET", "/x"), lambda: 0.5), [Reply(200, {}, b"v")])
    assert [r.headers for r in sent] == [{}] and result.body == b"v"
    assert s.auth_off and s.plan(1) is Plan.USE
    [_, going_on] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert "but the server answers calls without a token (its auth is off)" in going_on
    assert "secret" not in going_on


def test_refused_login_and_refused_probe_raise_the_login_failure_and_probe_no_more() -> None:
    s = session()
    s.on_login_reply(refused(), 0)
    with pytest.raises(Unauthenticated, match="login as 'u1' refused: user not found!"):
        drive(auth_flow(s, Request("GET", "/x"), lambda: 0.5), [spring("user not found!")])
    with pytest.raises(Unauthenticated, match="login as 'u1' refused"):
        drive(auth_flow(s, Request("GET", "/x"), lambda: 0.6), [])  # fails fast: nothing sent


def test_a_login_refused_for_another_reason_is_not_probed() -> None:
    s = session()
    s.on_login_reply(refused(500, "boom"), 0)
    with pytest.raises(Unauthenticated, match="HTTP 500"):
        drive(auth_flow(s, Request("GET", "/x"), lambda: 0.5), [])


def test_a_probe_answered_with_a_server_error_says_nothing_about_auth() -> None:
    s = session()
    s.on_login_reply(refused(), 0)
    _, result = drive(auth_flow(s, Request("GET", "/x"), lambda: 0.5), [Reply(500, {}, b"boom")])
    assert result.status == 500 and not s.auth_off
    sent, _ = drive(auth_flow(s, Request("GET", "/x"), lambda: 0.6), [Reply(200, {}, b"v")])
    assert [r.headers for r in sent] == [{}] and s.auth_off  # probed again, and this time answered
