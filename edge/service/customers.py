"""Customer use cases at the store: sign up, find, show, change, erase, unlink, forget.

Each runs in one unit of work on the single writer (or a read). What is personal never reaches a
row, an event, an audit entry or a log in clear: the profile is sealed under the customer's own
data key (kept in the key cache, `CustomerVault`, never in the database), lookups go through
blind indexes, audit rows and logs carry the customer id only.

The talk with HQ (lookups, keys, the HQ half of the 360 view) is `customer_directory`'s: these
functions only read and write the store's own state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import msgspec
import structlog

from edge.contracts import pii
from edge.contracts.customers import (
    CUSTOMER_ERASED,
    CUSTOMER_UPSERTED,
    BlindIndex,
    Consents,
    CustomerErased,
    CustomerRecord,
    CustomerUpserted,
    EscrowRequest,
)
from edge.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from edge.domain.ids import iso, parse_iso, uuid7
from edge.service.customer_ports import CustomerChanges, CustomerRow, CustomerVault, IndexEntry, NewCustomer
from edge.service.ports import UnitOfWork

log = structlog.get_logger()

RECENT_ORDERS = 20

# Other features' rows about a customer that an erasure must anonymise (the loyalty ledger):
# each runs in the erasure's transaction with (uow, customer_id).
ERASE_HOOKS: list[Callable[[UnitOfWork, str], None]] = []


class KeysUnavailable(DomainError):
    """The store has no tenant key: it is configured for HQ and has never reached it."""

    status = 503
    default_code = "customer-keys-unavailable"


def _keys(uow: UnitOfWork, vault: CustomerVault) -> pii.TenantKeys:
    keys = vault.tenant_keys(uow.actor.tenant_id)
    if keys is None:
        raise KeysUnavailable("this store has not received its customer keys from HQ yet; customers can be "
                              "created once it has reached HQ")
    return keys


# -- values -------------------------------------------------------------------------------------
def _email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return pii.normalize_email(raw)
    except pii.PiiError:
        raise ValidationFailed("email is not an email address", code="customer-invalid",
                               errors=[{"field": "email", "message": "not an email address"}]) from None


def _phone(raw: str | None, region: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return pii.normalize_phone(raw, region)
    except pii.PiiError:
        raise ValidationFailed("phone is not a valid phone number", code="customer-invalid",
                               errors=[{"field": "phone", "message": "not a valid phone number "
                                        "(with +country code, or a local number)"}]) from None


def _name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise ValidationFailed("a customer needs a name", code="customer-invalid",
                               errors=[{"field": "name", "message": "required"}])
    return name


def index_of(keys: pii.TenantKeys, profile: pii.CustomerProfile) -> list[IndexEntry]:
    """The blind indexes a profile is found by: its email, phone and card code."""
    out = []
    for kind, value in (("email", profile.email), ("phone", profile.phone), ("card", profile.card_code)):
        if value:
            out.append(IndexEntry(kind, pii.blind_index(keys, kind, value)))  # type: ignore[arg-type]
    return out


def lookup_entry(keys: pii.TenantKeys, q: str, region: str) -> IndexEntry:
    """What a cashier typed or scanned, as the index entry it would be found by."""
    kind = pii.guess_kind(q)
    try:
        value = pii.normalize(kind, q, region)
    except pii.PiiError:
        raise ValidationFailed(f"q is not a phone number, email or card code ({kind} expected)",
                               code="customer-query-invalid",
                               errors=[{"field": "q", "message": f"not a valid {kind}"}]) from None
    return IndexEntry(kind, pii.blind_index(keys, kind, value))


def _refuse_duplicates(uow: UnitOfWork, index: list[IndexEntry], customer_id: str | None = None) -> None:
    for entry in index:
        if entry.kind == "card":
            continue
        holder = uow.customers.find(entry)
        if holder is not None and holder != customer_id:
            raise Conflict(f"a customer with this {entry.kind} exists already", code="customer-exists",
                           errors=[{"field": entry.kind, "message": "already a customer",
                                    "customer_id": holder}])


def _profile(uow: UnitOfWork, vault: CustomerVault, row: CustomerRow) -> pii.CustomerProfile:
    key = vault.data_key(uow.actor.tenant_id, row.customer_id)
    if key is None:  # the key was erased (or never reached this store): the row is unreadable
        raise NotFound("no such customer", code="customer-not-found")
    return pii.open_profile(key, uow.actor.tenant_id, row.customer_id, row.profile)


def _upserted(row: CustomerRow) -> dict[str, Any]:
    return msgspec.to_builtins(CustomerUpserted(
        customer_id=row.customer_id, profile=row.profile, consents=row.consents, home_store_id=row.home_store_id,
        created_at=row.created_at, updated_at=row.updated_at, version=row.version))


def _consents(before: Consents, marketing: bool | None, e_receipts: bool | None, now: str) -> Consents:
    """The answers with the server's time for each one that was given (changed or confirmed)."""
    return Consents(
        marketing=before.marketing if marketing is None else marketing,
        marketing_at=before.marketing_at if marketing is None else now,
        e_receipts=before.e_receipts if e_receipts is None else e_receipts,
        e_receipts_at=before.e_receipts_at if e_receipts is None else now)


