"""BOPIS allocation: HQ reserves at a store with availability; the store accepts or rejects.

The store owns its stock, so HQ only *asks* (`bopis.reserve` command). A `bopis.rejected`
event re-routes the order to the next store with enough reported stock that has not yet
rejected it; when none is left the order is cancelled and a case opens for HQ follow-up.
All of this happens in the ingest transaction; the re-route command goes out through the
cloud's command outbox (cloud.commands), so it is sent even if NATS is down right now.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from cloud import commands, conflicts
from cloud.schema import bopis_orders, stock_levels
from edge.contracts.bounds import MAX_LINE_QUANTITY
from edge.contracts.envelope import EventEnvelope

MAX_BOPIS_LINES = 100  # a web order's lines; each line is at most MAX_LINE_QUANTITY units


class BopisOrderExists(Exception):
    """An order id already placed: placing it again would allocate stock twice."""


class InvalidBopisLines(ValueError):
    """Lines that no store could fill: none, too many, or a quantity outside 1..MAX_LINE_QUANTITY."""


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
    conn: Connection, tenant_id: str, order_id: str, lines: list[dict[str, Any]], *, actor: str, now: str
) -> dict[str, Any]:
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
    if store:
        commands.issue(
            conn,
            tenant_id,
            store,
            "bopis.reserve",
            {"order_id": order_id, "lines": lines},
            actor=actor,
            now=now,
        )
    return get(conn, tenant_id, order_id)


def get(conn: Connection, tenant_id: str, order_id: str) -> dict[str, Any]:
    row = (
        conn.execute(
            select(bopis_orders).where(bopis_orders.c.tenant_id == tenant_id, bopis_orders.c.order_id == order_id)
        )
    ).first()
    if row is None:
        raise LookupError(order_id)
    return dict(row._mapping)


def on_store_answer(conn: Connection, env: EventEnvelope, now: str) -> None:
    order_id = str(env.payload.get("order_id") or "")
    try:
        order = get(conn, env.tenant_id, order_id)
    except LookupError:
        return  # not an HQ allocation (or another tenant's): nothing to route
    if order["store_id"] != env.store_id or order["status"] != "reserved":
        return  # a late answer from a store we already moved away from
    key = (bopis_orders.c.tenant_id == env.tenant_id, bopis_orders.c.order_id == order_id)
    if env.type == "bopis.accepted":
        conn.execute(update(bopis_orders).where(*key).values(status="accepted", updated_at=now))
        return
    tried = [*order["tried"], env.store_id]
    stores = candidate_stores(conn, env.tenant_id, order["lines"], exclude=tried)
    if stores:
        conn.execute(update(bopis_orders).where(*key).values(store_id=stores[0], tried=tried, updated_at=now))
        commands.issue(
            conn,
            env.tenant_id,
            stores[0],
            "bopis.reserve",
            {"order_id": order_id, "lines": order["lines"]},
            actor="system",
            now=now,
        )
        return
    conn.execute(
        update(bopis_orders).where(*key).values(status="cancelled", store_id=None, tried=tried, updated_at=now)
    )
    conflicts.raise_case(
        conn,
        env.tenant_id,
        env.store_id,
        kind="bopis",
        key=f"bopis:{order_id}",
        summary=f"BOPIS order {order_id} cancelled: every store with stock rejected it",
        detail={"order_id": order_id, "tried": tried, "reason": env.payload.get("reason")},
        now=now,
    )
