"""Cloud ingest: the aggregate stream → the cloud DB, exactly once in effect
(ARCHITECTURE.md, "Replication").

For each fetched batch: ONE DB transaction (on Postgres it re-scopes RLS per tenant with
`set_config`) doing, per tenant, one multi-row `INSERT ... ON CONFLICT (event_id) DO NOTHING
RETURNING event_id`, then the projections for the returned (new) events only, table by table,
then the store telemetry; commit, and only then ack. A crash before the commit redelivers and redoes everything; a crash after the
commit but before the ack redelivers events that the insert now skips. JetStream's duplicate
window is therefore an optimisation, not the guarantee.

Ingest also checks what the broker cannot: the broker lets a store publish only on its own
subjects, but the envelope inside is the store's to write. An envelope whose tenant or store
differs from the subject it came on (or, in accounts mode, from the account it came from), or
that names a store another tenant owns, is never projected: it is quarantined with a reason,
audited and counted, under the tenant it *came from*, and acked like any handled message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError
from sqlalchemy import Connection, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud import audit, metrics
from cloud.bulk import BulkInsert
from cloud.clock import now_iso, parse_iso
from cloud.db import CloudDB, set_tenant
from cloud.projections import dialect_insert, project_batch
from cloud.schema import events, quarantined_events, store_owners, stores, tenants
from edge.contracts.envelope import (
    EventEnvelope,
    decode_envelope,
    encode_envelope,
    parse_event_subject,
    subject_matches,
)
from edge.contracts.link_trouble import LinkTrouble
from edge.contracts.pan import (
    card_number_fields,
    json_may_hold_card_number,
    mask_card_numbers_in,
    value_may_hold_card_number,
)

log = structlog.get_logger()

AGGREGATE_STREAM = "NOVAPOS_AGG"
INGEST_DURABLE = "cloud_ingest"


QUARANTINE_MAX_BYTES = 64 * 1024
_QUARANTINE_IDS = uuid.UUID("6f1d8a52-3c7e-4e61-9a55-8f0c2b1d7e43")


@dataclass
class IngestResult:
    new: int = 0
    duplicates: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class Suspect:
    """An event ingest refuses to project, and why."""

    tenant_id: str  # where it came from: the account, else the subject's tenant
    subject: str
    reason: str  # tenant_mismatch | subject_mismatch | store_owned_elsewhere
    raw: bytes
    envelope: EventEnvelope | None = None


def check_origin(subject: str, env: EventEnvelope, account_tenant: str | None) -> str | None:
    """The reason an envelope may not be believed on this subject and account, or None."""
    if account_tenant is not None and env.tenant_id != account_tenant:
        return "tenant_mismatch"
    if not subject_matches(subject, env.tenant_id, env.store_id):
        return "subject_mismatch"
    return None


def origin_tenant(subject: str, env: EventEnvelope, account_tenant: str | None) -> str:
    if account_tenant is not None:
        return account_tenant
    parsed = parse_event_subject(subject)
    return parsed[0] if parsed else env.tenant_id


class Ingestor:
    def __init__(self, db: CloudDB):
        self.db = db
        self._known_tenants: set[str] = set()
        self._owners: dict[str, str] = {}
        self.total_new = 0
        self.total_quarantined = 0

    async def ingest(self, envelopes: list[EventEnvelope], suspects: list[Suspect] | None = None) -> IngestResult:
        """Store and project a batch in ONE transaction; returns only after it committed.

        `suspects` (refused by the caller's origin check) and envelopes naming a store that
        another tenant owns are quarantined instead, committed before this returns too.
        """
        started = time.perf_counter()
        suspects = list(suspects or [])
        owners = await self._claim_owners({(e.tenant_id, e.store_id) for e in envelopes})
        believed = []
        for env in envelopes:
            if owners.get(env.store_id, env.tenant_id) != env.tenant_id:
                suspects.append(Suspect(env.tenant_id, subject="", reason="store_owned_elsewhere",
                                        raw=encode_envelope(env), envelope=env))
            else:
                believed.append(env)
        envelopes = believed
        quarantined = await self.quarantine(suspects) if suspects else 0
        unique = {env.event_id: env for env in envelopes}  # one fetch can carry a replay twice
        by_tenant: dict[str, list[EventEnvelope]] = defaultdict(list)
        for env in unique.values():
            by_tenant[env.tenant_id].append(env)
        received_at = now_iso()
        await self._ensure_tenants(sorted(by_tenant), received_at)
        new_by_tenant = await self.db.write(store_batch, dict(by_tenant), received_at)
        result = IngestResult(new=sum(new_by_tenant.values()), quarantined=quarantined)
        result.duplicates = len(envelopes) - result.new
        self.total_new += result.new
        _observe(by_tenant, received_at, result, time.perf_counter() - started)
        return result

    async def _claim_owners(self, pairs: set[tuple[str, str]]) -> dict[str, str]:
        """The owning tenant of each store in the batch. A store first seen here is claimed by
        the tenant its events came from; HQ's registration claims it the same way."""
        unknown = {store: tenant for tenant, store in pairs if store not in self._owners}
        if unknown:
            self._owners.update(await self.db.write(_claim_stores, unknown, now_iso(), system=True))
        return {store: self._owners[store] for _, store in pairs}

    async def quarantine(self, suspects: list[Suspect]) -> int:
        """File refused events under the tenant they came from, audited; returns how many."""
        now = now_iso()
        stored = await self.db.write(_store_suspects, suspects, now)
        for s in suspects:
            metrics.INGEST_QUARANTINED.labels(reason=s.reason).inc()
            log.warning(
                "ingest.quarantined",
                reason=s.reason,
                from_tenant=s.tenant_id,
                subject=s.subject,
                claimed_tenant=s.envelope.tenant_id if s.envelope else None,
                claimed_store=s.envelope.store_id if s.envelope else None,
                event_id=s.envelope.event_id if s.envelope else None,
            )
        self.total_quarantined += stored
        return stored

    async def _ensure_tenants(self, tenant_ids: list[str], now: str) -> None:
        unknown = [t for t in tenant_ids if t not in self._known_tenants]
        if unknown:
            await self.db.write(_insert_tenants, unknown, now, system=True)  # owner role: global table
            self._known_tenants.update(unknown)


def store_batch(conn: Connection, by_tenant: dict[str, list[EventEnvelope]], received_at: str) -> dict[str, int]:
    """The whole batch, all tenants, in the caller's one transaction; new events per tenant."""
    new_by_tenant: dict[str, int] = {}
    for tenant, batch in by_tenant.items():
        set_tenant(conn, tenant)  # RLS scope on Postgres; the app role is already set
        batch = sorted(batch, key=lambda e: (e.store_id, e.seq))
        new = _insert_new(conn, batch, received_at)
        fresh = [e for e in batch if e.event_id in new]
        if fresh:
            project_batch(conn, fresh, received_at)
            _update_stores(conn, tenant, fresh, received_at)
        new_by_tenant[tenant] = len(fresh)
    return new_by_tenant


def _claim_stores(conn: Connection, claims: dict[str, str], now: str) -> dict[str, str]:
    stmt = dialect_insert(conn, store_owners).on_conflict_do_nothing(index_elements=["store_id"])
    conn.execute(stmt, [{"store_id": s, "tenant_id": t, "claimed_at": now, "claimed_by": "ingest"}
                        for s, t in claims.items()])
    rows = conn.execute(select(store_owners.c.store_id, store_owners.c.tenant_id)
                        .where(store_owners.c.store_id.in_(list(claims))))
    return {r.store_id: r.tenant_id for r in rows}


def _store_suspects(conn: Connection, suspects: list[Suspect], now: str) -> int:
    """One quarantine row and one audit row per suspect, each scoped to the tenant it came from.
    The row id is derived from subject and content, so a redelivery files it once."""
    stored = 0
    for s in sorted(suspects, key=lambda x: x.tenant_id):
        set_tenant(conn, s.tenant_id)
        env = s.envelope
        row_id = str(uuid.uuid5(_QUARANTINE_IDS, f"{s.tenant_id}|{s.subject}|{s.raw!r}"))
        stmt = dialect_insert(conn, quarantined_events).values(
            id=row_id,
            tenant_id=s.tenant_id,
            subject=s.subject[:300],
            event_id=env.event_id[:64] if env else None,
            claimed_tenant_id=env.tenant_id[:64] if env else None,
            claimed_store_id=env.store_id[:64] if env else None,
            reason=s.reason,
            envelope=s.raw[:QUARANTINE_MAX_BYTES].decode("utf-8", errors="replace"),
            received_at=now,
        )
        if conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"])).rowcount:
            stored += 1
            audit.record(
                conn, s.tenant_id, actor="ingest", action="event.quarantined", entity="event",
                entity_id=env.event_id[:64] if env else row_id, at=now, before=None,
                after={"reason": s.reason, "subject": s.subject[:300],
                       "claimed_tenant_id": env.tenant_id[:64] if env else None,
                       "claimed_store_id": env.store_id[:64] if env else None},
            )
    return stored


def _insert_tenants(conn: Connection, tenant_ids: list[str], now: str) -> None:
    stmt = dialect_insert(conn, tenants).on_conflict_do_nothing(index_elements=["id"])
    conn.execute(stmt, [{"id": t, "name": t, "created_at": now} for t in tenant_ids])


def _observe(by_tenant: dict[str, list[EventEnvelope]], received_at: str, result: IngestResult, took: float) -> None:
    metrics.INGEST_EVENTS.labels(outcome="new").inc(result.new)
    metrics.INGEST_EVENTS.labels(outcome="duplicate").inc(result.duplicates)
    metrics.INGEST_BATCH_SECONDS.observe(took)
    metrics.INGEST_LAST_BATCH.set_to_current_time()
    received = parse_iso(received_at)
    newest: dict[tuple[str, str], str] = {}
    for tenant, batch in by_tenant.items():
        for env in batch:
            key = (tenant, env.store_id)
            if env.occurred_at > newest.get(key, ""):
                newest[key] = env.occurred_at
    for (tenant, store), occurred in newest.items():
        lag = max(0.0, (received - parse_iso(occurred)).total_seconds())
        metrics.INGEST_LAG.labels(tenant_id=tenant, store_id=store).set(lag)


_EVENT_ROWS = BulkInsert(
    events,
    ("event_id", "tenant_id", "store_id", "seq", "type", "schema_version", "occurred_at", "business_day",
     "received_at", "envelope"),
    conflict=("event_id",),
    returning="event_id",
)


def _insert_new(conn: Connection, batch: list[EventEnvelope], received_at: str) -> set[str]:
    """The ids of the batch's events that were not stored yet (now stored): one multi-row
    `INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id` per page (cloud.bulk)."""
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
    return set(_EVENT_ROWS.run(conn, rows))


def _update_stores(conn: Connection, tenant: str, fresh: list[EventEnvelope], now: str) -> None:
    """Store telemetry: one read of the batch's stores, one upsert for all of them."""
    per_store: dict[str, list[EventEnvelope]] = defaultdict(list)
    for env in fresh:
        per_store[env.store_id].append(env)
    existing = {r.store_id: r for r in conn.execute(_STORES_OF, {"tenant": tenant, "store_ids": list(per_store)})}
    rows = []
    received_at = parse_iso(now)
    for store_id, batch in per_store.items():
        row = existing.get(store_id)
        newest = max(batch, key=lambda e: e.occurred_at)
        lag = max(0, round((received_at - parse_iso(newest.occurred_at)).total_seconds()))
        seqs = [e.seq for e in batch]
        received = (row.events_received if row else 0) + len(batch)
        lo = min(seqs + ([row.min_seq] if row and row.min_seq is not None else []))
        hi = max(seqs + ([row.max_seq] if row and row.max_seq is not None else []))
        last_event_at = max(filter(None, [row.last_event_at if row else None, newest.occurred_at]))
        missing = max(0, (hi - lo + 1) - received)
        if missing and missing != (row.missing_seqs if row else 0):
            log.warning("ingest.seq_gap", tenant_id=tenant, store_id=store_id, missing=missing, max_seq=hi)
        rows.append(
            {
                "tenant_id": tenant,
                "store_id": store_id,
                "first_seen_at": row.first_seen_at if row and row.first_seen_at else now,
                "last_seen_at": now,
                "last_event_at": last_event_at,
                "lag_s": lag,
                "events_received": received,
                "min_seq": lo,
                "max_seq": hi,
                "missing_seqs": missing,
            }
        )
    _STORE_ROWS.run(conn, rows)


_STORE_TELEMETRY = ("first_seen_at", "last_seen_at", "last_event_at", "lag_s", "events_received", "min_seq",
                    "max_seq", "missing_seqs")
# Built once (per-batch statement construction showed in ingest's profile): one multi-row upsert.
_STORE_ROWS = BulkInsert(stores, ("tenant_id", "store_id", *_STORE_TELEMETRY), conflict=("tenant_id", "store_id"),
                         update=dict.fromkeys(_STORE_TELEMETRY, "excluded"))
_STORES_OF = select(stores).where(stores.c.tenant_id == bindparam("tenant"),
                                  stores.c.store_id.in_(bindparam("store_ids", expanding=True)))


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


def without_card_numbers(env: EventEnvelope, raw: bytes | None = None) -> EventEnvelope:
    """The event with any card number in its payload masked, before it is stored or projected.

    A store refuses card numbers at its API, but an older or misbehaving store may still send
    one; HQ keeps the event (its sale is real) with the digits masked, and says so.
    `raw` is the message `env` was decoded from: the pre-check then reads those bytes instead
    of encoding the payload again (the whole envelope: a superset of the payload's text).
    """
    if raw is not None:
        maybe = json_may_hold_card_number(raw)
    else:
        maybe = value_may_hold_card_number(env.payload)
    if not maybe:  # the common case, at a tenth of the walk's cost
        return env
    fields = card_number_fields(env.payload)
    if not fields:
        return env
    log.warning("ingest.card_number_masked", event_id=env.event_id, tenant_id=env.tenant_id,
                store_id=env.store_id, type=env.type, fields=fields)
    metrics.INGEST_EVENTS.labels(outcome="card_number_masked").inc()
    return msgspec.structs.replace(env, payload=mask_card_numbers_in(env.payload))


def _connected(js: Any) -> bool:
    nc = getattr(js, "_nc", None)  # nats-py's JetStreamContext keeps its client here
    return nc is None or bool(nc.is_connected)


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
        top_up_s: float = 0.05,
        account_tenant: str | None = None,
    ):
        self.ingestor = ingestor
        self.js = js
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s
        self.stream = stream
        self.durable = durable
        self.ack_wait_s = ack_wait_s
        self.top_up_s = top_up_s
        self.account_tenant = account_tenant  # accounts mode: every message must be this tenant's
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        self._trouble = LinkTrouble(log, "ingest")
        self._prepared: tuple[list[Any], _Prepared] | None = None  # the next batch, decoded ahead
        self._unacked: list[Any] = []  # committed, acks not sent yet

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cloud-ingest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # committed before the stop: spare them a redelivery
            await self._send_acks()

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
        ahead: list[Any] = []
        while True:
            try:
                if self._sub is None:
                    await self._bind()
                ahead = await self._step(ahead)
                if _connected(self.js):  # an empty fetch also "succeeds" while the broker is away
                    self._trouble.recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._trouble.report(exc)  # one warning per outage, then reminders
                self._sub, ahead = None, []  # unacked: redelivered after ack_wait
                self._prepared, self._unacked = None, []
                await asyncio.sleep(1.0)

    async def _step(self, msgs: list[Any]) -> list[Any]:
        """Commit-and-ack one batch while the next is fetched and decoded; returns that next batch.

        Batches still commit one after another, in stream order; the network wait, the next
        batch's decoding and this batch's acks overlap the DB work. A message is acked only
        after the commit that holds it: the previous batch's acks go out once this batch's
        commit is under way (nothing waits for them: they are publishes, and a lost one only
        means a redelivery that the events table's unique key skips).
        """
        if not msgs:
            await self._send_acks()  # nothing follows: the last batch's acks go now
            msgs = await self._fetch()
            if not msgs:
                return []
        committing = asyncio.create_task(self._commit_then_ack(msgs))
        try:
            await asyncio.sleep(0)  # let the commit reach the DB thread first
            await self._send_acks()
            ahead = await self._fetch_available(self.batch)
            if ahead:
                self._prepared = (ahead, await self._prepare(ahead))
        except Exception:
            await committing
            with contextlib.suppress(Exception):
                await self._send_acks()
            raise
        await committing
        if not ahead:
            await self._send_acks()
        return ahead

    async def poll_once(self) -> int:
        msgs = await self._fetch()
        await self._commit_then_ack(msgs)
        await self._send_acks()
        return len(msgs)

    async def _fetch(self) -> list[Any]:
        # Wait for the first message only, then take whatever else is already there. A single
        # `fetch(batch)` on an empty consumer lingers until the batch is full or the timeout
        # passes, which under a light load adds the whole timeout to every event's lag.
        try:
            msgs = await self._sub.fetch(1, timeout=self.fetch_timeout_s)
        except TimeoutError:
            return []
        return msgs + await self._fetch_available(self.batch - 1)

    async def _fetch_available(self, n: int) -> list[Any]:
        if n < 1:
            return []
        try:
            return await self._sub.fetch(n, timeout=self.top_up_s)
        except TimeoutError:
            return []

    async def _prepare(self, msgs: list[Any]) -> _Prepared:
        """Decode, mask and origin-check a batch; an undecodable message is terminated."""
        batch = _Prepared()
        for msg in msgs:
            try:
                env = without_card_numbers(decode_envelope(msg.data), msg.data)
            except msgspec.DecodeError as exc:
                log.error("ingest.undecodable", subject=msg.subject, error=str(exc))
                metrics.INGEST_EVENTS.labels(outcome="undecodable").inc()
                await msg.term()
                continue
            batch.good.append(msg)
            reason = check_origin(msg.subject, env, self.account_tenant)
            if reason is None:
                batch.envelopes.append(env)
            else:
                tenant = origin_tenant(msg.subject, env, self.account_tenant)
                # Kept as decoded and masked: a quarantined event must not keep a card number either.
                batch.suspects.append(Suspect(tenant, msg.subject, reason, encode_envelope(env), env))
        return batch

    async def _commit_then_ack(self, msgs: list[Any]) -> None:
        """Commit the batch; its acks are queued for `_send_acks`, which runs once the next
        batch's commit has started (or at once when there is none)."""
        prepared, self._prepared = self._prepared, None
        batch = prepared[1] if prepared is not None and prepared[0] is msgs else await self._prepare(msgs)
        if batch.envelopes or batch.suspects:
            result = await self.ingestor.ingest(batch.envelopes, batch.suspects)  # committed when this returns
            log.debug("ingest.batch", new=result.new, duplicates=result.duplicates, quarantined=result.quarantined)
        self._unacked += batch.good

    async def _send_acks(self) -> None:
        msgs, self._unacked = self._unacked, []
        for msg in msgs:
            await msg.ack()  # a publish: it does not wait for the server


@dataclass
class _Prepared:
    envelopes: list[EventEnvelope] = field(default_factory=list)
    suspects: list[Suspect] = field(default_factory=list)
    good: list[Any] = field(default_factory=list)  # decoded: acked once committed
