"""The HQ audit trail: one row per change, inside the transaction that made it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud.schema import hq_audit


def record(conn: Connection, tenant_id: str, *, actor: str, action: str, entity: str, entity_id: str | None,
           before: Any, after: Any, at: str) -> None:
    conn.execute(hq_audit.insert().values(id=str(uuid.uuid4()), tenant_id=tenant_id, at=at, actor=actor,
                                          action=action, entity=entity, entity_id=entity_id, before=before,
                                          after=after))


async def trail(conn: AsyncConnection, tenant_id: str, entity: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(hq_audit).where(hq_audit.c.tenant_id == tenant_id, hq_audit.c.entity == entity)
        .order_by(hq_audit.c.at.desc()).limit(limit)
    )
    return [{k: v for k, v in r._mapping.items() if k != "tenant_id"} for r in rows]
