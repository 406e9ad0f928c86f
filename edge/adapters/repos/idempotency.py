"""Stored responses of idempotent requests, scoped to (tenant, principal, route, key)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from edge.adapters import tables as t
from edge.adapters.uow import repository
from edge.service.ports import Actor

K = t.idempotency_keys


@repository("idempotency")
class IdempotencyRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn

    def find(self, scope: tuple[str, str, str, str]) -> dict[str, Any] | None:
        tenant_id, principal, route, key = scope
        row = self.conn.execute(select(K).where(K.c.tenant_id == tenant_id, K.c.principal == principal,
                                                K.c.route == route, K.c.key == key)).mappings().first()
        return dict(row) if row else None

    def save(self, scope: tuple[str, str, str, str], body_sha256: str, status: int, body: str, now: str) -> None:
        tenant_id, principal, route, key = scope
        self.conn.execute(insert(K).values(tenant_id=tenant_id, principal=principal, route=route, key=key,
                                           body_sha256=body_sha256, status_code=status, response_body=body,
                                           created_at=now))

    def purge_before(self, cutoff: str) -> int:
        return self.conn.execute(delete(K).where(K.c.created_at < cutoff)).rowcount
