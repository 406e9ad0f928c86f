"""Data subject requests at HQ: export, erase, the request log, and retention.

- **Export** gathers everything held about one customer, at HQ and as replicated from every store
  that has them: the profile (opened with their data key), consents, the orders linked to them,
  their loyalty ledger, and the stores that hold them. Logged as a request and audited (by id).
- **Erase** (one transaction): HQ's data key and blind indexes are deleted, the sealed profile is
  dropped (a tombstone keeps the id and `erased_at`), the loyalty ledger moves to a fresh random
  pseudonym, sales lose their link (their amounts stay), and one `customer.erase` command goes to
  every store of the tenant through the command outbox: each store's durable inbox keeps it until
  the store is back, so an offline store applies it on reconnect. Each store confirms with a
  `customer.erased` event (`cloud.customers`), which the request log shows per store.
- **Retention**: a customer with no activity (profile change or sale) for `retention_days` keeps
  their record, but their orders lose the link, at HQ and, by `customer.unlink`, at the stores.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import structlog
from sqlalchemy import Connection, delete, func, or_, select, update

from cloud import audit, commands, webhooks_customers
from cloud.customers import CustomerNotFound, _open, returns, stores_holding
from cloud.schema import sales, stores
from cloud.schema_customers import hq_customer_index, hq_customers, hq_gdpr_confirmations, hq_gdpr_requests
from cloud.schema_loyalty import hq_loyalty_ledger
from edge.contracts.customers import CMD_CUSTOMER_ERASE, CMD_CUSTOMER_UNLINK, Consents, EraseCustomer, UnlinkCustomers

log = structlog.get_logger()

EXPORT_FORMAT = "novapos.customer-export.v1"
UNLINK_BATCH = 1000


def _customer_row(conn: Connection, tenant_id: str, customer_id: str) -> Any:
    row = conn.execute(select(hq_customers).where(hq_customers.c.tenant_id == tenant_id,
                                                  hq_customers.c.customer_id == customer_id)).first()
    if row is None or row.erased_at:
        raise CustomerNotFound(f"customer {customer_id} is unknown or was erased")
    return row


def _log_request(conn: Connection, tenant_id: str, customer_id: str, kind: str, actor: str, now: str,
                 stores_: list[str]) -> str:
    request_id = str(uuid.uuid4())
    conn.execute(hq_gdpr_requests.insert().values(request_id=request_id, tenant_id=tenant_id, customer_id=customer_id,
                                                  kind=kind, requested_by=actor, requested_at=now, stores=stores_,
                                                  done=kind != "erase" or not stores_))
    return request_id


def export(conn: Connection, keys: Any, tenant_id: str, customer_id: str, *, actor: str, now: str) -> dict[str, Any]:
    row = _customer_row(conn, tenant_id, customer_id)
    profile = _open(keys, conn, tenant_id, row, now)
    orders = [{"order_id": r.order_id, "store_id": r.store_id, "kind": r.kind, "at": r.occurred_at,
               "business_day": r.business_day, "total_cents": int(r.gross_cents), "currency": r.currency}
              for r in conn.execute(select(sales).where(sales.c.tenant_id == tenant_id,
                                                        sales.c.customer_id == customer_id)
                                    .order_by(sales.c.occurred_at))]
    ledger = [{k: v for k, v in r._mapping.items() if k not in ("tenant_id",)}
              for r in conn.execute(select(hq_loyalty_ledger).where(
                  hq_loyalty_ledger.c.tenant_id == tenant_id, hq_loyalty_ledger.c.customer_id == customer_id)
                  .order_by(hq_loyalty_ledger.c.at, hq_loyalty_ledger.c.entry_id))]
    holding = stores_holding(conn, tenant_id, customer_id)
    request_id = _log_request(conn, tenant_id, customer_id, "export", actor, now, holding)
    audit.record(conn, tenant_id, actor=actor, action="customer.exported", entity="customer", entity_id=customer_id,
                 before=None, after={"request_id": request_id}, at=now)
    log.info("gdpr.exported", tenant_id=tenant_id, customer_id=customer_id, request_id=request_id, by=actor)
    return {
        "format": EXPORT_FORMAT,
        "request_id": request_id,
        "exported_at": now,
        "customer_id": customer_id,
        "profile": msgspec.to_builtins(profile) if profile is not None else None,
        "consents": msgspec.to_builtins(msgspec.convert(row.consents or {}, Consents)),
        "home_store_id": row.home_store_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "orders": orders,
        "returns": msgspec.to_builtins(returns(conn, tenant_id, customer_id, limit=10_000)),
        "loyalty": {"balance_points": sum(int(e["points"]) for e in ledger), "ledger": ledger},
        "stores": holding,
    }


def tenant_stores(conn: Connection, tenant_id: str) -> list[str]:
    return [r[0] for r in conn.execute(select(stores.c.store_id).where(stores.c.tenant_id == tenant_id)
                                       .order_by(stores.c.store_id))]


def erase(conn: Connection, keys: Any, tenant_id: str, customer_id: str, *, actor: str, now: str) -> dict[str, Any]:
    _customer_row(conn, tenant_id, customer_id)
    targets = sorted(set(tenant_stores(conn, tenant_id)) | set(stores_holding(conn, tenant_id, customer_id)))
    request_id = _log_request(conn, tenant_id, customer_id, "erase", actor, now, targets)
    keys.destroy(conn, tenant_id, customer_id)
    conn.execute(delete(hq_customer_index).where(hq_customer_index.c.tenant_id == tenant_id,
                                                 hq_customer_index.c.customer_id == customer_id))
    conn.execute(update(hq_customers).where(hq_customers.c.tenant_id == tenant_id,
                                            hq_customers.c.customer_id == customer_id)
                 .values(profile=None, consents=None, erased_at=now))
    pseudonym = f"anon-{uuid.uuid4().hex}"  # random: nothing links it back to the person
    anonymised = conn.execute(update(hq_loyalty_ledger).where(hq_loyalty_ledger.c.tenant_id == tenant_id,
                                                              hq_loyalty_ledger.c.customer_id == customer_id)
                              .values(customer_id=pseudonym)).rowcount
    _anonymise_cases(conn, tenant_id, customer_id, pseudonym)
    unlinked = conn.execute(update(sales).where(sales.c.tenant_id == tenant_id, sales.c.customer_id == customer_id)
                            .values(customer_id=None)).rowcount
    commands.issue(conn, tenant_id, None, CMD_CUSTOMER_ERASE,
                   msgspec.to_builtins(EraseCustomer(request_id=request_id, customer_id=customer_id)),
                   actor=actor, now=now)
    webhooks_customers.erased(conn, tenant_id, customer_id=customer_id, request_id=request_id, at=now)
    audit.record(conn, tenant_id, actor=actor, action="customer.erased", entity="customer", entity_id=customer_id,
                 before=None, after={"request_id": request_id, "stores": targets, "orders_unlinked": unlinked,
                                     "ledger_entries_anonymised": anonymised}, at=now)
    log.warning("gdpr.erased", tenant_id=tenant_id, customer_id=customer_id, request_id=request_id, by=actor,
                stores=len(targets))
    return {"request_id": request_id, "customer_id": customer_id, "kind": "erase", "requested_at": now,
            "requested_by": actor, "stores": targets, "confirmations": [], "done": not targets}


def _anonymise_cases(conn: Connection, tenant_id: str, customer_id: str, pseudonym: str) -> None:
    """Loyalty cases name the customer: they follow the ledger to the pseudonym, so a write-off
    still lands on the entries it is about."""
    from cloud.schema import conflicts

    for case in conn.execute(select(conflicts.c.id, conflicts.c.dedup_key, conflicts.c.summary, conflicts.c.detail)
                             .where(conflicts.c.tenant_id == tenant_id,
                                    conflicts.c.dedup_key.like(f"%:{customer_id}"))).all():
        if not case.dedup_key.endswith(f":{customer_id}"):
            continue  # LIKE's `_` matched another character: not this customer's case
        detail = {**(case.detail or {}), "customer_id": pseudonym}
        conn.execute(update(conflicts).where(conflicts.c.id == case.id).values(
            dedup_key=case.dedup_key.replace(customer_id, pseudonym),
            summary=case.summary.replace(customer_id, pseudonym), detail=detail))


def requests(conn: Connection, tenant_id: str, *, customer_id: str | None = None, limit: int = 200) -> list[dict]:
    q = select(hq_gdpr_requests).where(hq_gdpr_requests.c.tenant_id == tenant_id)
    if customer_id:
        q = q.where(hq_gdpr_requests.c.customer_id == customer_id)
    rows = conn.execute(q.order_by(hq_gdpr_requests.c.requested_at.desc()).limit(limit)).all()
    confirmations: dict[str, list[dict[str, Any]]] = {}
    if rows:
        for c in conn.execute(select(hq_gdpr_confirmations).where(
                hq_gdpr_confirmations.c.tenant_id == tenant_id,
                hq_gdpr_confirmations.c.request_id.in_([r.request_id for r in rows]))
                .order_by(hq_gdpr_confirmations.c.confirmed_at)):
            confirmations.setdefault(c.request_id, []).append(
                {"store_id": c.store_id, "confirmed_at": c.confirmed_at, "received_at": c.received_at})
    return [{"request_id": r.request_id, "kind": r.kind, "customer_id": r.customer_id,
             "requested_by": r.requested_by, "requested_at": r.requested_at, "stores": list(r.stores or []),
             "confirmations": confirmations.get(r.request_id, []), "done": bool(r.done)} for r in rows]


def retention_sweep(conn: Connection, tenant_id: str, *, cutoff: str, now: str) -> list[str]:
    """Unlink the orders of customers inactive since `cutoff`; returns their ids."""
    last_sale = (select(sales.c.customer_id, func.max(sales.c.occurred_at).label("at"))
                 .where(sales.c.tenant_id == tenant_id, sales.c.customer_id.is_not(None))
                 .group_by(sales.c.customer_id).subquery())
    rows = conn.execute(
        select(hq_customers.c.customer_id).outerjoin(last_sale, last_sale.c.customer_id == hq_customers.c.customer_id)
        .where(hq_customers.c.tenant_id == tenant_id, hq_customers.c.erased_at.is_(None),
               hq_customers.c.unlinked_at.is_(None),
               func.coalesce(hq_customers.c.updated_at, hq_customers.c.received_at) < cutoff,
               or_(last_sale.c.at.is_(None), last_sale.c.at < cutoff))
        .order_by(hq_customers.c.customer_id).limit(UNLINK_BATCH)).all()
    ids = [r[0] for r in rows]
    if not ids:
        return []
    conn.execute(update(sales).where(sales.c.tenant_id == tenant_id, sales.c.customer_id.in_(ids))
                 .values(customer_id=None))
    conn.execute(update(hq_customers).where(hq_customers.c.tenant_id == tenant_id,
                                            hq_customers.c.customer_id.in_(ids)).values(unlinked_at=now))
    request_id = str(uuid.uuid4())
    commands.issue(conn, tenant_id, None, CMD_CUSTOMER_UNLINK,
                   msgspec.to_builtins(UnlinkCustomers(request_id=request_id, customer_ids=ids)),
                   actor="retention", now=now)
    audit.record(conn, tenant_id, actor="retention", action="customer.orders_unlinked", entity="customer",
                 entity_id=None, before=None, after={"request_id": request_id, "customers": len(ids),
                                                     "cutoff": cutoff}, at=now)
    log.info("gdpr.retention_unlinked", tenant_id=tenant_id, customers=len(ids), request_id=request_id)
    return ids

