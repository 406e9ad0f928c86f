"""Idempotent partner writes: `Idempotency-Key` scoped to (tenant, app, route, key).

- The same key with the same body replays the stored answer with `Idempotent-Replayed: true`;
- the same key with another body is a 422; a write still in flight under the key is a 409
  (the second transaction's insert of the record conflicts and rolls back);
- no key is a 400. The record is written in the write's own transaction, so a replayed answer
  always describes a committed change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ValidationException
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from cloud.clock import now_iso
from cloud.db import set_tenant
from cloud.errors import HQError
from cloud.schema_partners import partner_idempotency

MAX_KEY = 200


class KeyReusedWithOtherBody(HQError):
    status, code, title = 422, "idempotency-key-reused", "Idempotency-Key reused"


class KeyInFlight(HQError):
    status, code, title = 409, "idempotency-key-in-flight", "Request in progress"


async def idempotent(request: Request, route: str, status: int,
                     write: Callable[[Connection], dict[str, Any]]) -> Response:
    key = request.headers.get("idempotency-key", "")
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ValidationException(f"an Idempotency-Key header (1-{MAX_KEY} printable characters) is required",
                                  extra=[{"key": "Idempotency-Key", "message": "missing or invalid"}])
    body_hash = hashlib.sha256(await request.body()).hexdigest()
    p = request.state.partner
    try:
        replayed, code, body = await request.app.state.db.write(
            _once, p.tenant_id, p.app_id, route, key, body_hash, status, write, tenant_id=p.tenant_id)
    except IntegrityError:
        raise KeyInFlight("another request with this Idempotency-Key is being processed; retry shortly") from None
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(body, status_code=code, headers=headers)


def _once(conn: Connection, tenant: str, app_id: str, route: str, key: str, body_hash: str, status: int,
          write: Callable[[Connection], dict[str, Any]]) -> tuple[bool, int, dict[str, Any]]:
    set_tenant(conn, tenant)
    t = partner_idempotency.c
    row = conn.execute(select(partner_idempotency).where(t.tenant_id == tenant, t.app_id == app_id, t.route == route,
                                                         t.idem_key == key)).first()
    if row is not None:
        if row.body_hash != body_hash:
            raise KeyReusedWithOtherBody("this Idempotency-Key was used with a different body")
        return True, int(row.status_code), dict(row.response)
    body = write(conn)
    conn.execute(partner_idempotency.insert().values(tenant_id=tenant, app_id=app_id, route=route, idem_key=key,
                                                     body_hash=body_hash, status_code=status, response=body,
                                                     created_at=now_iso()))
    return False, status, body
