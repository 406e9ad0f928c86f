"""HQ's loyalty ledger: every points entry of every store, and HQ's own (adjustments, write-offs).

A customer's balance at HQ is the sum of their entries. Entries come from the stores'
`loyalty.entry` events (keyed by the entry id the store derived from the order, return or payment,
so a replay inserts nothing) and from HQ itself (`store_id = "hq"`). Erasing a customer replaces
`customer_id` with a fresh random pseudonym: the points history stays, the person does not.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, PrimaryKeyConstraint, String

from cloud.schema import Table

HQ_STORE = "hq"  # the store_id of entries HQ makes itself

hq_loyalty_ledger = Table(
    "hq_loyalty_ledger",
    Column("tenant_id", String, nullable=False),
    Column("entry_id", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("order_id", String, nullable=True),
    Column("kind", String, nullable=False),  # edge.contracts.customers.LoyaltyKind
    Column("points", BigInteger, nullable=False),  # signed
    Column("reason", String, nullable=False, default=""),
    Column("at", String, nullable=False),  # when the store (or HQ) made the entry
    Column("offline", Boolean, nullable=False, default=False),
    Column("recorded_at", String, nullable=False),  # when HQ received it
    PrimaryKeyConstraint("tenant_id", "entry_id"),
    Index("ix_hq_loyalty_ledger_customer", "tenant_id", "customer_id", "at"),
)
