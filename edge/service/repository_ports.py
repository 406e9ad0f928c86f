"""What the use cases ask of storage: one Protocol per repository, each a typed attribute of
the unit of work (`uow.orders`, `uow.payments`, ...; see `ports.UnitOfWork`).

The SQL repositories in `edge/adapters/repos` implement them; a unit test may hand a fake
that implements only what its use case calls. Every row comes back as a Struct declared here,
one field per column but the tenant (the repository's). A `dict[str, Any]` is left only for a
JSON column inside a row and for the `{column: value}` patch an `update` takes.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec


class OrderRow(msgspec.Struct, kw_only=True):
    """An order as stored (its tenant is the repository's). Money in minor units of `currency`;
    `status` is an `edge.domain.orders.OrderStatus` value."""

    id: str
    store_id: str
    lane_id: str
    number: str
    status: str
    currency: str
    cashier_id: str | None
    cashier: str
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    total_cents: int
    business_day: str
    created_at: str
    updated_at: str
    paid_cents: int = 0
    change_due_cents: int = 0  # cash handed back
    refunded_cents: int = 0  # what voids and returns granted (see orders.refund_summary)
    tender_methods: str = ""  # "card,cash": for search
    completed_at: str | None = None
    voided_at: str | None = None  # or cancelled
    void_reason: str | None = None
    offline_created_at: str | None = None  # when the lane rang up a sale it replayed later
    verdict: str | None = None  # an offline replay's `OfflineVerdict`
    exchange_of: str | None = None  # the return this sale is the new half of
    override_by: str | None = None  # the supervisor who approved a discount or a void
    receipt_prints: int = 0
    customer_id: str | None = None  # the customer attached to the sale; nulled by an erasure


class OrderLineRow(msgspec.Struct, kw_only=True):
    """A priced line of an order as stored. Weighed goods: `quantity` 1, `weight_grams` set, and
    `unit_price_cents` per kg."""

    id: str
    line_no: int
    product_id: str
    sku: str
    name: str
    quantity: int
    weight_grams: int | None
    unit_price_cents: int
    catalog_price_cents: int  # today's price when the line was recorded
    discount_cents: int
    tax_category: str
    tax_rate_bp: int
    tax_inclusive: bool
    tax_cents: int
    total_cents: int  # what the customer pays for the line
    returned_quantity: int = 0
    order_id: str = ""  # set when the order is written


class OrderFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What an order search keeps (None: any); every condition given must hold."""

    status: list[str] | None = None  # any of these
    first_day: str | None = None  # business days, inclusive
    last_day: str | None = None
    q: str | None = None  # in the number, or a line's name or SKU
    lane_id: str | None = None
    cashier: str | None = None
    tender: str | None = None  # a tender method the order was paid with
    product_id: str | None = None  # an order with a line of this product
    sku: str | None = None
    min_total_cents: int | None = None
    max_total_cents: int | None = None
    number: str | None = None


class ReturnRow(msgspec.Struct, frozen=True, kw_only=True):
    """A return of an order's lines as stored (its tenant is the repository's)."""

    id: str
    order_id: str
    reason: str
    refund_cents: int
    fee_cents: int  # the restocking fee kept
    exchange_order_id: str | None  # the new sale of an exchange
    override_by: str | None  # the supervisor who approved a return outside policy
    actor: str
    created_at: str


class ReturnLineRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    return_id: str
    order_line_id: str
    quantity: int
    restock: bool  # back on the shelf
    refund_cents: int


class PaymentRow(msgspec.Struct, frozen=True, kw_only=True):
    """A payment as stored (its tenant is the repository's); see `edge.service.payments` for the
    states `status` moves through. Its `id` is the reference the terminal or provider is given."""

    id: str
    order_id: str
    kind: str  # sale | refund
    method: str  # cash | card | crypto | exchange_credit
    status: str
    amount_cents: int  # requested
    approved_cents: int = 0
    tendered_cents: int = 0  # cash handed over, or what a hosted charge actually received
    change_cents: int = 0
    original_payment_id: str | None = None  # the sale a refund pays back
    return_id: str | None = None
    provider_ref: str | None = None  # "void": a same-day reversal of the original sale
    auth_code: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    entry_mode: str | None = None
    checkout_url: str | None = None
    guidance: str | None = None  # what the cashier is told to do next
    attempts: int = 0
    created_at: str
    updated_at: str


class TillSessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A lane's drawer session as stored (its tenant is the repository's): `open` from its float
    until the Z report closes it with the counted cash."""

    id: str
    store_id: str
    lane_id: str
    status: str  # open | closed
    float_cents: int
    opened_by: str
    opened_at: str
    business_day: str
    closed_by: str | None = None
    closed_at: str | None = None
    counted_cents: int | None = None
    expected_cents: int | None = None
    variance_cents: int | None = None
    z_report: dict[str, Any] | None = None  # the Z report as shown when the session closed


class TillMovementRow(msgspec.Struct, frozen=True, kw_only=True):
    """Cash into (positive) or out of (negative) a drawer session."""

    id: str
    session_id: str
    kind: str  # float | pay_in | pay_out | cash_sale | cash_refund
    amount_cents: int
    reason: str | None
    ref: str | None  # the order a cash sale or refund belongs to
    actor: str
    at: str


class StockLevel(msgspec.Struct, frozen=True, kw_only=True):
    """A product's cached stock at one location (zeros for a product never moved there), with
    the product's low-stock `threshold` and whether `stock.low` was raised and not yet cleared."""

    on_hand: int = 0
    reserved: int = 0
    low: bool = False
    threshold: int = 0


