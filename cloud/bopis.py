"""BOPIS allocation and status: HQ reserves at a store with availability; the store answers.

The store owns its stock, so HQ only *asks* (`bopis.reserve` command). The store then reports
every step as a `bopis.<status>` event (`edge.contracts.bopis.PickupStatusChanged`):
received, accepted (stock held), picked, ready, completed (a sale), cancelled or expired, or
rejected with a reason. A rejection re-routes the order to the next store with enough reported
stock that has not yet rejected it; when none is left the order is cancelled and a case opens
for HQ follow-up. All of this happens in the ingest transaction; the re-route command goes out
through the cloud's command outbox (cloud.commands), so it is sent even if NATS is down now.

Every status an order takes passes through `status_changed`, which records it in the order's
history; it is the one place that tells the outside world (partner webhooks) about it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, func, select, update

from cloud import commands, conflicts, webhooks_bopis
from cloud.errors import HQError
from cloud.schema import bopis_orders, stock_levels
from cloud.schema_bopis import bopis_history, bopis_terms
from edge.contracts.bopis import PickupStatusChanged
from edge.contracts.bounds import MAX_LINE_QUANTITY
from edge.contracts.envelope import EventEnvelope

MAX_BOPIS_LINES = 100  # a web order's lines; each line is at most MAX_LINE_QUANTITY units
DEFAULT_HOLD_HOURS = 72

# HQ's statuses: `reserved` while a store is being asked, then what the store reported.
WAITING = ("reserved", "received")
IN_PROGRESS = ("reserved", "received", "accepted", "picked", "ready")
FINAL = ("completed", "cancelled", "expired")
# Store statuses HQ follows as they come (a rejection is routed instead, see on_store_answer).
FOLLOWED = ("received", "accepted", "picked", "ready", "completed", "cancelled", "expired")


class BopisOrderExists(Exception):
    """An order id already placed: placing it again would allocate stock twice."""


class InvalidBopisLines(ValueError):
    """Lines that no store could fill: none, too many, or a quantity outside 1..MAX_LINE_QUANTITY."""


class BopisNotCancellable(HQError):
    """An order already completed, cancelled or expired: there is nothing left to cancel."""

    status, code, title = 409, "bopis-not-cancellable", "Order already closed"


class BopisNotFound(HQError):
    status, code, title = 404, "bopis-order-not-found", "No such BOPIS order"


def candidate_stores(conn: Connection, tenant_id: str, lines: list[dict[str, Any]], exclude: list[str]) -> list[str]:
    """Stores whose reported on-hand covers every line, best-stocked first."""
    skus = [str(line["sku"]) for line in lines]
    rows = conn.execute(
        select(stock_levels.c.store_id, stock_levels.c.sku, func.sum(stock_levels.c.on_hand))
        .where(stock_levels.c.tenant_id == tenant_id, stock_levels.c.sku.in_(skus))
        .group_by(stock_levels.c.store_id, stock_levels.c.sku)
    )
    have: dict[str, dict[str, int]] = {}
    for store, sku, qty in rows:
        have.setdefault(store, {})[sku] = int(qty)
    ok = [
        store
        for store, stock in have.items()
        if store not in exclude and all(stock.get(str(ln["sku"]), 0) >= int(ln["quantity"]) for ln in lines)
    ]
    return sorted(ok, key=lambda s: (-sum(have[s].values()), s))


def place(
    conn: Connection,
    tenant_id: str,
    order_id: str,
    lines: list[dict[str, Any]],
    *,
    actor: str,
    now: str,
    prepaid: bool = False,
    hold_hours: int = DEFAULT_HOLD_HOURS,
) -> dict[str, Any]:
    """Place a web order for pickup: allocate it to the best-stocked store and ask that store.
    `prepaid`: paid online, so the store hands it over as a sale tendered `prepaid`."""
    if not 1 <= len(lines) <= MAX_BOPIS_LINES or not all(1 <= int(ln["quantity"]) <= MAX_LINE_QUANTITY for ln in lines):
        raise InvalidBopisLines(f"1 to {MAX_BOPIS_LINES} lines of 1 to {MAX_LINE_QUANTITY} units each")
    existing = conn.execute(
        select(bopis_orders.c.order_id).where(bopis_orders.c.tenant_id == tenant_id, bopis_orders.c.order_id == order_id)
    ).first()
    if existing is not None:
        raise BopisOrderExists(order_id)
    stores = candidate_stores(conn, tenant_id, lines, exclude=[])
    status, store = ("reserved", stores[0]) if stores else ("cancelled", None)
    conn.execute(
        bopis_orders.insert().values(
            tenant_id=tenant_id,
            order_id=order_id,
            lines=lines,
            store_id=store,
            tried=[],
            status=status,
            updated_at=now,
        )
    )
    conn.execute(bopis_terms.insert().values(tenant_id=tenant_id, order_id=order_id, prepaid=prepaid,
                                             hold_hours=hold_hours, placed_at=now, placed_by=actor))
    status_changed(conn, tenant_id, order_id, "placed", store_id=None, at=now, detail={"prepaid": prepaid})
    if store:
        _ask(conn, tenant_id, store, order_id, lines, actor=actor, now=now)
        status_changed(conn, tenant_id, order_id, "reserved", store_id=store, at=now)
    else:
        status_changed(conn, tenant_id, order_id, "cancelled", store_id=None, at=now, reason="no store has the stock")
    return get(conn, tenant_id, order_id)


def _ask(conn: Connection, tenant_id: str, store: str, order_id: str, lines: list[dict[str, Any]], *, actor: str,
         now: str) -> None:
    terms = _terms(conn, tenant_id, order_id)
    commands.issue(
        conn,
        tenant_id,
        store,
        "bopis.reserve",
        {"order_id": order_id, "lines": lines, "prepaid": bool(terms.get("prepaid")),
         "hold_hours": int(terms.get("hold_hours") or DEFAULT_HOLD_HOURS)},
        actor=actor,
        now=now,
    )


def _terms(conn: Connection, tenant_id: str, order_id: str) -> dict[str, Any]:
    row = conn.execute(select(bopis_terms).where(bopis_terms.c.tenant_id == tenant_id,
                                                 bopis_terms.c.order_id == order_id)).first()
    return dict(row._mapping) if row else {}


def status_changed(
    conn: Connection,
    tenant_id: str,
    order_id: str,
    status: str,
    *,
    store_id: str | None,
    at: str,
    reason: str | None = None,
    event_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one status of a BOPIS order in its history, in the caller's transaction.

    Every status an order takes (placed, reserved, received, accepted, rejected, picked, ready,
    completed, cancelled, expired) comes through here once, so this is where anything that
    tells the outside world about it (partner webhooks, `bopis.<status>`) is enqueued."""
    n = conn.execute(select(func.count()).select_from(bopis_history).where(
        bopis_history.c.tenant_id == tenant_id, bopis_history.c.order_id == order_id)).scalar() or 0
    conn.execute(bopis_history.insert().values(id=str(uuid.uuid4()), tenant_id=tenant_id, order_id=order_id,
                                               n=int(n) + 1, status=status, store_id=store_id, reason=reason, at=at,
                                               event_id=event_id, detail=detail))
    webhooks_bopis.notify(conn, tenant_id, order_id, status, int(n) + 1,
                          placed_by=_terms(conn, tenant_id, order_id).get("placed_by"), store_id=store_id, at=at,
                          reason=reason, detail=detail)