# -- sign up ------------------------------------------------------------------------------------
def create_customer(uow: UnitOfWork, vault: CustomerVault, new: NewCustomer, *, region: str) -> CustomerRow:
    """A customer created at this store (online or offline): id and data key minted here, the
    key escrowed to HQ later (`escrow_requests`); the event carries only the sealed profile."""
    keys = _keys(uow, vault)
    email, phone = _email(new.email), _phone(new.phone, region)
    if email is None and phone is None:
        raise ValidationFailed("a customer needs an email or a phone number", code="customer-invalid",
                               errors=[{"field": "email", "message": "email or phone is required"},
                                       {"field": "phone", "message": "email or phone is required"}])
    profile = pii.CustomerProfile(name=_name(new.name), email=email, phone=phone, card_code=pii.new_card_code())
    index = index_of(keys, profile)
    _refuse_duplicates(uow, index)
    tenant_id, customer_id = uow.actor.tenant_id, uuid7()
    data_key = pii.new_key()
    answers = new.consents
    consents = _consents(Consents(), answers.marketing if answers else False,
                         answers.e_receipts if answers else False, uow.now)
    row = CustomerRow(customer_id=customer_id, profile=pii.seal_profile(data_key, tenant_id, customer_id, profile),
                      consents=consents, home_store_id=uow.actor.store_id or "", created_at=uow.now,
                      updated_at=uow.now, version=1, last_seen_at=uow.now, escrowed=False, source="store")
    # The key is on disk (synchronous=FULL) before the row that needs it commits.
    vault.put_data_key(tenant_id, customer_id, data_key)
    uow.customers.insert(row, index)
    uow.audit("customer.created", "customer", customer_id, None,
              {"consents": msgspec.to_builtins(consents), "home_store_id": row.home_store_id})
    uow.emit(CUSTOMER_UPSERTED, _upserted(row))
    log.info("customer.created", customer_id=customer_id)
    return row


# -- find and show ------------------------------------------------------------------------------
def find_local(uow: UnitOfWork, entry: IndexEntry) -> CustomerRow | None:
    customer_id = uow.customers.find(entry)
    return uow.customers.get(customer_id) if customer_id else None


def touch(uow: UnitOfWork, customer_ids: list[str]) -> None:
    """Seen at the lane now: the bounded cache keeps the recently seen."""
    for customer_id in customer_ids:
        uow.customers.update(customer_id, {"last_seen_at": uow.now})


def cache_records(uow: UnitOfWork, vault: CustomerVault, records: list[CustomerRecord]) -> list[str]:
    """Keep what HQ answered, so the lane can serve these customers while the WAN is down. A
    newer local version (changed here, not yet at HQ) is kept over HQ's."""
    keys = _keys(uow, vault)
    tenant_id, kept = uow.actor.tenant_id, []
    for rec in records:
        data_key = pii.decode_key(rec.data_key)
        profile = pii.open_profile(data_key, tenant_id, rec.customer_id, rec.profile)  # checks the pair
        existing = uow.customers.get(rec.customer_id)
        kept.append(rec.customer_id)
        if existing is not None and (not existing.escrowed or existing.version > rec.version):
            uow.customers.update(rec.customer_id, {"balance_points": rec.balance_points,
                                                   "balance_as_of": rec.as_of or uow.now, "last_seen_at": uow.now,
                                                   "earned_in_window": rec.earned_in_window})
            continue
        vault.put_data_key(tenant_id, rec.customer_id, data_key)
        row = CustomerRow(customer_id=rec.customer_id, profile=rec.profile, consents=rec.consents,
                          home_store_id=rec.home_store_id, created_at=rec.created_at or uow.now,
                          updated_at=rec.updated_at or uow.now, version=rec.version, last_seen_at=uow.now,
                          escrowed=True, source="hq", balance_points=rec.balance_points,
                          balance_as_of=rec.as_of or uow.now, earned_in_window=rec.earned_in_window)
        if existing is None:
            uow.customers.insert(row, index_of(keys, profile))
        else:
            uow.customers.update(rec.customer_id, {k: v for k, v in msgspec.structs.asdict(row).items()
                                                   if k != "customer_id"})
            uow.customers.replace_index(rec.customer_id, index_of(keys, profile))
    return kept


