"""Projections: turn newly ingested store events into HQ read models, inside the ingest transaction.

They run only for events the ingest transaction has just inserted (`ON CONFLICT (event_id)
DO NOTHING` returned them), so a redelivered event never projects twice. Stock movements are
additionally keyed by their own id, because the same movement could in principle be carried
by two events (an order and a later correction).

Payload keys read (tolerant: unknown types are stored raw and project nothing; missing keys
default):
- `order.completed`: order_id|id, lines[{sku, name, quantity, total_cents|amount_cents,
  price_variance_cents?, stock_conflict?}], tenders[{method, amount_cents}], total_cents,
  currency, movements|stock_movements[StockMovement];
- `order.voided`: order_id, total_cents, movements;
- `return.created`: order_id, refund_cents|total_cents, lines, movements;
- `stock.moved`: movement (a StockMovement);
- `bopis.accepted` / `bopis.rejected`: order_id, reason (see cloud.bopis).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud import bopis, conflicts
from cloud.schema import sale_lines, sale_tenders, sales, stock_levels, stock_movements, transfers
from edge.contracts.envelope import EventEnvelope


def dialect_insert(conn: AsyncConnection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


async def project(conn: AsyncConnection, env: EventEnvelope, received_at: str) -> None:
    kind = {"order.completed": "sale", "order.voided": "void", "return.created": "return"}.get(env.type)
    p = env.payload
    if kind is not None:
        await _sale_fact(conn, env, kind)
    for movement in _movements(p):
        await apply_movement(conn, env, movement, received_at)
    if env.type == "order.completed":
        await _price_variances(conn, env)
    elif env.type in ("bopis.accepted", "bopis.rejected"):
        await bopis.on_store_answer(conn, env, received_at)


def _movements(p: dict[str, Any]) -> list[dict[str, Any]]:
    found = p.get("movements") or p.get("stock_movements") or []
    if isinstance(p.get("movement"), dict):
        found = [*found, p["movement"]]
    return [m for m in found if isinstance(m, dict) and m.get("id")]


async def _sale_fact(conn: AsyncConnection, env: EventEnvelope, kind: str) -> None:
    p = env.payload
    total = int(p.get("total_cents") or p.get("refund_cents") or 0)
    gross = total if kind == "sale" else -abs(total)
    orders = {"sale": 1, "void": -1, "return": 0}[kind]
    hour = int(env.occurred_at[11:13]) if len(env.occurred_at) >= 13 else 0
    await conn.execute(
        insert(sales).values(
            event_id=env.event_id,
            tenant_id=env.tenant_id,
            store_id=env.store_id,
            order_id=str(p.get("order_id") or p.get("id") or ""),
            kind=kind,
            business_day=env.business_day,
            occurred_at=env.occurred_at,
            hour=hour,
            orders=orders,
            gross_cents=gross,
            currency=p.get("currency"),
        )
    )
    sign = -1 if kind != "sale" else 1
    lines = [
        {
            "event_id": env.event_id,
            "line_no": i,
            "tenant_id": env.tenant_id,
            "store_id": env.store_id,
            "business_day": env.business_day,
            "sku": line.get("sku"),
            "name": line.get("name"),
            "quantity": sign * int(line.get("quantity") or 0),
            "amount_cents": sign * int(line.get("total_cents") or line.get("amount_cents") or 0),
        }
        for i, line in enumerate(p.get("lines") or [])
        if isinstance(line, dict)
    ]
    if lines and kind != "void":  # a void's lines are the original sale's: net out via orders/gross
        await conn.execute(insert(sale_lines), lines)
    tenders = [
        {
            "event_id": env.event_id,
            "idx": i,
            "tenant_id": env.tenant_id,
            "store_id": env.store_id,
            "business_day": env.business_day,
            "method": str(t.get("method") or "unknown"),
            "amount_cents": sign * int(t.get("amount_cents") or 0),
        }
        for i, t in enumerate(p.get("tenders") or [])
        if isinstance(t, dict)
    ]
    if tenders:
        await conn.execute(insert(sale_tenders), tenders)


async def apply_movement(conn: AsyncConnection, env: EventEnvelope, m: dict[str, Any], now: str) -> None:
    stmt = (
        dialect_insert(conn, stock_movements)
        .values(
            tenant_id=env.tenant_id,
            movement_id=str(m["id"]),
            store_id=env.store_id,
            location_id=str(m.get("location_id") or env.store_id),
            product_id=m.get("product_id"),
            sku=str(m.get("sku") or m.get("product_id") or "?"),
            kind=str(m.get("kind") or "unknown"),
            delta=int(m.get("delta") or 0),
            ref=m.get("ref"),
            at=m.get("at") or env.occurred_at,
            event_id=env.event_id,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "movement_id"])
    )
    if (await conn.execute(stmt)).rowcount == 0:
        return  # this movement id was applied before
    location = str(m.get("location_id") or env.store_id)
    sku = str(m.get("sku") or m.get("product_id") or "?")
    delta = int(m.get("delta") or 0)
    if m.get("kind") == "reservation" or m.get("kind") == "release":
        return  # reservations change availability at the store, not on hand
    upsert = dialect_insert(conn, stock_levels).values(
        tenant_id=env.tenant_id,
        location_id=location,
        sku=sku,
        store_id=env.store_id,
        on_hand=delta,
        threshold=0,
        updated_at=now,
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["tenant_id", "location_id", "sku"],
        set_={"on_hand": stock_levels.c.on_hand + delta, "updated_at": now},
    )
    await conn.execute(upsert)
    on_hand = (
        await conn.execute(
            select(stock_levels.c.on_hand).where(
                stock_levels.c.tenant_id == env.tenant_id,
                stock_levels.c.location_id == location,
                stock_levels.c.sku == sku,
            )
        )
    ).scalar_one()
    if on_hand < 0:
        await conflicts.raise_case(
            conn,
            env.tenant_id,
            env.store_id,
            kind="negative_stock",
            key=f"negative_stock:{location}:{sku}",
            summary=f"{sku} at {location} is at {on_hand}",
            detail={"location_id": location, "sku": sku, "on_hand": on_hand, "movement_id": m["id"]},
            now=now,
        )
    if m.get("kind") in ("transfer_out", "transfer_in") and m.get("ref"):
        await _transfer(conn, env.tenant_id, m, location, sku, delta)


async def _transfer(conn: AsyncConnection, tenant: str, m: dict[str, Any], location: str, sku: str, delta: int) -> None:
    key = (transfers.c.tenant_id == tenant, transfers.c.transfer_id == m["ref"], transfers.c.sku == sku)
    row = (await conn.execute(select(transfers).where(*key))).first()
    at = m.get("at") or ""
    if row is None:
        await conn.execute(
            insert(transfers).values(
                tenant_id=tenant, transfer_id=m["ref"], sku=sku, qty_out=0, qty_in=0, status="in_transit"
            )
        )
        row = (await conn.execute(select(transfers).where(*key))).one()
    if m["kind"] == "transfer_out":
        values = {"from_location": location, "qty_out": row.qty_out + abs(delta), "out_at": at}
        qty_out, qty_in = row.qty_out + abs(delta), row.qty_in
    else:
        values = {"to_location": location, "qty_in": row.qty_in + abs(delta), "in_at": at}
        qty_out, qty_in = row.qty_out, row.qty_in + abs(delta)
    values["status"] = "received" if qty_out and qty_in >= qty_out else "in_transit"
    await conn.execute(update(transfers).where(*key).values(**values))


async def _price_variances(conn: AsyncConnection, env: EventEnvelope) -> None:
    p = env.payload
    variances = [
        {"sku": line.get("sku"), "price_variance_cents": int(line.get("price_variance_cents") or 0)}
        for line in p.get("lines") or []
        if isinstance(line, dict) and int(line.get("price_variance_cents") or 0) != 0
    ]
    if not variances:
        return
    order_id = str(p.get("order_id") or p.get("id") or env.event_id)
    total = sum(v["price_variance_cents"] for v in variances)
    await conflicts.raise_case(
        conn,
        env.tenant_id,
        env.store_id,
        kind="price_variance",
        key=f"price_variance:{order_id}",
        summary=f"order {order_id} sold offline at a price {total:+d} cents off HQ's",
        detail={"order_id": order_id, "lines": variances, "total_variance_cents": total},
        now=env.occurred_at,
    )
