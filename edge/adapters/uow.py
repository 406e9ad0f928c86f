"""The SQL unit of work: one transaction, the actor, and the audit and outbox writers.

Audit and outbox are written here and nowhere else, so every use case gets them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, func, insert, select

from edge.adapters import tables as t
from edge.adapters.db import Database
from edge.adapters.repos.audit import SqlAuditLogRepository
from edge.adapters.repos.catalog import SqlCatalogRepository
from edge.adapters.repos.catalog_bulk import SqlCatalogBulkRepository
from edge.adapters.repos.customers import SqlCustomersRepository
from edge.adapters.repos.idempotency import SqlIdempotencyRepository
from edge.adapters.repos.imports import SqlImportJobsRepository
from edge.adapters.repos.lanes import SqlLanesRepository
from edge.adapters.repos.loyalty import SqlLoyaltyRepository
from edge.adapters.repos.orders import SqlOrdersRepository, SqlPaymentsRepository
from edge.adapters.repos.pickups import SqlPickupsRepository
from edge.adapters.repos.policy import SqlPolicyRepository
from edge.adapters.repos.prepared import Prepared
from edge.adapters.repos.settlement import SqlSettlementRepository
from edge.adapters.repos.stock import SqlReservationsRepository, SqlSaleProductsRepository, SqlStockRepository
from edge.adapters.repos.stores import SqlStoresRepository
from edge.adapters.repos.tills import SqlReviewsRepository, SqlTillsRepository
from edge.adapters.repos.users import SqlUsersRepository
from edge.contracts.envelope import EventEnvelope, encode_envelope
from edge.domain.business_day import business_day
from edge.domain.ids import iso, utc_now, uuid7
from edge.service.ports import Actor

T = TypeVar("T")
R = TypeVar("R")

# Every change writes an audit row and most emit an event: built once and run prepared (see
# `prepared`), since building the Core statement per call cost more than SQLite's own work.
_INSERT_AUDIT = Prepared(insert(t.audit_log), json=("before", "after"))
_INSERT_OUTBOX = Prepared(insert(t.outbox))
_LAST_SEQ = Prepared(select(func.max(t.outbox.c.seq)))

class _Repository(Generic[R]):
    """A repository attribute of the unit of work, built on first use for its transaction.

    The built repository is stored on the instance under the same name, so later reads are
    plain attribute lookups (this descriptor defines no `__set__`): most units of work touch two
    or three repositories, and the checkout reads them on the hot path."""

    def __init__(self, build: Callable[[Connection, Actor], R]):
        self.build = build
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, uow: SqlUnitOfWork | None, owner: type) -> R:
        if uow is None:
            return self  # type: ignore[return-value]
        built = uow.__dict__[self.name] = self.build(uow.conn, uow.actor)
        return built


class SqlUnitOfWork:
    audit_log = _Repository(SqlAuditLogRepository)
    catalog = _Repository(SqlCatalogRepository)
    customers = _Repository(SqlCustomersRepository)
    catalog_bulk = _Repository(SqlCatalogBulkRepository)
    idempotency = _Repository(SqlIdempotencyRepository)
    imports = _Repository(SqlImportJobsRepository)
    lanes = _Repository(SqlLanesRepository)
    loyalty = _Repository(SqlLoyaltyRepository)
    orders = _Repository(SqlOrdersRepository)
    payments = _Repository(SqlPaymentsRepository)
    pickups = _Repository(SqlPickupsRepository)
    policy = _Repository(SqlPolicyRepository)
    reservations = _Repository(SqlReservationsRepository)
    reviews = _Repository(SqlReviewsRepository)
    settlement = _Repository(SqlSettlementRepository)
    sale_products = _Repository(SqlSaleProductsRepository)
    stock = _Repository(SqlStockRepository)
    stores = _Repository(SqlStoresRepository)
    tills = _Repository(SqlTillsRepository)
    users = _Repository(SqlUsersRepository)

    def __init__(self, conn: Connection, actor: Actor, *, timezone: str = "UTC", day_start_hour: int = 0,
                 clock: Callable[[], datetime] = utc_now):
        self.conn = conn
        self.actor = actor
        self._timezone = timezone
        self._day_start_hour = day_start_hour
        self._read_clock = clock
        self._clock: datetime | None = None
        self._now: str | None = None
        self._business_day: str | None = None
        self.events: list[str] = []

    # The clock is read on first use, once per unit of work: a barcode lookup needs `now` for the
    # price in force but never the business day, and most reads need neither. (Plain properties:
    # functools.cached_property takes a lock on every first access.)
    @property
    def now(self) -> str:
        if self._now is None:
            self._now = iso(self._instant())
        return self._now

    @property
    def business_day(self) -> str:
        if self._business_day is None:
            self._business_day = business_day(self._instant(), self._timezone, self._day_start_hour).isoformat()
        return self._business_day

    def _instant(self) -> datetime:
        if self._clock is None:
            self._clock = self._read_clock()
        return self._clock

    def audit(self, action, entity, entity_id, before, after) -> None:  # type: ignore[no-untyped-def]
        a = self.actor
        _INSERT_AUDIT.execute(self.conn, {
            "tenant_id": a.tenant_id, "store_id": a.store_id, "at": self.now, "actor": a.username,
            "actor_id": a.user_id, "action": action, "entity": entity, "entity_id": entity_id,
            "before": before, "after": after, "lane_id": a.lane_id, "device_id": a.device_id,
            "request_id": a.request_id,
        })

    def emit(self, event_type: str, payload: dict[str, Any]) -> str:
        """One event, in one INSERT: its seq is taken as `emit_many` takes them (max + 1, what
        SQLite itself would assign this plain rowid key), so the envelope that carries it is
        written complete rather than inserted empty and then updated."""
        a = self.actor
        event_id = uuid7()
        store_id = a.store_id or ""
        seq = (_LAST_SEQ.execute(self.conn, {}).fetchone()[0] or 0) + 1
        now = self.now
        envelope = EventEnvelope(event_id=event_id, tenant_id=a.tenant_id, store_id=store_id, seq=seq,
                                 type=event_type, occurred_at=now, business_day=self.business_day, payload=payload)
        _INSERT_OUTBOX.execute(self.conn, {
            "seq": seq, "event_id": event_id, "tenant_id": a.tenant_id, "store_id": store_id, "type": event_type,
            "occurred_at": now, "envelope": encode_envelope(envelope).decode(), "sent_at": None, "attempts": 0,
            "last_error": None,
        })
        self.events.append(event_id)
        return event_id

    def audit_many(self, entries: list[tuple[str, str, str | None, Any, Any]]) -> None:
        """`audit` for many (action, entity, entity_id, before, after) rows, in one executemany."""
        a = self.actor
        common = {"tenant_id": a.tenant_id, "store_id": a.store_id, "at": self.now, "actor": a.username,
                  "actor_id": a.user_id, "lane_id": a.lane_id, "device_id": a.device_id, "request_id": a.request_id}
        _INSERT_AUDIT.execute_many(self.conn, [
            common | {"action": action, "entity": entity, "entity_id": entity_id, "before": before, "after": after}
            for action, entity, entity_id, before, after in entries])

    def emit_many(self, event_type: str, payloads: list[dict[str, Any]]) -> list[str]:
        """`emit` for many events of one type, in one executemany; their seqs follow each other in
        the order given. The seqs are assigned here rather than by SQLite, so each envelope is
        written complete in the same insert: the outbox's seq is a plain rowid key (no
        AUTOINCREMENT), for which SQLite itself takes max(seq) + 1, and this transaction holds
        the only write lock."""
        if not payloads:
            return []
        a = self.actor
        store_id = a.store_id or ""
        last = _LAST_SEQ.execute(self.conn, {}).fetchone()[0] or 0
        rows, ids = [], []
        for seq, payload in enumerate(payloads, start=last + 1):
            event_id = uuid7()
            envelope = EventEnvelope(event_id=event_id, tenant_id=a.tenant_id, store_id=store_id, seq=seq,
                                     type=event_type, occurred_at=self.now, business_day=self.business_day,
                                     payload=payload)
            rows.append({"seq": seq, "event_id": event_id, "tenant_id": a.tenant_id, "store_id": store_id,
                         "type": event_type, "occurred_at": self.now, "envelope": encode_envelope(envelope).decode(),
                         "sent_at": None, "attempts": 0, "last_error": None})
            ids.append(event_id)
        _INSERT_OUTBOX.execute_many(self.conn, rows)
        self.events.extend(ids)
        return ids


class UnitOfWorkFactory:
    """Runs a use case in the writer thread with a fresh unit of work for the given actor."""

    def __init__(self, db: Database, *, timezone: str = "UTC", day_start_hour: int = 0,
                 clock: Callable[[], datetime] = utc_now):
        self.db = db
        self.timezone = timezone
        self.day_start_hour = day_start_hour
        # Every unit of work reads the time from here: a test moves it instead of sleeping
        # through a TTL or a business day.
        self.clock = clock

    def _uow(self, conn: Connection, actor: Actor) -> SqlUnitOfWork:
        return SqlUnitOfWork(conn, actor, timezone=self.timezone, day_start_hour=self.day_start_hour,
                             clock=self.clock)

    async def run(self, actor: Actor, handler: Callable[[SqlUnitOfWork], T]) -> T:
        return await self.db.write(lambda conn: handler(self._uow(conn, actor)))

    async def run_background(self, actor: Actor, handler: Callable[[SqlUnitOfWork], T]) -> T:
        """A unit of long background work: alone in its transaction, after any waiting request."""
        return await self.db.write_background(lambda conn: handler(self._uow(conn, actor)))

    def requests(self) -> int:
        """How many reads and writes have been asked of the database so far."""
        return self.db.requests

    def answering(self) -> int:
        """How many HTTP requests are being answered now (read from the writer thread too)."""
        return self.db.in_flight.count

    async def quiet(self, at_most: float) -> bool:
        """Wait (at most `at_most` seconds) until no HTTP request is being answered; True if it waited."""
        return await self.db.in_flight.quiet(at_most)

    def run_sync(self, actor: Actor, handler: Callable[[SqlUnitOfWork], T]) -> T:
        return self.db.write_sync(lambda conn: handler(self._uow(conn, actor)))

    async def read(self, actor: Actor, query: Callable[[SqlUnitOfWork], T]) -> T:
        return await self.db.read(lambda conn: query(self._uow(conn, actor)))

    def read_now(self, actor: Actor, query: Callable[[SqlUnitOfWork], T]) -> T:
        return self.db.read_now(lambda conn: query(self._uow(conn, actor)))
