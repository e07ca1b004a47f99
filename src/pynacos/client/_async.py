"""The asyncio clients: the same calls as `_sync.py`, over httpx.AsyncClient, background work in tasks.

A config client runs one listener task from its first add_listener; a naming client one task for
beats and subscription polls. `aclose()` cancels them and waits (bounded by the timeout). A new
listened key cancels only the held long poll (not a running callback), and the loop polls again
with the new key at once. Callbacks may be plain functions or coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Self, TypeVar

import httpx

from pynacos.client import _protocol as protocol
from pynacos.client import _snapshot as snapshot
from pynacos.client._auth import ENSURE_TOKEN, FailureLog, Plan, auth_flow
from pynacos.client._base import BaseTransport, http_options, outcome_of, reply_of
from pynacos.client._exceptions import AuthError, ClientClosed, NacosError, NotFound, ServerUnavailable, Timeout
from pynacos.client._failover import CONNECT_TIMEOUT, Attempt, Outcome, Pause, failover
from pynacos.client._listener import ConfigKey, ListenerTable, parse_changed
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
from pynacos.client._naming import BeatSchedule, InstanceKey, Subscriptions, choose
from pynacos.client._settings import ClientSettings, endpoint_url
from pynacos.client._sync import IDLE_WAIT, MIN_POLL_GAP, settings_of

log = logging.getLogger("pynacos.client")
T = TypeVar("T")
Step = Callable[[], Awaitable[float]]


class AsyncTransport(BaseTransport):
    """Auth flow and failover over httpx.AsyncClient; one login at a time (asyncio.Lock)."""

    def __init__(self, settings: ClientSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings)
        self._http = httpx.AsyncClient(**http_options(transport))
        self._login_lock = asyncio.Lock()
        self._server_list_lock = asyncio.Lock()

    async def call(self, request: protocol.Request, deadline: float | None = None) -> protocol.Reply:
        self.check_open()
        if self.server_list_due() and not self._server_list_lock.locked():
            await self._refresh_server_list()
        deadline = self.deadline(request) if deadline is None else deadline
        flow = auth_flow(self.session, request, self.clock)
        step = next(flow)
        while True:
            try:
                if step is ENSURE_TOKEN:
                    await self._ensure_token(deadline)
                    step = flow.send(None)
                else:
                    assert isinstance(step, protocol.Request)
                    step = flow.send(await self._exchange(step, deadline))
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]

    async def _refresh_server_list(self) -> None:
        """One task asks the address server (bounded by the connect timeout); the others go on."""
        async with self._server_list_lock:
            try:
                url = endpoint_url(self.settings.endpoint or "")
                response = await self._http.get(url, timeout=min(self.settings.timeout, CONNECT_TIMEOUT))
                self.on_server_list((response.status_code, response.text))
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed meanwhile
                self.on_server_list(exc)

    async def _ensure_token(self, deadline: float) -> None:
        plan = self.session.plan(self.clock())
        if plan is Plan.USE:
            return
        if plan is Plan.FAIL:
            return  # auth_flow raises the failure, or probes without a token
        if plan is Plan.REFRESH and self._login_lock.locked():
            return
        try:
            async with asyncio.timeout(max(0.0, deadline - self.clock())):
                await self._login_lock.acquire()
        except TimeoutError:
            raise Timeout("timed out waiting for another task's login") from None
        try:
            if self.session.plan(self.clock()) in (Plan.LOGIN, Plan.REFRESH):
                await self._login(deadline)
        finally:
            self._login_lock.release()

    async def _login(self, deadline: float) -> None:
        """Bounded by the call's deadline and by one timeout (a long poll's deadline is 35 s away)."""
        deadline = min(deadline, self.clock() + self.settings.timeout)
        reply = await self._exchange(self.session.login_request(), deadline)
        self.session.on_login_reply(reply, self.clock())

    async def login(self) -> LoginReply | None:
        self.start_login()
        async with self._login_lock:
            await self._login(self.clock() + self.settings.timeout)
        return self.login_result()

    async def _exchange(self, request: protocol.Request, deadline: float) -> protocol.Reply:
        flow = failover(self.servers, deadline, self.clock)
        step = next(flow)
        while True:
            try:
                if isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                else:
                    step = flow.send(await self._attempt(step, request))
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]

    async def _attempt(self, attempt: Attempt, request: protocol.Request) -> Outcome:
        try:
            return reply_of(await self._http.request(**self.arguments(attempt, request)))
        except (httpx.TransportError, RuntimeError) as exc:  # RuntimeError: httpx's "client has been closed"
            if self.closed:
                raise ClientClosed("the client was closed during the call") from exc
            if isinstance(exc, RuntimeError):
                raise
            return outcome_of(attempt.address, exc)

    async def aclose(self) -> None:
        self.closed = True
        await self._http.aclose()


async def run_callbacks(calls: Iterable[tuple[Callable[[T], object], T]]) -> None:
    """Plain functions are called, coroutine functions awaited; a raising callback is logged."""
    for callback, event in calls:
        try:
            result = callback(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("a pynacos listener callback raised (ignored; the change is still recorded)")


class _AsyncWorker:
    """A task running `step` until cancelled; `wake()` cuts its wait short."""

    def __init__(self, name: str, step: Step) -> None:
        self._step = step
        self._wake = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:
        while True:
            try:
                wait = await self._step()
            except Exception:  # a bug must not end listening for good
                log.exception("pynacos background step failed; retrying in 1 s")
                wait = 1.0
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout: float) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self.task, timeout)


class _AsyncClient:
    """What both async clients share: settings, transport, credentials, aclose, `async with`."""

    def __init__(self, settings: ClientSettings | str | None, transport: httpx.AsyncBaseTransport | None) -> None:
        self.settings = settings_of(settings)
        self._transport = AsyncTransport(self.settings, transport)
        self._worker: _AsyncWorker | None = None
        self._log = FailureLog()

    def set_credentials(self, username: str | None, password: str | None) -> None:
        """Use new credentials from the next call on (e.g. after the password was changed)."""
        self._transport.session.set_credentials(username, password)

    async def login(self) -> LoginReply | None:
        """Log in now: the token and its TTL, None when the server has auth off (see ConfigClient.login)."""
        return await self._transport.login()

    async def aclose(self) -> None:
        """Cancel background tasks (waited for within the timeout), say goodbye, close connections. Idempotent."""
        if self._transport.closed:
            return
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.stop(self.settings.timeout)
        await self._farewell()
        await self._transport.aclose()

    async def _farewell(self) -> None:
        """Last calls before the connections close (the naming client deregisters)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _start_worker(self, name: str, step: Step) -> None:
        self._transport.check_open()
        if self._worker is None:
            self._worker = _AsyncWorker(name, step)
        else:
            self._worker.wake()

    def _report(self, what: str, exc: Exception) -> None:
        if not isinstance(exc, AuthError | ClientClosed):
            self._log.report(what, f"{what} failed: {exc}", time.monotonic())


