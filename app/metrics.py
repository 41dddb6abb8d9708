"""Prometheus metrics (`/metrics`), names `switchboard_*`, every label bounded: vendors,
methods, status classes, operation types and outcome codes — never ids or free text.

Counters and histograms that code updates on its way are module-level (one process, one
set); what is a state (breakers, watched calls, the bus) is read at scrape time by a
collector of the app that owns it (`StateCollector`), so that nothing is kept twice.
Updating costs a dictionary lookup and an addition: label children are cached by the
callers on hot paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# What code updates. A registry of our own: no process/platform collectors from the
# library's default one mixed in without being asked for (they are added below).
REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

GRAPHQL_OPERATIONS = Counter(
    "switchboard_graphql_operations",
    "GraphQL operations by type (query, mutation, subscription) and outcome (ok, or the "
    "first error code).",
    ["type", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_SECONDS = Histogram(
    "switchboard_graphql_operation_seconds",
    "Time to answer a query or mutation over HTTP.",
    ["type"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
VENDOR_REQUESTS = Counter(
    "switchboard_vendor_requests",
    "Requests sent to a vendor, by HTTP method and outcome: the status class (2xx, 4xx, "
    "5xx) or timeout, connection_lost, unreachable; breaker_open when refused unsent.",
    ["vendor", "method", "status"],
    registry=REGISTRY,
)
VENDOR_SECONDS = Histogram(
    "switchboard_vendor_request_seconds",
    "Time from sending a vendor request (queue included) to its whole answer.",
    ["vendor", "method"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
COMMANDS = Counter(
    "switchboard_commands",
    "Call commands (hold, retrieve, hangup, start) by vendor and outcome (confirmed, "
    "no_op, or the error code).",
    ["vendor", "operation", "outcome"],
    registry=REGISTRY,
)
CONFIRMATION_SECONDS = Histogram(
    "switchboard_command_confirmation_seconds",
    "Time from a command's acceptance to the vendor showing its effect.",
    ["vendor", "operation"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TOKEN_REFRESHES = Counter(
    "switchboard_vendor_token_refreshes",
    "Access tokens or sessions fetched from a vendor.",
    ["vendor"],
    registry=REGISTRY,
)
OBSERVER_RESTARTS = Counter(
    "switchboard_observer_restarts",
    "Call observers (polls, push streams) restarted after a failure.",
    ["vendor"],
    registry=REGISTRY,
)
WEBSOCKET_DROPPED = Counter(
    "switchboard_websocket_dropped_messages",
    "Messages dropped for websocket clients that read too slowly.",
    registry=REGISTRY,
)


Sample = tuple[str, str, dict[str, str], float]  # metric name, help, labels, value


class StateCollector(Collector):
    """Gauges read at scrape time from `read()`: (name, help, labels, value) samples."""

    def __init__(self, read: Callable[[], Iterable[Sample]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        for name, help_text, labels, value in self._read():
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(name, help_text, labels=list(labels))
            family.add_metric(list(labels.values()), value)
        return list(families.values())


def exposition(*registries: CollectorRegistry) -> bytes:
    """The text exposition of the shared metrics and of the given (per-app) registries."""
    return b"".join(generate_latest(registry) for registry in (REGISTRY, *registries))


def status_class(status: int) -> str:
    return f"{status // 100}xx"
