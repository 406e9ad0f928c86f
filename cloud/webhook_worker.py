"""The webhook sender that runs in every hub instance.

Each pass, per tenant: claim due deliveries (`FOR UPDATE SKIP LOCKED` on Postgres, so two
instances never claim the same row; a claim lasts a lease, so a crashed instance's claims come
back), send them outside the transaction through the endpoint's circuit breaker and timeout,
then record one `webhook_attempts` row per attempt (status code, latency) and the outcome:
- 2xx: delivered;
- anything else: retried with exponential backoff and full jitter, for up to 3 days from the
  enqueue (or the last manual replay), then dead-lettered (`status = dead`), from where HQ can
  replay it;
- an endpoint whose circuit is open (`cloud.breaker`) is not called: its deliveries wait for the
  circuit's next trial without spending an attempt.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import Connection, or_, select, update

from cloud import webhooks
from cloud.breaker import Breakers, CircuitOpen
from cloud.clock import iso, now_iso, utc_now
from cloud.db import CloudDB, set_tenant
from cloud.partner_metrics import WEBHOOK_ATTEMPTS, WEBHOOK_LATENCY
from cloud.partner_settings import PartnerSettings
from cloud.schema import tenants
from cloud.schema_partners import webhook_attempts, webhook_deliveries, webhook_endpoints

log = structlog.get_logger()

LEASE_S = 60.0  # longer than a send (timeout) plus recording it


def backoff_s(attempt: int, settings: PartnerSettings, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], at least one second (or the base, if smaller)."""
    ceiling = min(settings.webhook_backoff_cap_s, settings.webhook_backoff_base_s * 2 ** max(0, attempt - 1))
    return max(min(1.0, settings.webhook_backoff_base_s), (rng or random).uniform(0, ceiling))


class WebhookWorker:
    def __init__(self, db: CloudDB, settings: PartnerSettings, box: webhooks.SecretBox,
                 client: httpx.AsyncClient | None = None):
        self.db = db
        self.settings = settings
        self.box = box
        self.client = client or httpx.AsyncClient(follow_redirects=False, timeout=settings.downstream_timeout_s)
        self.breakers = Breakers(failures=settings.breaker_failures, reset_s=settings.breaker_reset_s,
                                 timeout_s=settings.downstream_timeout_s)
        self.worker_id = uuid.uuid4().hex[:8]
        # A few calls at a time per endpoint: a partner's server is not flooded by a backlog, and
        # a call's timeout measures the partner, not a wait for a free connection here.
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.client.aclose()

    def nudge(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            sent = 0
            try:
                sent = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup: log it and try again next pass
                log.warning("webhooks.pass_failed", error=str(exc))
            if sent:
                continue  # a backlog: keep going instead of waiting for the next poll
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)
            except TimeoutError:
                pass

    async def run_once(self) -> int:
        """One pass over every tenant; returns how many attempts were made."""
        async with self.db.system(write=False) as conn:
            tenant_ids = [r[0] for r in await conn.execute(select(tenants.c.id))]
        sent = 0
        for tenant in tenant_ids:
            claimed = await self.db.write(_claim, tenant, self.settings.webhook_batch, self.worker_id,
                                          tenant_id=tenant)
            if claimed:
                attach_secrets(claimed, self.box)
                results = await asyncio.gather(*(self._send(tenant, d) for d in claimed))
                await self.db.write(_record, tenant, list(results), self.settings, tenant_id=tenant)
                sent += len(results)
        return sent

    async def _send(self, tenant: str, d: dict[str, Any]) -> dict[str, Any]:
        now = utc_now()
        body = webhooks.body_of(_Row(d))
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            webhooks.check_url(d["url"], allow_private=self.settings.allow_private_webhooks)
            headers = {
                "content-type": "application/json",
                "user-agent": "NovaPOS-Webhooks/1",
                "webhook-id": d["delivery_id"],
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": webhooks.sign(d["secrets"], d["delivery_id"], now, body),
            }
            slot = self._slots.setdefault(d["endpoint_id"], asyncio.Semaphore(self.settings.webhook_endpoint_concurrency))
            async with slot:
                started = time.perf_counter()
                response = await self.breakers.get(d["endpoint_id"]).call(
                    lambda: self.client.post(d["url"], content=body.encode(), headers=headers),
                    failed=lambda r: r.status_code >= 500)
            status = response.status_code
        except CircuitOpen as exc:
            # Not an attempt: nothing was sent. The delivery waits for the circuit's next trial.
            return {**d, "deferred_s": max(1.0, exc.retry_in_s)}
        except webhooks.UnsafeEndpoint as exc:
            error = f"refused: {exc.detail}"
        except TimeoutError:
            error = f"timed out after {self.settings.downstream_timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        latency_ms = (time.perf_counter() - started) * 1000
        outcome = "delivered" if status is not None and 200 <= status < 300 else "failed"
        WEBHOOK_ATTEMPTS.labels(app_id=d["app_id"], outcome=outcome).inc()
        WEBHOOK_LATENCY.labels(app_id=d["app_id"]).observe(latency_ms / 1000)
        # Failures at info (what an operator looks for); each success only at debug: one line per
        # delivery would cost more than signing it.
        (log.debug if outcome == "delivered" else log.info)("webhooks.attempt", delivery_id=d["delivery_id"], endpoint_id=d["endpoint_id"], status=status,
                 latency_ms=round(latency_ms, 1), error=error)
        return {**d, "status_code": status, "error": error, "latency_ms": latency_ms, "at": iso(now)}


