"""The store's points ledger (migration 0008_loyalty).

A customer's balance at the store is HQ's last balance (`customers.balance_points` at
`balance_as_of`, from the rpc replies) plus the entries made here after it. Entries hold ids, not
people: erasing a customer swaps `customer_id` on their entries for a random pseudonym.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table

from edge.adapters.tables import metadata

LOYALTY = {"migration": "0008_loyalty"}

loyalty_ledger = Table(
    "loyalty_ledger",
    metadata,
    Column("tenant_id", String, primary_key=True),
    Column("entry_id", String, primary_key=True),  # derived from the order/return/payment and the kind
    Column("customer_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("order_id", String, nullable=True),
    Column("kind", String, nullable=False),  # edge.contracts.customers.LoyaltyKind
    Column("points", Integer, nullable=False),  # signed
    Column("reason", String, nullable=False, default=""),
    Column("offline", Boolean, nullable=False, default=False),  # redeemed while HQ was out of reach
    Column("actor", String, nullable=True),
    Column("at", String, nullable=False),
    Column("event_id", String, nullable=True),  # its `loyalty.entry` in the outbox: unsent means HQ lacks it
    Index("ix_loyalty_ledger_customer", "tenant_id", "customer_id", "at"),
    Index("ix_loyalty_ledger_order", "tenant_id", "order_id"),
    info=LOYALTY,
)
