"""Prometheus collectors, one registry per server so tests can run several side by side.

Besides pynacos's own `pynacos_*` series, `nacos_monitor{module,name}` repeats the figures of Nacos
2.5.1's gauge family under its names, so dashboards and alerts written for Nacos keep working
(docs/metrics.md lists each name and how it is computed). Nothing is counted twice for it: every
figure is read at scrape time from pynacos's own counters and state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Figure = tuple[str, str]
"""A `nacos_monitor` series: (module, name)."""

#: answers counted in Nacos's since-midnight config figures: (method, route template, status) -> name.
#: Nacos counts a read each time its config query chain runs (found or not: 200 and 404 here), and its
#: request aspect counts config deletes as reads too; a publish each time a publish reaches its service.
#: The router labels by route template, so the variants sharing GET /v1/cs/configs with the plain read
#: (show=all, search, export, beta) count as reads here, and an import or a clone as a publish.
CONFIG_ROUTE_FIGURES: dict[tuple[str, str, str], str] = {
    ("GET", "/v1/cs/configs", "200"): "getConfig",
    ("GET", "/v1/cs/configs", "404"): "getConfig",
    ("GET", "/v2/cs/config", "200"): "getConfig",
    ("GET", "/v2/cs/config", "404"): "getConfig",
    ("DELETE", "/v1/cs/configs", "200"): "getConfig",
    ("DELETE", "/v2/cs/config", "200"): "getConfig",
    ("POST", "/v1/cs/configs", "200"): "publish",
    ("POST", "/v2/cs/config", "200"): "publish",
}
#: checker type (label of pynacos_naming_health_checks) -> Nacos's count of checks run; pynacos never
#: runs MYSQL checks (naming/health.py), so that one stays at its true count, 0
HEALTH_CHECK_FIGURES = {"TCP": "tcpHealthCheck", "HTTP": "httpHealthCheck", "MYSQL": "mysqlHealthCheck"}
#: Nacos zeroes these at local midnight (config: reads, publishes; naming: health checks and pushes)
DAILY: tuple[Figure, ...] = (
    ("config", "getConfig"),
    ("config", "publish"),
    ("config", "fuzzySearch"),
    ("naming", "mysqlHealthCheck"),
    ("naming", "httpHealthCheck"),
    ("naming", "tcpHealthCheck"),
    ("naming", "totalPush"),
    ("naming", "failedPush"),
)


class PushTally(Protocol):
    """The UDP push state's counters (naming/push.py `PushCounters`), read-only here."""

    @property
    def acked(self) -> int: ...

    @property
    def gave_up(self) -> int: ...


@dataclass(frozen=True)
class MonitorSources:
    """Where `nacos_monitor` reads the figures pynacos keeps outside this module; each touches memory only."""

    config_count: Callable[[], int]
    long_polls: Callable[[], int]
    service_count: Callable[[], int]
    instance_count: Callable[[], int]
    push_subscribers: Callable[[], int]
    push_counters: Callable[[], PushTally]


class SinceMidnight:
    """Turns ever-growing totals into counts since local midnight, at read (scrape) time.

    Nacos zeroes its daily counters with a job at 00:00. Here nothing runs at midnight and the hot path
    keeps its one counter increment: each read subtracts the totals seen at the *last read of an earlier
    day*. So what happened between that read and midnight is counted in the new day (at most one scrape
    interval's worth), and no event is lost from, or counted in two days of, the scraped series.
    """

    def __init__(self, today: Callable[[], date] = date.today) -> None:
        self._today = today
        self._day = today()
        self._base: dict[Figure, float] = {}
        self._seen: dict[Figure, float] = {}

    def read(self, totals: Mapping[Figure, float]) -> dict[Figure, float]:
        day = self._today()
        if day != self._day:  # any change of date, a clock set back included, starts a new day
            self._day, self._base = day, self._seen
        self._seen = dict(totals)
        return {figure: total - self._base.get(figure, 0.0) for figure, total in totals.items()}


