"""`bopis.*` partner webhooks: one event per status HQ records for a pickup order.

`cloud.bopis.status_changed` calls `notify` in the transaction that records the status, so an
event is queued exactly when the status commits, and never for a status that rolled back.

Which statuses the outside world hears about: accepted, rejected, rerouted (HQ asked another
store after a rejection), picked, ready, completed, cancelled, expired. `placed`, the first
`reserved` and the store's `received` stay internal: the partner already has the answer of its
own `POST /orders` for those.

Who hears it: an order a partner app placed goes to that app's endpoints only (another app of
the same tenant has no business with its customer's pickup); an order HQ placed goes to every
endpoint of the tenant subscribed to the type.

The event id is `bopis:<order id>:<n>`, n being the status's place in the order's history, so
a store event ingested twice cannot queue twice, and `sequence` (= n) lets a receiver put events
that arrive out of order back in order (deliveries are at least once, without ordering).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from cloud import webhooks
from cloud.schema_partners import webhook_endpoints

PUBLISHED = ("accepted", "rejected", "rerouted", "picked", "ready", "completed", "cancelled", "expired")
PARTNER_ACTOR = "partner:"


def event_type(status: str, detail: dict[str, Any] | None) -> str | None:
    """The webhook type for a recorded status, or None when the status stays internal."""
    if status == "reserved":
        return "bopis.rerouted" if detail and detail.get("rerouted_from") else None
    return f"bopis.{status}" if status in PUBLISHED else None


def payload(order_id: str, status: str, n: int, *, store_id: str | None, at: str, reason: str | None,
            detail: dict[str, Any] | None) -> dict[str, Any]:
    """The documented body (`data` of the Standard Webhooks envelope, with `event_id` added)."""
    kind = "rerouted" if status == "reserved" else status
    body: dict[str, Any] = {"order_id": order_id, "reference": order_id, "status": kind, "store_id": store_id,
                            "reason": reason, "at": at, "sequence": n}
    detail = detail or {}
    if kind == "rerouted":
        body["previous_store_id"] = detail.get("rerouted_from")
    if kind == "completed":
        body["sale_order_id"] = detail.get("sale_order_id")
        body["total_cents"] = detail.get("total_cents")
    return body


def audience(conn: Connection, tenant_id: str, placed_by: str | None) -> list[Any]:
    """Active endpoints that may hear about this order (see the module's docstring)."""
    q = select(webhook_endpoints.c.endpoint_id, webhook_endpoints.c.event_types).where(
        webhook_endpoints.c.tenant_id == tenant_id, webhook_endpoints.c.active.is_(True))
    if placed_by and placed_by.startswith(PARTNER_ACTOR):
        q = q.where(webhook_endpoints.c.app_id == placed_by.removeprefix(PARTNER_ACTOR))
    return list(conn.execute(q))


def notify(conn: Connection, tenant_id: str, order_id: str, status: str, n: int, *, placed_by: str | None,
           store_id: str | None, at: str, reason: str | None, detail: dict[str, Any] | None) -> int:
    """Queue the webhook for one recorded status, in the caller's transaction; how many queued."""
    kind = event_type(status, detail)
    if kind is None:
        return 0
    endpoints = audience(conn, tenant_id, placed_by)
    if not endpoints:
        return 0
    body = payload(order_id, status, n, store_id=store_id, at=at, reason=reason, detail=detail)
    return webhooks.enqueue(conn, tenant_id, kind, body, f"bopis:{order_id}:{n}", endpoints=endpoints)
