"""HQ's BOPIS tables beside `bopis_orders`: the web order's terms and its status history.

`bopis_orders` holds where an order stands now (the store asked or serving it, the stores that
rejected it); `bopis_terms` what the web shop said about it (paid online, how long to hold it)
and the sale it became; `bopis_history` every status it went through, in order, with the store
and the reason, which is what HQ and the partner are shown.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, PrimaryKeyConstraint, String

from cloud.schema import Table

bopis_terms = Table(
    "bopis_terms",
    Column("tenant_id", String, nullable=False),
    Column("order_id", String, nullable=False),
    Column("prepaid", Boolean, nullable=False),
    Column("hold_hours", Integer, nullable=False),
    Column("placed_at", String, nullable=False),
    Column("placed_by", String, nullable=False),
    Column("sale_store_id", String, nullable=True),  # the store that handed it over
    Column("sale_order_id", String, nullable=True),  # that store's sale
    Column("sale_total_cents", BigInteger, nullable=True),
    PrimaryKeyConstraint("tenant_id", "order_id"),
)
bopis_history = Table(
    "bopis_history",
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("order_id", String, nullable=False),
    Column("n", Integer, nullable=False),  # 1, 2, 3... in the order the statuses were recorded
    Column("status", String, nullable=False),
    Column("store_id", String, nullable=True),
    Column("reason", String, nullable=True),
    Column("at", String, nullable=False),
    Column("event_id", String, nullable=True),  # the store's event, when a store reported it
    Column("detail", JSON, nullable=True),
    Index("ix_bopis_history_order", "tenant_id", "order_id", "n"),
)
