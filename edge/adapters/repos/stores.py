"""Tenants, stores and lanes."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from edge.adapters import tables as t
from edge.service.ports import Actor
from edge.service.repository_ports import LaneRow, StoreRow

_LANE_COLUMNS = [t.lanes.c[name] for name in LaneRow.__struct_fields__]
_STORE_COLUMNS = [t.stores.c[name] for name in StoreRow.__struct_fields__]


class SqlStoresRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def lane_exists(self, store_id: str, lane_id: str) -> bool:
        return self.conn.execute(
            select(t.lanes.c.id).where(
                t.lanes.c.tenant_id == self.tenant_id, t.lanes.c.store_id == store_id, t.lanes.c.id == lane_id
            )
        ).first() is not None

    def lanes(self, store_id: str) -> list[LaneRow]:
        rows = self.conn.execute(
            select(*_LANE_COLUMNS).where(t.lanes.c.tenant_id == self.tenant_id, t.lanes.c.store_id == store_id)
            .order_by(t.lanes.c.id)
        ).mappings()
        return [LaneRow(**r) for r in rows]

    def store(self, store_id: str) -> StoreRow | None:
        row = self.conn.execute(
            select(*_STORE_COLUMNS).where(t.stores.c.tenant_id == self.tenant_id, t.stores.c.id == store_id)
        ).mappings().first()
        return StoreRow(**row) if row else None

    def ensure(self, *, tenant_name: str, store_id: str, store_name: str, timezone: str, day_start_hour: int,
               currency: str, lanes: int, require_mfa: bool, now: str) -> bool:
        """Create the tenant, store and lanes if missing. Returns True if anything was created."""
        created = False
        if self.conn.execute(select(t.tenants.c.id).where(t.tenants.c.id == self.tenant_id)).first() is None:
            self.conn.execute(insert(t.tenants).values(id=self.tenant_id, name=tenant_name, require_mfa=require_mfa,
                                                       currency=currency, created_at=now))
            created = True
        if self.store(store_id) is None:
            self.conn.execute(insert(t.stores).values(tenant_id=self.tenant_id, id=store_id, name=store_name,
                                                      timezone=timezone, day_start_hour=day_start_hour,
                                                      created_at=now))
            created = True
        for n in range(1, lanes + 1):
            if not self.lane_exists(store_id, str(n)):
                self.conn.execute(insert(t.lanes).values(tenant_id=self.tenant_id, store_id=store_id, id=str(n),
                                                         name=f"Lane {n}"))
                created = True
        return created
