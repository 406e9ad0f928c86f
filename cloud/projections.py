"""Projections: turn newly ingested store events into HQ read models, inside the ingest transaction.

They run only for events the ingest transaction has just inserted (`ON CONFLICT (event_id)
DO NOTHING` returned them), so a redelivered event never projects twice. Stock movements are
additionally keyed by their own id, because the same movement could in principle be carried
by two events (an order and a later correction).

A batch projects table by table, not event by event: one multi-row insert per fact table,
one upsert per touched stock level. Per-statement overhead, not SQL work, was what capped
ingest (the cost is Python per round trip). The rare paths (conflict cases,
transfers, BOPIS answers) still go row by row.

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

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cloud import bopis, conflicts
from cloud.schema import sale_lines, sale_tenders, sales, stock_levels, stock_movements, transfers
from edge.contracts.envelope import EventEnvelope

SALE_KINDS = {"order.completed": "sale", "order.voided": "void", "return.created": "return"}
NO_ON_HAND_CHANGE = ("reservation", "release")  # they change availability at the store only


def dialect_insert(conn: Any, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def project_batch(conn: Connection, fresh: list[EventEnvelope], received_at: str) -> None:
    """Project one tenant's new events, given in (store, seq) order."""
    _sale_facts(conn, fresh)
    _stock(conn, fresh, received_at)
    for env in fresh:
        if env.type == "order.completed":
            _price_variances(conn, env)
        elif env.type in ("bopis.accepted", "bopis.rejected"):
            bopis.on_store_answer(conn, env, received_at)


def _movements(p: dict[str, Any]) -> list[dict[str, Any]]:
    found = p.get("movements") or p.get("stock_movements") or []
    if isinstance(p.get("movement"), dict):
        found = [*found, p["movement"]]
    return [m for m in found if isinstance(m, dict) and m.get("id")]


def _sale_facts(conn: Connection, fresh: list[EventEnvelope]) -> None:
    facts, lines, tenders = [], [], []
    for env in fresh:
        kind = SALE_KINDS.get(env.type)
        if kind is None:
            continue
        p = env.payload
        total = int(p.get("total_cents") or p.get("refund_cents") or 0)
        facts.append(
            {
                "event_id": env.event_id,
                "tenant_id": env.tenant_id,
                "store_id": env.store_id,
                "order_id": str(p.get("order_id") or p.get("id") or ""),
                "kind": kind,
                "business_day": env.business_day,
                "occurred_at": env.occurred_at,
                "hour": int(env.occurred_at[11:13]) if len(env.occurred_at) >= 13 else 0,
                "orders": {"sale": 1, "void": -1, "return": 0}[kind],
                "gross_cents": total if kind == "sale" else -abs(total),
                "currency": p.get("currency"),
            }
        )
        sign = 1 if kind == "sale" else -1
        common = {"event_id": env.event_id, "tenant_id": env.tenant_id, "store_id": env.store_id}
        if kind != "void":  # a void's lines are the original sale's: net out via orders/gross
            lines += [
                {
                    **common,
                    "line_no": i,
                    "business_day": env.business_day,
                    "sku": line.get("sku"),
                    "name": line.get("name"),
                    "quantity": sign * int(line.get("quantity") or 0),
                    "amount_cents": sign * int(line.get("total_cents") or line.get("amount_cents") or 0),
                }
                for i, line in enumerate(p.get("lines") or [])
                if isinstance(line, dict)
            ]
        tenders += [
            {
                **common,
                "idx": i,
                "business_day": env.business_day,
                "method": str(t.get("method") or "unknown"),
                "amount_cents": sign * int(t.get("amount_cents") or 0),
            }
            for i, t in enumerate(p.get("tenders") or [])
            if isinstance(t, dict)
        ]
    for table, rows in ((sales, facts), (sale_lines, lines), (sale_tenders, tenders)):
        if rows:
            conn.execute(insert(table), rows)  # executemany: one round trip per table


