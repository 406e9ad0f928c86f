"""Cloud ingest: the aggregate stream → the cloud DB, exactly once in effect (DESIGN §7).

For each fetched batch: one DB transaction per tenant in it (RLS scopes a transaction to one
tenant) doing `INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id`, then the
projections for the returned (new) events only, then the store telemetry; commit, and only
then ack. A crash before the commit redelivers and redoes everything; a crash after the
commit but before the ack redelivers events that the insert now skips. JetStream's duplicate
window is therefore an optimisation, not the guarantee.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud.clock import now_iso, parse_iso
from cloud.db import CloudDB
from cloud.projections import dialect_insert, project
from cloud.schema import events, stores, tenants
from edge.contracts.envelope import EventEnvelope, decode_envelope, encode_envelope

log = structlog.get_logger()

AGGREGATE_STREAM = "NOVAPOS_AGG"
INGEST_DURABLE = "cloud_ingest"


@dataclass
class IngestResult:
    new: int = 0
    duplicates: int = 0


class Ingestor:
    def __init__(self, db: CloudDB):
        self.db = db
        self._known_tenants: set[str] = set()
        self.total_new = 0

    async def ingest(self, envelopes: list[EventEnvelope]) -> IngestResult:
        """Store and project a batch; returns only after every tenant's transaction committed."""
        result = IngestResult()
        by_tenant: dict[str, list[EventEnvelope]] = defaultdict(list)
        unique = {env.event_id: env for env in envelopes}  # one fetch can carry a replay twice
        for env in unique.values():
            by_tenant[env.tenant_id].append(env)
        received_at = now_iso()
        for tenant, batch in by_tenant.items():
            await self._ensure_tenant(tenant, received_at)
            batch.sort(key=lambda e: (e.store_id, e.seq))
            async with self.db.tenant(tenant) as conn:
                new = await _insert_new(conn, batch, received_at)
                fresh = [e for e in batch if e.event_id in new]
                for env in fresh:
                    await project(conn, env, received_at)
                await _update_stores(conn, tenant, fresh, received_at)
            result.new += len(fresh)
            result.duplicates += len(batch) - len(fresh)
        result.duplicates += len(envelopes) - len(unique)
        self.total_new += result.new
        return result

    async def _ensure_tenant(self, tenant: str, now: str) -> None:
        if tenant in self._known_tenants:
            return
        async with self.db.system() as conn:
            stmt = dialect_insert(conn, tenants).values(id=tenant, name=tenant, created_at=now)
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
        self._known_tenants.add(tenant)


async def _insert_new(conn: AsyncConnection, batch: list[EventEnvelope], received_at: str) -> set[str]:
    rows = [
        {
            "event_id": e.event_id,
            "tenant_id": e.tenant_id,
            "store_id": e.store_id,
            "seq": e.seq,
            "type": e.type,
            "schema_version": e.schema_version,
            "occurred_at": e.occurred_at,
            "business_day": e.business_day,
            "received_at": received_at,
            "envelope": encode_envelope(e).decode(),
        }
        for e in batch
    ]
    stmt = (
        dialect_insert(conn, events)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(events.c.event_id)
    )
    return {r[0] for r in await conn.execute(stmt)}


async def _update_stores(conn: AsyncConnection, tenant: str, fresh: list[EventEnvelope], now: str) -> None:
    per_store: dict[str, list[EventEnvelope]] = defaultdict(list)
    for env in fresh:
        per_store[env.store_id].append(env)
    for store_id, batch in per_store.items():
        newest = max(batch, key=lambda e: e.occurred_at)
        lag = max(0, round((parse_iso(now) - parse_iso(newest.occurred_at)).total_seconds()))
        stmt = (
            dialect_insert(conn, stores)
            .values(
                tenant_id=tenant,
                store_id=store_id,
                first_seen_at=now,
                events_received=0,
                missing_seqs=0,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "store_id"])
        )
        await conn.execute(stmt)
        key = (stores.c.tenant_id == tenant, stores.c.store_id == store_id)
        row = (await conn.execute(select(stores).where(*key))).one()
        received = row.events_received + len(batch)
        lo = min([e.seq for e in batch] + ([row.min_seq] if row.min_seq is not None else []))
        hi = max([e.seq for e in batch] + ([row.max_seq] if row.max_seq is not None else []))
        last_event_at = max(filter(None, [row.last_event_at, newest.occurred_at]))
        missing = (hi - lo + 1) - received
        if missing != row.missing_seqs and missing > 0:
            log.warning("ingest.seq_gap", tenant_id=tenant, store_id=store_id, missing=missing, max_seq=hi)
        await conn.execute(
            update(stores)
            .where(*key)
            .values(
                last_seen_at=now,
                last_event_at=last_event_at,
                lag_s=lag,
                events_received=received,
                min_seq=lo,
                max_seq=hi,
                missing_seqs=max(0, missing),
            )
        )


async def seq_gaps(conn: AsyncConnection, tenant: str, store_id: str, limit: int = 50) -> list[dict[str, int]]:
    """Missing ranges in a store's seq, e.g. [{"from": 41, "to": 57}] (lost or not yet arrived)."""
    q = text(
        "SELECT seq, next_seq FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next_seq FROM events "
        "WHERE tenant_id = :t AND store_id = :s) AS w WHERE next_seq > seq + 1 ORDER BY seq LIMIT :n"
    )
    rows = await conn.execute(q, {"t": tenant, "s": store_id, "n": limit})
    return [{"from": int(r.seq) + 1, "to": int(r.next_seq) - 1} for r in rows]


async def count_events(conn: AsyncConnection, tenant: str) -> int:
    return int(
        (await conn.execute(select(func.count()).select_from(events).where(events.c.tenant_id == tenant))).scalar_one()
    )


class IngestConsumer:
    """Durable pull consumer on the aggregate stream; rebinds after errors (nats.py #504/#507)."""

    def __init__(
        self,
        ingestor: Ingestor,
        js: Any,
        *,
        batch: int = 200,
        fetch_timeout_s: float = 1.0,
        stream: str = AGGREGATE_STREAM,
        ack_wait_s: float = 30.0,
        durable: str = INGEST_DURABLE,
    ):
        self.ingestor = ingestor
        self.js = js
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s
        self.stream = stream
        self.durable = durable
        self.ack_wait_s = ack_wait_s
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cloud-ingest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _bind(self) -> None:
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=20_000,
        )
        with contextlib.suppress(BadRequestError):
            await self.js.add_consumer(self.stream, config)
        self._sub = await self.js.pull_subscribe_bind(durable=self.durable, stream=self.stream)

    async def _run(self) -> None:
        while True:
            try:
                if self._sub is None:
                    await self._bind()
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("ingest.error", error=self.last_error)
                self._sub = None
                await asyncio.sleep(1.0)

    async def poll_once(self) -> int:
        try:
            msgs = await self._sub.fetch(self.batch, timeout=self.fetch_timeout_s)
        except TimeoutError:
            return 0
        envelopes, good = [], []
        for msg in msgs:
            try:
                envelopes.append(decode_envelope(msg.data))
                good.append(msg)
            except msgspec.DecodeError as exc:
                log.error("ingest.undecodable", subject=msg.subject, error=str(exc))
                await msg.term()
        if envelopes:
            result = await self.ingestor.ingest(envelopes)  # committed when this returns
            log.debug("ingest.batch", new=result.new, duplicates=result.duplicates)
        for msg in good:
            await msg.ack()
        return len(msgs)
