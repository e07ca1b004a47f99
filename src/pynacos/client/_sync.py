"""The blocking clients: thin loops over httpx.Client, background work in daemon threads.

Threads: a ConfigClient starts one listener thread at its first add_listener; a NamingClient one
background thread at its first ephemeral registration or subscription (beats and polls share it).
Background requests go through their own httpx.Client whose sockets are remembered, so close()
(and a new listener, which must join the held long poll) can shut them down: a blocked read
wakes at once instead of after the 30 s long poll.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx

from pynacos.client import _protocol as protocol
from pynacos.client import _snapshot as snapshot
from pynacos.client._auth import ENSURE_TOKEN, FailureLog, Plan, auth_flow
from pynacos.client._base import BaseTransport, http_options, outcome_of, reply_of
from pynacos.client._exceptions import AuthError, ClientClosed, NacosError, NotFound, ServerUnavailable, Timeout
from pynacos.client._failover import CONNECT_TIMEOUT, Attempt, Outcome, Pause, failover
from pynacos.client._listener import Callback, ConfigKey, ListenerTable, parse_changed
from pynacos.client._models import (
    DEFAULT_CLUSTER,
    DEFAULT_GROUP,
    ConfigChange,
    ConfigValue,
    Instance,
    InstanceEvent,
    LoginReply,
    ServiceInstances,
)
from pynacos.client._naming import BeatSchedule, EventCallback, InstanceKey, Subscriptions, choose
from pynacos.client._settings import ClientSettings, endpoint_url

log = logging.getLogger("pynacos.client")
IDLE_WAIT = 60.0
MIN_POLL_GAP = 1.0
T = TypeVar("T")


class Interrupted(Exception):
    """A background request was cut short on purpose (close, or a new key to listen to)."""


class SocketTracker:
    """Remembers the sockets an httpx.Client opens (httpcore's `trace` hook) so they can be shut down.

    `interrupt()` shuts down every socket (a blocked read then fails at once) and starts a new
    generation; a socket that a call of an older generation connects afterwards is shut down as
    soon as it is made, so a request racing with close() cannot slip through and hang.
    """

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.generation = 0

    def hook(self, generation: int) -> Callable[[str, dict[str, Any]], None]:
        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
                self._track(info["return_value"].get_extra_info("socket"), generation)

        return trace

    def _track(self, sock: socket.socket, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                _shutdown(sock)
            else:
                self._sockets = [s for s in self._sockets if s.fileno() != -1] + [sock]

    def interrupt(self) -> None:
        with self._lock:
            self.generation += 1
            for sock in self._sockets:
                _shutdown(sock)
            self._sockets = []


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class SyncTransport(BaseTransport):
    """Auth flow and failover over httpx.Client; one login at a time (threading.Lock)."""

    def __init__(self, settings: ClientSettings, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(settings)
        self._http = httpx.Client(**http_options(transport))
        self._background = httpx.Client(**http_options(transport))
        self._login_lock = threading.Lock()
        self._server_list_lock = threading.Lock()
        self.tracker = SocketTracker()

    def call(
        self, request: protocol.Request, background: bool = False, deadline: float | None = None
    ) -> protocol.Reply:
        self.check_open(background)
        if self.server_list_due():
            self._refresh_server_list()
        deadline = self.deadline(request) if deadline is None else deadline
        generation = self.tracker.generation
        flow = auth_flow(self.session, request, self.clock)
        step = next(flow)
        while True:
            try:
                if step is ENSURE_TOKEN:
                    self._ensure_token(deadline, background)
                    step = flow.send(None)
                else:
                    assert isinstance(step, protocol.Request)
                    step = flow.send(self._exchange(step, deadline, background, generation))
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]

    def _refresh_server_list(self) -> None:
        """One thread asks the address server (bounded by the connect timeout); the others go on."""
        if not self._server_list_lock.acquire(blocking=False):
            return
        try:
            url = endpoint_url(self.settings.endpoint or "")
            response = self._http.get(url, timeout=min(self.settings.timeout, CONNECT_TIMEOUT))
            self.on_server_list((response.status_code, response.text))
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed meanwhile
            self.on_server_list(exc)
        finally:
            self._server_list_lock.release()

    def _ensure_token(self, deadline: float, background: bool) -> None:
        plan = self.session.plan(self.clock())
        if plan is Plan.USE:
            return
        if plan is Plan.FAIL:
            return  # auth_flow raises the failure, or probes without a token
        if plan is Plan.REFRESH and not self._login_lock.acquire(blocking=False):
            return
        if plan is Plan.LOGIN and not self._login_lock.acquire(timeout=max(0.0, deadline - self.clock())):
            raise Timeout("timed out waiting for another thread's login")
        try:
            if self.session.plan(self.clock()) in (Plan.LOGIN, Plan.REFRESH):
                self._login(deadline, background)
        finally:
            self._login_lock.release()

    def _login(self, deadline: float, background: bool = False) -> None:
        """Bounded by the call's deadline and by one timeout (a long poll's deadline is 35 s away)."""
        deadline = min(deadline, self.clock() + self.settings.timeout)
        reply = self._exchange(self.session.login_request(), deadline, background, self.tracker.generation)
        self.session.on_login_reply(reply, self.clock())

    def login(self) -> LoginReply | None:
        self.start_login()
        with self._login_lock:
            self._login(self.clock() + self.settings.timeout)
        return self.login_result()

    def _exchange(
        self, request: protocol.Request, deadline: float, background: bool, generation: int
    ) -> protocol.Reply:
        flow = failover(self.servers, deadline, self.clock)
        step = next(flow)
        while True:
            try:
                if isinstance(step, Pause):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                else:
                    step = flow.send(self._attempt(step, request, background, generation))
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]

    def _attempt(self, attempt: Attempt, request: protocol.Request, background: bool, generation: int) -> Outcome:
        http = self._background if background else self._http
        extensions = {"trace": self.tracker.hook(generation)} if background else {}
        try:
            return reply_of(http.request(**self.arguments(attempt, request), extensions=extensions))
        except (httpx.TransportError, RuntimeError) as exc:  # RuntimeError: httpx's "client has been closed"
            if self.closed:
                raise ClientClosed("the client was closed during the call") from exc
            if background and self.tracker.generation != generation:
                raise Interrupted() from exc
            if isinstance(exc, RuntimeError):
                raise
            return outcome_of(attempt.address, exc)

    def close(self) -> None:
        self.closed = True
        self.tracker.interrupt()
        self._background.close()
        self._http.close()


class _Worker:
    """A daemon thread running `step` until stopped; `wake()` cuts its wait short."""

    def __init__(self, name: str, step: Callable[[], float]) -> None:
        self._step = step
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self._step()
            except Interrupted:
                continue
            except Exception:  # a bug must not end listening for good; ClientClosed ends with the loop
                if not self._stop.is_set():
                    log.exception("pynacos background step failed; retrying in 1 s")
                wait = 1.0
            self._wake.wait(max(0.0, wait))
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)


def settings_of(settings: ClientSettings | str | None) -> ClientSettings:
    if isinstance(settings, ClientSettings):
        return settings
    return ClientSettings.from_env(server_addresses=settings)


def run_callbacks(calls: Iterable[tuple[Callable[[T], object], T]]) -> None:
    for callback, event in calls:
        try:
            callback(event)
        except Exception:
            log.exception("a pynacos listener callback raised (ignored; the change is still recorded)")


class _Client:
    """What both sync clients share: settings, transport, credentials, close, `with`."""

    def __init__(self, settings: ClientSettings | str | None, transport: httpx.BaseTransport | None) -> None:
        self.settings = settings_of(settings)
        self._transport = SyncTransport(self.settings, transport)
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._log = FailureLog()

    def set_credentials(self, username: str | None, password: str | None) -> None:
        """Use new credentials from the next call on (e.g. after the password was changed)."""
        self._transport.session.set_credentials(username, password)

    def login(self) -> LoginReply | None:
        """Log in now (calls log in by themselves; this is for checking credentials or getting a token).

        Returns the token and its TTL, or None when the server has auth off; raises `Unauthenticated`
        with the cause and fix when the login is refused. ValueError without a username.
        """
        return self._transport.login()

    def close(self) -> None:
        """Stop background work (joined within the timeout), say goodbye, close connections. Idempotent."""
        if self._transport.closed:
            return
        worker, self._worker = self._worker, None
        self._transport.closing = True  # background calls now fail at once ...
        self._transport.tracker.interrupt()  # ... and held ones are cut short
        if worker is not None:
            worker.stop(self.settings.timeout)
        self._farewell()
        self._transport.close()

    def _farewell(self) -> None:
        """Last calls before the connections close (the naming client deregisters)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start_worker(self, name: str, step: Callable[[], float]) -> None:
        self._transport.check_open()
        with self._lock:
            if self._worker is None:
                self._worker = _Worker(name, step)
            else:
                self._worker.wake()

    def _report(self, what: str, exc: Exception) -> None:
        """Background failures: auth ones are logged by the session; others once a minute."""
        if not isinstance(exc, AuthError | ClientClosed):
            self._log.report(what, f"{what} failed: {exc}", time.monotonic())


