"""HQ's customer master: sealed profiles from the stores, lookups by blind index, the 360 view.

Every read that shows a person opens their profile with their data key (escrowed by the store
that minted it, `cloud.customer_keys`); every lookup goes through blind indexes, so nothing is
searched in clear. Erased customers stay as tombstones (`erased_at`, no profile, no key, no
index) so a late event or a store that has not heard yet learns it at once.

Projection (inside the ingest transaction, `cloud.projections.project_batch`):
- `customer.upserted`: last writer wins by (updated_at, version); a tombstone never revives;
- `customer.erased`: a store's confirmation of an erasure request (`cloud.gdpr`);
- `order.completed` with `customer_id`: the sale row carries the link (set by `_sale_facts`);
  a sale of an erased customer (an offline store's late replay) loses it here, and the store
  is recorded as holding the customer otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import structlog
from sqlalchemy import Connection, and_, delete, func, select, update

from cloud import audit, loyalty, webhooks_customers
from cloud.errors import HQError
from cloud.schema import sales
from cloud.schema_customers import (
    hq_customer_index,
    hq_customer_keys,
    hq_customer_stores,
    hq_customers,
    hq_gdpr_confirmations,
    hq_gdpr_requests,
)
from edge.contracts import pii
from edge.contracts.customers import (
    CUSTOMER_ERASED,
    CUSTOMER_UPSERTED,
    BlindIndex,
    Consents,
    CustomerErased,
    CustomerRecord,
    CustomerUpserted,
    EscrowReply,
    EscrowRequest,
    FetchKeysReply,
    LookupReply,
    PurchaseSummary,
    ReturnSummary,
    ViewReply,
)
from edge.contracts.envelope import EventEnvelope

log = structlog.get_logger()

_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
RECENT_PURCHASES = 20
SEARCH_LIMIT = 20


class CustomerNotFound(HQError):
    status, code, title = 404, "customer-not-found", "No such customer"


def linked_customer(payload: dict[str, Any]) -> str | None:
    """The customer an order event names, if it is a well-formed id."""
    value = payload.get("customer_id")
    return value if isinstance(value, str) and _CUSTOMER_ID.match(value) else None


def _dialect_insert(conn: Connection, table: Any) -> Any:
    from cloud.projections import dialect_insert  # projections imports this module

    return dialect_insert(conn, table)


# --- projection -----------------------------------------------------------------------------------


def project(conn: Connection, fresh: list[EventEnvelope], received_at: str) -> None:
    for env in fresh:
        if env.type == CUSTOMER_UPSERTED:
            _upserted(conn, env, received_at)
        elif env.type == CUSTOMER_ERASED:
            _erased(conn, env, received_at)
    sold = [(env, cid) for env in fresh if env.type == "order.completed" and (cid := linked_customer(env.payload))]
    if sold:
        _sold(conn, sold, received_at)


def _upserted(conn: Connection, env: EventEnvelope, now: str) -> None:
    try:
        up = msgspec.convert(env.payload, CustomerUpserted)
    except msgspec.ValidationError as err:  # kept raw in `events`; nothing to project
        log.warning("customers.upsert_unreadable", event_id=env.event_id, store_id=env.store_id, error=str(err))
        return
    t = env.tenant_id
    row = conn.execute(select(hq_customers.c.updated_at, hq_customers.c.version, hq_customers.c.erased_at)
                       .where(hq_customers.c.tenant_id == t, hq_customers.c.customer_id == up.customer_id)).first()
    if row is not None and (row.erased_at or (row.updated_at or "", int(row.version)) >= (up.updated_at,
                                                                                          up.version)):
        touch_store(conn, t, up.customer_id, env.store_id, now, erased=bool(row.erased_at))
        return  # erased, or an older write than the one held
    values = {"profile": up.profile, "consents": msgspec.to_builtins(up.consents),
              "home_store_id": up.home_store_id or env.store_id, "created_at": up.created_at or env.occurred_at,
              "updated_at": up.updated_at or env.occurred_at, "version": up.version, "received_at": now}
    if row is None:
        conn.execute(_dialect_insert(conn, hq_customers).values(tenant_id=t, customer_id=up.customer_id, **values)
                     .on_conflict_do_nothing(index_elements=["tenant_id", "customer_id"]))
    else:
        conn.execute(update(hq_customers).where(hq_customers.c.tenant_id == t,
                                                hq_customers.c.customer_id == up.customer_id)
                     .values(**values, unlinked_at=None))
    touch_store(conn, t, up.customer_id, env.store_id, now)
    webhooks_customers.changed(conn, t, created=row is None, customer_id=up.customer_id,
                               home_store_id=values["home_store_id"], consents=values["consents"],
                               version=up.version, updated_at=values["updated_at"], event_id=env.event_id)


def _erased(conn: Connection, env: EventEnvelope, now: str) -> None:
    try:
        done = msgspec.convert(env.payload, CustomerErased)
    except msgspec.ValidationError as err:
        log.warning("customers.erased_unreadable", event_id=env.event_id, store_id=env.store_id, error=str(err))
        return
    t = env.tenant_id
    conn.execute(_dialect_insert(conn, hq_gdpr_confirmations).values(
        tenant_id=t, request_id=done.request_id, store_id=env.store_id, confirmed_at=done.at or env.occurred_at,
        received_at=now, event_id=env.event_id).on_conflict_do_nothing(
        index_elements=["tenant_id", "request_id", "store_id"]))
    request = conn.execute(select(hq_gdpr_requests.c.stores).where(
        hq_gdpr_requests.c.tenant_id == t, hq_gdpr_requests.c.request_id == done.request_id)).first()
    if request is not None:
        confirmed = {r[0] for r in conn.execute(select(hq_gdpr_confirmations.c.store_id).where(
            hq_gdpr_confirmations.c.tenant_id == t, hq_gdpr_confirmations.c.request_id == done.request_id))}
        if set(request.stores or []) <= confirmed:
            conn.execute(update(hq_gdpr_requests).where(hq_gdpr_requests.c.tenant_id == t,
                                                        hq_gdpr_requests.c.request_id == done.request_id)
                         .values(done=True))
    log.info("customers.erase_confirmed", tenant_id=t, store_id=env.store_id, request_id=done.request_id,
             customer_id=done.customer_id)


def _sold(conn: Connection, sold: list[tuple[EventEnvelope, str]], now: str) -> None:
    tenant = sold[0][0].tenant_id
    ids = sorted({cid for _, cid in sold})
    erased = {r[0] for r in conn.execute(select(hq_customers.c.customer_id).where(
        hq_customers.c.tenant_id == tenant, hq_customers.c.customer_id.in_(ids), hq_customers.c.erased_at.is_not(None)))}
    if erased:  # an offline store's late sale: the order stays, the link to the person does not
        conn.execute(update(sales).where(sales.c.tenant_id == tenant, sales.c.customer_id.in_(sorted(erased)))
                     .values(customer_id=None))
    for env, cid in sold:
        if cid not in erased:
            touch_store(conn, tenant, cid, env.store_id, now)


def touch_store(conn: Connection, tenant_id: str, customer_id: str, store_id: str, now: str, *,
                erased: bool = False) -> None:
    """Remember that `store_id` holds this customer (what export lists and erasure must reach)."""
    if erased or not store_id:
        return
    stmt = _dialect_insert(conn, hq_customer_stores).values(tenant_id=tenant_id, customer_id=customer_id,
                                                            store_id=store_id, first_seen_at=now, last_seen_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "customer_id", "store_id"],
                                            set_={"last_seen_at": stmt.excluded.last_seen_at}))


def stores_holding(conn: Connection, tenant_id: str, customer_id: str) -> list[str]:
    return [r[0] for r in conn.execute(select(hq_customer_stores.c.store_id).where(
        hq_customer_stores.c.tenant_id == tenant_id, hq_customer_stores.c.customer_id == customer_id)
        .order_by(hq_customer_stores.c.store_id))]


# --- the rpc channel's answers (cloud.customer_rpc) -----------------------------------------------


def is_erased(conn: Connection, tenant_id: str, customer_id: str) -> bool:
    return conn.execute(select(hq_customers.c.erased_at).where(
        hq_customers.c.tenant_id == tenant_id, hq_customers.c.customer_id == customer_id,
        hq_customers.c.erased_at.is_not(None))).first() is not None


def escrow(conn: Connection, keys: Any, tenant_id: str, store_id: str, req: EscrowRequest, now: str) -> EscrowReply:
    """Keep the data key a store minted and the blind indexes of the customer's current email,
    phone and card code (replacing the previous ones: an email changed at the lane stops matching)."""
    if is_erased(conn, tenant_id, req.customer_id):
        return EscrowReply(ok=False, erased=True)
    keys.escrow(conn, tenant_id, req.customer_id, pii.decode_key(req.data_key), store_id=store_id, now=now)
    conn.execute(delete(hq_customer_index).where(hq_customer_index.c.tenant_id == tenant_id,
                                                 hq_customer_index.c.customer_id == req.customer_id))
    entries = {(i.kind, i.digest) for i in req.index}
    if entries:
        conn.execute(_dialect_insert(conn, hq_customer_index).on_conflict_do_nothing(
            index_elements=["tenant_id", "kind", "digest", "customer_id"]),
            [{"tenant_id": tenant_id, "kind": k, "digest": d, "customer_id": req.customer_id} for k, d in entries])
    touch_store(conn, tenant_id, req.customer_id, store_id, now)
    return EscrowReply(ok=True)


def find_ids(conn: Connection, tenant_id: str, index: BlindIndex, limit: int = SEARCH_LIMIT) -> list[str]:
    return [r[0] for r in conn.execute(select(hq_customer_index.c.customer_id).where(
        hq_customer_index.c.tenant_id == tenant_id, hq_customer_index.c.kind == index.kind,
        hq_customer_index.c.digest == index.digest).order_by(hq_customer_index.c.customer_id).limit(limit))]


def records(conn: Connection, keys: Any, tenant_id: str, customer_ids: list[str], now: str) -> list[CustomerRecord]:
    """What a store caches of each customer: the sealed profile, its data key and HQ's balance.
    Only customers with both a profile and a key (an erased one has neither)."""
    if not customer_ids:
        return []
    rows = conn.execute(select(hq_customers).where(
        hq_customers.c.tenant_id == tenant_id, hq_customers.c.customer_id.in_(customer_ids),
        hq_customers.c.erased_at.is_(None), hq_customers.c.profile.is_not(None))).all()
    data_keys = keys.data_keys(conn, tenant_id, [r.customer_id for r in rows], now)
    balances = loyalty.balances(conn, tenant_id, [r.customer_id for r in rows]) if rows else {}
    earned = loyalty.earned_in_window(conn, tenant_id, [r.customer_id for r in rows],
                                      loyalty.program(conn, tenant_id).tier_window_days, now)
    return [CustomerRecord(customer_id=r.customer_id, profile=r.profile, data_key=pii.encode_key(data_keys[r.customer_id]),
                           consents=msgspec.convert(r.consents or {}, Consents),
                           home_store_id=r.home_store_id or "", created_at=r.created_at or "",
                           updated_at=r.updated_at or "", version=int(r.version),
                           balance_points=balances.get(r.customer_id, 0), as_of=now,
                           earned_in_window=earned.get(r.customer_id, 0))
            for r in rows if r.customer_id in data_keys]


def lookup(conn: Connection, keys: Any, tenant_id: str, store_id: str, index: BlindIndex, now: str) -> LookupReply:
    found = records(conn, keys, tenant_id, find_ids(conn, tenant_id, index), now)
    for record in found:
        touch_store(conn, tenant_id, record.customer_id, store_id, now)
    return LookupReply(customers=found)


def fetch_keys(conn: Connection, keys: Any, tenant_id: str, store_id: str, customer_ids: list[str],
               now: str) -> FetchKeysReply:
    erased = sorted({r[0] for r in conn.execute(select(hq_customers.c.customer_id).where(
        hq_customers.c.tenant_id == tenant_id, hq_customers.c.customer_id.in_(customer_ids),
        hq_customers.c.erased_at.is_not(None)))})
    found = keys.data_keys(conn, tenant_id, [c for c in customer_ids if c not in erased], now)
    for cid in found:
        touch_store(conn, tenant_id, cid, store_id, now)
    return FetchKeysReply(keys={cid: pii.encode_key(k) for cid, k in found.items()}, erased=erased)


def purchases(conn: Connection, tenant_id: str, customer_id: str, limit: int = RECENT_PURCHASES) -> list[PurchaseSummary]:
    rows = conn.execute(select(sales).where(sales.c.tenant_id == tenant_id, sales.c.customer_id == customer_id,
                                            sales.c.kind == "sale")
                        .order_by(sales.c.occurred_at.desc()).limit(limit)).all()
    earned = _points_by_order(conn, tenant_id, customer_id, [r.order_id for r in rows if r.order_id])
    return [PurchaseSummary(order_id=r.order_id or "", store_id=r.store_id, at=r.occurred_at,
                            total_cents=int(r.gross_cents), currency=r.currency or "",
                            points_earned=earned.get(r.order_id or "", 0)) for r in rows]


def _points_by_order(conn: Connection, tenant_id: str, customer_id: str, order_ids: list[str]) -> dict[str, int]:
    from cloud.schema_loyalty import hq_loyalty_ledger

    if not order_ids:
        return {}
    rows = conn.execute(select(hq_loyalty_ledger.c.order_id, func.sum(hq_loyalty_ledger.c.points)).where(
        hq_loyalty_ledger.c.tenant_id == tenant_id, hq_loyalty_ledger.c.customer_id == customer_id,
        hq_loyalty_ledger.c.kind == "earn", hq_loyalty_ledger.c.order_id.in_(order_ids))
        .group_by(hq_loyalty_ledger.c.order_id))
    return {oid: int(total or 0) for oid, total in rows}


def returns(conn: Connection, tenant_id: str, customer_id: str, limit: int = RECENT_PURCHASES) -> list[ReturnSummary]:
    """Returns against the customer's orders (a return event names the order, not the customer)."""
    bought = select(sales.c.store_id, sales.c.order_id).where(
        sales.c.tenant_id == tenant_id, sales.c.customer_id == customer_id, sales.c.kind == "sale").subquery()
    rows = conn.execute(select(sales).join(bought, and_(sales.c.store_id == bought.c.store_id,
                                                        sales.c.order_id == bought.c.order_id))
                        .where(sales.c.tenant_id == tenant_id, sales.c.kind == "return")
                        .order_by(sales.c.occurred_at.desc()).limit(limit)).all()
    return [ReturnSummary(return_id=r.event_id, order_id=r.order_id or "", store_id=r.store_id, at=r.occurred_at,
                          refund_cents=abs(int(r.gross_cents))) for r in rows]


