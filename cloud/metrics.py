"""Prometheus metrics for the cloud hub: security events (for alerting) and ingest progress.

One registry for the process, served at `/metrics`. Lag is per store: 200 stores are 200
series, which Prometheus handles easily and which is what an operator pages on.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

SECURITY_EVENTS = Counter(
    "novapos_cloud_security_events_total",
    "Security-relevant events: failed logins, lockouts, MFA failures, rejected tokens, refresh "
    "reuse, forbidden and cross-tenant attempts.",
    ["event"],
    registry=REGISTRY,
)
INGEST_EVENTS = Counter(
    "novapos_cloud_ingest_events_total",
    "Events fetched from the aggregate stream, by outcome (new, duplicate, undecodable).",
    ["outcome"],
    registry=REGISTRY,
)
INGEST_QUARANTINED = Counter(
    "novapos_cloud_ingest_quarantined_total",
    "Events refused by ingest's origin checks and quarantined, by reason (tenant_mismatch, "
    "subject_mismatch, store_owned_elsewhere).",
    ["reason"],
    registry=REGISTRY,
)
INGEST_BATCH_SECONDS = Histogram(
    "novapos_cloud_ingest_batch_seconds",
    "Time to store, project and commit one fetched batch.",
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INGEST_LAG = Gauge(
    "novapos_cloud_ingest_lag_seconds",
    "Received minus occurred, for the newest event ingested from each store.",
    ["tenant_id", "store_id"],
    registry=REGISTRY,
)
INGEST_LAST_BATCH = Gauge(
    "novapos_cloud_ingest_last_batch_timestamp_seconds",
    "Unix time of the last committed ingest batch.",
    registry=REGISTRY,
)

CONTENT_TYPE = "text/plain; version=0.0.4"  # Litestar appends the charset to text/* types


def security_event(event: str) -> None:
    SECURITY_EVENTS.labels(event=event).inc()


def render() -> bytes:
    return generate_latest(REGISTRY)
