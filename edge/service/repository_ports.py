"""What the use cases ask of storage: one Protocol per repository, each a typed attribute of
the unit of work (`uow.orders`, `uow.payments`, ...; see `ports.UnitOfWork`).

The SQL repositories in `edge/adapters/repos` implement them; a unit test may hand a fake
that implements only what its use case calls. An order comes back as an `OrderRow`, its lines
as `OrderLineRow`s, its payments as `PaymentRow`s, and a drawer session and its cash
movements as `TillSessionRow` and `TillMovementRow`, stock as `StockLevel` and
`StockMovementRow`, holds as `ReservationRow` with their `ReservationItem`s; other rows still come
back as
`dict[str, Any]` (most are passed on whole, to a view, an audit entry or an event).
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


class AuditLogRepository(Protocol):
    def query(self, *, entity: str | None = None, entity_id: str | None = None, actor: str | None = None,
            action: str | None = None, lane_id: str | None = None, since: str | None = None,
            until: str | None = None, before_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]: ...


class CatalogRepository(Protocol):
    def next_version(self) -> int: ...
    def current_version(self) -> int: ...
    def get(self, product_id: str) -> dict[str, Any] | None: ...
    def by_sku(self, sku: str) -> dict[str, Any] | None: ...
    def by_barcode(self, barcode: str) -> dict[str, Any] | None: ...
    def lookup(self, *, barcode: str | None = None, sku: str | None = None, at: str) -> dict[str, Any] | None: ...
    def barcode_owner(self, barcode: str) -> str | None: ...
    def search(self, *, q: str | None, sku: str | None, barcode: str | None, since: int | None, after: tuple[Any,
            str] | None, limit: int, active_only: bool) -> list[dict[str, Any]]: ...
    def insert(self, values: dict[str, Any], barcodes: list[str]) -> None: ...
    def update(self, product_id: str, values: dict[str, Any]) -> None: ...
    def set_barcodes(self, product_id: str, barcodes: list[str]) -> None: ...
    def count(self) -> int: ...
    def tax_categories(self) -> list[dict[str, Any]]: ...
    def tax_category(self, code: str) -> dict[str, Any] | None: ...
    def upsert_tax_category(self, values: dict[str, Any]) -> None: ...
    def overrides(self, product_id: str) -> list[dict[str, Any]]: ...
    def active_overrides(self, product_ids: list[str], at: str) -> dict[str, int]: ...
    def add_override(self, values: dict[str, Any]) -> None: ...
    def end_override(self, override_id: str, at: str) -> dict[str, Any] | None: ...


class IdempotencyRepository(Protocol):
    def find(self, scope: tuple[str, str, str, str]) -> dict[str, Any] | None: ...
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
    def search(self, f: dict[str, Any], after: str | None, limit: int) -> list[OrderRow]: ...
    def pending_ids(self, limit: int = 500) -> list[str]: ...
    def count(self, status: str | None = None) -> int: ...
    def insert_return(self, ret: dict[str, Any], lines: list[dict[str, Any]]) -> None: ...
    def returns_of(self, order_id: str) -> list[dict[str, Any]]: ...


class PolicyRepository(Protocol):
    """The policy in force at this store, per policy name (a row, or None before any)."""

    def get(self, name: str) -> dict[str, Any] | None: ...

    def put(self, name: str, values: dict[str, Any]) -> None: ...

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
            low_only: bool = False, after: str | None = None, limit: int = 500) -> list[dict[str, Any]]: ...
    def movements(self, *, location_id: str | None, product_id: str | None, kind: str | None, ref: str | None,
            start: str | None, end: str | None, after: str | None, limit: int) -> list[StockMovementRow]: ...
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
    def checkout_context(self, store_id: str, lane_id: str) -> dict[str, Any]: ...
    def resolve(self, *, ids: list[str], skus: list[str], barcodes: list[str], store_id: str | None = None,
            at: str | None = None) -> dict[tuple[str, str], dict[str, Any]]: ...
    def tax_rates(self) -> dict[str, tuple[int, bool]]: ...
    def currency(self) -> str: ...


class StoresRepository(Protocol):
    def lane_exists(self, store_id: str, lane_id: str) -> bool: ...
    def lanes(self, store_id: str) -> list[dict[str, Any]]: ...
    def store(self, store_id: str) -> dict[str, Any] | None: ...
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
    def queues(self, store_id: str | None) -> list[dict[str, Any]]: ...


class ReviewsRepository(Protocol):
    def open_case(self, uow: Any, kind: str, order_id: str | None, product_id: str | None, summary: str,
            detail: dict[str, Any]) -> dict[str, Any]: ...
    def get(self, case_id: str) -> dict[str, Any] | None: ...
    def resolve(self, case_id: str, values: dict[str, Any]) -> bool: ...
    def search(self, *, status: str | None, kind: str | None, after: str | None, limit: int) -> list[dict[str,
            Any]]: ...


class UsersRepository(Protocol):
    def by_username(self, username: str) -> dict[str, Any] | None: ...
    def by_id(self, user_id: str) -> dict[str, Any] | None: ...
    def by_pin_lookup(self, store_id: str, pin_lookup: str) -> dict[str, Any] | None: ...
    def list(self) -> list[dict[str, Any]]: ...
    def add(self, values: dict[str, Any]) -> None: ...
    def update(self, user_id: str, **values: Any) -> None: ...
    def attempts(self, subject: str) -> dict[str, Any] | None: ...
    def save_attempts(self, subject: str, failures: int, locked_until: str | None, now: str) -> None: ...
    def add_refresh(self, values: dict[str, Any]) -> None: ...
    def refresh_by_hash(self, token_hash: str) -> dict[str, Any] | None: ...
    def mark_rotated(self, token_hash: str, now: str) -> bool: ...
    def revoke_family(self, family_id: str, now: str) -> int: ...
    def revoke_user(self, user_id: str, now: str) -> int: ...
    def revoked_sessions(self, since: str) -> list[str]: ...
    def tenant(self) -> dict[str, Any] | None: ...


class SettlementRepository(Protocol):
    def payments_between(self, method: str, start: str, end: str) -> list[PaymentRow]: ...
    def save_report(self, report: dict[str, Any]) -> None: ...
    def reports(self, *, business_day: str | None, provider: str | None, limit: int) -> list[dict[str, Any]]: ...
