"""Orders, their lines, payments, returns and the per-lane order number counters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as upsert

from edge.adapters import tables_sales as s
from edge.adapters.repos.prepared import Prepared
from edge.adapters.uow import repository
from edge.service.ports import Actor

O = s.orders  # noqa: E741
OL = s.order_lines
PAY = s.payments
RET = s.returns
RL = s.return_lines
C = s.lane_counters

# The checkout's statements are built once and run prepared (see `prepared`): building a Core
# construct per call, and SQLAlchemy's execution path, cost far more than SQLite's own work.
_INSERT_ORDER = Prepared(insert(O))
_INSERT_LINES = Prepared(insert(OL))
_INSERT_PAYMENTS = Prepared(insert(PAY))
# Reads of one order (the receipt printer reads every sale back): built once, so SQLAlchemy
# reuses their cache key and compiled SQL; they keep its type processing (booleans, JSON).
_GET = select(O).where(O.c.tenant_id == bindparam("b_tenant"), O.c.id == bindparam("b_id"))
_LINES = select(OL).where(OL.c.order_id == bindparam("b_id")).order_by(OL.c.line_no)
_PAYMENTS_OF = select(PAY).where(PAY.c.tenant_id == bindparam("b_tenant"), PAY.c.order_id == bindparam("b_id")
                                 ).order_by(PAY.c.id)
# One round trip for the lane's next number: the first order of a lane inserts 1, later ones add 1.
_NEXT_NUMBER = Prepared(upsert(C).on_conflict_do_update(
    index_elements=[C.c.tenant_id, C.c.store_id, C.c.lane_id], set_={"last_seq": C.c.last_seq + 1},
).returning(C.c.last_seq))


@repository("orders")
class OrderRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def next_number(self, store_id: str, lane_id: str) -> int:
        [seq] = _NEXT_NUMBER.execute(self.conn, {"tenant_id": self.tenant_id, "store_id": store_id,
                                                 "lane_id": lane_id, "last_seq": 1}).fetchone()
        return int(seq)

    def insert(self, order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        _INSERT_ORDER.execute(self.conn, {"tenant_id": self.tenant_id, **order})
        _INSERT_LINES.execute_many(self.conn, lines)

    def get(self, order_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(_GET, {"b_tenant": self.tenant_id, "b_id": order_id}).mappings().first()
        return dict(row) if row else None

    def by_number(self, number: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(O).where(O.c.tenant_id == self.tenant_id, O.c.number == number)
                                ).mappings().first()
        return dict(row) if row else None

    def lines(self, order_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(_LINES, {"b_id": order_id}).mappings()
        return [dict(r) for r in rows]

    def lines_of(self, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in order_ids}
        if order_ids:
            for r in self.conn.execute(select(OL).where(OL.c.order_id.in_(order_ids))
                                       .order_by(OL.c.order_id, OL.c.line_no)).mappings():
                found[r["order_id"]].append(dict(r))
        return found

    def update(self, order_id: str, values: dict[str, Any], *, expect_status: str | None = None) -> bool:
        stmt = update(O).where(O.c.tenant_id == self.tenant_id, O.c.id == order_id)
        if expect_status is not None:
            stmt = stmt.where(O.c.status == expect_status)
        return self.conn.execute(stmt.values(**values)).rowcount == 1

    def add_returned(self, line_id: str, quantity: int) -> None:
        self.conn.execute(update(OL).where(OL.c.id == line_id)
                          .values(returned_quantity=OL.c.returned_quantity + quantity))

    def search(self, f: dict[str, Any], after: str | None, limit: int) -> list[dict[str, Any]]:
        stmt = select(O).where(O.c.tenant_id == self.tenant_id)
        if f.get("status"):
            stmt = stmt.where(O.c.status.in_(f["status"]))
        if f.get("from"):
            stmt = stmt.where(O.c.business_day >= f["from"])
        if f.get("to"):
            stmt = stmt.where(O.c.business_day <= f["to"])
        if f.get("lane_id"):
            stmt = stmt.where(O.c.lane_id == f["lane_id"])
        if f.get("cashier"):
            stmt = stmt.where(O.c.cashier == f["cashier"])
        if f.get("tender"):
            stmt = stmt.where(O.c.tender_methods.like(f"%{f['tender']}%"))
        if f.get("min_total_cents") is not None:
            stmt = stmt.where(O.c.total_cents >= f["min_total_cents"])
        if f.get("max_total_cents") is not None:
            stmt = stmt.where(O.c.total_cents <= f["max_total_cents"])
        if f.get("number"):
            stmt = stmt.where(O.c.number == f["number"])
        if f.get("product_id") or f.get("sku"):
            sub = select(OL.c.order_id)
            sub = sub.where(OL.c.product_id == f["product_id"]) if f.get("product_id") else \
                sub.where(OL.c.sku == f["sku"])
            stmt = stmt.where(O.c.id.in_(sub))
        if f.get("q"):
            like = "%" + f["q"].replace("%", "").replace("_", "") + "%"
            stmt = stmt.where(O.c.number.like(like) | O.c.id.in_(
                select(OL.c.order_id).where(OL.c.name.like(like) | OL.c.sku.like(like))))
        if after:
            stmt = stmt.where(O.c.id < after)  # newest first; ids are UUIDv7, so they sort by time
        return [dict(r) for r in self.conn.execute(stmt.order_by(O.c.id.desc()).limit(limit)).mappings()]

    def pending_ids(self, limit: int = 500) -> list[str]:
        return [r[0] for r in self.conn.execute(select(O.c.id).where(O.c.tenant_id == self.tenant_id,
                                                                     O.c.status == "PENDING").limit(limit))]

    def count(self, status: str | None = None) -> int:
        stmt = select(func.count()).select_from(O).where(O.c.tenant_id == self.tenant_id)
        if status:
            stmt = stmt.where(O.c.status == status)
        return int(self.conn.execute(stmt).scalar() or 0)

    # -- returns ---------------------------------------------------------------------------------
    def insert_return(self, ret: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self.conn.execute(insert(RET).values(tenant_id=self.tenant_id, **ret))
        self.conn.execute(insert(RL), lines)

    def returns_of(self, order_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(RET).where(RET.c.tenant_id == self.tenant_id, RET.c.order_id == order_id)
                                 .order_by(RET.c.id)).mappings()
        found = [dict(r) for r in rows]
        for ret in found:
            ret["lines"] = [dict(r) for r in self.conn.execute(select(RL).where(RL.c.return_id == ret["id"])
                                                               ).mappings()]
        return found


@repository("payments")
class PaymentRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            _INSERT_PAYMENTS.execute_many(self.conn, [{"tenant_id": self.tenant_id, **r} for r in rows])

    def get(self, payment_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(PAY).where(PAY.c.tenant_id == self.tenant_id, PAY.c.id == payment_id)
                                ).mappings().first()
        return dict(row) if row else None

    def of_order(self, order_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(_PAYMENTS_OF, {"b_tenant": self.tenant_id, "b_id": order_id}).mappings()
        return [dict(r) for r in rows]

    def of_orders(self, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in order_ids}
        if order_ids:
            for r in self.conn.execute(select(PAY).where(PAY.c.tenant_id == self.tenant_id,
                                                         PAY.c.order_id.in_(order_ids)).order_by(PAY.c.id)).mappings():
                found[r["order_id"]].append(dict(r))
        return found

    def update(self, payment_id: str, values: dict[str, Any], *, expect_status: tuple[str, ...] | None = None) -> bool:
        stmt = update(PAY).where(PAY.c.tenant_id == self.tenant_id, PAY.c.id == payment_id)
        if expect_status:
            stmt = stmt.where(PAY.c.status.in_(expect_status))
        return self.conn.execute(stmt.values(**values)).rowcount == 1

    def in_flight(self, limit: int = 500) -> list[dict[str, Any]]:
        """Payments whose outcome is not known yet: what recovery must ask about."""
        rows = self.conn.execute(select(PAY).where(PAY.c.status.in_(("created", "timed_out", "awaiting")))
                                 .order_by(PAY.c.id).limit(limit)).mappings()
        return [dict(r) for r in rows]

    def failed_refund_orders(self, limit: int = 200) -> list[str]:
        """Orders owing a customer a refund the processor refused (oldest first)."""
        rows = self.conn.execute(select(PAY.c.order_id).where(
            PAY.c.tenant_id == self.tenant_id, PAY.c.status == "failed", PAY.c.kind == "refund")
            .group_by(PAY.c.order_id).order_by(func.min(PAY.c.id)).limit(limit))
        return [r[0] for r in rows]

    def record_provider_event(self, provider: str, event_id: str, payment_id: str | None, now: str) -> bool:
        """False if this provider event was seen before (callbacks are delivered at least once)."""
        pe = s.provider_events
        exists = self.conn.execute(select(pe.c.event_id).where(pe.c.provider == provider,
                                                               pe.c.event_id == event_id)).first()
        if exists:
            return False
        self.conn.execute(insert(pe).values(provider=provider, event_id=event_id, payment_id=payment_id,
                                            received_at=now))
        return True
