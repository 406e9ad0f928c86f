"""Till (drawer) sessions and their cash movements, lanes' offline queue reports, review cases."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.sqlite import insert as upsert

from edge.adapters import tables_sales as s
from edge.adapters.repos.prepared import Prepared
from edge.domain.ids import uuid7
from edge.service.ports import Actor
from edge.service.repository_ports import LaneQueueRow, ReviewCaseRow, TillMovementRow, TillSessionRow

till_sessions = s.till_sessions
till_movements = s.till_movements
lane_queue_status = s.lane_queue_status
review_cases = s.review_cases
_QUEUE_COLUMNS = [lane_queue_status.c[name] for name in LaneQueueRow.__struct_fields__]
_CASE_COLUMNS = [review_cases.c[name] for name in ReviewCaseRow.__struct_fields__]

_INSERT_TILL_MOVEMENT = Prepared(insert(till_movements))  # built once, run prepared: a cash sale adds one per order
_SESSION_COLUMNS = [till_sessions.c[name] for name in TillSessionRow.__struct_fields__]
_MOVEMENT_COLUMNS = [till_movements.c[name] for name in TillMovementRow.__struct_fields__]


class SqlTillsRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def open_session(self, store_id: str | None, lane_id: str) -> TillSessionRow | None:
        row = self.conn.execute(select(*_SESSION_COLUMNS).where(till_sessions.c.tenant_id == self.tenant_id,
                                                                till_sessions.c.store_id == store_id,
                                                                till_sessions.c.lane_id == lane_id,
                                                                till_sessions.c.status == "open")).mappings().first()
        return TillSessionRow(**row) if row else None

    def get(self, session_id: str) -> TillSessionRow | None:
        row = self.conn.execute(select(*_SESSION_COLUMNS).where(till_sessions.c.tenant_id == self.tenant_id,
                                                                till_sessions.c.id == session_id)
                                ).mappings().first()
        return TillSessionRow(**row) if row else None

    def insert_session(self, session: TillSessionRow) -> None:
        self.conn.execute(insert(till_sessions).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(session)))

    def update_session(self, session_id: str, values: dict[str, Any]) -> bool:
        return self.conn.execute(update(till_sessions).where(till_sessions.c.id == session_id,
                                                             till_sessions.c.status == "open")
                                 .values(**values)).rowcount == 1

    def add_movement(self, movement: TillMovementRow) -> None:
        _INSERT_TILL_MOVEMENT.execute(self.conn, msgspec.structs.asdict(movement))

    def movements(self, session_id: str) -> list[TillMovementRow]:
        return [TillMovementRow(**r) for r in self.conn.execute(
            select(*_MOVEMENT_COLUMNS).where(till_movements.c.session_id == session_id)
            .order_by(till_movements.c.id)).mappings()]

    def sessions(self, store_id: str | None, *, lane_id: str | None, status: str | None,
                 limit: int = 100) -> list[TillSessionRow]:
        stmt = select(*_SESSION_COLUMNS).where(till_sessions.c.tenant_id == self.tenant_id,
                                               till_sessions.c.store_id == store_id)
        if lane_id:
            stmt = stmt.where(till_sessions.c.lane_id == lane_id)
        if status:
            stmt = stmt.where(till_sessions.c.status == status)
        return [TillSessionRow(**r) for r in self.conn.execute(stmt.order_by(till_sessions.c.id.desc()).limit(limit))
                .mappings()]

    # -- lanes' offline queues -------------------------------------------------------------------
    def report_queue(self, store_id: str, lane_id: str, queued: int, oldest: str | None, now: str) -> None:
        stmt = upsert(lane_queue_status).values(tenant_id=self.tenant_id, store_id=store_id, lane_id=lane_id,
                                                queued=queued,
                                                oldest_queued_at=oldest, reported_at=now)
        self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[lane_queue_status.c.tenant_id, lane_queue_status.c.store_id, lane_queue_status.c.lane_id],
            set_={"queued": queued, "oldest_queued_at": oldest, "reported_at": now}))

    def queues(self, store_id: str | None) -> list[LaneQueueRow]:
        return [LaneQueueRow(**r) for r in self.conn.execute(
            select(*_QUEUE_COLUMNS).where(lane_queue_status.c.tenant_id == self.tenant_id,
                                          lane_queue_status.c.store_id == store_id)
            .order_by(lane_queue_status.c.lane_id)).mappings()]


class SqlReviewsRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def open_case(self, uow: Any, kind: str, order_id: str | None, product_id: str | None, summary: str,
                  detail: dict[str, Any]) -> ReviewCaseRow:
        """Open a case and announce it (`review.opened`) in the caller's unit of work."""
        case = ReviewCaseRow(id=uuid7(), kind=kind, status="open", order_id=order_id, product_id=product_id,
                             summary=summary, detail=detail, created_at=uow.now)
        self.conn.execute(insert(review_cases).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(case)))
        uow.emit("review.opened", {"id": case.id, "kind": kind, "status": case.status, "order_id": order_id,
                                   "product_id": product_id, "summary": summary, "detail": detail,
                                   "created_at": case.created_at})
        return case

    def get(self, case_id: str) -> ReviewCaseRow | None:
        row = self.conn.execute(select(*_CASE_COLUMNS).where(review_cases.c.tenant_id == self.tenant_id,
                                                             review_cases.c.id == case_id)
                                ).mappings().first()
        return ReviewCaseRow(**row) if row else None

    def resolve(self, case_id: str, *, resolution: str, note: str | None, resolved_by: str, at: str) -> bool:
        """Open -> resolved exactly once; False if it was already resolved."""
        return self.conn.execute(update(review_cases).where(review_cases.c.tenant_id == self.tenant_id,
                                                            review_cases.c.id == case_id,
                                                            review_cases.c.status == "open")
                                 .values(status="resolved", resolution=resolution, note=note,
                                         resolved_by=resolved_by, resolved_at=at)).rowcount == 1

    def search(self, *, status: str | None, kind: str | None, after: str | None, limit: int) -> list[ReviewCaseRow]:
        stmt = select(*_CASE_COLUMNS).where(review_cases.c.tenant_id == self.tenant_id)
        if status:
            stmt = stmt.where(review_cases.c.status == status)
        if kind:
            stmt = stmt.where(review_cases.c.kind == kind)
        if after:
            stmt = stmt.where(review_cases.c.id > after)
        return [ReviewCaseRow(**r) for r in self.conn.execute(stmt.order_by(review_cases.c.id).limit(limit))
                .mappings()]
