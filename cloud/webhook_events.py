"""Which ingested store events become partner webhook events, queued in the ingest transaction
(`cloud.webhooks.enqueue`), so a webhook is queued exactly when its projection commits.

- `order.completed` → `order.completed`;
- `return.created` and `order.voided` → `order.refunded` (a void refunds the whole order);
- a stock level that falls to or below its threshold in this batch → `inventory.low_stock`
  (once per crossing, not on every sale while it stays low).

Payloads carry what a partner needs and no customer data: order id, store, amounts, lines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from cloud.schema import stock_levels
from cloud.webhooks import active_endpoints, enqueue, matches
from edge.contracts.envelope import EventEnvelope

LOW_STOCK_DEFAULT = 5  # the HQ default (CloudSettings.low_stock_threshold) when a level has none
REFUND_TYPES = ("return.created", "order.voided")


def _lines(p: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"sku": ln.get("sku"), "quantity": ln.get("quantity"),
             "amount_cents": ln.get("total_cents", ln.get("amount_cents"))}
            for ln in p.get("lines") or [] if isinstance(ln, dict)][:200]


def on_projected(conn: Connection, fresh: list[EventEnvelope]) -> None:
    """`fresh` is one tenant's batch: one read of its endpoints, and nothing more when it has none."""
    if not fresh:
        return
    endpoints = active_endpoints(conn, fresh[0].tenant_id)
    if not endpoints:
        return
    for env in fresh:
        p = env.payload
        common = {"order_id": str(p.get("order_id") or p.get("id") or ""), "store_id": env.store_id,
                  "occurred_at": env.occurred_at, "business_day": env.business_day}
        if env.type == "order.completed":
            enqueue(conn, env.tenant_id, "order.completed",
                    {**common, "total_cents": p.get("total_cents"), "currency": p.get("currency"),
                     "lines": _lines(p)}, env.event_id, endpoints)
        elif env.type in REFUND_TYPES:
            enqueue(conn, env.tenant_id, "order.refunded",
                    {**common, "kind": "void" if env.type == "order.voided" else "return",
                     "refund_cents": p.get("refund_cents", p.get("total_cents")), "lines": _lines(p)}, env.event_id,
                    endpoints)
    if any(matches(list(e.event_types), "inventory.low_stock") for e in endpoints):
        _low_stock(conn, fresh, endpoints)


def _low_stock(conn: Connection, fresh: list[EventEnvelope], endpoints: list[Any]) -> None:
    deltas: dict[tuple[str, str, str], tuple[int, EventEnvelope]] = {}
    for env in fresh:
        found = env.payload.get("movements") or env.payload.get("stock_movements") or []
        if isinstance(env.payload.get("movement"), dict):
            found = [*found, env.payload["movement"]]
        for m in found:
            if not isinstance(m, dict) or m.get("kind") in ("reservation", "release"):
                continue
            key = (env.tenant_id, str(m.get("location_id") or env.store_id), str(m.get("sku") or m.get("product_id")))
            before = deltas.get(key, (0, env))[0]
            deltas[key] = (before + int(m.get("delta") or 0), env)
    for (tenant, location, sku), (delta, env) in deltas.items():
        if delta >= 0:
            continue
        row = conn.execute(select(stock_levels.c.on_hand, stock_levels.c.threshold).where(
            stock_levels.c.tenant_id == tenant, stock_levels.c.location_id == location,
            stock_levels.c.sku == sku)).first()
        if row is None:
            continue
        threshold = int(row.threshold) or LOW_STOCK_DEFAULT
        on_hand = int(row.on_hand)
        if on_hand <= threshold < on_hand - delta:  # crossed in this batch
            enqueue(conn, tenant, "inventory.low_stock",
                    {"sku": sku, "location_id": location, "store_id": env.store_id, "on_hand": on_hand,
                     "threshold": threshold}, f"low_stock:{env.event_id}:{location}:{sku}", endpoints)
