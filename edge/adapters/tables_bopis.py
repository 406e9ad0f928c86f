"""BOPIS pickups at the store (migration 0005_bopis): one row per web order HQ allocated here.

The row is the order's current state; its history is the audit log and the `bopis.*` events
that replicate to HQ. Lines are the web order's (SKU, quantity); no customer details are kept.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table

from edge.adapters.tables import metadata

BOPIS = {"migration": "0005_bopis"}

pickups = Table(
    "pickups",
    metadata,
    Column("tenant_id", String, primary_key=True),
    Column("order_id", String, primary_key=True),  # HQ's web order id
    Column("status", String, nullable=False),  # edge.domain.pickups.PickupStatus
    Column("lines", JSON, nullable=False),  # [{sku, quantity}]
    Column("prepaid", Boolean, nullable=False),
    Column("hold_hours", Integer, nullable=False),
    Column("reservation_id", String, nullable=True),  # the stock hold, while accepted..ready
    Column("sale_order_id", String, nullable=True),  # the sale recorded at pickup
    Column("reason", String, nullable=True),  # why it was rejected or cancelled
    Column("command_id", String, nullable=False),  # the HQ command that brought it
    Column("received_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Index("ix_pickups_status", "tenant_id", "status", "updated_at"),
    info=BOPIS,
)
