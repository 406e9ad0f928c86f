"""Till (drawer) sessions and their cash movements, lanes' offline queue reports, review cases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.sqlite import insert as upsert

from edge.adapters import tables_sales as s
from edge.adapters.repos.prepared import Prepared
from edge.adapters.uow import repository
from edge.domain.ids import uuid7
from edge.service.ports import Actor

TS = s.till_sessions
TM = s.till_movements
Q = s.lane_queue_status
RC = s.review_cases

_INSERT_TILL_MOVEMENT = Prepared(insert(TM))  # built once, run prepared: a cash sale adds one per order


@repository("tills")
class TillRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def open_session(self, store_id: str | None, lane_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(TS).where(TS.c.tenant_id == self.tenant_id, TS.c.store_id == store_id,
                                                 TS.c.lane_id == lane_id, TS.c.status == "open")).mappings().first()
        return dict(row) if row else None

    def get(self, session_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(TS).where(TS.c.tenant_id == self.tenant_id, TS.c.id == session_id)
                                ).mappings().first()
        return dict(row) if row else None

    def insert_session(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(TS).values(tenant_id=self.tenant_id, **values))

    def update_session(self, session_id: str, values: dict[str, Any]) -> bool:
        return self.conn.execute(update(TS).where(TS.c.id == session_id, TS.c.status == "open")
                                 .values(**values)).rowcount == 1

    def add_movement(self, values: dict[str, Any]) -> None:
        _INSERT_TILL_MOVEMENT.execute(self.conn, values)

    def movements(self, session_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(select(TM).where(TM.c.session_id == session_id)
                                                   .order_by(TM.c.id)).mappings()]

    def sessions(self, store_id: str | None, *, lane_id: str | None, status: str | None,
                 limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(TS).where(TS.c.tenant_id == self.tenant_id, TS.c.store_id == store_id)
        if lane_id:
            stmt = stmt.where(TS.c.lane_id == lane_id)
        if status:
            stmt = stmt.where(TS.c.status == status)
        return [dict(r) for r in self.conn.execute(stmt.order_by(TS.c.id.desc()).limit(limit)).mappings()]

    # -- lanes' offline queues -------------------------------------------------------------------
    def report_queue(self, store_id: str, lane_id: str, queued: int, oldest: str | None, now: str) -> None:
        stmt = upsert(Q).values(tenant_id=self.tenant_id, store_id=store_id, lane_id=lane_id, queued=queued,
                                oldest_queued_at=oldest, reported_at=now)
        self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[Q.c.tenant_id, Q.c.store_id, Q.c.lane_id],
            set_={"queued": queued, "oldest_queued_at": oldest, "reported_at": now}))

    def queues(self, store_id: str | None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(select(Q).where(Q.c.tenant_id == self.tenant_id,
                                                                   Q.c.store_id == store_id)
                                                   .order_by(Q.c.lane_id)).mappings()]


@repository("reviews")
class ReviewRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def open_case(self, uow: Any, kind: str, order_id: str | None, product_id: str | None, summary: str,
                  detail: dict[str, Any]) -> dict[str, Any]:
        case = {"id": uuid7(), "kind": kind, "status": "open", "order_id": order_id, "product_id": product_id,
                "summary": summary, "detail": detail, "created_at": uow.now}
        self.conn.execute(insert(RC).values(tenant_id=self.tenant_id, **case))
        uow.emit("review.opened", case)
        return case

    def get(self, case_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(RC).where(RC.c.tenant_id == self.tenant_id, RC.c.id == case_id)
                                ).mappings().first()
        return dict(row) if row else None

    def resolve(self, case_id: str, values: dict[str, Any]) -> bool:
        return self.conn.execute(update(RC).where(RC.c.tenant_id == self.tenant_id, RC.c.id == case_id,
                                                  RC.c.status == "open").values(**values)).rowcount == 1

    def search(self, *, status: str | None, kind: str | None, after: str | None, limit: int) -> list[dict[str, Any]]:
        stmt = select(RC).where(RC.c.tenant_id == self.tenant_id)
        if status:
            stmt = stmt.where(RC.c.status == status)
        if kind:
            stmt = stmt.where(RC.c.kind == kind)
        if after:
            stmt = stmt.where(RC.c.id > after)
        return [dict(r) for r in self.conn.execute(stmt.order_by(RC.c.id).limit(limit)).mappings()]
