"""SQLAlchemy Core tables for sales, payments, returns, tills, stock and review (migration 0002).

Stock is an append-only ledger (`stock_movements`); `stock_levels` is a cache of the ledger's
sum per (location, product) plus the quantity held by active reservations, updated in the same
transaction as every movement, so `on_hand == SUM(delta)` holds at every commit. Reservations
are their own rows with a TTL rather than ledger movements: they change availability, never
on hand.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from edge.adapters.tables import metadata

SALES = {"migration": "0002"}

orders = Table(
    "orders",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("lane_id", String, nullable=False),
    Column("number", String, nullable=False),  # human-readable per store and lane: "1-000042"
    Column("status", String, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("cashier_id", String, nullable=True),
    Column("cashier", String, nullable=False),
    Column("subtotal_cents", Integer, nullable=False),
    Column("discount_cents", Integer, nullable=False),
    Column("tax_cents", Integer, nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("paid_cents", Integer, nullable=False, default=0),
    Column("change_due_cents", Integer, nullable=False, default=0),
    Column("refunded_cents", Integer, nullable=False, default=0),
    Column("tender_methods", String, nullable=False, default=""),  # "cash,card": for search
    Column("business_day", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("completed_at", String, nullable=True),
    Column("voided_at", String, nullable=True),
    Column("void_reason", String, nullable=True),
    Column("offline_created_at", String, nullable=True),
    Column("verdict", String, nullable=True),  # offline replay verdict
    Column("exchange_of", String, nullable=True),  # the return this sale is the new half of
    Column("override_by", String, nullable=True),  # supervisor who approved a discount
    Column("receipt_prints", Integer, nullable=False, default=0),
    Column("customer_id", String, nullable=True),  # the customer attached to the sale (added by 0007_customers)
    UniqueConstraint("tenant_id", "store_id", "number", name="uq_orders_number"),
    Index("ix_orders_day", "tenant_id", "business_day", "id"),
    Index("ix_orders_status", "tenant_id", "status", "id"),
    Index("ix_orders_created", "tenant_id", "created_at"),
    Index("ix_orders_customer", "tenant_id", "customer_id"),
    info=SALES,
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", String, primary_key=True),
    Column("order_id", String, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", String, nullable=False),
    Column("sku", String, nullable=False),
    Column("name", String, nullable=False),
    Column("quantity", Integer, nullable=False),  # units; 1 for a weighed line
    Column("weight_grams", Integer, nullable=True),
    Column("unit_price_cents", Integer, nullable=False),  # per unit, or per kg when weighed
    Column("catalog_price_cents", Integer, nullable=False),  # today's price when recorded
    Column("discount_cents", Integer, nullable=False),
    Column("tax_category", String, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("tax_inclusive", Boolean, nullable=False),
    Column("tax_cents", Integer, nullable=False),
    Column("total_cents", Integer, nullable=False),  # what the customer pays for the line
    Column("returned_quantity", Integer, nullable=False, default=0),
    Index("ix_order_lines_order", "order_id", "line_no"),
    Index("ix_order_lines_product", "product_id"),
    info=SALES,
)

payments = Table(
    # A row exists and is committed *before* the terminal or provider is called; its id is the
    # reference sent to them, so a lost answer is recovered by asking about that reference.
    "payments",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("order_id", String, nullable=False),
    Column("kind", String, nullable=False),  # sale | refund
    Column("method", String, nullable=False),  # cash | card | crypto
    Column("status", String, nullable=False),
    Column("amount_cents", Integer, nullable=False),  # requested
    Column("approved_cents", Integer, nullable=False, default=0),
    Column("tendered_cents", Integer, nullable=False, default=0),  # cash handed over
    Column("change_cents", Integer, nullable=False, default=0),
    Column("original_payment_id", String, nullable=True),  # for refunds
    Column("return_id", String, nullable=True),
    Column("provider_ref", String, nullable=True),
    Column("auth_code", String, nullable=True),
    Column("card_brand", String, nullable=True),
    Column("card_last4", String, nullable=True),
    Column("entry_mode", String, nullable=True),
    Column("checkout_url", String, nullable=True),
    Column("guidance", String, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Index("ix_payments_order", "order_id"),
    Index("ix_payments_status", "tenant_id", "status"),
    info=SALES,
)

returns = Table(
    "returns",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("order_id", String, nullable=False),
    Column("reason", String, nullable=False),
    Column("refund_cents", Integer, nullable=False),
    Column("fee_cents", Integer, nullable=False),
    Column("exchange_order_id", String, nullable=True),
    Column("override_by", String, nullable=True),
    Column("actor", String, nullable=False),
    Column("created_at", String, nullable=False),
    Index("ix_returns_order", "order_id"),
    info=SALES,
)

return_lines = Table(
    "return_lines",
    metadata,
    Column("id", String, primary_key=True),
    Column("return_id", String, nullable=False),
    Column("order_line_id", String, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("restock", Boolean, nullable=False),
    Column("refund_cents", Integer, nullable=False),
    Index("ix_return_lines_return", "return_id"),
    info=SALES,
)

lane_counters = Table(
    "lane_counters",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("lane_id", String, nullable=False),
    Column("last_seq", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "store_id", "lane_id"),
    info=SALES,
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("location_id", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("on_hand", Integer, nullable=False),  # == SUM(stock_movements.delta), kept in the same txn
    Column("reserved", Integer, nullable=False),  # == SUM of active reservation items
    Column("low", Boolean, nullable=False, default=False),  # latched: one stock.low per crossing
    Column("updated_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "location_id", "product_id"),
    info=SALES,
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("location_id", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("sku", String, nullable=False),
    Column("kind", String, nullable=False),  # sale return adjustment count receive transfer_out transfer_in
    Column("delta", Integer, nullable=False),
    Column("reason", String, nullable=True),
    Column("ref", String, nullable=True),
    Column("counted", Integer, nullable=True),
    Column("expected_at_count", Integer, nullable=True),
    Column("actor", String, nullable=False),
    Column("at", String, nullable=False),
    Index("ix_movements_product", "tenant_id", "location_id", "product_id", "at"),
    Index("ix_movements_kind", "tenant_id", "kind", "at"),
    Index("ix_movements_ref", "ref"),
    info=SALES,
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("location_id", String, nullable=False),
    Column("kind", String, nullable=False),  # order | bopis | hold
    Column("ref", String, nullable=True),  # the order id, or the BOPIS order reference
    Column("customer", String, nullable=True),
    Column("status", String, nullable=False),  # active | committed | released | expired
    Column("expires_at", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("closed_at", String, nullable=True),
    Index("ix_reservations_active", "status", "expires_at"),
    Index("ix_reservations_ref", "tenant_id", "ref"),
    info=SALES,
)

reservation_items = Table(
    "reservation_items",
    metadata,
    Column("reservation_id", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("sku", String, nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("reservation_id", "product_id"),
    info=SALES,
)

till_sessions = Table(
    "till_sessions",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("lane_id", String, nullable=False),
    Column("status", String, nullable=False),  # open | closed
    Column("float_cents", Integer, nullable=False),
    Column("opened_by", String, nullable=False),
    Column("opened_at", String, nullable=False),
    Column("business_day", String, nullable=False),
    Column("closed_by", String, nullable=True),
    Column("closed_at", String, nullable=True),
    Column("counted_cents", Integer, nullable=True),
    Column("expected_cents", Integer, nullable=True),
    Column("variance_cents", Integer, nullable=True),
    Column("z_report", JSON, nullable=True),
    Index("ix_till_lane", "tenant_id", "store_id", "lane_id", "status"),
    info=SALES,
)

till_movements = Table(
    "till_movements",
    metadata,
    Column("id", String, primary_key=True),
    Column("session_id", String, nullable=False),
    Column("kind", String, nullable=False),  # float | pay_in | pay_out | cash_sale | cash_refund
    Column("amount_cents", Integer, nullable=False),  # signed: into the drawer is positive
    Column("reason", String, nullable=True),
    Column("ref", String, nullable=True),
    Column("actor", String, nullable=False),
    Column("at", String, nullable=False),
    Index("ix_till_movements_session", "session_id"),
    info=SALES,
)

lane_queue_status = Table(
    "lane_queue_status",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("lane_id", String, nullable=False),
    Column("queued", Integer, nullable=False),
    Column("oldest_queued_at", String, nullable=True),
    Column("reported_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "store_id", "lane_id"),
    info=SALES,
)

review_cases = Table(
    "review_cases",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("kind", String, nullable=False),  # price_variance | stock_conflict | payment_unresolved
    Column("status", String, nullable=False),  # open | resolved
    Column("order_id", String, nullable=True),
    Column("product_id", String, nullable=True),
    Column("summary", String, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("resolution", String, nullable=True),
    Column("note", Text, nullable=True),
    Column("resolved_by", String, nullable=True),
    Column("created_at", String, nullable=False),
    Column("resolved_at", String, nullable=True),
    Index("ix_review_open", "tenant_id", "status", "created_at"),
    info=SALES,
)

provider_events = Table(
    # Signed provider callbacks, deduplicated on the provider's event id.
    "provider_events",
    metadata,
    Column("provider", String, nullable=False),
    Column("event_id", String, nullable=False),
    Column("payment_id", String, nullable=True),
    Column("received_at", String, nullable=False),
    PrimaryKeyConstraint("provider", "event_id"),
    info=SALES,
)
