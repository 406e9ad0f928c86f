"""Prometheus metrics for the edge. Security events are counted here for alerting.

The per-request series (`novapos_http_requests_total`, `novapos_http_request_seconds`) are
`edge.api.request_metrics`, registered in the same registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

SECURITY_EVENTS = Counter(
    "novapos_security_events_total",
    "Security-relevant events: failed logins, lockouts, token reuse, role changes, cross-tenant attempts.",
    ["event"],
    registry=REGISTRY,
)
OUTBOX_PENDING = Gauge("novapos_outbox_pending", "Outbox events not yet acknowledged by the cloud.", registry=REGISTRY)
DB_COMMITS = Gauge("novapos_db_commits", "Group commits made by the writer since start.", registry=REGISTRY)
DB_UNITS = Gauge("novapos_db_units_of_work", "Units of work committed since start.", registry=REGISTRY)


def security_event(event: str) -> None:
    SECURITY_EVENTS.labels(event=event).inc()