class ConfigClient(_Client):
    """Read, write and watch configs. Thread-safe; `close()` (or `with`) stops the listener thread."""

    def __init__(
        self, settings: ClientSettings | str | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(settings, transport)
        self._table = ListenerTable()
        self._failures = 0

    def get(self, data_id: str, group: str = DEFAULT_GROUP) -> str | None:
        """The content, or None if the config does not exist; the local snapshot if no server answers."""
        value = self._fetch(self._key(data_id, group))
        return value.content if value else None

    def publish(
        self, data_id: str, group: str, content: str, type: str | None = None, cas_md5: str | None = None
    ) -> bool:
        """Create or replace; with `cas_md5`, only if the stored md5 still matches (else Conflict)."""
        ns = self.settings.namespace
        request = protocol.config_publish(ns, data_id, group, content, type, cas_md5)
        return protocol.parse_true(self._transport.call(request))

    def remove(self, data_id: str, group: str = DEFAULT_GROUP) -> bool:
        request = protocol.config_remove(self.settings.namespace, data_id, group)
        return protocol.parse_true(self._transport.call(request))

    def add_listener(self, data_id: str, group: str, callback: Callable[[ConfigChange], object]) -> str | None:
        """Call `callback(ConfigChange)` on every later change; returns the current content."""
        key = self._key(data_id, group)
        with self._lock:
            if key in self._table:
                self._table.add(key, callback, None)
                return self._table.content(key)
        current = self._fetch(key)
        with self._lock:
            self._table.add(key, callback, current)
        self._start_worker("pynacos-config-listener", self._listen_once)
        self._transport.tracker.interrupt()
        return current.content if current else None

    def remove_listener(
        self, data_id: str, group: str, callback: Callable[[ConfigChange], object] | None = None
    ) -> None:
        with self._lock:
            self._table.remove(self._key(data_id, group), callback)

    def _key(self, data_id: str, group: str) -> ConfigKey:
        return ConfigKey(data_id, group, self.settings.namespace)

    def _fetch(self, key: ConfigKey, background: bool = False) -> ConfigValue | None:
        request = protocol.config_get(key.tenant, key.data_id, key.group)
        path = self._snapshot_path(key)
        try:
            value = protocol.parse_config_get(self._transport.call(request, background))
        except ServerUnavailable:
            content = snapshot.read(path) if path else None
            if content is None:
                raise
            self._log.report("snapshot", f"no server answered: serving {path} (local snapshot)", time.monotonic())
            return ConfigValue(content, protocol.md5_of(content))
        if path:
            snapshot.write(path, value.content if value else None)
        return value

    def _snapshot_path(self, key: ConfigKey) -> Path | None:
        directory = self.settings.snapshot_dir
        return snapshot.path_of(directory, key.tenant, key.group, key.data_id) if directory else None

    def _listen_once(self) -> float:
        """One long poll and the fetches it asks for; returns how long to wait before the next."""
        with self._lock:
            probes = self._table.probes()
        if not probes:
            return IDLE_WAIT
        started = time.monotonic()
        try:
            changed = self._poll(probes)
            for key in changed:
                self._refresh(key)
        except NacosError as exc:
            self._failures += 1
            self._report("config listener", exc)
            return min(30.0, 2.0 ** min(self._failures, 5))
        self._failures = 0
        return 0.0 if changed else MIN_POLL_GAP - (time.monotonic() - started)

    def _poll(self, probes: list[str]) -> list[ConfigKey]:
        changed: list[ConfigKey] = []
        timeout = self.settings.long_poll_timeout_ms
        for i, probe in enumerate(probes):
            request = protocol.config_listen(probe, timeout, no_hangup=i < len(probes) - 1)
            changed += parse_changed(protocol.expect_ok(self._transport.call(request, background=True)).body)
        return changed

    def _refresh(self, key: ConfigKey) -> None:
        value = self._fetch(key, background=True)
        with self._lock:
            calls = self._table.update(key, value)
        run_callbacks(calls)


class NamingClient(_Client):
    """Register (with heartbeats), list, select and subscribe. Thread-safe; `close()` stops beats."""

    def __init__(
        self, settings: ClientSettings | str | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(settings, transport)
        self._beats = BeatSchedule()
        self._subscriptions = Subscriptions(self.settings.subscribe_interval)

    def register_instance(
        self,
        service: str,
        ip: str,
        port: int,
        weight: float = 1.0,
        cluster: str = DEFAULT_CLUSTER,
        metadata: dict[str, str] | None = None,
        ephemeral: bool = True,
        group: str = DEFAULT_GROUP,
    ) -> bool:
        """Register; an ephemeral instance is then kept alive by beats until deregistered or closed."""
        instance = Instance(
            ip,
            port,
            weight,
            ephemeral=ephemeral,
            cluster_name=cluster,
            service_name=service,
            metadata=dict(metadata or {}),
        )
        ok = protocol.parse_ok(self._transport.call(protocol.register(self.settings.namespace, group, instance)))
        if ephemeral:
            with self._lock:
                self._beats.add(InstanceKey(service, group, ip, port), group, instance, time.monotonic())
            self._start_worker("pynacos-naming", self._background_once)
        return ok

    def deregister_instance(
        self,
        service: str,
        ip: str,
        port: int,
        cluster: str = DEFAULT_CLUSTER,
        ephemeral: bool = True,
        group: str = DEFAULT_GROUP,
    ) -> bool:
        with self._lock:
            self._beats.remove(InstanceKey(service, group, ip, port))
        request = protocol.deregister(self.settings.namespace, group, service, ip, port, cluster, ephemeral)
        return protocol.parse_ok(self._transport.call(request))

    def get_service_instances(
        self, service: str, group: str = DEFAULT_GROUP, healthy_only: bool = False, clusters: str = ""
    ) -> ServiceInstances:
        request = protocol.instance_list(self.settings.namespace, group, service, clusters, healthy_only)
        return protocol.parse_instance_list(self._transport.call(request))

    def list_instances(
        self, service: str, group: str = DEFAULT_GROUP, healthy_only: bool = False, clusters: str = ""
    ) -> list[Instance]:
        return list(self.get_service_instances(service, group, healthy_only, clusters).hosts)

    def select_one_healthy(self, service: str, group: str = DEFAULT_GROUP, clusters: str = "") -> Instance:
        """A healthy instance chosen at random by weight; NotFound if there is none."""
        chosen = choose(self.list_instances(service, group, True, clusters))
        if chosen is None:
            raise NotFound(404, f"no healthy instance of {group}@@{service}")
        return chosen

    def subscribe(self, service: str, callback: Callable[[InstanceEvent], object], group: str = DEFAULT_GROUP) -> None:
        """`callback(InstanceEvent)` for each instance ADDED, REMOVED or MODIFIED (polled)."""
        with self._lock:
            calls = self._subscriptions.add(service, group, callback, time.monotonic())
        run_callbacks(calls)
        self._start_worker("pynacos-naming", self._background_once)

    def unsubscribe(
        self, service: str, callback: Callable[[InstanceEvent], object] | None = None, group: str = DEFAULT_GROUP
    ) -> None:
        with self._lock:
            self._subscriptions.remove(service, group, callback)

    def _farewell(self) -> None:
        """Deregister this client's ephemeral instances, all within one timeout: they vanish now, as a
        gRPC client's do when its connection closes, instead of after the server's 15-30 s expiry."""
        with self._lock:
            entries = self._beats.drain()
        deadline = time.monotonic() + self.settings.timeout
        for entry in entries:
            request = protocol.deregister_registered(self.settings.namespace, entry.group, entry.instance)
            try:
                self._transport.call(request, deadline=deadline)
            except NacosError as exc:
                self._report("deregister on close", exc)

    def _background_once(self) -> float:
        now = time.monotonic()
        with self._lock:
            beats, polls = self._beats.due(now), self._subscriptions.due(now)
        for key, entry in beats:
            self._beat(key, entry.group, entry.instance)
        for service, group in polls:
            self._poll(service, group)
        with self._lock:
            due = [d for d in (self._beats.next_due(), self._subscriptions.next_due()) if d is not None]
        return min(due, default=time.monotonic() + IDLE_WAIT) - time.monotonic()

    def _beat(self, key: InstanceKey, group: str, instance: Instance) -> None:
        ns = self.settings.namespace
        try:
            reply = protocol.parse_beat(self._transport.call(protocol.beat(ns, group, instance), background=True))
            if not reply.found:
                self._transport.call(protocol.register(ns, group, instance), background=True)
        except NacosError as exc:
            self._report(f"heartbeat of {instance.address} in {group}@@{instance.service_name}", exc)
            with self._lock:
                self._beats.failed(key, time.monotonic())
            return
        with self._lock:
            self._beats.answered(key, reply, time.monotonic())

    def _poll(self, service: str, group: str) -> None:
        request = protocol.instance_list(self.settings.namespace, group, service)
        try:
            hosts = protocol.parse_instance_list(self._transport.call(request, background=True)).hosts
        except NacosError as exc:
            self._report(f"subscription to {group}@@{service}", exc)
            with self._lock:
                self._subscriptions.failed(service, group, time.monotonic())
            return
        with self._lock:
            calls = self._subscriptions.update(service, group, hosts, time.monotonic())
        run_callbacks(calls)


__all__ = ["Callback", "ConfigClient", "EventCallback", "NamingClient"]