def get(conn: Connection, tenant_id: str, order_id: str) -> dict[str, Any]:
    row = (
        conn.execute(
            select(bopis_orders).where(bopis_orders.c.tenant_id == tenant_id, bopis_orders.c.order_id == order_id)
        )
    ).first()
    if row is None:
        raise LookupError(order_id)
    return dict(row._mapping)


def cancel(conn: Connection, tenant_id: str, order_id: str, *, reason: str | None, actor: str, now: str
           ) -> dict[str, Any]:
    """HQ (the web shop) withdraws an order: the store serving it is told to release the stock."""
    try:
        order = get(conn, tenant_id, order_id)
    except LookupError:
        raise BopisNotFound(f"no BOPIS order {order_id}") from None
    if order["status"] not in IN_PROGRESS:
        raise BopisNotCancellable(f"BOPIS order {order_id} is {order['status']}")
    key = (bopis_orders.c.tenant_id == tenant_id, bopis_orders.c.order_id == order_id)
    conn.execute(update(bopis_orders).where(*key).values(status="cancelled", updated_at=now))
    if order["store_id"]:
        commands.issue(conn, tenant_id, order["store_id"], "bopis.cancel", {"order_id": order_id, "reason": reason},
                       actor=actor, now=now)
    status_changed(conn, tenant_id, order_id, "cancelled", store_id=order["store_id"], at=now, reason=reason,
                   detail={"by": actor})
    return get(conn, tenant_id, order_id)