class OpenedCustomer(msgspec.Struct, frozen=True, kw_only=True):
    row: CustomerRow
    profile: pii.CustomerProfile


def open_customer(uow: UnitOfWork, vault: CustomerVault, customer_id: str) -> OpenedCustomer:
    row = uow.customers.get(customer_id)
    if row is None:
        raise NotFound("no such customer", code="customer-not-found")
    return OpenedCustomer(row=row, profile=_profile(uow, vault, row))


def summary(opened: OpenedCustomer, tier: str) -> dict[str, Any]:
    p, row = opened.profile, opened.row
    return {"customer_id": row.customer_id, "name": p.name, "email_masked": pii.mask_email(p.email),
            "phone_masked": pii.mask_phone(p.phone), "card_code": p.card_code, "tier": tier,
            "balance_points": row.balance_points}


def local_history(uow: UnitOfWork, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """This store's part of the 360 view: its orders with the customer, their returns, and the
    holds kept for them here."""
    store_id = uow.actor.store_id or ""
    purchases, returns = [], []
    for o in uow.customers.orders_of(customer_id, RECENT_ORDERS):
        purchases.append({"order_id": o.order_id, "store_id": store_id, "number": o.number, "at": o.at,
                          "total_cents": o.total_cents, "currency": o.currency, "status": o.status.lower(),
                          "points_earned": _earned(uow, o.order_id)})
        if o.refunded_cents:
            for ret, _lines in uow.orders.returns_of(o.order_id):
                returns.append({"return_id": ret.id, "order_id": o.order_id, "store_id": store_id,
                                "at": ret.created_at, "refund_cents": ret.refund_cents})
    pickups = [{"order_id": h.ref or h.id, "store_id": store_id, "status": h.kind, "at": h.created_at,
                "expires_at": h.expires_at} for h in uow.customers.open_holds(customer_id)]
    return {"recent_purchases": purchases, "returns": returns, "open_pickups": pickups}


def _earned(uow: UnitOfWork, order_id: str) -> int:
    """The points this store's ledger credited for the order, as HQ counts them for its orders
    (earn entries only): the 360 keeps this store's rows over HQ's, so they must carry them too."""
    return sum(e.points for e in uow.loyalty.of_order(order_id) if e.kind == "earn")


def present(opened: OpenedCustomer) -> dict[str, Any]:
    """The customer's own part of the 360 view (the cashier serving them sees it in full)."""
    p, row = opened.profile, opened.row
    return {"customer_id": row.customer_id, "name": p.name, "email": p.email, "phone": p.phone,
            "card_code": p.card_code, "consents": msgspec.to_builtins(row.consents),
            "home_store_id": row.home_store_id, "created_at": row.created_at, "updated_at": row.updated_at,
            "version": row.version}


# -- change -------------------------------------------------------------------------------------
def patch_customer(uow: UnitOfWork, vault: CustomerVault, customer_id: str, changes: CustomerChanges, *,
                   region: str) -> CustomerRow:
    keys = _keys(uow, vault)
    opened = open_customer(uow, vault, customer_id)
    p, row = opened.profile, opened.row
    given = {f for f in ("name", "email", "phone", "consents") if getattr(changes, f) is not msgspec.UNSET}
    fields = sorted(given - {"consents"})
    name = _name(changes.name) if "name" in given else p.name
    email = _email(changes.email) if "email" in given else p.email
    phone = _phone(changes.phone, region) if "phone" in given else p.phone
    if email is None and phone is None:
        raise ValidationFailed("a customer needs an email or a phone number", code="customer-invalid",
                               errors=[{"field": "email" if "email" in fields else "phone",
                                        "message": "email or phone is required"}])
    consents = row.consents
    if changes.consents is not msgspec.UNSET and changes.consents is not None:
        c = changes.consents
        consents = _consents(row.consents, c.marketing, c.e_receipts, uow.now)
        fields.append("consents")
    if not fields:
        return row
    profile = pii.CustomerProfile(name=name, email=email, phone=phone, card_code=p.card_code)
    index = index_of(keys, profile)
    _refuse_duplicates(uow, index, customer_id)
    data_key = vault.data_key(uow.actor.tenant_id, customer_id)
    if data_key is None:  # erased between the read above and now
        raise NotFound("no such customer", code="customer-not-found")
    sealed = pii.seal_profile(data_key, uow.actor.tenant_id, customer_id, profile)
    changed = msgspec.structs.replace(row, profile=sealed, consents=consents, updated_at=uow.now,
                                      version=row.version + 1, last_seen_at=uow.now, escrowed=False)
    uow.customers.update(customer_id, {"profile": sealed, "consents": consents, "updated_at": uow.now,
                                       "version": changed.version, "last_seen_at": uow.now, "escrowed": False})
    uow.customers.replace_index(customer_id, index)
    # The audit names what changed, never the values (consents are not personal data: they are kept).
    uow.audit("customer.changed", "customer", customer_id, {"version": row.version},
              {"version": changed.version, "fields": fields, "consents": msgspec.to_builtins(consents)})
    uow.emit(CUSTOMER_UPSERTED, _upserted(changed))
    return changed


# -- escrow -------------------------------------------------------------------------------------
class EscrowItem(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    request: EscrowRequest


def escrow_requests(uow: UnitOfWork, vault: CustomerVault, limit: int = 50) -> list[EscrowItem]:
    """What HQ does not have yet: the data key and blind indexes of each customer created or
    changed here since their last escrow."""
    out = []
    for row in uow.customers.unescrowed(limit):
        key = vault.data_key(uow.actor.tenant_id, row.customer_id)
        if key is None:
            continue
        index = [BlindIndex(e.kind, e.digest) for e in uow.customers.index_of(row.customer_id)]  # type: ignore[arg-type]
        out.append(EscrowItem(version=row.version, request=EscrowRequest(
            customer_id=row.customer_id, data_key=pii.encode_key(key), index=index)))
    return out


def mark_escrowed(uow: UnitOfWork, customer_id: str, version: int) -> None:
    row = uow.customers.get(customer_id)
    if row is not None and row.version == version:  # a change made meanwhile is escrowed next time
        uow.customers.update(customer_id, {"escrowed": True})


# -- erase, unlink, forget ----------------------------------------------------------------------
def erase_customer(uow: UnitOfWork, vault: CustomerVault, customer_id: str, request_id: str | None) -> str:
    """GDPR erasure at this store: the key first (every copy of the profile, old backups too,
    becomes unreadable), then the row and its indexes; the store's orders keep their amounts
    and lose the link. `request_id` is HQ's request, confirmed with `customer.erased`."""
    dropped = vault.drop_data_keys(uow.actor.tenant_id, [customer_id])
    held = uow.customers.delete(customer_id)
    unlinked = uow.customers.unlink_orders([customer_id])
    for hook in ERASE_HOOKS:
        hook(uow, customer_id)
    uow.audit("customer.erased", "customer", customer_id, None,
              {"request_id": request_id, "held": held, "orders_unlinked": unlinked, "key_dropped": bool(dropped)})
    if request_id:
        uow.emit(CUSTOMER_ERASED, msgspec.to_builtins(
            CustomerErased(request_id=request_id, customer_id=customer_id, at=uow.now)))
    log.info("customer.erased", customer_id=customer_id, held=held, orders_unlinked=unlinked)
    return "applied" if held or unlinked else "absent"


def unlink_customers(uow: UnitOfWork, request_id: str, customer_ids: list[str]) -> int:
    """Retention: the store's orders of long-inactive customers lose their link (amounts stay)."""
    unlinked = uow.customers.unlink_orders(customer_ids)
    uow.audit("customers.unlinked", "customer", None, None,
              {"request_id": request_id, "customers": len(customer_ids), "orders_unlinked": unlinked})
    return unlinked


def evict(uow: UnitOfWork, vault: CustomerVault, *, cache_max: int, cache_days: int, batch: int = 500) -> int:
    """Keep the cache bounded: forget the least recently seen beyond `cache_max`, and any not seen
    for `cache_days`. HQ keeps them; a later lookup brings them back. A customer whose change
    HQ does not have yet is never forgotten."""
    seen_before = iso(parse_iso(uow.now) - timedelta(days=cache_days))
    gone = uow.customers.eviction_candidates(keep=cache_max, seen_before=seen_before, limit=batch)
    if not gone:
        return 0
    vault.drop_data_keys(uow.actor.tenant_id, gone)
    for customer_id in gone:
        uow.customers.delete(customer_id)
    log.info("customers.evicted", count=len(gone))
    return len(gone)


# -- receipts -----------------------------------------------------------------------------------
# Set by the composition root: the key cache of the database a unit of work runs on.
vault_of: Callable[[UnitOfWork], CustomerVault | None] = lambda uow: None  # noqa: E731


def card_code(uow: UnitOfWork, customer_id: str | None) -> str | None:
    """The loyalty card code printed on a receipt, or None (no customer, or no longer readable)."""
    if not customer_id:
        return None
    vault = vault_of(uow)
    row = uow.customers.get(customer_id) if vault is not None else None
    if vault is None or row is None:
        return None
    try:
        return _profile(uow, vault, row).card_code
    except (NotFound, pii.PiiError):
        return None
