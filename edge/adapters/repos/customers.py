"""Customers cached at the store, per tenant: sealed rows, blind indexes, and orders' links to them."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, delete, func, insert, select, update

from edge.adapters.tables_customers import customer_index, customers
from edge.adapters.tables_sales import orders, reservations
from edge.service.customer_ports import CustomerOrder, CustomerRow, IndexEntry
from edge.service.ports import Actor
from edge.service.repository_ports import ReservationRow

_COLUMNS = [customers.c[name] for name in CustomerRow.__struct_fields__]


def _row(row: Any) -> CustomerRow:
    return msgspec.convert({name: row[name] for name in CustomerRow.__struct_fields__}, CustomerRow)


class SqlCustomersRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def get(self, customer_id: str) -> CustomerRow | None:
        row = self.conn.execute(select(*_COLUMNS).where(customers.c.tenant_id == self.tenant_id,
                                                        customers.c.customer_id == customer_id)).mappings().first()
        return _row(row) if row else None

    def exists(self, customer_id: str) -> bool:
        return self.conn.execute(select(customers.c.customer_id).where(
            customers.c.tenant_id == self.tenant_id, customers.c.customer_id == customer_id)).first() is not None

    def insert(self, row: CustomerRow, index: list[IndexEntry]) -> None:
        self.conn.execute(insert(customers).values(tenant_id=self.tenant_id, **msgspec.to_builtins(row)))
        self.replace_index(row.customer_id, index)

    def update(self, customer_id: str, values: dict[str, Any]) -> None:
        if "consents" in values:
            values = values | {"consents": msgspec.to_builtins(values["consents"])}
        self.conn.execute(update(customers).where(customers.c.tenant_id == self.tenant_id,
                                                  customers.c.customer_id == customer_id).values(**values))

    def replace_index(self, customer_id: str, index: list[IndexEntry]) -> None:
        self.conn.execute(delete(customer_index).where(customer_index.c.tenant_id == self.tenant_id,
                                                       customer_index.c.customer_id == customer_id))
        for entry in index:
            # A digest another customer held (an email that moved): the newest holder keeps it.
            self.conn.execute(delete(customer_index).where(customer_index.c.tenant_id == self.tenant_id,
                                                           customer_index.c.kind == entry.kind,
                                                           customer_index.c.digest == entry.digest))
            self.conn.execute(insert(customer_index).values(tenant_id=self.tenant_id, kind=entry.kind,
                                                            digest=entry.digest, customer_id=customer_id))

    def find(self, entry: IndexEntry) -> str | None:
        return self.conn.execute(select(customer_index.c.customer_id).where(
            customer_index.c.tenant_id == self.tenant_id, customer_index.c.kind == entry.kind,
            customer_index.c.digest == entry.digest)).scalar()

    def index_of(self, customer_id: str) -> list[IndexEntry]:
        rows = self.conn.execute(select(customer_index.c.kind, customer_index.c.digest).where(
            customer_index.c.tenant_id == self.tenant_id, customer_index.c.customer_id == customer_id))
        return [IndexEntry(kind, digest) for kind, digest in rows]

    def delete(self, customer_id: str) -> bool:
        self.conn.execute(delete(customer_index).where(customer_index.c.tenant_id == self.tenant_id,
                                                       customer_index.c.customer_id == customer_id))
        gone = self.conn.execute(delete(customers).where(customers.c.tenant_id == self.tenant_id,
                                                         customers.c.customer_id == customer_id))
        return bool(gone.rowcount)

    def unescrowed(self, limit: int) -> list[CustomerRow]:
        rows = self.conn.execute(select(*_COLUMNS).where(customers.c.tenant_id == self.tenant_id,
                                                         customers.c.escrowed.is_(False))
                                 .order_by(customers.c.updated_at).limit(limit)).mappings()
        return [_row(r) for r in rows]

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(customers)
                                     .where(customers.c.tenant_id == self.tenant_id)).scalar() or 0)

    def eviction_candidates(self, *, keep: int, seen_before: str, limit: int) -> list[str]:
        """Customers beyond the newest `keep` by last sight, or not seen since `seen_before`,
        least recently seen first; never one whose changes HQ does not have yet."""
        base = select(customers.c.customer_id, customers.c.last_seen_at).where(
            customers.c.tenant_id == self.tenant_id)
        newest = {cid for cid, _ in self.conn.execute(
            base.order_by(customers.c.last_seen_at.desc(), customers.c.customer_id.desc()).limit(keep))}
        rows = self.conn.execute(base.where(customers.c.escrowed.is_(True))
                                 .order_by(customers.c.last_seen_at, customers.c.customer_id))
        out = []
        for cid, seen in rows:
            if cid not in newest or seen < seen_before:
                out.append(cid)
                if len(out) >= limit:
                    break
        return out

    def unlink_orders(self, customer_ids: list[str]) -> int:
        if not customer_ids:
            return 0
        done = self.conn.execute(update(orders).where(orders.c.tenant_id == self.tenant_id,
                                                      orders.c.customer_id.in_(customer_ids))
                                 .values(customer_id=None))
        return int(done.rowcount or 0)

    def orders_of(self, customer_id: str, limit: int) -> list[CustomerOrder]:
        rows = self.conn.execute(select(orders.c.id, orders.c.number, orders.c.status, orders.c.created_at,
                                        orders.c.total_cents, orders.c.refunded_cents, orders.c.currency)
                                 .where(orders.c.tenant_id == self.tenant_id, orders.c.customer_id == customer_id)
                                 .order_by(orders.c.created_at.desc()).limit(limit))
        return [CustomerOrder(order_id=r[0], number=r[1], status=r[2], at=r[3], total_cents=r[4],
                              refunded_cents=r[5], currency=r[6]) for r in rows]

    def open_holds(self, customer_id: str) -> list[ReservationRow]:
        """Active holds (BOPIS, manual) kept for this customer at this store."""
        cols = [reservations.c[name] for name in ReservationRow.__struct_fields__]
        rows = self.conn.execute(select(*cols).where(reservations.c.tenant_id == self.tenant_id,
                                                     reservations.c.customer == customer_id,
                                                     reservations.c.status == "active",
                                                     reservations.c.kind != "order")
                                 .order_by(reservations.c.created_at.desc()).limit(50)).mappings()
        return [ReservationRow(**r) for r in rows]