class AsyncConfigClient(_AsyncClient):
    """Read, write and watch configs from asyncio code; `aclose()` (or `async with`) stops the listener."""

    def __init__(
        self, settings: ClientSettings | str | None = None, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings, transport)
        self._table = ListenerTable()
        self._failures = 0
        self._poll_task: asyncio.Task[list[ConfigKey]] | None = None

    async def get(self, data_id: str, group: str = DEFAULT_GROUP) -> str | None:
        """The content, or None if the config does not exist; the local snapshot if no server answers."""
        value = await self._fetch(ConfigKey(data_id, group, self.settings.namespace))
        return value.content if value else None

    async def publish(
        self, data_id: str, group: str, content: str, type: str | None = None, cas_md5: str | None = None
    ) -> bool:
        request = protocol.config_publish(self.settings.namespace, data_id, group, content, type, cas_md5)
        return protocol.parse_true(await self._transport.call(request))

    async def remove(self, data_id: str, group: str = DEFAULT_GROUP) -> bool:
        request = protocol.config_remove(self.settings.namespace, data_id, group)
        return protocol.parse_true(await self._transport.call(request))

    async def add_listener(self, data_id: str, group: str, callback: Callable[[ConfigChange], object]) -> str | None:
        """Call (or await) `callback(ConfigChange)` on every later change; returns the current content."""
        key = ConfigKey(data_id, group, self.settings.namespace)
        if key in self._table:
            self._table.add(key, callback, None)
            return self._table.content(key)
        current = await self._fetch(key)
        self._table.add(key, callback, current)
        self._start_worker("pynacos-config-listener", self._listen_once)
        if self._poll_task is not None:
            self._poll_task.cancel()
        return current.content if current else None

    def remove_listener(
        self, data_id: str, group: str, callback: Callable[[ConfigChange], object] | None = None
    ) -> None:
        self._table.remove(ConfigKey(data_id, group, self.settings.namespace), callback)

    async def _fetch(self, key: ConfigKey) -> ConfigValue | None:
        request = protocol.config_get(key.tenant, key.data_id, key.group)
        directory = self.settings.snapshot_dir
        path = snapshot.path_of(directory, key.tenant, key.group, key.data_id) if directory else None
        try:
            value = protocol.parse_config_get(await self._transport.call(request))
        except ServerUnavailable:
            content = await asyncio.to_thread(snapshot.read, path) if path else None
            if content is None:
                raise
            self._log.report("snapshot", f"no server answered: serving {path} (local snapshot)", time.monotonic())
            return ConfigValue(content, protocol.md5_of(content))
        if path:
            await asyncio.to_thread(snapshot.write, path, value.content if value else None)
        return value

    async def _listen_once(self) -> float:
        probes = self._table.probes()
        if not probes:
            return IDLE_WAIT
        started = time.monotonic()
        self._poll_task = asyncio.create_task(self._poll(probes))
        try:
            changed = await self._poll_task
            for key in changed:
                await self._refresh(key)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return 0.0  # only the poll was cancelled: a new key joins the next one
        except NacosError as exc:
            self._failures += 1
            self._report("config listener", exc)
            return min(30.0, 2.0 ** min(self._failures, 5))
        finally:
            self._poll_task = None
        self._failures = 0
        return 0.0 if changed else MIN_POLL_GAP - (time.monotonic() - started)

    async def _poll(self, probes: list[str]) -> list[ConfigKey]:
        changed: list[ConfigKey] = []
        timeout = self.settings.long_poll_timeout_ms
        for i, probe in enumerate(probes):
            request = protocol.config_listen(probe, timeout, no_hangup=i < len(probes) - 1)
            changed += parse_changed(protocol.expect_ok(await self._transport.call(request)).body)
        return changed

    async def _refresh(self, key: ConfigKey) -> None:
        value = await self._fetch(key)
        await run_callbacks(self._table.update(key, value))


