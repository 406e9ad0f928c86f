"""Reading the audit log (writing happens only through the unit of work)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from edge.adapters import tables as t
from edge.service.ports import Actor
from edge.service.repository_ports import AuditEntry

audit_log = t.audit_log
_COLUMNS = [audit_log.c[name] for name in AuditEntry.__struct_fields__]


class SqlAuditLogRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def query(self, *, entity: str | None = None, entity_id: str | None = None, actor: str | None = None,
              action: str | None = None, lane_id: str | None = None, since: str | None = None,
              until: str | None = None, before_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
        stmt = select(*_COLUMNS).where(audit_log.c.tenant_id == self.tenant_id)
        for column, value in ((audit_log.c.entity, entity), (audit_log.c.entity_id, entity_id),
                              (audit_log.c.actor, actor), (audit_log.c.lane_id, lane_id)):
            if value is not None:
                stmt = stmt.where(column == value)
        if action is not None:
            stmt = stmt.where(audit_log.c.action.like(action.replace("*", "%")))
        if since is not None:
            stmt = stmt.where(audit_log.c.at >= since)
        if until is not None:
            stmt = stmt.where(audit_log.c.at < until)
        if before_id is not None:
            stmt = stmt.where(audit_log.c.id < before_id)
        rows = self.conn.execute(stmt.order_by(audit_log.c.id.desc()).limit(limit)).mappings()
        return [AuditEntry(**r) for r in rows]
