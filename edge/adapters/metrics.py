"""Prometheus metrics for the edge. Security events are counted here for alerting."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

SECURITY_EVENTS = Counter(
    "novapos_security_events_total",
    "Security-relevant events: failed logins, lockouts, token reuse, role changes, cross-tenant attempts.",
    ["event"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "novapos_http_requests_total", "HTTP requests by route and status.", ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "novapos_http_request_seconds", "HTTP request latency.", ["route"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
OUTBOX_PENDING = Gauge("novapos_outbox_pending", "Outbox events not yet acknowledged by the cloud.", registry=REGISTRY)
DB_COMMITS = Gauge("novapos_db_commits", "Group commits made by the writer since start.", registry=REGISTRY)
DB_UNITS = Gauge("novapos_db_units_of_work", "Units of work committed since start.", registry=REGISTRY)


def security_event(event: str) -> None:
    SECURITY_EVENTS.labels(event=event).inc()


@lru_cache(maxsize=1024)  # bounded: a client can send any method name
def _request_series(method: str, route: str, status: int) -> tuple[Any, Any]:
    # `labels()` takes a lock and builds the label tuple on every call; the children never change.
    return HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(route)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    count, latency = _request_series(method, route, status)
    count.inc()
    latency.observe(seconds)