class StockMovementRow(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the stock ledger (its tenant is the repository's); on hand is their sum."""

    id: str
    location_id: str
    product_id: str
    sku: str
    kind: str  # see edge.service.inventory.MOVEMENT_KINDS
    delta: int  # signed: into stock is positive
    reason: str | None = None
    ref: str | None = None  # the order, return, transfer or reservation it belongs to
    counted: int | None = None  # a count: what was counted, and what the lane expected then
    expected_at_count: int | None = None
    actor: str
    at: str


class ReservationRow(msgspec.Struct, frozen=True, kw_only=True):
    """Stock held at a location (its tenant is the repository's) until `expires_at`: for an order
    until it is paid, or for a customer (BOPIS, a manual hold)."""

    id: str
    location_id: str
    kind: str  # order | bopis | hold
    ref: str | None  # the order id, or the BOPIS order reference
    customer: str | None
    status: str  # active | committed | released | expired
    expires_at: str
    created_at: str
    closed_at: str | None = None


class ReservationItem(msgspec.Struct, frozen=True, kw_only=True):
    """What one reservation holds of one product (stored with its reservation's id)."""

    product_id: str
    sku: str
    quantity: int


class ProductRow(msgspec.Struct, frozen=True, kw_only=True):
    """A catalog product as stored (its tenant is the repository's), with its barcodes (kept in
    `product_barcodes`, sorted). `price_cents` is the list price (per kg when `sold_by_weight`);
    `version` is the tenant's catalog version at its last change, which lanes' delta sync reads."""

    id: str
    sku: str
    name: str
    price_cents: int
    tax_category: str
    active: bool = True
    attributes: dict[str, Any] = {}  # free-form JSON (brand, size, HQ's version, ...)
    sold_by_weight: bool = False
    low_stock_threshold: int = 0
    version: int
    created_at: str
    updated_at: str
    barcodes: list[str] = []


class SaleProduct(msgspec.Struct, frozen=True, kw_only=True):
    """What a sale, a hold or a stock move needs of a product, read with its tax category's rate
    and the store's price override in force (None without one) in the same query."""

    id: str
    sku: str
    name: str
    price_cents: int
    tax_category: str
    active: bool
    sold_by_weight: bool
    low_stock_threshold: int
    tax_rate_bp: int | None  # None: the category is unknown (pricing then refuses the line)
    tax_inclusive: bool | None
    override_cents: int | None = None


class CheckoutContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a checkout needs to know about its store, in one round trip."""

    lane_exists: bool
    currency: str
    till_session_id: str | None  # the lane's open drawer session


class TaxCategoryRow(msgspec.Struct, frozen=True, kw_only=True):
    """A tax category as stored; `rate_bp` in basis points (825 = 8.25 %)."""

    code: str
    name: str
    rate_bp: int
    inclusive: bool = False
    version: int = 1
    updated_at: str


class PriceOverrideRow(msgspec.Struct, frozen=True, kw_only=True):
    """A store's own price for a product from `valid_from` until `valid_to` (open-ended: None)."""

    id: str
    store_id: str
    product_id: str
    price_cents: int
    valid_from: str
    valid_to: str | None = None
    created_at: str


class InventoryLine(msgspec.Struct, frozen=True, kw_only=True):
    """A product's stock at a location as the stock list shows it (zeros if never moved there)."""

    product_id: str
    sku: str
    name: str
    threshold: int
    on_hand: int
    reserved: int
    available: int


class UserRow(msgspec.Struct, frozen=True, kw_only=True):
    """An account as stored (its tenant is the repository's). Secrets only as hashes: Argon2id
    PHC strings for the password and PIN, and the PIN's keyed lookup digest."""

    id: str
    store_id: str | None  # None: a tenant-wide account
    username: str
    password_hash: str
    pin_hash: str | None = None
    pin_lookup: str | None = None
    roles: list[str]
    disabled: bool = False
    totp_secret: str | None = None  # pending until confirmed
    totp_confirmed: bool = False
    totp_last_step: int | None = None
    created_at: str
    updated_at: str


class RefreshTokenRow(msgspec.Struct, frozen=True, kw_only=True):
    """A refresh token of a session (`family_id`), stored by its SHA-256 only."""

    token_hash: str
    family_id: str
    user_id: str
    lane_id: str | None
    issued_at: str
    expires_at: str
    rotated_at: str | None = None  # exchanged: a second use is reuse
    revoked_at: str | None = None


class LoginAttempts(msgspec.Struct, frozen=True, kw_only=True):
    """Failed sign-ins counted per login name (or "lane:<id>"), and the lockout they caused."""

    subject: str
    failures: int
    locked_until: str | None
    updated_at: str


class TenantRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    require_mfa: bool
    currency: str
    created_at: str


class StoreRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    timezone: str
    day_start_hour: int
    created_at: str


class LaneRow(msgspec.Struct, frozen=True, kw_only=True):
    store_id: str
    id: str
    name: str


class PairingCodeRow(msgspec.Struct, frozen=True, kw_only=True):
    """A one-time code pairing a device with a lane: only its SHA-256 is stored, never the code."""

    code_hash: str
    store_id: str
    lane_id: str
    created_by: str
    created_at: str
    expires_at: str
    used_at: str | None = None
    device_id: str | None = None  # the device it paired


class LaneDeviceRow(msgspec.Struct, frozen=True, kw_only=True):
    """A device paired with a lane, with the SHA-256 of its credential; revoked means unpaired."""

    id: str
    store_id: str
    lane_id: str
    token_hash: str
    label: str
    paired_at: str
    paired_by: str  # who issued the pairing code
    last_sign_in_at: str | None = None
    revoked_at: str | None = None
    revoked_by: str | None = None


class LaneSessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """The cashier session a lane holds (a refresh-token family) and the instant it must end."""

    family_id: str
    store_id: str
    lane_id: str
    user_id: str
    username: str
    device_id: str | None
    started_at: str
    ends_at: str
    ended_at: str | None = None
    ended_reason: str | None = None  # signed_out, taken_over, replaced, expired


class LaneQueueRow(msgspec.Struct, frozen=True, kw_only=True):
    """What a lane last reported of its offline queue."""

    store_id: str
    lane_id: str
    queued: int
    oldest_queued_at: str | None
    reported_at: str


class ReviewCaseRow(msgspec.Struct, frozen=True, kw_only=True):
    """A case for a manager to look at (an offline price variance, a stock conflict, a refund
    that could not be paid back), open until resolved."""

    id: str
    kind: str  # price_variance | stock_conflict | payment_unresolved
    status: str  # open | resolved
    order_id: str | None
    product_id: str | None
    summary: str
    detail: dict[str, Any]  # JSON: what the case is about, as the use case that opened it saw it
    resolution: str | None = None
    note: str | None = None
    resolved_by: str | None = None
    created_at: str
    resolved_at: str | None = None


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the audit log; `before` and `after` are the JSON snapshots the use case gave."""

    id: int
    store_id: str | None
    at: str
    actor: str
    actor_id: str | None
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    lane_id: str | None
    device_id: str | None
    request_id: str | None


class StoredResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The answer kept for an idempotency key, with the hash of the body it answered."""

    body_sha256: str
    status_code: int
    response_body: str


class PolicyRow(msgspec.Struct, frozen=True, kw_only=True):
    """A policy in force at the store, as HQ sent it (its tenant is the repository's)."""

    name: str
    document: dict[str, Any]  # JSON: the PolicyDocument (edge.contracts.policy)
    version: int  # HQ's: an older one never replaces a newer
    source: str
    command_id: str | None
    issued_at: str | None
    applied_at: str


class AuditLogRepository(Protocol):
    def query(self, *, entity: str | None = None, entity_id: str | None = None, actor: str | None = None,
            action: str | None = None, lane_id: str | None = None, since: str | None = None,
            until: str | None = None, before_id: int | None = None, limit: int = 100) -> list[AuditEntry]: ...


class CatalogRepository(Protocol):
    def next_version(self) -> int: ...
    def current_version(self) -> int: ...
    def get(self, product_id: str) -> ProductRow | None: ...
    def by_sku(self, sku: str) -> ProductRow | None: ...
    def ids_by_sku(self, skus: list[str]) -> dict[str, str]: ...
    def barcode_owners(self, barcodes: list[str]) -> dict[str, str]: ...
    def by_barcode(self, barcode: str) -> ProductRow | None: ...
    def lookup(self, *, barcode: str | None = None, sku: str | None = None, at: str
            ) -> tuple[ProductRow, int | None] | None: ...
    def barcode_owner(self, barcode: str) -> str | None: ...
    def search(self, *, q: str | None, sku: str | None, barcode: str | None, since: int | None, after: tuple[Any,
            str] | None, limit: int, active_only: bool) -> list[ProductRow]: ...
    def insert(self, product: ProductRow) -> None: ...
    def update(self, product_id: str, values: dict[str, Any]) -> None: ...
    def set_barcodes(self, product_id: str, barcodes: list[str]) -> None: ...
    def count(self) -> int: ...
    def tax_categories(self) -> list[TaxCategoryRow]: ...
    def tax_category(self, code: str) -> TaxCategoryRow | None: ...
    def upsert_tax_category(self, category: TaxCategoryRow) -> None: ...
    def overrides(self, product_id: str) -> list[PriceOverrideRow]: ...
    def active_overrides(self, product_ids: list[str], at: str) -> dict[str, int]: ...
    def add_override(self, override: PriceOverrideRow) -> None: ...
    def end_override(self, override_id: str, at: str) -> PriceOverrideRow | None: ...


class IdempotencyRepository(Protocol):
    def find(self, scope: tuple[str, str, str, str]) -> StoredResponse | None: ...
    def save(self, scope: tuple[str, str, str, str], body_sha256: str, status: int, body: str,
            now: str) -> None: ...
    def purge_before(self, cutoff: str) -> int: ...


class OrdersRepository(Protocol):
    def next_number(self, store_id: str, lane_id: str) -> int: ...
    def insert(self, order: OrderRow, lines: list[OrderLineRow]) -> None: ...
    def get(self, order_id: str) -> OrderRow | None: ...
    def by_number(self, number: str) -> OrderRow | None: ...
    def lines(self, order_id: str) -> list[OrderLineRow]: ...
    def lines_of(self, order_ids: list[str]) -> dict[str, list[OrderLineRow]]: ...
    def update(self, order_id: str, values: dict[str, Any], *, expect_status: str | None = None) -> bool: ...
    def add_returned(self, line_id: str, quantity: int) -> None: ...
    def search(self, f: OrderFilter, after: str | None, limit: int) -> list[OrderRow]: ...
    def pending_ids(self, limit: int = 500) -> list[str]: ...
    def count(self, status: str | None = None) -> int: ...
    def insert_return(self, ret: ReturnRow, lines: list[ReturnLineRow]) -> None: ...
    def return_by_id(self, return_id: str) -> tuple[ReturnRow, list[ReturnLineRow]] | None: ...
    def returns_of(self, order_id: str) -> list[tuple[ReturnRow, list[ReturnLineRow]]]: ...


class PolicyRepository(Protocol):
    """The policy in force at this store, per policy name (a row, or None before any)."""

    def get(self, name: str) -> PolicyRow | None: ...

    def put(self, policy: PolicyRow) -> None: ...

    def set_manager_mfa(self, required: bool) -> None: ...


class PaymentsRepository(Protocol):
    def insert_many(self, rows: list[PaymentRow]) -> None: ...
    def get(self, payment_id: str) -> PaymentRow | None: ...
    def of_order(self, order_id: str) -> list[PaymentRow]: ...
    def of_orders(self, order_ids: list[str]) -> dict[str, list[PaymentRow]]: ...
    def update(self, payment_id: str, values: dict[str, Any], *, expect_status: tuple[str,
            ...] | None = None) -> bool: ...
    def in_flight(self, limit: int = 500) -> list[PaymentRow]: ...
    def failed_refund_orders(self, limit: int = 200) -> list[str]: ...
    def record_provider_event(self, provider: str, event_id: str, payment_id: str | None, now: str) -> bool: ...


class StockRepository(Protocol):
    def levels(self, location_id: str, product_ids: list[str]) -> dict[str, StockLevel]: ...
    def append(self, movements: list[StockMovementRow], now: str) -> None: ...
    def bump_reserved(self, location_id: str, deltas: list[tuple[str, int]], now: str) -> None: ...
    def set_low(self, location_id: str, product_id: str, low: bool) -> None: ...
    def inventory(self, location_id: str, *, product_id: str | None = None, sku: str | None = None,
            low_only: bool = False, after: str | None = None, limit: int = 500,
            q: str | None = None) -> list[InventoryLine]: ...
    def movements(self, *, location_id: str | None, product_id: str | None, kind: str | None, ref: str | None,
            start: str | None, end: str | None, after: str | None, limit: int,
            newest_first: bool = False) -> list[StockMovementRow]: ...
    def ledger_sums(self, location_id: str) -> dict[str, int]: ...


class ReservationsRepository(Protocol):
    def create(self, reservation: ReservationRow, items: list[ReservationItem]) -> None: ...
    def get(self, reservation_id: str) -> ReservationRow | None: ...
    def active_for(self, ref: str) -> list[ReservationRow]: ...
    def items(self, reservation_id: str) -> list[ReservationItem]: ...
    def close(self, reservation_id: str, status: str, now: str) -> bool: ...
    def expired(self, now: str, limit: int = 200) -> list[ReservationRow]: ...
    def search(self, *, status: str | None, kind: str | None, after: str | None,
            limit: int) -> list[ReservationRow]: ...
    def active_count_past(self, now: str) -> int: ...


class SaleProductsRepository(Protocol):
    def checkout_context(self, store_id: str, lane_id: str) -> CheckoutContext: ...
    def resolve(self, *, ids: list[str], skus: list[str], barcodes: list[str], store_id: str | None = None,
            at: str | None = None) -> dict[tuple[str, str], SaleProduct]: ...
    def tax_rates(self) -> dict[str, tuple[int, bool]]: ...
    def currency(self) -> str: ...


class StoresRepository(Protocol):
    def lane_exists(self, store_id: str, lane_id: str) -> bool: ...
    def lanes(self, store_id: str) -> list[LaneRow]: ...
    def store(self, store_id: str) -> StoreRow | None: ...
    def ensure(self, *, tenant_name: str, store_id: str, store_name: str, timezone: str, day_start_hour: int,
            currency: str, lanes: int, require_mfa: bool, now: str) -> bool: ...


class TillsRepository(Protocol):
    def open_session(self, store_id: str | None, lane_id: str) -> TillSessionRow | None: ...
    def get(self, session_id: str) -> TillSessionRow | None: ...
    def insert_session(self, session: TillSessionRow) -> None: ...
    def update_session(self, session_id: str, values: dict[str, Any]) -> bool: ...
    def add_movement(self, movement: TillMovementRow) -> None: ...
    def movements(self, session_id: str) -> list[TillMovementRow]: ...
    def sessions(self, store_id: str | None, *, lane_id: str | None, status: str | None,
            limit: int = 100) -> list[TillSessionRow]: ...
    def report_queue(self, store_id: str, lane_id: str, queued: int, oldest: str | None, now: str) -> None: ...
    def queues(self, store_id: str | None) -> list[LaneQueueRow]: ...


class ReviewsRepository(Protocol):
    def open_case(self, uow: Any, kind: str, order_id: str | None, product_id: str | None, summary: str,
            detail: dict[str, Any]) -> ReviewCaseRow: ...
    def get(self, case_id: str) -> ReviewCaseRow | None: ...
    def resolve(self, case_id: str, *, resolution: str, note: str | None, resolved_by: str, at: str) -> bool: ...
    def search(self, *, status: str | None, kind: str | None, after: str | None, limit: int) -> list[ReviewCaseRow]: ...


class UsersRepository(Protocol):
    def by_username(self, username: str) -> UserRow | None: ...
    def by_id(self, user_id: str) -> UserRow | None: ...
    def by_pin_lookup(self, store_id: str, pin_lookup: str) -> UserRow | None: ...
    def list(self) -> list[UserRow]: ...
    def add(self, user: UserRow) -> None: ...
    def update(self, user_id: str, **values: Any) -> None: ...
    def attempts(self, subject: str) -> LoginAttempts | None: ...
    def save_attempts(self, subject: str, failures: int, locked_until: str | None, now: str) -> None: ...
    def add_refresh(self, token: RefreshTokenRow) -> None: ...
    def refresh_by_hash(self, token_hash: str) -> RefreshTokenRow | None: ...
    def mark_rotated(self, token_hash: str, now: str) -> bool: ...
    def revoke_family(self, family_id: str, now: str) -> int: ...
    def revoke_user(self, user_id: str, now: str) -> int: ...
    def revoked_sessions(self, since: str) -> list[str]: ...
    def tenant(self) -> TenantRow | None: ...


class SettlementReportRow(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's settlement for one business day against ours; `status` is matched or differences."""

    id: str
    provider: str
    method: str  # the tender method it settles
    business_day: str
    currency: str
    status: str
    captured_cents: int  # ours
    refunded_cents: int
    provider_captured_cents: int  # theirs
    provider_refunded_cents: int
    differences: list[dict[str, Any]]  # JSON column: [{kind, item, ref, ours_cents, provider_cents, case_id}]
    created_at: str


class SettlementRepository(Protocol):
    def payments_between(self, method: str, start: str, end: str) -> list[PaymentRow]: ...
    def save_report(self, report: SettlementReportRow) -> None: ...
    def reports(self, *, business_day: str | None, provider: str | None, limit: int) -> list[SettlementReportRow]: ...


class LanesRepository(Protocol):
    """Lane pairing codes (stored hashed), paired devices and the cashier session each lane holds."""

    def add_pairing_code(self, code: PairingCodeRow) -> None: ...
    def pairing_code(self, code_hash: str) -> PairingCodeRow | None: ...
    def spend_pairing_code(self, code_hash: str, device_id: str, now: str) -> bool: ...
    def add_device(self, device: LaneDeviceRow) -> None: ...
    def device_by_token_hash(self, token_hash: str) -> LaneDeviceRow | None: ...
    def device(self, device_id: str) -> LaneDeviceRow | None: ...
    def devices(self, store_id: str) -> list[LaneDeviceRow]: ...
    def update_device(self, device_id: str, values: dict[str, Any]) -> None: ...
    def add_session(self, session: LaneSessionRow) -> None: ...
    def session(self, family_id: str) -> LaneSessionRow | None: ...
    def open_sessions(self, store_id: str, lane_id: str) -> list[LaneSessionRow]: ...
    def end_session(self, family_id: str, reason: str, now: str) -> bool: ...
    def family_live(self, family_id: str, now: str) -> bool: ...