class _Row:
    def __init__(self, d: dict[str, Any]):
        self.__dict__.update(d)


def _claim(conn: Connection, tenant: str, limit: int, worker_id: str) -> list[dict[str, Any]]:
    set_tenant(conn, tenant)
    now = now_iso()
    q = (select(webhook_deliveries, webhook_endpoints.c.url, webhook_endpoints.c.app_id,
                webhook_endpoints.c.secret_enc, webhook_endpoints.c.previous_secret_enc,
                webhook_endpoints.c.previous_until)
         .join(webhook_endpoints, webhook_endpoints.c.endpoint_id == webhook_deliveries.c.endpoint_id)
         .where(webhook_deliveries.c.tenant_id == tenant, webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_attempt_at <= now,
                or_(webhook_deliveries.c.claimed_until.is_(None), webhook_deliveries.c.claimed_until < now))
         .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.created_at)
         .limit(limit))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=webhook_deliveries)
    rows = conn.execute(q).all()
    if not rows:
        return []
    lease = iso(utc_now() + timedelta(seconds=LEASE_S))
    conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.delivery_id.in_([r.delivery_id for r in rows]))
                 .values(claimed_until=lease))
    log.debug("webhooks.claimed", worker=worker_id, count=len(rows))
    return [dict(r._mapping) for r in rows]


def _record(conn: Connection, tenant: str, results: list[dict[str, Any]], settings: PartnerSettings) -> None:
    set_tenant(conn, tenant)
    for r in [r for r in results if "deferred_s" in r]:
        conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.delivery_id == r["delivery_id"]).values(
            claimed_until=None, next_attempt_at=iso(utc_now() + timedelta(seconds=r["deferred_s"]))))
    results = [r for r in results if "deferred_s" not in r]
    if not results:
        return
    conn.execute(webhook_attempts.insert(), [
        {"attempt_id": uuid.uuid4().hex, "tenant_id": tenant, "delivery_id": r["delivery_id"],
         "endpoint_id": r["endpoint_id"], "attempt_no": int(r["attempts"]) + 1, "at": r["at"],
         "status_code": r["status_code"], "latency_ms": round(r["latency_ms"], 2), "error": r["error"]}
        for r in results])
    for r in results:
        attempt = int(r["attempts"]) + 1
        key = webhook_deliveries.c.delivery_id == r["delivery_id"]
        common = {"attempts": attempt, "claimed_until": None, "last_status_code": r["status_code"],
                  "last_error": r["error"]}
        if r["status_code"] is not None and 200 <= r["status_code"] < 300:
            conn.execute(update(webhook_deliveries).where(key).values(status="delivered", delivered_at=r["at"],
                                                                      **common))
            continue
        next_at = utc_now() + timedelta(seconds=backoff_s(attempt, settings))
        if next_at > webhooks.window_end(r["retry_from"], settings.webhook_max_age_s):
            conn.execute(update(webhook_deliveries).where(key).values(status="dead", **common))
            log.warning("webhooks.dead_lettered", delivery_id=r["delivery_id"], endpoint_id=r["endpoint_id"],
                        attempts=attempt)
        else:
            conn.execute(update(webhook_deliveries).where(key).values(next_attempt_at=iso(next_at), **common))


def attach_secrets(rows: list[dict[str, Any]], box: webhooks.SecretBox) -> None:
    now = now_iso()
    for r in rows:
        r["secrets"] = webhooks.live_secrets(_Row(r), box, now)
