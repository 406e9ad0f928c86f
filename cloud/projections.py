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
- `order.voided`: order_id, movements (its money and lines are the sale's, looked up);
- `return.created`: order_id, refund_cents|total_cents, lines, refunds[{method, amount_cents}],
  credit_cents, movements;
- `refund.settled_in_cash`: order_id, refunds[{amount_cents, replaced_method}];
- `stock.moved`: movement (a StockMovement);
- `bopis.<status>`: order_id, status, reason, sale_order_id, total_cents (see cloud.bopis);
- `loyalty.entry`: a LoyaltyEntry (see cloud.loyalty);
- `customer.upserted` / `customer.erased`, and `order.completed`'s `customer_id` (see cloud.customers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cloud import bopis, conflicts, customers, loyalty, webhook_events
from cloud.bulk import BulkInsert
from cloud.schema import sale_lines, sale_tenders, sales, stock_levels, stock_movements, transfers
from edge.contracts.envelope import EventEnvelope

SALE_KINDS = {"order.completed": "sale", "order.voided": "void", "return.created": "return",
              "refund.settled_in_cash": "tender_move"}
NO_ON_HAND_CHANGE = ("reservation", "release")  # they change availability at the store only


_SALE_ROWS = BulkInsert(sales, ("event_id", "tenant_id", "store_id", "order_id", "kind", "business_day",
                                 "occurred_at", "hour", "orders", "gross_cents", "currency", "customer_id"))
_LINE_ROWS = BulkInsert(sale_lines, ("event_id", "tenant_id", "store_id", "line_no", "business_day", "sku", "name",
                                     "quantity", "amount_cents"))
_TENDER_ROWS = BulkInsert(sale_tenders, ("event_id", "tenant_id", "store_id", "idx", "business_day", "method",
                                         "amount_cents"))
_MOVEMENT_ROWS = BulkInsert(stock_movements, ("tenant_id", "movement_id", "store_id", "location_id", "product_id",
                                              "sku", "kind", "delta", "ref", "at", "event_id"),
                            conflict=("tenant_id", "movement_id"), returning="movement_id")


# Built once: constructing these per batch (and `Insert.excluded` in particular) was a visible
# share of ingest's CPU. The upsert adds each level's batch delta to the stored on-hand.
_LEVEL_ROWS = BulkInsert(stock_levels, ("tenant_id", "location_id", "sku", "store_id", "on_hand", "threshold",
                                        "updated_at"),
                         conflict=("tenant_id", "location_id", "sku"),
                         update={"on_hand": "add", "updated_at": "excluded"})
_LEVELS_OF = select(stock_levels.c.location_id, stock_levels.c.sku, stock_levels.c.on_hand).where(
    stock_levels.c.tenant_id == bindparam("tenant"),
    stock_levels.c.sku.in_(bindparam("skus", expanding=True)),
    stock_levels.c.location_id.in_(bindparam("locations", expanding=True)),
)


def dialect_insert(conn: Any, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def project_batch(conn: Connection, fresh: list[EventEnvelope], received_at: str) -> None:
    """Project one tenant's new events, given in (store, seq) order."""
    _sale_facts(conn, fresh)
    _stock(conn, fresh, received_at)
    for env in fresh:
        if env.type == "order.completed":
            _price_variances(conn, env)
        elif env.type.startswith("bopis."):
            bopis.on_store_answer(conn, env, received_at)
    loyalty.project(conn, fresh, received_at)  # points ledger, and overdraft cases after it
    customers.project(conn, fresh, received_at)  # sealed profiles (last writer wins), erasure confirmations
    webhook_events.on_projected(conn, fresh)  # partner webhooks, queued in this same transaction


def _movements(p: dict[str, Any]) -> list[dict[str, Any]]:
    found = p.get("movements") or p.get("stock_movements") or []
    if not isinstance(found, list):
        found = []  # a till's Z report counts its cash "movements": a number, not stock
    if isinstance(p.get("movement"), dict):
        found = [*found, p["movement"]]
    return [m for m in found if isinstance(m, dict) and m.get("id")]


def _sale_facts(conn: Connection, fresh: list[EventEnvelope]) -> None:
    """Sales, voids and returns as signed facts, so that every HQ figure adds up to the same net:

    - a sale adds its total, its lines and its approved tenders;
    - a void subtracts exactly what its sale added (total, lines and tenders, looked up from the
      sale's facts), and nothing for an order that never completed (an abandoned basket);
    - a return subtracts its refund, its returned lines, and the tenders the refund went back to
      (an exchange's credit as an `exchange_credit` tender, which the new sale's credit tender
      cancels out).

    So the tender mix sums to the summary's gross, and so do the product lines except for
    restocking fees (kept by the store, but no product's sales)."""
    facts: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    tenders: list[dict[str, Any]] = []
    sold: dict[tuple[str, str], tuple[int, list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for env in fresh:
        kind = SALE_KINDS.get(env.type)
        if kind is None:
            continue
        p = env.payload
        order_id = str(p.get("order_id") or p.get("id") or "")
        common = {"event_id": env.event_id, "tenant_id": env.tenant_id, "store_id": env.store_id}
        if kind == "sale":
            gross = int(p.get("total_cents") or 0)
            own_lines = [(str(line.get("sku") or ""), line.get("name"), int(line.get("quantity") or 0),
                          int(line.get("total_cents") or line.get("amount_cents") or 0))
                         for line in p.get("lines") or [] if isinstance(line, dict)]
            own_tenders = [(str(t.get("method") or "unknown"), int(t.get("amount_cents") or 0))
                           for t in p.get("tenders") or [] if isinstance(t, dict)]
            sold[(env.store_id, order_id)] = (gross, own_lines, own_tenders)  # type: ignore[assignment]
            orders, sign = 1, 1
        elif kind == "void":
            sale = sold.get((env.store_id, order_id)) or _sold_earlier(conn, env, order_id)
            if sale is None:
                continue  # never completed, so never counted: nothing to take back
            gross, own_lines, own_tenders = sale  # type: ignore[assignment]
            orders, sign = -1, -1
        elif kind == "tender_move":
            # A refund the card processor refused was paid from the drawer instead: the money
            # moves from the card's refunds to cash; the net and the order count do not change.
            gross, own_lines, orders, sign = 0, [], 0, 1
            own_tenders = []
            for r in p.get("refunds") or []:
                if isinstance(r, dict):
                    own_tenders += [(str(r.get("replaced_method") or "unknown"), int(r.get("amount_cents") or 0)),
                                    ("cash", -int(r.get("amount_cents") or 0))]
        else:
            gross = int(p.get("refund_cents") or p.get("total_cents") or 0)
            own_lines = [(str(line.get("sku") or ""), line.get("name"), int(line.get("quantity") or 0),
                          int(line.get("total_cents") or line.get("amount_cents") or 0))
                         for line in p.get("lines") or [] if isinstance(line, dict)]
            own_tenders = [(str(t.get("method") or "unknown"), int(t.get("amount_cents") or 0))
                           for t in (p.get("refunds") or p.get("tenders") or []) if isinstance(t, dict)]
            if int(p.get("credit_cents") or 0):
                own_tenders.append(("exchange_credit", int(p["credit_cents"])))
            orders, sign = 0, -1
        facts.append(
            {
                **common,
                "order_id": order_id,
                "kind": kind,
                "business_day": env.business_day,
                "occurred_at": env.occurred_at,
                "hour": int(env.occurred_at[11:13]) if len(env.occurred_at) >= 13 else 0,
                "orders": orders,
                "gross_cents": sign * abs(gross),
                "currency": p.get("currency"),
                "customer_id": customers.linked_customer(p),
            }
        )
        lines += [{**common, "line_no": i, "business_day": env.business_day, "sku": sku, "name": name,
                   "quantity": sign * abs(quantity), "amount_cents": sign * abs(amount)}
                  for i, (sku, name, quantity, amount) in enumerate(own_lines)]
        tenders += [{**common, "idx": i, "business_day": env.business_day, "method": method,
                     "amount_cents": amount if kind == "tender_move" else sign * abs(amount)}
                    for i, (method, amount) in enumerate(own_tenders)]
    for bulk, rows in ((_SALE_ROWS, facts), (_LINE_ROWS, lines), (_TENDER_ROWS, tenders)):
        bulk.run(conn, rows)  # one multi-row INSERT per table (cloud.bulk)


def _sold_earlier(conn: Connection, env: EventEnvelope, order_id: str) -> tuple[int, list, list] | None:
    """The facts a sale projected in an earlier batch. A void is same-business-day only, so the
    sale is looked up on the void's own day (the day index keeps this cheap)."""
    row = conn.execute(
        select(sales.c.event_id, sales.c.gross_cents).where(
            sales.c.tenant_id == env.tenant_id, sales.c.business_day == env.business_day,
            sales.c.store_id == env.store_id, sales.c.order_id == order_id, sales.c.kind == "sale")
    ).first()
    if row is None:
        return None
    own_lines = [(r.sku, r.name, int(r.quantity), int(r.amount_cents)) for r in conn.execute(
        select(sale_lines).where(sale_lines.c.tenant_id == env.tenant_id, sale_lines.c.event_id == row.event_id)
        .order_by(sale_lines.c.line_no))]
    own_tenders = [(r.method, int(r.amount_cents)) for r in conn.execute(
        select(sale_tenders).where(sale_tenders.c.tenant_id == env.tenant_id, sale_tenders.c.event_id == row.event_id)
        .order_by(sale_tenders.c.idx))]
    return int(row.gross_cents), own_lines, own_tenders


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
    new_ids = set(_MOVEMENT_ROWS.run(conn, ordered))  # multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING
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
            _LEVELS_OF,
            {"tenant": tenant, "skus": list({sku for _, sku in keys}), "locations": list({loc for loc, _ in keys})},
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
    _LEVEL_ROWS.run(
        conn,
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
