"""The points ledger, per tenant."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects.sqlite import insert

from edge.adapters.tables import outbox
from edge.adapters.tables_loyalty import loyalty_ledger
from edge.service.loyalty_ports import LedgerRow
from edge.service.ports import Actor

_COLUMNS = [loyalty_ledger.c[name] for name in LedgerRow.__struct_fields__]
CREDITS = ("earn", "restore", "adjust", "write_off")


def _row(row: Any) -> LedgerRow:
    return LedgerRow(**{name: row[name] for name in LedgerRow.__struct_fields__})


class SqlLoyaltyRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def add(self, rows: list[LedgerRow]) -> list[LedgerRow]:
        if not rows:
            return []
        stmt = insert(loyalty_ledger).on_conflict_do_nothing().returning(loyalty_ledger.c.entry_id)
        new = {r.entry_id for r in self.conn.execute(
            stmt, [{"tenant_id": self.tenant_id, **msgspec.structs.asdict(r)} for r in rows])}
        return [r for r in rows if r.entry_id in new]

    def of_order(self, order_id: str) -> list[LedgerRow]:
        rows = self.conn.execute(select(*_COLUMNS).where(loyalty_ledger.c.tenant_id == self.tenant_id,
                                                         loyalty_ledger.c.order_id == order_id)
                                 .order_by(loyalty_ledger.c.at, loyalty_ledger.c.entry_id))
        return [_row(r) for r in rows.mappings()]

    def entries(self, customer_id: str, *, since: str | None = None, or_unsent: bool = False,
                limit: int = 1_000) -> list[LedgerRow]:
        stmt = select(*_COLUMNS).where(loyalty_ledger.c.tenant_id == self.tenant_id,
                                       loyalty_ledger.c.customer_id == customer_id)
        if since is not None:
            after = loyalty_ledger.c.at > since
            if or_unsent:
                unsent = select(outbox.c.event_id).where(outbox.c.sent_at.is_(None))
                after = or_(after, loyalty_ledger.c.event_id.in_(unsent.scalar_subquery()))
            stmt = stmt.where(after)
        rows = self.conn.execute(stmt.order_by(loyalty_ledger.c.at, loyalty_ledger.c.entry_id).limit(limit))
        return [_row(r) for r in rows.mappings()]

    def set_event(self, entry_id: str, event_id: str) -> None:
        self.conn.execute(update(loyalty_ledger).where(loyalty_ledger.c.tenant_id == self.tenant_id,
                                                       loyalty_ledger.c.entry_id == entry_id)
                          .values(event_id=event_id))

    def customers_with_credits_before(self, cutoff: str, limit: int) -> list[str]:
        rows = self.conn.execute(select(loyalty_ledger.c.customer_id).where(
            loyalty_ledger.c.tenant_id == self.tenant_id, loyalty_ledger.c.kind.in_(CREDITS),
            loyalty_ledger.c.at <= cutoff).distinct().limit(limit))
        return [r[0] for r in rows]

    def erase(self, customer_id: str, pseudonym: str) -> int:
        return self.conn.execute(update(loyalty_ledger).where(
            loyalty_ledger.c.tenant_id == self.tenant_id, loyalty_ledger.c.customer_id == customer_id)
            .values(customer_id=pseudonym)).rowcount
