"""BOPIS pickups, per tenant."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select, update

from edge.adapters.tables_bopis import pickups
from edge.service.pickup_ports import PickupRow
from edge.service.ports import Actor

_COLUMNS = [pickups.c[name] for name in PickupRow.__struct_fields__]


def _row(row: Any) -> PickupRow:
    # `lines` is a JSON column: converted into its Structs (and checked) here, once
    return msgspec.convert({name: row[name] for name in PickupRow.__struct_fields__}, PickupRow)


class SqlPickupsRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def get(self, order_id: str) -> PickupRow | None:
        row = self.conn.execute(select(*_COLUMNS).where(pickups.c.tenant_id == self.tenant_id,
                                                        pickups.c.order_id == order_id)).mappings().first()
        return _row(row) if row else None

    def insert(self, pickup: PickupRow) -> None:
        self.conn.execute(insert(pickups).values(tenant_id=self.tenant_id, **msgspec.to_builtins(pickup)))

    def update(self, order_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(pickups).where(pickups.c.tenant_id == self.tenant_id,
                                                pickups.c.order_id == order_id).values(**values))

    def by_reservation(self, reservation_id: str) -> PickupRow | None:
        row = self.conn.execute(select(*_COLUMNS).where(pickups.c.tenant_id == self.tenant_id,
                                                        pickups.c.reservation_id == reservation_id)).mappings().first()
        return _row(row) if row else None

    def search(self, *, statuses: list[str] | None, limit: int) -> list[PickupRow]:
        stmt = select(*_COLUMNS).where(pickups.c.tenant_id == self.tenant_id)
        if statuses:
            stmt = stmt.where(pickups.c.status.in_(statuses))
        rows = self.conn.execute(stmt.order_by(pickups.c.updated_at.desc(), pickups.c.order_id).limit(limit))
        return [_row(r) for r in rows.mappings()]
