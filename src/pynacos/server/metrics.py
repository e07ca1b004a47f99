"""Prometheus collectors, one registry per server so tests can run several side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Request counts and latencies by route, config and listener gauges, storage errors."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[str, Any] = {}
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pynacos_http_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pynacos_http_request_duration_seconds",
            "HTTP request latency by route (long polls included: they are held on purpose).",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter("pynacos_errors", "Errors by kind (storage, internal).", ["kind"], registry=self.registry)
        self.config_publishes = Counter(
            "pynacos_config_publishes", "Acknowledged config writes (publish and delete).", registry=self.registry
        )
        self.health_checks = Counter(
            "pynacos_naming_health_checks",
            "Active checks of persistent instances by checker type and outcome (ok, fail, fail_now).",
            ["type", "outcome"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Label look-ups are cached: they cost more than the increment on the hot path."""
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(method, route, str(status))
        timer = self._timers.get(route)
        if timer is None:
            timer = self._timers[route] = self.latency.labels(route)
        counter.inc()
        timer.observe(seconds)

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read at scrape time (config count, held listeners, ...)."""
        Gauge(name, help_text, registry=self.registry).set_function(read)

    def render(self) -> bytes:
        return generate_latest(self.registry)
