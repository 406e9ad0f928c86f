"""HQ's points ledger: projected from the stores' `loyalty.entry` events, summed into balances,
and watched for overdrafts.

Projection runs inside the ingest transaction (`cloud.projections.project_batch`): entries insert
with `ON CONFLICT DO NOTHING` on (tenant, entry_id), so a redelivered event or a replayed sale adds
nothing. Afterwards every customer whose entries just arrived is summed; one whose balance is now
below zero (two stores spent the same points while they could not reach HQ) gets one open
`loyalty_overdraft` case in the conflict queue (deduplicated per customer, so a third store's
late entry refreshes that case rather than opening another).

Resolutions: `claw_back` leaves the debt on the ledger (the customer's next earnings repay it;
stores refuse redemptions while the balance is not positive); `write_off` adds an HQ entry that
brings the balance back to zero (the tenant absorbs the points).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import msgspec
import structlog
from sqlalchemy import Connection, func, select

from cloud import audit, conflicts
from cloud.clock import iso, parse_iso
from cloud.errors import InvalidInput
from cloud.schema_loyalty import HQ_STORE, hq_loyalty_ledger
from edge.contracts.customers import LOYALTY_ENTRY, LoyaltyEntry
from edge.contracts.envelope import EventEnvelope
from edge.contracts.loyalty import TIER_KINDS, LoyaltyProgram

log = structlog.get_logger()

OVERDRAFT = "loyalty_overdraft"
MAX_ADJUST_POINTS = 1_000_000


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert ledger rows, skipping entry ids already held; returns the rows that were new."""
    if not rows:
        return []
    from cloud.projections import dialect_insert  # projections imports this module

    stmt = dialect_insert(conn, hq_loyalty_ledger).on_conflict_do_nothing(index_elements=["tenant_id", "entry_id"])
    new = {r.entry_id for r in conn.execute(stmt.returning(hq_loyalty_ledger.c.entry_id), rows)}
    return [r for r in rows if r["entry_id"] in new]


def project(conn: Connection, fresh: Iterable[EventEnvelope], received_at: str) -> None:
    """Project the batch's `loyalty.entry` events, then open cases for overdrawn customers."""
    rows: list[dict[str, Any]] = []
    for env in fresh:
        if env.type != LOYALTY_ENTRY:
            continue
        try:
            entry = msgspec.convert(env.payload, LoyaltyEntry)
        except msgspec.ValidationError as err:  # stored raw in `events`; nothing to project
            log.warning("loyalty.entry_unreadable", event_id=env.event_id, store_id=env.store_id, error=str(err))
            continue
        rows.append({"tenant_id": env.tenant_id, "entry_id": entry.entry_id, "customer_id": entry.customer_id,
                     "store_id": env.store_id, "order_id": entry.order_id, "kind": entry.kind,
                     "points": entry.points, "reason": entry.reason[:200], "at": entry.at or env.occurred_at,
                     "offline": entry.offline, "recorded_at": received_at})
    if not rows:
        return
    _pseudonymise_erased(conn, rows)
    new = _insert(conn, rows)
    by_tenant: dict[str, set[str]] = {}
    for r in new:
        by_tenant.setdefault(r["tenant_id"], set()).add(r["customer_id"])
    for tenant, customers in by_tenant.items():
        _check_overdrafts(conn, tenant, sorted(customers), received_at)


def _pseudonymise_erased(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """An entry a store sent before it applied an erasure arrives after HQ's: it lands under a
    fresh pseudonym, never under the erased customer's id."""
    from cloud.schema_customers import hq_customers

    for tenant in {r["tenant_id"] for r in rows}:
        ids = sorted({r["customer_id"] for r in rows if r["tenant_id"] == tenant})
        erased = set(conn.execute(select(hq_customers.c.customer_id).where(
            hq_customers.c.tenant_id == tenant, hq_customers.c.customer_id.in_(ids),
            hq_customers.c.erased_at.is_not(None))).scalars())
        pseudonyms = {cid: f"erased-{uuid.uuid4()}" for cid in erased}
        for r in rows:
            if r["tenant_id"] == tenant and r["customer_id"] in pseudonyms:
                r["customer_id"] = pseudonyms[r["customer_id"]]


def balances(conn: Connection, tenant_id: str, customer_ids: list[str]) -> dict[str, int]:
    rows = conn.execute(
        select(hq_loyalty_ledger.c.customer_id, func.sum(hq_loyalty_ledger.c.points))
        .where(hq_loyalty_ledger.c.tenant_id == tenant_id, hq_loyalty_ledger.c.customer_id.in_(customer_ids))
        .group_by(hq_loyalty_ledger.c.customer_id))
    found = {cid: int(total or 0) for cid, total in rows}
    return {cid: found.get(cid, 0) for cid in customer_ids}


def balance(conn: Connection, tenant_id: str, customer_id: str) -> int:
    return balances(conn, tenant_id, [customer_id])[customer_id]


def program(conn: Connection, tenant_id: str) -> LoyaltyProgram:
    """The tenant's loyalty program, from its `sales` policy document (the default when unset)."""
    from cloud.schema import tenant_policies

    doc = conn.execute(select(tenant_policies.c.document).where(tenant_policies.c.tenant_id == tenant_id,
                                                                tenant_policies.c.name == "sales")).scalar()
    try:
        return msgspec.convert((doc or {}).get("loyalty") or {}, LoyaltyProgram)
    except msgspec.ValidationError:
        return LoyaltyProgram()


def earned_in_window(conn: Connection, tenant_id: str, customer_ids: list[str], window_days: int,
                     now: str) -> dict[str, int]:
    """Points each customer earned at every store over the last `window_days` (earnings net of
    voids and clawbacks, never below zero): what the tier is computed from, by HQ and, through
    the rpc replies, by the stores."""
    since = iso(parse_iso(now) - timedelta(days=window_days))
    rows = conn.execute(
        select(hq_loyalty_ledger.c.customer_id, func.sum(hq_loyalty_ledger.c.points))
        .where(hq_loyalty_ledger.c.tenant_id == tenant_id, hq_loyalty_ledger.c.customer_id.in_(customer_ids),
               hq_loyalty_ledger.c.kind.in_(TIER_KINDS), hq_loyalty_ledger.c.at >= since)
        .group_by(hq_loyalty_ledger.c.customer_id)) if customer_ids else []
    found = {cid: max(int(total or 0), 0) for cid, total in rows}
    return {cid: found.get(cid, 0) for cid in customer_ids}


def ledger(conn: Connection, tenant_id: str, customer_id: str, limit: int = 500) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(hq_loyalty_ledger).where(hq_loyalty_ledger.c.tenant_id == tenant_id,
                                        hq_loyalty_ledger.c.customer_id == customer_id)
        .order_by(hq_loyalty_ledger.c.at, hq_loyalty_ledger.c.entry_id).limit(limit))
    return [{k: v for k, v in r._mapping.items() if k != "tenant_id"} for r in rows]


