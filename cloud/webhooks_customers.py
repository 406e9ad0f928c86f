"""`customer.*` partner webhooks: a customer joined or changed, and a customer was erased.

Queued in the transaction that records the change (`cloud.customers` at ingest, `cloud.gdpr.erase`
at HQ), through `cloud.webhooks.enqueue`. The bodies carry the customer id, the home store, the
consent flags and times, and nothing personal: a partner that needs contact details reads them
masked through `GET /api/v1/partner/customers/{id}`; `customer.erased` tells a partner that keeps
its own copy (a web shop's account) to delete it.

- `customer.created` / `customer.updated` (event id: the store's event id, so a replay queues once);
- `customer.erased` (event id `customer.erased:<request id>`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from cloud import webhooks


def changed(conn: Connection, tenant_id: str, *, created: bool, customer_id: str, home_store_id: str,
            consents: dict[str, Any], version: int, updated_at: str, event_id: str) -> int:
    endpoints = webhooks.active_endpoints(conn, tenant_id)
    if not endpoints:
        return 0
    body = {"customer_id": customer_id, "home_store_id": home_store_id, "version": version,
            "updated_at": updated_at,
            "consents": {k: consents.get(k) for k in ("marketing", "marketing_at", "e_receipts", "e_receipts_at")}}
    kind = "customer.created" if created else "customer.updated"
    return webhooks.enqueue(conn, tenant_id, kind, body, event_id, endpoints=endpoints)


def erased(conn: Connection, tenant_id: str, *, customer_id: str, request_id: str, at: str) -> int:
    endpoints = webhooks.active_endpoints(conn, tenant_id)
    if not endpoints:
        return 0
    body = {"customer_id": customer_id, "request_id": request_id, "at": at}
    return webhooks.enqueue(conn, tenant_id, "customer.erased", body, f"customer.erased:{request_id}",
                            endpoints=endpoints)
