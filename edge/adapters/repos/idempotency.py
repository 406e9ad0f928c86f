"""Stored responses of idempotent requests, scoped to (tenant, principal, route, key).

Every checkout looks its key up and stores its response, so both statements run prepared.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, insert, select

from edge.adapters import tables as t
from edge.adapters.repos.prepared import Prepared
from edge.service.ports import Actor
from edge.service.repository_ports import StoredResponse

idempotency_keys = t.idempotency_keys

_FIND = Prepared(
    select(idempotency_keys.c.body_sha256, idempotency_keys.c.status_code, idempotency_keys.c.response_body).where(
        idempotency_keys.c.tenant_id == bindparam("tenant_id"), idempotency_keys.c.principal == bindparam("principal"),
        idempotency_keys.c.route == bindparam("route"), idempotency_keys.c.key == bindparam("key")))
_SAVE = Prepared(insert(idempotency_keys))


class SqlIdempotencyRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn

    def find(self, scope: tuple[str, str, str, str]) -> StoredResponse | None:
        tenant_id, principal, route, key = scope
        row = _FIND.execute(self.conn, {"tenant_id": tenant_id, "principal": principal, "route": route,
                                        "key": key}).fetchone()
        if row is None:
            return None
        return StoredResponse(body_sha256=row[0], status_code=row[1], response_body=row[2])

    def save(self, scope: tuple[str, str, str, str], body_sha256: str, status: int, body: str, now: str) -> None:
        tenant_id, principal, route, key = scope
        _SAVE.execute(self.conn, {"tenant_id": tenant_id, "principal": principal, "route": route, "key": key,
                                  "body_sha256": body_sha256, "status_code": status, "response_body": body,
                                  "created_at": now})

    def purge_before(self, cutoff: str) -> int:
        return self.conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)).rowcount
