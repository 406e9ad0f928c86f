"""Customers cached at the store (migration 0007_customers): sealed profiles and blind indexes.

Nothing here opens without a key kept elsewhere: `profile` is sealed under the customer's data
key, which lives only in the key cache (`customer_keys`, a separate file never copied by
backups), and `customer_index` holds only HMAC digests. Erasing a customer deletes its rows here
and its key there. `orders.customer_id` (the link from a sale to its customer) is declared with
the orders table in `tables_sales`; this revision adds it to databases created before it.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table

from edge.adapters.tables import metadata

CUSTOMERS = {"migration": "0007_customers"}

customers = Table(
    "customers",
    metadata,
    Column("tenant_id", String, primary_key=True),
    Column("customer_id", String, primary_key=True),
    Column("profile", String, nullable=False),  # pii.seal_profile under the customer's data key
    Column("consents", JSON, nullable=False),  # contracts.customers.Consents (flags and timestamps, no PII)
    Column("home_store_id", String, nullable=False),  # where they joined
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_seen_at", String, nullable=False),  # the bounded cache evicts the least recently seen
    Column("escrowed", Boolean, nullable=False),  # False: HQ does not have this version's key and indexes yet
    Column("source", String, nullable=False),  # "store" (created here) or "hq" (cached from a lookup)
    Column("balance_points", Integer, nullable=False, default=0),  # HQ's ledger sum when last seen
    Column("balance_as_of", String, nullable=True),
    # HQ's points earned over the tier window at `balance_as_of`, every store's (added by 0009_custfollow)
    Column("earned_in_window", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_customers_seen", "tenant_id", "last_seen_at"),
    info=CUSTOMERS,
)

customer_index = Table(
    "customer_index",
    metadata,
    Column("tenant_id", String, primary_key=True),
    Column("kind", String, primary_key=True),  # email | phone | card
    Column("digest", String, primary_key=True),  # pii.blind_index of the normalised value
    Column("customer_id", String, nullable=False),
    Index("ix_customer_index_customer", "tenant_id", "customer_id"),
    info=CUSTOMERS,
)