def _stock(conn: Connection, fresh: list[EventEnvelope], now: str) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for env in fresh:
        for m in _movements(env.payload):
            movement_id = str(m["id"])
            if movement_id in rows:
                continue  # the same movement twice in one batch: applied once
            rows[movement_id] = {
                "tenant_id": env.tenant_id,
                "movement_id": movement_id,
                "store_id": env.store_id,
                "location_id": str(m.get("location_id") or env.store_id),
                "product_id": m.get("product_id"),
                "sku": str(m.get("sku") or m.get("product_id") or "?"),
                "kind": str(m.get("kind") or "unknown"),
                "delta": int(m.get("delta") or 0),
                "ref": m.get("ref"),
                "at": m.get("at") or env.occurred_at,
                "event_id": env.event_id,
            }
    if not rows:
        return
    tenant = next(iter(rows.values()))["tenant_id"]
    ordered = list(rows.values())
    stmt = (
        dialect_insert(conn, stock_movements)
        .on_conflict_do_nothing(index_elements=["tenant_id", "movement_id"])
        .returning(stock_movements.c.movement_id)
    )
    new_ids = {r[0] for r in conn.execute(stmt, ordered)}  # executemany: multi-row pages, one compile
    applied = [m for m in ordered if m["movement_id"] in new_ids]  # in (store, seq) order
    counted = [m for m in applied if m["kind"] not in NO_ON_HAND_CHANGE]
    if counted:
        _apply_levels(conn, tenant, counted, now)
    for m in applied:
        if m["kind"] in ("transfer_out", "transfer_in") and m["ref"]:
            _transfer(conn, tenant, m)


def _apply_levels(conn: Connection, tenant: str, movements: list[dict[str, Any]], now: str) -> None:
    """One upsert per touched (location, sku); a level that dips below zero at any movement opens
    (or updates) a negative-stock case, exactly as applying the movements one by one would."""
    keys = {(m["location_id"], m["sku"]) for m in movements}
    current = {
        (r.location_id, r.sku): int(r.on_hand)
        for r in conn.execute(
            select(stock_levels.c.location_id, stock_levels.c.sku, stock_levels.c.on_hand).where(
                stock_levels.c.tenant_id == tenant,
                stock_levels.c.sku.in_({sku for _, sku in keys}),
                stock_levels.c.location_id.in_({loc for loc, _ in keys}),
            )
        )
    }
    deltas: dict[tuple[str, str], dict[str, Any]] = {}
    negative: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for m in movements:
        key = (m["location_id"], m["sku"])
        entry = deltas.setdefault(key, {"delta": 0, "store_id": m["store_id"]})
        entry["delta"] += m["delta"]
        on_hand = current.get(key, 0) + entry["delta"]
        if on_hand < 0:
            negative[key] = (on_hand, m)  # the latest negative reading is what the case shows
    stmt = dialect_insert(conn, stock_levels)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "location_id", "sku"],
        set_={"on_hand": stock_levels.c.on_hand + stmt.excluded.on_hand, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(
        stmt,
        [
            {
                "tenant_id": tenant,
                "location_id": location,
                "sku": sku,
                "store_id": entry["store_id"],
                "on_hand": entry["delta"],
                "threshold": 0,
                "updated_at": now,
            }
            for (location, sku), entry in deltas.items()
        ],
    )
    cases = [
        conflicts.Case(
            store_id=m["store_id"],
            kind="negative_stock",
            key=f"negative_stock:{location}:{sku}",
            summary=f"{sku} at {location} is at {on_hand}",
            detail={"location_id": location, "sku": sku, "on_hand": on_hand, "movement_id": m["movement_id"]},
        )
        for (location, sku), (on_hand, m) in negative.items()
    ]
    conflicts.raise_cases(conn, tenant, cases, now)


def _transfer(conn: Connection, tenant: str, m: dict[str, Any]) -> None:
    sku, location, delta = m["sku"], m["location_id"], m["delta"]
    key = (transfers.c.tenant_id == tenant, transfers.c.transfer_id == m["ref"], transfers.c.sku == sku)
    row = conn.execute(select(transfers).where(*key)).first()
    at = m["at"] or ""
    if row is None:
        conn.execute(
            insert(transfers).values(
                tenant_id=tenant, transfer_id=m["ref"], sku=sku, qty_out=0, qty_in=0, status="in_transit"
            )
        )
        row = conn.execute(select(transfers).where(*key)).one()
    if m["kind"] == "transfer_out":
        values = {"from_location": location, "qty_out": row.qty_out + abs(delta), "out_at": at}
        qty_out, qty_in = row.qty_out + abs(delta), row.qty_in
    else:
        values = {"to_location": location, "qty_in": row.qty_in + abs(delta), "in_at": at}
        qty_out, qty_in = row.qty_out, row.qty_in + abs(delta)
    values["status"] = "received" if qty_out and qty_in >= qty_out else "in_transit"
    conn.execute(update(transfers).where(*key).values(**values))


def _price_variances(conn: Connection, env: EventEnvelope) -> None:
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
    conflicts.raise_case(
        conn,
        env.tenant_id,
        env.store_id,
        kind="price_variance",
        key=f"price_variance:{order_id}",
        summary=f"order {order_id} sold offline at a price {total:+d} cents off HQ's",
        detail={"order_id": order_id, "lines": variances, "total_variance_cents": total},
        now=env.occurred_at,
    )
