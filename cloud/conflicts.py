"""The HQ conflict queue: cases raised by projections and sweeps; list, assign, resolve, audited.

One open case per `dedup_key` (e.g. `negative_stock:<location>:<sku>`): a repeat updates the
open case's detail instead of flooding the queue; once resolved, a new occurrence opens a new
case. Every state change writes a `conflict_audit` row in the same transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud.schema import conflict_audit, conflicts, transfers

STATUSES = ("open", "assigned", "resolved")


class ConflictNotFound(LookupError):
    pass


class InvalidTransition(ValueError):
    pass


async def raise_case(
    conn: AsyncConnection,
    tenant_id: str,
    store_id: str | None,
    *,
    kind: str,
    key: str,
    summary: str,
    detail: dict[str, Any],
    now: str,
) -> str:
    existing = (
        await conn.execute(
            select(conflicts.c.id).where(
                conflicts.c.tenant_id == tenant_id,
                conflicts.c.dedup_key == key,
                conflicts.c.status != "resolved",
            )
        )
    ).first()
    if existing is not None:
        await conn.execute(
            update(conflicts)
            .where(conflicts.c.id == existing.id)
            .values(summary=summary, detail=detail, updated_at=now)
        )
        return existing.id
    case_id = str(uuid.uuid4())
    await conn.execute(
        insert(conflicts).values(
            id=case_id,
            tenant_id=tenant_id,
            store_id=store_id,
            kind=kind,
            dedup_key=key,
            status="open",
            summary=summary,
            detail=detail,
            created_at=now,
            updated_at=now,
        )
    )
    await _audit(conn, tenant_id, case_id, now, "system", "raised", {"kind": kind, "summary": summary})
    return case_id


async def list_cases(
    conn: AsyncConnection,
    tenant_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    store_id: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    q = select(conflicts).where(conflicts.c.tenant_id == tenant_id)
    if status:
        q = q.where(conflicts.c.status == status)
    if kind:
        q = q.where(conflicts.c.kind == kind)
    if store_id:
        q = q.where(conflicts.c.store_id == store_id)
    rows = await conn.execute(q.order_by(conflicts.c.created_at.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def get_case(conn: AsyncConnection, tenant_id: str, case_id: str) -> dict[str, Any]:
    row = (
        await conn.execute(select(conflicts).where(conflicts.c.tenant_id == tenant_id, conflicts.c.id == case_id))
    ).first()
    if row is None:
        raise ConflictNotFound(case_id)
    case = dict(row._mapping)
    audit = await conn.execute(
        select(conflict_audit)
        .where(conflict_audit.c.tenant_id == tenant_id, conflict_audit.c.conflict_id == case_id)
        .order_by(conflict_audit.c.at, conflict_audit.c.id)
    )
    case["audit"] = [{"at": a.at, "actor": a.actor, "action": a.action, "detail": a.detail} for a in audit]
    return case


async def assign(conn: AsyncConnection, tenant_id: str, case_id: str, assignee: str, actor: str, now: str) -> None:
    case = await get_case(conn, tenant_id, case_id)
    if case["status"] == "resolved":
        raise InvalidTransition("a resolved case cannot be reassigned")
    await conn.execute(
        update(conflicts)
        .where(conflicts.c.id == case_id, conflicts.c.tenant_id == tenant_id)
        .values(status="assigned", assignee=assignee, updated_at=now)
    )
    await _audit(conn, tenant_id, case_id, now, actor, "assigned", {"assignee": assignee, "was": case["assignee"]})


async def resolve(conn: AsyncConnection, tenant_id: str, case_id: str, resolution: str, actor: str, now: str) -> None:
    case = await get_case(conn, tenant_id, case_id)
    if case["status"] == "resolved":
        raise InvalidTransition("the case is already resolved")
    await conn.execute(
        update(conflicts)
        .where(conflicts.c.id == case_id, conflicts.c.tenant_id == tenant_id)
        .values(status="resolved", resolution=resolution, updated_at=now)
    )
    await _audit(conn, tenant_id, case_id, now, actor, "resolved", {"resolution": resolution})


async def pending_by_store(conn: AsyncConnection, tenant_id: str) -> dict[str, int]:
    rows = await conn.execute(
        select(conflicts.c.store_id, func.count())
        .where(conflicts.c.tenant_id == tenant_id, conflicts.c.status != "resolved")
        .group_by(conflicts.c.store_id)
    )
    return {r[0]: int(r[1]) for r in rows}


async def sweep_transfers(conn: AsyncConnection, tenant_id: str, *, cutoff: str, now: str) -> int:
    """Raise a case for each transfer shipped before `cutoff` (ISO time) and not fully received."""
    rows = await conn.execute(
        select(transfers).where(
            transfers.c.tenant_id == tenant_id,
            transfers.c.status != "received",
            transfers.c.out_at.is_not(None),
            transfers.c.out_at < cutoff,
        )
    )
    raised = 0
    for t in rows.all():
        await conn.execute(
            update(transfers)
            .where(
                transfers.c.tenant_id == tenant_id,
                transfers.c.transfer_id == t.transfer_id,
                transfers.c.sku == t.sku,
            )
            .values(status="overdue")
        )
        await raise_case(
            conn,
            tenant_id,
            None,
            kind="transfer_unreceived",
            key=f"transfer:{t.transfer_id}:{t.sku}",
            summary=f"transfer {t.transfer_id}: {t.qty_out - t.qty_in} of {t.sku} shipped from "
            f"{t.from_location} not received",
            detail={
                "transfer_id": t.transfer_id,
                "sku": t.sku,
                "from_location": t.from_location,
                "to_location": t.to_location,
                "qty_out": t.qty_out,
                "qty_in": t.qty_in,
                "out_at": t.out_at,
            },
            now=now,
        )
        raised += 1
    return raised


async def _audit(
    conn: AsyncConnection,
    tenant_id: str,
    case_id: str,
    at: str,
    actor: str,
    action: str,
    detail: dict[str, Any] | None,
) -> None:
    await conn.execute(
        insert(conflict_audit).values(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            conflict_id=case_id,
            at=at,
            actor=actor,
            action=action,
            detail=detail,
        )
    )
