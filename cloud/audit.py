"""HQ's audit trail for trust-boundary changes: who did what to which entity, before and after.

Written in the caller's transaction (`fn(conn, ...)` under `CloudDB.write`), so an audited
change and its audit row commit together or not at all.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert, select

from cloud.schema import hq_audit


def record(
    conn: Connection,
    tenant_id: str,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    at: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(hq_audit).values(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )


def entries(conn: Connection, tenant_id: str, *, entity: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = select(hq_audit).where(hq_audit.c.tenant_id == tenant_id)
    if entity:
        query = query.where(hq_audit.c.entity == entity)
    rows = conn.execute(query.order_by(hq_audit.c.at.desc(), hq_audit.c.id).limit(limit))
    return [
        {"at": r.at, "actor": r.actor, "action": r.action, "entity": r.entity, "entity_id": r.entity_id,
         "before": r.before, "after": r.after}
        for r in rows
    ]
