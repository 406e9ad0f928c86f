"""Orders, their lines, payments, returns and the per-lane order number counters."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as upsert

from edge.adapters import tables_sales as s
from edge.adapters.repos.prepared import Prepared
from edge.service.ports import Actor
from edge.service.repository_ports import OrderFilter, OrderLineRow, OrderRow, PaymentRow, ReturnLineRow, ReturnRow

orders = s.orders
order_lines = s.order_lines
payments = s.payments
returns = s.returns
return_lines = s.return_lines
lane_counters = s.lane_counters
provider_events = s.provider_events

# The checkout's statements are built once and run prepared (see `prepared`): building a Core
# construct per call, and SQLAlchemy's execution path, cost far more than SQLite's own work.
_INSERT_ORDER = Prepared(insert(orders))
_INSERT_LINES = Prepared(insert(order_lines))
_INSERT_PAYMENTS = Prepared(insert(payments))
# Reads of one order (the receipt printer reads every sale back): built once, so SQLAlchemy
# reuses their cache key and compiled SQL; they keep its type processing (booleans, JSON).
_ORDER_COLUMNS = [orders.c[name] for name in OrderRow.__struct_fields__]
_GET = select(*_ORDER_COLUMNS).where(orders.c.tenant_id == bindparam("b_tenant"), orders.c.id == bindparam("b_id"))
_LINE_COLUMNS = [order_lines.c[name] for name in OrderLineRow.__struct_fields__]
_LINES = select(*_LINE_COLUMNS).where(order_lines.c.order_id == bindparam("b_id")).order_by(order_lines.c.line_no)
_PAYMENT_COLUMNS = [payments.c[name] for name in PaymentRow.__struct_fields__]
_RETURN_COLUMNS = [returns.c[name] for name in ReturnRow.__struct_fields__]
_RETURN_LINE_COLUMNS = [return_lines.c[name] for name in ReturnLineRow.__struct_fields__]
_PAYMENTS_OF = select(*_PAYMENT_COLUMNS).where(payments.c.tenant_id == bindparam("b_tenant"),
                                      payments.c.order_id == bindparam("b_id")
                                 ).order_by(payments.c.id)
# One round trip for the lane's next number: the first order of a lane inserts 1, later ones add 1.
_NEXT_NUMBER = Prepared(upsert(lane_counters).on_conflict_do_update(
    index_elements=[lane_counters.c.tenant_id, lane_counters.c.store_id, lane_counters.c.lane_id],
    set_={"last_seq": lane_counters.c.last_seq + 1},
).returning(lane_counters.c.last_seq))


class SqlOrdersRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def next_number(self, store_id: str, lane_id: str) -> int:
        [seq] = _NEXT_NUMBER.execute(self.conn, {"tenant_id": self.tenant_id, "store_id": store_id,
                                                 "lane_id": lane_id, "last_seq": 1}).fetchone()
        return int(seq)

    def insert(self, order: OrderRow, lines: list[OrderLineRow]) -> None:
        _INSERT_ORDER.execute(self.conn, {"tenant_id": self.tenant_id, **msgspec.structs.asdict(order)})
        _INSERT_LINES.execute_many(self.conn, [msgspec.structs.asdict(line) for line in lines])

    def get(self, order_id: str) -> OrderRow | None:
        row = self.conn.execute(_GET, {"b_tenant": self.tenant_id, "b_id": order_id}).mappings().first()
        return OrderRow(**row) if row else None

    def by_number(self, number: str) -> OrderRow | None:
        row = self.conn.execute(select(*_ORDER_COLUMNS).where(orders.c.tenant_id == self.tenant_id,
                                                              orders.c.number == number)).mappings().first()
        return OrderRow(**row) if row else None

    def lines(self, order_id: str) -> list[OrderLineRow]:
        return [OrderLineRow(**r) for r in self.conn.execute(_LINES, {"b_id": order_id}).mappings()]

    def lines_of(self, order_ids: list[str]) -> dict[str, list[OrderLineRow]]:
        found: dict[str, list[OrderLineRow]] = {i: [] for i in order_ids}
        if order_ids:
            for r in self.conn.execute(select(*_LINE_COLUMNS).where(order_lines.c.order_id.in_(order_ids))
                                       .order_by(order_lines.c.order_id, order_lines.c.line_no)).mappings():
                found[r["order_id"]].append(OrderLineRow(**r))
        return found

    def update(self, order_id: str, values: dict[str, Any], *, expect_status: str | None = None) -> bool:
        stmt = update(orders).where(orders.c.tenant_id == self.tenant_id, orders.c.id == order_id)
        if expect_status is not None:
            stmt = stmt.where(orders.c.status == expect_status)
        return self.conn.execute(stmt.values(**values)).rowcount == 1

    def add_returned(self, line_id: str, quantity: int) -> None:
        self.conn.execute(update(order_lines).where(order_lines.c.id == line_id)
                          .values(returned_quantity=order_lines.c.returned_quantity + quantity))

    def search(self, f: OrderFilter, after: str | None, limit: int) -> list[OrderRow]:
        stmt = select(*_ORDER_COLUMNS).where(orders.c.tenant_id == self.tenant_id)
        if f.status:
            stmt = stmt.where(orders.c.status.in_(f.status))
        if f.first_day:
            stmt = stmt.where(orders.c.business_day >= f.first_day)
        if f.last_day:
            stmt = stmt.where(orders.c.business_day <= f.last_day)
        if f.lane_id:
            stmt = stmt.where(orders.c.lane_id == f.lane_id)
        if f.cashier:
            stmt = stmt.where(orders.c.cashier == f.cashier)
        if f.tender:
            stmt = stmt.where(orders.c.tender_methods.like(f"%{f.tender}%"))
        if f.min_total_cents is not None:
            stmt = stmt.where(orders.c.total_cents >= f.min_total_cents)
        if f.max_total_cents is not None:
            stmt = stmt.where(orders.c.total_cents <= f.max_total_cents)
        if f.number:
            stmt = stmt.where(orders.c.number == f.number)
        if f.product_id or f.sku:
            sub = select(order_lines.c.order_id)
            sub = sub.where(order_lines.c.product_id == f.product_id) if f.product_id else \
                sub.where(order_lines.c.sku == f.sku)
            stmt = stmt.where(orders.c.id.in_(sub))
        if f.q:
            like = "%" + f.q.replace("%", "").replace("_", "") + "%"
            stmt = stmt.where(orders.c.number.like(like) | orders.c.id.in_(
                select(order_lines.c.order_id).where(order_lines.c.name.like(like) | order_lines.c.sku.like(like))))
        if after:
            stmt = stmt.where(orders.c.id < after)  # newest first; ids are UUIDv7, so they sort by time
        return [OrderRow(**r) for r in self.conn.execute(stmt.order_by(orders.c.id.desc()).limit(limit)).mappings()]

    def pending_ids(self, limit: int = 500) -> list[str]:
        return [r[0] for r in self.conn.execute(select(orders.c.id).where(orders.c.tenant_id == self.tenant_id,
                                                                          orders.c.status == "PENDING").limit(limit))]

    def count(self, status: str | None = None) -> int:
        stmt = select(func.count()).select_from(orders).where(orders.c.tenant_id == self.tenant_id)
        if status:
            stmt = stmt.where(orders.c.status == status)
        return int(self.conn.execute(stmt).scalar() or 0)

    # -- returns ---------------------------------------------------------------------------------
    def insert_return(self, ret: ReturnRow, lines: list[ReturnLineRow]) -> None:
        self.conn.execute(insert(returns).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(ret)))
        self.conn.execute(insert(return_lines), [msgspec.structs.asdict(ln) for ln in lines])

    def return_by_id(self, return_id: str) -> tuple[ReturnRow, list[ReturnLineRow]] | None:
        row = self.conn.execute(select(*_RETURN_COLUMNS).where(returns.c.tenant_id == self.tenant_id,
                                                               returns.c.id == return_id)).mappings().first()
        if row is None:
            return None
        lines = self.conn.execute(select(*_RETURN_LINE_COLUMNS).where(return_lines.c.return_id == return_id)
                                  .order_by(return_lines.c.id)).mappings()
        return ReturnRow(**row), [ReturnLineRow(**r) for r in lines]

    def returns_of(self, order_id: str) -> list[tuple[ReturnRow, list[ReturnLineRow]]]:
        rows = self.conn.execute(select(*_RETURN_COLUMNS).where(returns.c.tenant_id == self.tenant_id,
                                                                returns.c.order_id == order_id)
                                 .order_by(returns.c.id)).mappings()
        found = [ReturnRow(**r) for r in rows]
        return [(ret, [ReturnLineRow(**r) for r in self.conn.execute(
            select(*_RETURN_LINE_COLUMNS).where(return_lines.c.return_id == ret.id)).mappings()])
            for ret in found]

class SqlPaymentsRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def insert_many(self, rows: list[PaymentRow]) -> None:
        if rows:
            _INSERT_PAYMENTS.execute_many(self.conn, [{"tenant_id": self.tenant_id, **msgspec.structs.asdict(r)}
                                                      for r in rows])

    def get(self, payment_id: str) -> PaymentRow | None:
        row = self.conn.execute(select(*_PAYMENT_COLUMNS).where(payments.c.tenant_id == self.tenant_id,
                                                                payments.c.id == payment_id)
                                ).mappings().first()
        return PaymentRow(**row) if row else None

    def of_order(self, order_id: str) -> list[PaymentRow]:
        rows = self.conn.execute(_PAYMENTS_OF, {"b_tenant": self.tenant_id, "b_id": order_id}).mappings()
        return [PaymentRow(**r) for r in rows]

    def of_orders(self, order_ids: list[str]) -> dict[str, list[PaymentRow]]:
        found: dict[str, list[PaymentRow]] = {i: [] for i in order_ids}
        if order_ids:
            for r in self.conn.execute(select(*_PAYMENT_COLUMNS).where(payments.c.tenant_id == self.tenant_id,
                                                                       payments.c.order_id.in_(order_ids))
                                       .order_by(payments.c.id)).mappings():
                found[r["order_id"]].append(PaymentRow(**r))
        return found

    def update(self, payment_id: str, values: dict[str, Any], *, expect_status: tuple[str, ...] | None = None) -> bool:
        stmt = update(payments).where(payments.c.tenant_id == self.tenant_id, payments.c.id == payment_id)
        if expect_status:
            stmt = stmt.where(payments.c.status.in_(expect_status))
        return self.conn.execute(stmt.values(**values)).rowcount == 1

    def in_flight(self, limit: int = 500) -> list[PaymentRow]:
        """Payments whose outcome is not known yet: what recovery must ask about."""
        rows = self.conn.execute(select(*_PAYMENT_COLUMNS).where(
            payments.c.status.in_(("created", "timed_out", "awaiting"))).order_by(payments.c.id).limit(limit)).mappings()
        return [PaymentRow(**r) for r in rows]

    def failed_refund_orders(self, limit: int = 200) -> list[str]:
        """Orders owing a customer a refund the processor refused (oldest first)."""
        rows = self.conn.execute(select(payments.c.order_id).where(
            payments.c.tenant_id == self.tenant_id, payments.c.status == "failed", payments.c.kind == "refund")
            .group_by(payments.c.order_id).order_by(func.min(payments.c.id)).limit(limit))
        return [r[0] for r in rows]

    def record_provider_event(self, provider: str, event_id: str, payment_id: str | None, now: str) -> bool:
        """False if this provider event was seen before (callbacks are delivered at least once)."""
        exists = self.conn.execute(select(provider_events.c.event_id).where(
            provider_events.c.provider == provider, provider_events.c.event_id == event_id)).first()
        if exists:
            return False
        self.conn.execute(insert(provider_events).values(provider=provider, event_id=event_id, payment_id=payment_id,
                                                         received_at=now))
        return True
