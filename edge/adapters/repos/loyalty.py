"""The points ledger and HQ's last balance per customer, per tenant."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.sqlite import insert

from edge.adapters.tables_loyalty import loyalty_balances, loyalty_ledger
from edge.service.loyalty_ports import HqBalance, LedgerRow
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

    def entries(self, customer_id: str, *, since: str | None = None, limit: int = 1_000) -> list[LedgerRow]:
        stmt = select(*_COLUMNS).where(loyalty_ledger.c.tenant_id == self.tenant_id,
                                       loyalty_ledger.c.customer_id == customer_id)
        if since is not None:
            stmt = stmt.where(loyalty_ledger.c.at > since)
        rows = self.conn.execute(stmt.order_by(loyalty_ledger.c.at, loyalty_ledger.c.entry_id).limit(limit))
        return [_row(r) for r in rows.mappings()]

    def hq_balance(self, customer_id: str) -> HqBalance | None:
        row = self.conn.execute(select(loyalty_balances.c.hq_balance_points, loyalty_balances.c.hq_as_of).where(
            loyalty_balances.c.tenant_id == self.tenant_id, loyalty_balances.c.customer_id == customer_id)).first()
        return HqBalance(balance_points=row[0], as_of=row[1]) if row else None

    def set_hq_balance(self, customer_id: str, balance: HqBalance, now: str) -> None:
        values = {"hq_balance_points": balance.balance_points, "hq_as_of": balance.as_of, "updated_at": now}
        stmt = insert(loyalty_balances).values(tenant_id=self.tenant_id, customer_id=customer_id, **values)
        # An older answer arriving late never replaces a newer one.
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "customer_id"], set_=values,
                                                     where=loyalty_balances.c.hq_as_of <= balance.as_of))

    def customers_with_credits_before(self, cutoff: str, limit: int) -> list[str]:
        rows = self.conn.execute(select(loyalty_ledger.c.customer_id).where(
            loyalty_ledger.c.tenant_id == self.tenant_id, loyalty_ledger.c.kind.in_(CREDITS),
            loyalty_ledger.c.at <= cutoff).distinct().limit(limit))
        return [r[0] for r in rows]

    def erase(self, customer_id: str, pseudonym: str) -> int:
        self.conn.execute(delete(loyalty_balances).where(loyalty_balances.c.tenant_id == self.tenant_id,
                                                         loyalty_balances.c.customer_id == customer_id))
        return self.conn.execute(update(loyalty_ledger).where(
            loyalty_ledger.c.tenant_id == self.tenant_id, loyalty_ledger.c.customer_id == customer_id)
            .values(customer_id=pseudonym)).rowcount
