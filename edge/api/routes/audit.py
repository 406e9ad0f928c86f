"""The audit trail, filtered for managers."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from edge.api.deps import actor, check_limit, decode_cursor, encode_cursor, services
from edge.api.guards import AUDIT_READ, requires
from edge.service.repository_ports import AuditEntry


def present_audit(row: AuditEntry) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "actor": row.actor, "action": row.action, "entity": row.entity,
            "entity_id": row.entity_id, "before": row.before, "after": row.after, "lane_id": row.lane_id,
            "device_id": row.device_id, "request_id": row.request_id}


@get("/api/v1/audit", guards=[requires(*AUDIT_READ)], operation_id="listAudit")
async def list_audit(request: Request, entity: str | None = None, entity_id: str | None = None,
                     actor_name: str | None = None, action: str | None = None, lane_id: str | None = None,
                     from_: str | None = None, to: str | None = None, cursor: str | None = None,
                     limit: int = 100) -> dict[str, Any]:
    check_limit(limit)
    params = request.query_params
    actor_filter = actor_name or params.get("actor")
    since = from_ or params.get("from")
    before_id = decode_cursor(cursor, int)
    rows = await services(request).uow.read(actor(request), lambda u: u.audit_log.query(
        entity=entity, entity_id=entity_id, actor=actor_filter, action=action, lane_id=lane_id, since=since,
        until=to, before_id=before_id, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [present_audit(r) for r in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}


ROUTES = [list_audit]