def view_reply(conn: Connection, tenant_id: str, store_id: str, customer_id: str, now: str) -> ViewReply:
    row = conn.execute(select(hq_customers.c.erased_at).where(hq_customers.c.tenant_id == tenant_id,
                                                              hq_customers.c.customer_id == customer_id)).first()
    if row is None:
        return ViewReply(found=False)
    if row.erased_at:
        return ViewReply(found=False, erased=True)
    touch_store(conn, tenant_id, customer_id, store_id, now)
    window_days = loyalty.program(conn, tenant_id).tier_window_days
    return ViewReply(found=True, balance_points=loyalty.balance(conn, tenant_id, customer_id), as_of=now,
                     earned_in_window=loyalty.earned_in_window(conn, tenant_id, [customer_id], window_days,
                                                               now)[customer_id],
                     recent_purchases=purchases(conn, tenant_id, customer_id),
                     returns=returns(conn, tenant_id, customer_id))


# --- HQ's own reads -------------------------------------------------------------------------------


def _open(keys: Any, conn: Connection, tenant_id: str, row: Any, now: str) -> pii.CustomerProfile | None:
    key = keys.data_key(conn, tenant_id, row.customer_id, now)
    if key is None or not row.profile:
        return None
    try:
        return pii.open_profile(key, tenant_id, row.customer_id, row.profile)
    except pii.PiiError:  # sealed under another key than the one escrowed first: unreadable here
        log.warning("customers.profile_unreadable", tenant_id=tenant_id, customer_id=row.customer_id)
        return None


