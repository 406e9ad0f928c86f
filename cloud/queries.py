"""HQ read queries over the projections. Every query filters on the tenant explicitly as well:
RLS on Postgres is the guarantee, the filter keeps SQLite honest too.

Date ranges are store business days (`YYYY-MM-DD`, inclusive), the grouping
ARCHITECTURE.md ("Time, money and business days") describes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, desc, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud import conflicts
from cloud.clock import parse_iso, utc_now
from cloud.schema import bopis_orders, sale_lines, sale_tenders, sales, stock_levels, stores, transfers


def _days(q: Any, col: Any, day_from: str | None, day_to: str | None) -> Any:
    if day_from:
        q = q.where(col >= day_from)
    if day_to:
        q = q.where(col <= day_to)
    return q


async def store_list(conn: AsyncConnection, tenant: str) -> list[dict[str, Any]]:
    pending = await conn.run_sync(conflicts.pending_by_store, tenant)
    rows = await conn.execute(select(stores).where(stores.c.tenant_id == tenant).order_by(stores.c.store_id))
    now = utc_now()
    items = []
    for r in rows:
        since = round((now - parse_iso(r.last_seen_at)).total_seconds()) if r.last_seen_at else None
        items.append(
            {
                "store_id": r.store_id,
                "last_seen_at": r.last_seen_at,
                "lag_s": r.lag_s,
                "events_received": int(r.events_received),
                "pending_conflicts": pending.get(r.store_id, 0),
                "last_event_at": r.last_event_at,
                "seconds_since_seen": since,
                "max_seq": r.max_seq,
                "missing_seqs": int(r.missing_seqs),
                "leaf_domain": r.leaf_domain,
            }
        )
    return items


async def sales_summary(
    conn: AsyncConnection, tenant: str, day_from: str | None, day_to: str | None, store_id: str | None = None
) -> list[dict[str, Any]]:
    q = select(sales.c.store_id, func.sum(sales.c.orders), func.sum(sales.c.gross_cents)).where(
        sales.c.tenant_id == tenant
    )
    if store_id:
        q = q.where(sales.c.store_id == store_id)
    q = _days(q, sales.c.business_day, day_from, day_to).group_by(sales.c.store_id).order_by(sales.c.store_id)
    return [{"store_id": s, "orders": int(o or 0), "gross_cents": int(g or 0)} for s, o, g in await conn.execute(q)]


async def sales_by(
    conn: AsyncConnection,
    tenant: str,
    grain: str,
    day_from: str | None,
    day_to: str | None,
    store_id: str | None = None,
) -> list[dict[str, Any]]:
    col = sales.c.business_day if grain == "day" else sales.c.hour
    q = select(col, func.sum(sales.c.orders), func.sum(sales.c.gross_cents)).where(sales.c.tenant_id == tenant)
    if store_id:
        q = q.where(sales.c.store_id == store_id)
    q = _days(q, sales.c.business_day, day_from, day_to).group_by(col).order_by(col)
    return [{grain: k, "orders": int(o or 0), "gross_cents": int(g or 0)} for k, o, g in await conn.execute(q)]


async def tender_mix(conn: AsyncConnection, tenant: str, day_from: str | None, day_to: str | None) -> list[dict]:
    """Money by tender, net of voids and refunds: the amounts sum to the sales summary's gross.
    `count` is sale tenders minus voided ones (a refund does not undo a payment's count)."""
    count = func.sum(case((sales.c.kind == "sale", 1), (sales.c.kind == "void", -1), else_=0))
    q = (
        select(sale_tenders.c.method, count, func.sum(sale_tenders.c.amount_cents))
        .select_from(sale_tenders.join(sales, sales.c.event_id == sale_tenders.c.event_id))
        .where(sale_tenders.c.tenant_id == tenant)
    )
    q = _days(q, sale_tenders.c.business_day, day_from, day_to).group_by(sale_tenders.c.method)
    q = q.order_by(sale_tenders.c.method)
    return [{"method": m, "count": int(c or 0), "amount_cents": int(a or 0)} for m, c, a in await conn.execute(q)]


async def top_products(
    conn: AsyncConnection, tenant: str, day_from: str | None, day_to: str | None, limit: int = 10
) -> list[dict[str, Any]]:
    qty = func.sum(sale_lines.c.quantity)
    q = select(sale_lines.c.sku, func.max(sale_lines.c.name), qty, func.sum(sale_lines.c.amount_cents)).where(
        sale_lines.c.tenant_id == tenant
    )
    q = _days(q, sale_lines.c.business_day, day_from, day_to).group_by(sale_lines.c.sku)
    q = q.order_by(desc(func.sum(sale_lines.c.amount_cents))).limit(limit)
    return [
        {"sku": s, "name": n, "quantity": int(u or 0), "gross_cents": int(g or 0)}
        for s, n, u, g in await conn.execute(q)
    ]


async def store_comparison(
    conn: AsyncConnection, tenant: str, day_from: str | None, day_to: str | None
) -> list[dict[str, Any]]:
    items = await sales_summary(conn, tenant, day_from, day_to)
    total = sum(i["gross_cents"] for i in items) or 1
    for i in items:
        i["avg_ticket_cents"] = i["gross_cents"] // i["orders"] if i["orders"] else 0
        i["share_bp"] = i["gross_cents"] * 10000 // total  # basis points: no floats for money shares
    return items


async def stock(
    conn: AsyncConnection, tenant: str, *, sku: str | None = None, low_only: bool = False, low_threshold: int = 5
) -> list[dict[str, Any]]:
    q = select(stock_levels).where(stock_levels.c.tenant_id == tenant)
    if sku:
        q = q.where(stock_levels.c.sku == sku)
    rows = await conn.execute(q.order_by(stock_levels.c.sku, stock_levels.c.location_id))
    items = []
    for r in rows:
        threshold = int(r.threshold) or low_threshold
        low = int(r.on_hand) <= threshold
        if low_only and not low:
            continue
        items.append(
            {
                "sku": r.sku,
                "location_id": r.location_id,
                "store_id": r.store_id,
                "on_hand": int(r.on_hand),
                "threshold": threshold,
                "low": low,
                "updated_at": r.updated_at,
            }
        )
    return items


async def transfer_list(conn: AsyncConnection, tenant: str, status: str | None = None) -> list[dict[str, Any]]:
    q = select(transfers).where(transfers.c.tenant_id == tenant)
    if status:
        q = q.where(transfers.c.status == status)
    rows = await conn.execute(q.order_by(transfers.c.out_at.desc()).limit(500))
    return [dict(r._mapping) for r in rows]


async def bopis_list(conn: AsyncConnection, tenant: str) -> list[dict[str, Any]]:
    rows = await conn.execute(select(bopis_orders).where(bopis_orders.c.tenant_id == tenant).limit(500))
    return [dict(r._mapping) for r in rows]
