"""Partner monitoring: Prometheus series per app, and per-app usage figures in the database.

The Prometheus series (on the hub's one registry, `/metrics`) are this instance's. The HQ page
needs figures for the whole hub, so each instance also adds its counts per (app, minute) to
`partner_usage` every few seconds (`UsageRecorder.flush`): one small upsert per app and minute
instead of a write per request.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import Connection, func, select

from cloud.clock import utc_now
from cloud.db import CloudDB, set_tenant
from cloud.metrics import REGISTRY
from cloud.schema_partners import partner_usage

log = structlog.get_logger()

PARTNER_REQUESTS = Counter("novapos_cloud_partner_requests_total",
                           "Partner API requests, by app and outcome (ok, client_error, throttled, error).",
                           ["app_id", "outcome"], registry=REGISTRY)
PARTNER_LATENCY = Histogram("novapos_cloud_partner_request_seconds", "Partner API request latency, by app.",
                            ["app_id"], registry=REGISTRY,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
WEBHOOK_ATTEMPTS = Counter("novapos_cloud_webhook_attempts_total", "Webhook delivery attempts, by app and outcome.",
                           ["app_id", "outcome"], registry=REGISTRY)
WEBHOOK_LATENCY = Histogram("novapos_cloud_webhook_attempt_seconds", "Webhook delivery attempt latency, by app.",
                            ["app_id"], registry=REGISTRY, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def outcome_of(status: int) -> str:
    if status == 429:
        return "throttled"
    if status >= 500:
        return "error"
    return "client_error" if status >= 400 else "ok"


class UsageRecorder:
    def __init__(self, db: CloudDB):
        self.db = db
        self._counts: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
        self._lock = asyncio.Lock()

    def record(self, tenant_id: str, app_id: str, status: int, seconds: float) -> None:
        outcome = outcome_of(status)
        PARTNER_REQUESTS.labels(app_id=app_id, outcome=outcome).inc()
        PARTNER_LATENCY.labels(app_id=app_id).observe(seconds)
        row = self._counts[(tenant_id, app_id, utc_now().strftime("%Y-%m-%dT%H:%M"))]
        row[0] += 1
        row[1] += outcome == "throttled"
        row[2] += outcome == "error"
        row[3] += seconds * 1000

    async def flush(self) -> None:
        async with self._lock:
            counts, self._counts = self._counts, defaultdict(lambda: [0, 0, 0, 0.0])
            by_tenant: dict[str, list[tuple[str, str, list[float]]]] = defaultdict(list)
            for (tenant, app, minute), row in counts.items():
                by_tenant[tenant].append((app, minute, row))
            for tenant, rows in by_tenant.items():
                try:
                    await self.db.write(_add_usage, tenant, rows, tenant_id=tenant)
                except Exception as exc:  # lose a few seconds of figures, never the request path
                    log.warning("partner.usage_flush_failed", error=str(exc))

    async def run(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            await self.flush()


def _add_usage(conn: Connection, tenant: str, rows: list[tuple[str, str, list[float]]]) -> None:
    from cloud.projections import dialect_insert

    set_tenant(conn, tenant)
    for app, minute, (requests, throttled, errors, latency) in rows:
        stmt = dialect_insert(conn, partner_usage).values(
            tenant_id=tenant, app_id=app, minute=minute, requests=int(requests), throttled=int(throttled),
            errors=int(errors), latency_ms_sum=latency)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "app_id", "minute"],
            set_={"requests": partner_usage.c.requests + stmt.excluded.requests,
                  "throttled": partner_usage.c.throttled + stmt.excluded.throttled,
                  "errors": partner_usage.c.errors + stmt.excluded.errors,
                  "latency_ms_sum": partner_usage.c.latency_ms_sum + stmt.excluded.latency_ms_sum}))


def usage_since(conn: Connection, tenant: str, minutes: int) -> dict[str, dict[str, Any]]:
    since = (utc_now() - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")
    rows = conn.execute(
        select(partner_usage.c.app_id, func.sum(partner_usage.c.requests), func.sum(partner_usage.c.throttled),
               func.sum(partner_usage.c.errors), func.sum(partner_usage.c.latency_ms_sum))
        .where(partner_usage.c.tenant_id == tenant, partner_usage.c.minute >= since)
        .group_by(partner_usage.c.app_id))
    out = {}
    for app, requests, throttled, errors, latency in rows:
        n = int(requests or 0)
        out[app] = {"requests": n, "throttled": int(throttled or 0), "errors": int(errors or 0),
                    "avg_latency_ms": round(float(latency or 0) / n, 1) if n else None}
    return out