class AsyncNamingClient(_AsyncClient):
    """Register (with heartbeats), list, select and subscribe from asyncio code."""

    def __init__(
        self, settings: ClientSettings | str | None = None, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings, transport)
        self._beats = BeatSchedule()
        self._subscriptions = Subscriptions(self.settings.subscribe_interval)

    async def register_instance(
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
        ok = protocol.parse_ok(await self._transport.call(protocol.register(self.settings.namespace, group, instance)))
        if ephemeral:
            self._beats.add(InstanceKey(service, group, ip, port), group, instance, time.monotonic())
            self._start_worker("pynacos-naming", self._background_once)
        return ok

    async def deregister_instance(
        self,
        service: str,
        ip: str,
        port: int,
        cluster: str = DEFAULT_CLUSTER,
        ephemeral: bool = True,
        group: str = DEFAULT_GROUP,
    ) -> bool:
        self._beats.remove(InstanceKey(service, group, ip, port))
        request = protocol.deregister(self.settings.namespace, group, service, ip, port, cluster, ephemeral)
        return protocol.parse_ok(await self._transport.call(request))

    async def get_service_instances(
        self, service: str, group: str = DEFAULT_GROUP, healthy_only: bool = False, clusters: str = ""
    ) -> ServiceInstances:
        request = protocol.instance_list(self.settings.namespace, group, service, clusters, healthy_only)
        return protocol.parse_instance_list(await self._transport.call(request))

    async def list_instances(
        self, service: str, group: str = DEFAULT_GROUP, healthy_only: bool = False, clusters: str = ""
    ) -> list[Instance]:
        return list((await self.get_service_instances(service, group, healthy_only, clusters)).hosts)

    async def select_one_healthy(self, service: str, group: str = DEFAULT_GROUP, clusters: str = "") -> Instance:
        chosen = choose(await self.list_instances(service, group, True, clusters))
        if chosen is None:
            raise NotFound(404, f"no healthy instance of {group}@@{service}")
        return chosen

    async def subscribe(
        self, service: str, callback: Callable[[InstanceEvent], object], group: str = DEFAULT_GROUP
    ) -> None:
        await run_callbacks(self._subscriptions.add(service, group, callback, time.monotonic()))
        self._start_worker("pynacos-naming", self._background_once)

    def unsubscribe(
        self, service: str, callback: Callable[[InstanceEvent], object] | None = None, group: str = DEFAULT_GROUP
    ) -> None:
        self._subscriptions.remove(service, group, callback)

    async def _farewell(self) -> None:
        """Deregister this client's ephemeral instances within one timeout (see NamingClient._farewell)."""
        deadline = time.monotonic() + self.settings.timeout
        for entry in self._beats.drain():
            request = protocol.deregister_registered(self.settings.namespace, entry.group, entry.instance)
            try:
                await self._transport.call(request, deadline=deadline)
            except NacosError as exc:
                self._report("deregister on close", exc)

    async def _background_once(self) -> float:
        now = time.monotonic()
        for key, entry in self._beats.due(now):
            await self._beat(key, entry.group, entry.instance)
        for service, group in self._subscriptions.due(now):
            await self._poll(service, group)
        due = [d for d in (self._beats.next_due(), self._subscriptions.next_due()) if d is not None]
        return min(due, default=time.monotonic() + IDLE_WAIT) - time.monotonic()

    async def _beat(self, key: InstanceKey, group: str, instance: Instance) -> None:
        ns = self.settings.namespace
        try:
            reply = protocol.parse_beat(await self._transport.call(protocol.beat(ns, group, instance)))
            if not reply.found:
                await self._transport.call(protocol.register(ns, group, instance))
        except NacosError as exc:
            self._report(f"heartbeat of {instance.address} in {group}@@{instance.service_name}", exc)
            self._beats.failed(key, time.monotonic())
            return
        self._beats.answered(key, reply, time.monotonic())

    async def _poll(self, service: str, group: str) -> None:
        request = protocol.instance_list(self.settings.namespace, group, service)
        try:
            hosts = protocol.parse_instance_list(await self._transport.call(request)).hosts
        except NacosError as exc:
            self._report(f"subscription to {group}@@{service}", exc)
            self._subscriptions.failed(service, group, time.monotonic())
            return
        await run_callbacks(self._subscriptions.update(service, group, hosts, time.monotonic()))