def _check_overdrafts(conn: Connection, tenant_id: str, customer_ids: list[str], now: str) -> None:
    overdrawn = {cid: total for cid, total in balances(conn, tenant_id, customer_ids).items() if total < 0}
    cases = []
    for customer_id, total in overdrawn.items():
        redemptions = [r for r in ledger(conn, tenant_id, customer_id) if r["kind"] == "redeem"]
        offline = [r for r in redemptions if r["offline"]]
        # The store whose redemption went over is who HQ asks first; the case names it.
        culprit = (offline or redemptions or [{"store_id": None}])[-1]["store_id"]
        cases.append(conflicts.Case(
            store_id=culprit, kind=OVERDRAFT, key=f"{OVERDRAFT}:{customer_id}",
            summary=f"customer {customer_id} overdrawn by {-total} points after stores redeemed the same points "
                    "while apart",
            detail={"customer_id": customer_id, "balance_points": total,
                    "stores": sorted({r["store_id"] for r in offline or redemptions}),
                    "redemptions": [{"entry_id": r["entry_id"], "store_id": r["store_id"], "order_id": r["order_id"],
                                     "points": r["points"], "at": r["at"], "offline": r["offline"]}
                                    for r in redemptions[-20:]]}))
        log.warning("loyalty.overdraft", tenant_id=tenant_id, customer_id=customer_id, balance_points=total)
    conflicts.raise_cases(conn, tenant_id, cases, now)


def record_hq_entry(conn: Connection, tenant_id: str, *, customer_id: str, kind: str, points: int, reason: str,
                    actor: str, now: str, entry_id: str | None = None) -> dict[str, Any]:
    """An entry HQ makes itself (an adjustment, a write-off), audited with the customer id only."""
    row = {"tenant_id": tenant_id, "entry_id": entry_id or f"hq:{uuid.uuid4()}", "customer_id": customer_id,
           "store_id": HQ_STORE, "order_id": None, "kind": kind, "points": points, "reason": reason,
           "at": now, "offline": False, "recorded_at": now}
    if _insert(conn, [row]):
        audit.record(conn, tenant_id, actor=actor, action=f"loyalty.{kind}", entity="customer",
                     entity_id=customer_id, before=None,
                     after={"entry_id": row["entry_id"], "points": points, "reason": reason}, at=now)
    return {k: v for k, v in row.items() if k != "tenant_id"} | {"balance_points": balance(conn, tenant_id,
                                                                                            customer_id)}


def adjust(conn: Connection, tenant_id: str, customer_id: str, *, points: int, reason: str, actor: str,
           now: str) -> dict[str, Any]:
    """A supervisor's correction at HQ: a signed number of points with a reason."""
    problems = []
    if not isinstance(points, int) or isinstance(points, bool) or points == 0 or abs(points) > MAX_ADJUST_POINTS:
        problems.append({"field": "points", "message": f"a whole number of points, not 0, at most {MAX_ADJUST_POINTS}"})
    if not reason.strip() or len(reason) > 200:
        problems.append({"field": "reason", "message": "say why, in at most 200 characters"})
    if problems:
        raise InvalidInput("the adjustment is not valid", problems)
    from cloud import customers  # it reads balances from here

    # An id HQ has not seen yet may be a sign-up still replicating: only an erased one is refused.
    if customers.is_erased(conn, tenant_id, customer_id):
        raise customers.CustomerNotFound("no such customer (erased)")
    entry = record_hq_entry(conn, tenant_id, customer_id=customer_id, kind="adjust", points=points,
                            reason=reason.strip(), actor=actor, now=now)
    _check_overdrafts(conn, tenant_id, [customer_id], now)
    return entry


def apply_resolution(conn: Connection, tenant_id: str, case: dict[str, Any], resolution: str, actor: str,
                     now: str) -> None:
    """What closing an overdraft case does to the ledger (called by `conflicts.resolve`)."""
    if resolution != "write_off":
        return  # claw_back: the debt stays; future earnings repay it
    customer_id = (case.get("detail") or {}).get("customer_id")
    if not customer_id:
        return
    owed = balance(conn, tenant_id, customer_id)
    if owed < 0:
        record_hq_entry(conn, tenant_id, customer_id=customer_id, kind="write_off", points=-owed,
                        reason=f"overdraft written off (case {case['id']})", actor=actor, now=now,
                        entry_id=f"write_off:{case['id']}")