def loyalty_summary(conn: Connection, tenant_id: str, customer_id: str, balance: int, now: str) -> dict[str, Any]:
    """Balance, tier and the way to the next tier under the tenant's program (its policy document),
    over HQ's ledger: the same rule the stores apply."""
    program = loyalty.program(conn, tenant_id)
    earned = loyalty.earned_in_window(conn, tenant_id, [customer_id], program.tier_window_days, now)[customer_id]
    # The stores' rule (edge.domain.loyalty.tier_for; the cloud imports only contracts): the
    # highest tier whose threshold the window's earnings reach, tiers in the program's order.
    tier = [t for t in program.tiers if earned >= t.threshold_points][-1:] or program.tiers[:1]
    upcoming = next((t for t in program.tiers if t.threshold_points > earned), None)
    tier = tier[0]
    return {"enabled": program.enabled, "balance_points": balance, "tier": tier.name,
            "next_tier": upcoming.name if upcoming else None,
            "points_to_next_tier": upcoming.threshold_points - earned if upcoming else 0,
            "earned_in_window": earned, "point_value_cents": program.point_value_cents}


def search(conn: Connection, keys: Any, tenant_id: str, q: str, now: str, region: str = "US") -> list[dict[str, Any]]:
    """Masked search: the query is normalised and turned into a blind index, never compared in clear."""
    kind = pii.guess_kind(q)
    try:
        normalized = pii.normalize(kind, q, region)
    except pii.PiiError:
        return []
    index = BlindIndex(kind=kind, digest=pii.blind_index(keys.tenant_keys(conn, tenant_id, now), kind, normalized))
    ids = find_ids(conn, tenant_id, index)
    if not ids:
        return []
    rows = conn.execute(select(hq_customers).where(hq_customers.c.tenant_id == tenant_id,
                                                   hq_customers.c.customer_id.in_(ids),
                                                   hq_customers.c.erased_at.is_(None))).all()
    balances = loyalty.balances(conn, tenant_id, [r.customer_id for r in rows]) if rows else {}
    items = []
    for r in rows:
        profile = _open(keys, conn, tenant_id, r, now)
        if profile is None:
            continue
        items.append({"customer_id": r.customer_id, "name": pii.mask_name(profile.name),
                      "email_masked": pii.mask_email(profile.email), "phone_masked": pii.mask_phone(profile.phone),
                      "card_code": profile.card_code, "home_store_id": r.home_store_id,
                      "balance_points": balances.get(r.customer_id, 0)})
    return items


