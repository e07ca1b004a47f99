"""The asyncio side of UDP push: one socket, one timer, and the PushState (naming/push.py) deciding everything.

Pushes go only to the source address of the list request that subscribed (the socket peer, or the
client a trusted proxy names), never to the client-supplied `clientIP`, and only to IP literals: Nacos
sends up to 64 KB to whatever `clientIP` says, resolving names, which makes it a reflector (C.5).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from typing import Any

from pynacos.server.naming.models import ServiceKey
from pynacos.server.naming.push import (
    Datagram,
    PushState,
    PushTimings,
    Subscribed,
    Subscriber,
    SubscriberKey,
    literal_ip,
    push_capable,
)
from pynacos.server.naming.service import NamingService
from pynacos.server.naming.views import push_info
from pynacos.server.settings import Settings

log = logging.getLogger("pynacos.naming.push")


class UdpPush(asyncio.DatagramProtocol):
    """Owns the push socket; does nothing (and lists no subscribers) until `open` has bound it."""

    def __init__(
        self,
        naming: NamingService,
        enabled: bool = True,
        timings: PushTimings | None = None,
        max_subscribers: int = 10_000,
    ) -> None:
        self.enabled = enabled
        self.naming = naming  # its `pushEnabled` switch pauses push while the server runs
        self.state = PushState(functools.partial(push_info, naming), timings, max_subscribers)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._family = socket.AF_INET
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._full_logged = False
        naming.on_change.append(self.service_changed)
        naming.on_switch.append(self._reschedule)  # pushes held back while paused go out on resume

    @classmethod
    def from_settings(cls, naming: NamingService, settings: Settings) -> UdpPush:
        timings = PushTimings(ack_timeout_ms=settings.naming_push_ack_timeout_ms)
        return cls(naming, settings.naming_push_enabled, timings, settings.naming_push_max_subscribers)

    @property
    def active(self) -> bool:
        """Push is on and the socket is bound (the `pushEnabled` switch)."""
        return self._transport is not None

    @property
    def address(self) -> tuple[str, int] | None:
        if self._transport is None:
            return None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def open(self, host: str) -> None:
        """Bind one UDP socket on the listen address, ephemeral port; a failure leaves push off, not the server."""
        if not self.enabled or self._transport is not None:
            return
        self._loop = asyncio.get_running_loop()
        try:
            transport, _ = await self._loop.create_datagram_endpoint(lambda: self, local_addr=(host, 0))
        except OSError as exc:
            log.error("UDP push is off: cannot bind a UDP socket on %s: %s", host, exc)
            return
        self._transport = transport
        self._family = transport.get_extra_info("socket").family
        log.info("UDP push to HTTP naming subscribers from %s:%d", *(self.address or ("?", 0)))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # -- inputs ----------------------------------------------------------------------------------

    def subscribe(
        self, service: ServiceKey, source_ip: str, udp_port: int, clusters: str, agent: str, app: str
    ) -> None:
        """A list call asked for push: record it if push is on, the agent can take it and the source is an IP."""
        ip = literal_ip(source_ip)
        if not self._pushing or ip is None or not self._reachable(ip) or not 0 < udp_port < 65536:
            return
        if not push_capable(agent):
            return
        outcome = self.state.subscribe(self._now(), SubscriberKey(service, ip, udp_port, clusters), agent, app)
        if outcome is Subscribed.NEW:
            self._reschedule()
        elif outcome is Subscribed.REFUSED:
            self._refused(ip)
        if not self.state.full:
            self._full_logged = False

    def _reachable(self, ip: str) -> bool:
        """Bound, and of a family the socket can send to (an IPv4 socket cannot reach IPv6 clients)."""
        return self._transport is not None and (self._family == socket.AF_INET6 or ":" not in ip)

    def _refused(self, ip: str) -> None:
        """Logged once per time the table fills: a client can repeat this as often as it likes."""
        if self.state.full and not self._full_logged:
            self._full_logged = True
            log.warning("UDP push: %d subscribers, new ones poll instead until some expire", len(self.state))
        elif not self.state.full:
            log.debug("UDP push: %s already has %d subscriptions, refused one more", ip, self.state.max_per_ip)

    @property
    def _pushing(self) -> bool:
        return self.naming.switches.push_enabled

    def service_changed(self, service: ServiceKey) -> None:
        """Recorded even while push is paused, so that subscribers hear of it when it resumes."""
        if self._transport is not None and self.state.service_changed(self._now(), service):
            self._reschedule()

    def subscribers(self, service: ServiceKey) -> list[Subscriber]:
        return self.state.subscribers(service)

    def every_subscriber(self) -> list[tuple[Subscriber, float]]:
        """Every live subscriber with the milliseconds since its last poll (the naming client lists)."""
        if self._loop is None:
            return []
        now = self._now()
        return [(s, now - s.last_seen) for s in self.state.every(now)]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        ip = literal_ip(str(addr[0]))
        if ip is not None:
            self.state.ack_received(data, ip, int(addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP push socket error: %s", exc)

    # -- timer -----------------------------------------------------------------------------------

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time() * 1000

    def _reschedule(self) -> None:
        """Keep one timer, at the state's next deadline; none while push is paused."""
        if not self._pushing:
            return
        wake = self.state.next_wakeup()
        if self._timer is not None and wake is not None and self._timer_at <= wake:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if wake is not None and self._loop is not None:
            self._timer_at = wake
            self._timer = self._loop.call_at(wake / 1000, self._fire)

    def _fire(self) -> None:
        # the loop may run a timer up to its clock resolution early: count it as on time
        now = max(self._now(), self._timer_at)
        self._timer = None
        if not self._pushing:  # paused after this timer was set: hold everything until resumed
            return
        try:
            self._send(self.state.datagrams_due(now))
        except Exception:
            log.exception("UDP push failed")
        self._reschedule()

    def _send(self, datagrams: list[Datagram]) -> None:
        if self._transport is None:
            return
        for datagram in datagrams:
            self._transport.sendto(datagram.payload, (self._target(datagram.ip), datagram.port))

    def _target(self, ip: str) -> str:
        """An IPv6 socket reaches IPv4 clients through their mapped address."""
        if self._family == socket.AF_INET6 and ":" not in ip:
            return f"::ffff:{ip}"
        return ip