class NacosMonitor:
    """Collector of `nacos_monitor{module,name}`: Nacos's figures computed from pynacos's at scrape time."""

    def __init__(self, metrics: Metrics, sources: MonitorSources, today: Callable[[], date] = date.today) -> None:
        self.metrics = metrics
        self.sources = sources
        self.daily = SinceMidnight(today)

    def describe(self) -> Iterable[Metric]:
        """Lets the registry refuse a second `nacos_monitor` (and skip a collect at registration)."""
        return [_monitor_family()]

    def collect(self) -> Iterable[Metric]:
        family = _monitor_family()
        for (module, name), value in self.values().items():
            family.add_metric([module, name], value)
        return [family]

    def values(self) -> dict[Figure, float]:
        """Every figure, in the order Nacos declares them."""
        daily = self.daily.read(self._totals())
        config, naming = self._config(daily), self._naming(daily)
        return {("config", k): float(v) for k, v in config.items()} | {
            ("naming", k): float(v) for k, v in naming.items()
        }

    def _config(self, daily: dict[Figure, float]) -> dict[str, float]:
        # notifyTask, notifyClientTask and dumpTask are the lengths of Nacos's cluster-notify,
        # client-notify and dump task queues; pynacos notifies in-process and writes through to
        # storage, so it has no such queues and they are always 0
        return {
            "getConfig": daily["config", "getConfig"],
            "publish": daily["config", "publish"],
            "longPolling": self.sources.long_polls(),
            "configCount": self.sources.config_count(),
            "notifyTask": 0,
            "notifyClientTask": 0,
            "dumpTask": 0,
            "fuzzySearch": daily["config", "fuzzySearch"],
        }

    def _naming(self, daily: dict[Figure, float]) -> dict[str, float]:
        s = self.sources
        return {
            "mysqlHealthCheck": daily["naming", "mysqlHealthCheck"],
            "httpHealthCheck": daily["naming", "httpHealthCheck"],
            "tcpHealthCheck": daily["naming", "tcpHealthCheck"],
            "serviceCount": s.service_count(),
            "ipCount": s.instance_count(),
            "subscriberCount": s.push_subscribers(),
            "totalPush": daily["naming", "totalPush"],
            "failedPush": daily["naming", "failedPush"],
        }

    def _totals(self) -> dict[Figure, float]:
        """The ever-growing counts behind the daily figures (each present, so each is always emitted)."""
        totals = dict.fromkeys(DAILY, 0.0)
        for labels, value in _totals_of(self.metrics.requests):
            name = CONFIG_ROUTE_FIGURES.get((labels["method"], labels["route"], labels["status"]))
            if name is not None:
                totals["config", name] += value
        totals["config", "fuzzySearch"] = sum(value for _, value in _totals_of(self.metrics.blur_searches))
        for labels, value in _totals_of(self.metrics.health_checks):
            name = HEALTH_CHECK_FIGURES.get(labels["type"])
            if name is not None:
                totals["naming", name] += value
        # Nacos counts a UDP push in totalPush once it is acked or has failed, in failedPush once failed;
        # a push replaced by a newer one before its ack has neither outcome and is not counted
        pushes = self.sources.push_counters()
        totals["naming", "totalPush"] = float(pushes.acked + pushes.gave_up)
        totals["naming", "failedPush"] = float(pushes.gave_up)
        return totals


def _monitor_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "nacos_monitor", "Nacos 2.5.1's monitor gauges (see docs/metrics.md).", labels=["module", "name"]
    )


def _totals_of(counter: Counter) -> Iterator[tuple[dict[str, str], float]]:
    """A labelled counter's totals through the public collect() (the children's values are private)."""
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                yield sample.labels, sample.value


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
        self.blur_searches = Counter(
            "pynacos_config_blur_searches",
            "Config blur searches (v1 search=blur; Nacos does not count v2 searchDetail).",
            registry=self.registry,
        )
        self.health_checks = Counter(
            "pynacos_naming_health_checks",
            "Active checks of persistent instances by checker type and outcome (ok, fail, fail_now).",
            ["type", "outcome"],
            registry=self.registry,
        )

        self.grpc_requests = Counter(
            "pynacos_grpc_requests",
            "gRPC requests by type and outcome (ok or errorCode).",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.grpc_pushes = Counter(
            "pynacos_grpc_pushes",
            "gRPC pushes by type and outcome (acked, failed).",
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

    def nacos_monitor(self, sources: MonitorSources) -> NacosMonitor:
        """Serve Nacos's `nacos_monitor` series beside ours, derived at scrape time: no hot-path cost."""
        monitor = NacosMonitor(self, sources)
        self.registry.register(monitor)
        return monitor

    def render(self) -> bytes:
        return generate_latest(self.registry)