def hq_view(conn: Connection, keys: Any, tenant_id: str, customer_id: str, now: str, *,
            reveal: bool, actor: str | None = None) -> dict[str, Any]:
    """The 360 at HQ. `reveal` (tenant admins) shows the full email and phone, and is audited
    (who saw whose contact details, by id); analysts see them masked. 404 for an unknown or
    erased customer, and for another tenant's (RLS hides it)."""
    row = conn.execute(select(hq_customers).where(hq_customers.c.tenant_id == tenant_id,
                                                  hq_customers.c.customer_id == customer_id)).first()
    profile = _open(keys, conn, tenant_id, row, now) if row is not None and not row.erased_at else None
    if row is None or profile is None:
        raise CustomerNotFound(f"customer {customer_id} is unknown or was erased")
    consents = msgspec.convert(row.consents or {}, Consents)
    balance = loyalty.balance(conn, tenant_id, customer_id)
    if reveal and actor:
        audit.record(conn, tenant_id, actor=actor, action="customer.viewed", entity="customer",
                     entity_id=customer_id, before=None, after=None, at=now)
    return {
        "customer_id": customer_id,
        "name": profile.name if reveal else pii.mask_name(profile.name),
        "email": profile.email if reveal else pii.mask_email(profile.email),
        "phone": profile.phone if reveal else pii.mask_phone(profile.phone),
        "email_masked": pii.mask_email(profile.email), "phone_masked": pii.mask_phone(profile.phone),
        "card_code": profile.card_code,
        "consents": msgspec.to_builtins(consents),
        "home_store_id": row.home_store_id, "created_at": row.created_at, "updated_at": row.updated_at,
        "loyalty": loyalty_summary(conn, tenant_id, customer_id, balance, now),
        "balance_points": balance,
        "recent_purchases": msgspec.to_builtins(purchases(conn, tenant_id, customer_id)),
        "open_pickups": [],  # web orders carry no customer at HQ yet
        "returns": msgspec.to_builtins(returns(conn, tenant_id, customer_id)),
        "stores": stores_holding(conn, tenant_id, customer_id),
    }


def has_key(conn: Connection, tenant_id: str, customer_id: str) -> bool:
    return conn.execute(select(hq_customer_keys.c.customer_id).where(
        hq_customer_keys.c.tenant_id == tenant_id, hq_customer_keys.c.customer_id == customer_id)).first() is not None
