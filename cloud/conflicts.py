"""The HQ conflict queue: cases raised by projections and sweeps; list, assign, resolve, audited.

One open case per `dedup_key` (e.g. `negative_stock:<location>:<sku>`): a repeat updates the
open case's detail instead of flooding the queue; once resolved, a new occurrence opens a new
case. Every state change writes a `conflict_audit` row in the same transaction.

These are sync Core functions: projections call them inside the ingest transaction, the API
through `CloudDB.write` (writes) or `AsyncConnection.run_sync` (reads).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from cloud import conflict_resolutions
from cloud.schema import conflict_audit, conflicts, transfers

STATUSES = ("open", "assigned", "resolved")


class ConflictNotFound(LookupError):
    pass


class InvalidTransition(ValueError):
    pass


@dataclass(frozen=True)
class Case:
    """A case to raise: `key` dedups it against the open case with the same key."""

    store_id: str | None
    kind: str
    key: str
    summary: str
    detail: dict[str, Any]


def raise_case(
    conn: Connection,
    tenant_id: str,
    store_id: str | None,
    *,
    kind: str,
    key: str,
    summary: str,
    detail: dict[str, Any],
    now: str,
) -> str:
    return raise_cases(conn, tenant_id, [Case(store_id, kind, key, summary, detail)], now)[0]


def raise_cases(conn: Connection, tenant_id: str, cases: list[Case], now: str) -> list[str]:
    """Open or refresh many cases in a few statements (ingest raises one per negative level)."""
    if not cases:
        return []
    latest = {c.key: c for c in cases}  # the same key twice: the later reading wins
    open_ids = _refresh_open(conn, tenant_id, latest, now)
    opened = {k: str(uuid.uuid4()) for k in latest if k not in open_ids}
    if opened:
        # Another HQ instance may open the same key between the read above and this insert:
        # `uq_conflicts_open` makes this insert wait for that transaction, then skip the row.
        inserted = set(conn.execute(_open_insert(conn.dialect.name), [
            {
                "id": case_id,
                "tenant_id": tenant_id,
                "store_id": latest[k].store_id,
                "kind": latest[k].kind,
                "dedup_key": k,
                "status": "open",
                "summary": latest[k].summary,
                "detail": latest[k].detail,
                "created_at": now,
                "updated_at": now,
            }
            for k, case_id in opened.items()
        ]).scalars())
        raced = {k: latest[k] for k, case_id in opened.items() if case_id not in inserted}
        if raced:  # the other instance's case is open now: refresh it, as if it had been read above
            open_ids |= _refresh_open(conn, tenant_id, raced, now)
            # ...unless it was resolved in the meantime: then this reading opens a new case.
            if again := [c for k, c in raced.items() if k not in open_ids]:
                open_ids |= dict(zip((c.key for c in again), raise_cases(conn, tenant_id, again, now), strict=True))
        opened = {k: case_id for k, case_id in opened.items() if case_id in inserted}
        if opened:
            conn.execute(
                insert(conflict_audit),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "tenant_id": tenant_id,
                        "conflict_id": case_id,
                        "at": now,
                        "actor": "system",
                        "action": "raised",
                        "detail": {"kind": latest[k].kind, "summary": latest[k].summary},
                    }
                    for k, case_id in opened.items()
                ],
            )
    return [open_ids.get(c.key) or opened[c.key] for c in cases]


def _refresh_open(conn: Connection, tenant_id: str, latest: dict[str, Case], now: str) -> dict[str, str]:
    """Update the open case of each key with its latest reading; returns {key: case id} of those open."""
    open_ids = {r.dedup_key: r.id for r in conn.execute(_OPEN_OF, {"tenant": tenant_id, "keys": list(latest)})}
    if open_ids:
        conn.execute(
            _REFRESH,
            [{"case_id": case_id, "summary": latest[k].summary, "detail": latest[k].detail, "at": now}
             for k, case_id in open_ids.items()],
        )
    return open_ids


# Built once: ingest refreshes every open negative-stock case it touches on each batch, and
# constructing these statements per call was a visible share of its CPU.
_OPEN_OF = select(conflicts.c.id, conflicts.c.dedup_key).where(
    conflicts.c.tenant_id == bindparam("tenant"),
    conflicts.c.dedup_key.in_(bindparam("keys", expanding=True)),
    conflicts.c.status != "resolved",
)
_REFRESH = (
    update(conflicts)
    .where(conflicts.c.id == bindparam("case_id"))
    .values(summary=bindparam("summary"), detail=bindparam("detail"), updated_at=bindparam("at"))
)
_OPEN_INSERTS: dict[str, Any] = {}


def _open_insert(dialect: str) -> Any:
    """`INSERT ... ON CONFLICT (tenant_id, dedup_key) WHERE status != 'resolved' DO NOTHING RETURNING id`."""
    stmt = _OPEN_INSERTS.get(dialect)
    if stmt is None:
        stmt = _OPEN_INSERTS[dialect] = (
            (postgresql.insert if dialect == "postgresql" else sqlite.insert)(conflicts)
            .on_conflict_do_nothing(index_elements=["tenant_id", "dedup_key"],
                                    index_where=text("status != 'resolved'"))
            .returning(conflicts.c.id)
        )
    return stmt


def list_cases(
    conn: Connection,
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
    cases = [_with_choices(dict(r._mapping)) for r in conn.execute(q.order_by(conflicts.c.created_at.desc()).limit(limit))]
    resolved = [c["id"] for c in cases if c["status"] == "resolved"]
    notes: dict[str, str] = {}
    if resolved:  # the closing note lives in the case trail; one read for the whole page
        trail = conn.execute(
            select(conflict_audit.c.conflict_id, conflict_audit.c.detail).where(
                conflict_audit.c.tenant_id == tenant_id, conflict_audit.c.conflict_id.in_(resolved),
                conflict_audit.c.action == "resolved")
        )
        notes = {cid: detail["note"] for cid, detail in trail if isinstance(detail, dict) and detail.get("note")}
    for case in cases:
        case["resolution_note"] = notes.get(case["id"])
    return cases


def _with_choices(case: dict[str, Any]) -> dict[str, Any]:
    """The resolutions a case of this kind allows, and the words for the one it has."""
    case["resolutions"] = conflict_resolutions.choices(case["kind"])
    case["resolution_label"] = conflict_resolutions.label(case["kind"], case["resolution"])
    return case


def get_case(conn: Connection, tenant_id: str, case_id: str) -> dict[str, Any]:
    row = (conn.execute(select(conflicts).where(conflicts.c.tenant_id == tenant_id, conflicts.c.id == case_id))).first()
    if row is None:
        raise ConflictNotFound(case_id)
    case = _with_choices(dict(row._mapping))
    audit = conn.execute(
        select(conflict_audit)
        .where(conflict_audit.c.tenant_id == tenant_id, conflict_audit.c.conflict_id == case_id)
        .order_by(conflict_audit.c.at, conflict_audit.c.id)
    )
    case["audit"] = [{"at": a.at, "actor": a.actor, "action": a.action, "detail": a.detail} for a in audit]
    return case


def assign(
    conn: Connection, tenant_id: str, case_id: str, assignee: str, actor: str, now: str, note: str | None = None
) -> dict[str, Any]:
    """Hand the case to `assignee`, a user of the tenant (the caller checks: users are global
    rows this tenant-scoped transaction does not read)."""
    case = get_case(conn, tenant_id, case_id)
    if case["status"] == "resolved":
        raise InvalidTransition("a resolved case cannot be reassigned")
    conn.execute(
        update(conflicts)
        .where(conflicts.c.id == case_id, conflicts.c.tenant_id == tenant_id)
        .values(status="assigned", assignee=assignee, updated_at=now)
    )
    _audit(conn, tenant_id, case_id, now, actor, "assigned",
           {"assignee": assignee, "was": case["assignee"], **({"note": note} if note else {})})
    return get_case(conn, tenant_id, case_id)


def resolve(
    conn: Connection, tenant_id: str, case_id: str, resolution: str, actor: str, now: str, note: str | None = None
) -> dict[str, Any]:
    """Close the case with one of its kind's resolutions; the note goes to the case trail."""
    case = get_case(conn, tenant_id, case_id)
    if case["status"] == "resolved":
        raise InvalidTransition("the case is already resolved")
    conflict_resolutions.check(case["kind"], resolution)
    if case["kind"] == "loyalty_overdraft":  # its resolutions write to the points ledger
        from cloud import loyalty  # loyalty raises its cases through this module

        loyalty.apply_resolution(conn, tenant_id, case, resolution, actor, now)
    conn.execute(
        update(conflicts)
        .where(conflicts.c.id == case_id, conflicts.c.tenant_id == tenant_id)
        .values(status="resolved", resolution=resolution, updated_at=now)
    )
    _audit(conn, tenant_id, case_id, now, actor, "resolved",
           {"resolution": resolution, **({"note": note} if note else {})})
    return get_case(conn, tenant_id, case_id)


def pending_by_store(conn: Connection, tenant_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(conflicts.c.store_id, func.count())
        .where(conflicts.c.tenant_id == tenant_id, conflicts.c.status != "resolved")
        .group_by(conflicts.c.store_id)
    )
    return {r[0]: int(r[1]) for r in rows}


def sweep_transfers(conn: Connection, tenant_id: str, *, cutoff: str, now: str) -> int:
    """Raise a case for each transfer shipped before `cutoff` (ISO time) and not fully received."""
    rows = conn.execute(
        select(transfers).where(
            transfers.c.tenant_id == tenant_id,
            transfers.c.status != "received",
            transfers.c.out_at.is_not(None),
            transfers.c.out_at < cutoff,
        )
    )
    raised = 0
    for t in rows.all():
        conn.execute(
            update(transfers)
            .where(
                transfers.c.tenant_id == tenant_id,
                transfers.c.transfer_id == t.transfer_id,
                transfers.c.sku == t.sku,
            )
            .values(status="overdue")
        )
        raise_case(
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


def _audit(
    conn: Connection,
    tenant_id: str,
    case_id: str,
    at: str,
    actor: str,
    action: str,
    detail: dict[str, Any] | None,
) -> None:
    conn.execute(
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