def on_store_answer(conn: Connection, env: EventEnvelope, now: str) -> None:
    """A store reported a step of an order HQ allocated to it (ingest, new events only)."""
    report = _report(env.payload)
    try:
        order = get(conn, env.tenant_id, report.order_id)
    except LookupError:
        return  # not an HQ allocation (or another tenant's): nothing to route
    status = env.type.removeprefix("bopis.")
    if order["store_id"] != env.store_id or order["status"] in FINAL:
        return  # a late answer from a store we already moved away from, or an order already closed
    key = (bopis_orders.c.tenant_id == env.tenant_id, bopis_orders.c.order_id == order["order_id"])
    if status in FOLLOWED:
        conn.execute(update(bopis_orders).where(*key).values(status=status, updated_at=now))
        if status == "completed":
            conn.execute(update(bopis_terms).where(bopis_terms.c.tenant_id == env.tenant_id,
                                                   bopis_terms.c.order_id == order["order_id"])
                         .values(sale_store_id=env.store_id, sale_order_id=report.sale_order_id,
                                 sale_total_cents=report.total_cents))
        status_changed(conn, env.tenant_id, order["order_id"], status, store_id=env.store_id, at=env.occurred_at,
                       reason=report.reason, event_id=env.event_id,
                       detail={"sale_order_id": report.sale_order_id, "total_cents": report.total_cents}
                       if status == "completed" else None)
        return
    if status != "rejected" or order["status"] not in WAITING:
        return
    status_changed(conn, env.tenant_id, order["order_id"], "rejected", store_id=env.store_id, at=env.occurred_at,
                   reason=report.reason, event_id=env.event_id)
    _reroute(conn, env, order, report.reason, now)


def _report(payload: dict[str, Any]) -> PickupStatusChanged:
    """The store's report, read tolerantly: an older store sent only order_id and reason."""
    def text(key: str) -> str | None:
        value = payload.get(key)
        return str(value) if value is not None else None

    total = payload.get("total_cents")
    return PickupStatusChanged(order_id=text("order_id") or "", status=text("status") or "",
                               reason=text("reason"), sale_order_id=text("sale_order_id"),
                               total_cents=total if isinstance(total, int) and not isinstance(total, bool) else None,
                               prepaid=payload.get("prepaid") is True)


def _reroute(conn: Connection, env: EventEnvelope, order: dict[str, Any], reason: str | None, now: str) -> None:
    order_id = order["order_id"]
    key = (bopis_orders.c.tenant_id == env.tenant_id, bopis_orders.c.order_id == order_id)
    tried = [*order["tried"], env.store_id]
    stores = candidate_stores(conn, env.tenant_id, order["lines"], exclude=tried)
    if stores:
        conn.execute(update(bopis_orders).where(*key).values(store_id=stores[0], tried=tried, status="reserved",
                                                             updated_at=now))
        _ask(conn, env.tenant_id, stores[0], order_id, order["lines"], actor="system", now=now)
        status_changed(conn, env.tenant_id, order_id, "reserved", store_id=stores[0], at=now,
                       detail={"rerouted_from": env.store_id})
        return
    conn.execute(
        update(bopis_orders).where(*key).values(status="cancelled", store_id=None, tried=tried, updated_at=now)
    )
    status_changed(conn, env.tenant_id, order_id, "cancelled", store_id=None, at=now,
                   reason="every store with stock rejected it")
    conflicts.raise_case(
        conn,
        env.tenant_id,
        env.store_id,
        kind="bopis",
        key=f"bopis:{order_id}",
        summary=f"BOPIS order {order_id} cancelled: every store with stock rejected it",
        detail={"order_id": order_id, "tried": tried, "reason": reason},
        now=now,
    )


def history(conn: Connection, tenant_id: str, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(bopis_history).where(bopis_history.c.tenant_id == tenant_id,
                                                    bopis_history.c.order_id == order_id)
                        .order_by(bopis_history.c.n))
    return [{k: v for k, v in r._mapping.items() if k not in ("tenant_id", "id", "n")} for r in rows]


def detail(conn: Connection, tenant_id: str, order_id: str) -> dict[str, Any]:
    """An order as HQ and the partner see it: where it stands, its terms, and its history."""
    try:
        order = get(conn, tenant_id, order_id)
    except LookupError:
        raise BopisNotFound(f"no BOPIS order {order_id}") from None
    terms = _terms(conn, tenant_id, order_id)
    return {**{k: v for k, v in order.items() if k != "tenant_id"},
            **{k: v for k, v in terms.items() if k not in ("tenant_id", "order_id")},
            "history": history(conn, tenant_id, order_id)}
