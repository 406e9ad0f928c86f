"""HQ's customer tables: the master record (sealed), its keys, its lookup index, and GDPR requests.

What is personal is only ever stored sealed (`edge.contracts.pii`): `hq_customers.profile` is the
profile ciphertext under the customer's data key; `hq_customer_keys` holds that data key wrapped
under the tenant's wrap key, and `hq_tenant_keys` the tenant key wrapped under HQ's KEK, which
lives in a file or the environment, never here. Erasing a customer deletes its key row and its
index rows (crypto-shredding: every copy of the ciphertext, here, in JetStream and in backups,
stops opening) and keeps a tombstone in `hq_customers` (`erased_at`, no profile) so a store that
has not heard yet is told at once.

`hq_customer_stores` records which stores hold a customer (escrowed, looked up, viewed, sold to):
what an export lists and what an erasure has to reach.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Connection, Index, PrimaryKeyConstraint, String, Text, inspect

from cloud.schema import Table

hq_tenant_keys = Table(
    "hq_tenant_keys",
    Column("tenant_id", String, primary_key=True),
    Column("wrapped_key", String, nullable=False),  # pii.wrap_key(KEK, tenant key, "tenant|<id>")
    Column("created_at", String, nullable=False),
)
hq_customer_keys = Table(
    "hq_customer_keys",
    Column("tenant_id", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("wrapped_key", String, nullable=False),  # pii.wrap_data_key under the tenant wrap key
    Column("escrowed_by", String, nullable=False),  # the store that minted it
    Column("escrowed_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
)
hq_customers = Table(
    "hq_customers",
    Column("tenant_id", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("profile", Text, nullable=True),  # sealed CustomerProfile; None once erased
    Column("consents", JSON, nullable=True),  # edge.contracts.customers.Consents
    Column("home_store_id", String, nullable=True),
    Column("created_at", String, nullable=True),
    Column("updated_at", String, nullable=True),  # the writer's clock: last writer wins by (updated_at, version)
    Column("version", BigInteger, nullable=False, default=1),
    Column("received_at", String, nullable=False),
    Column("erased_at", String, nullable=True),
    Column("unlinked_at", String, nullable=True),  # retention dropped the order links
    PrimaryKeyConstraint("tenant_id", "customer_id"),
)
hq_customer_index = Table(
    "hq_customer_index",
    Column("tenant_id", String, nullable=False),
    Column("kind", String, nullable=False),  # email | phone | card
    Column("digest", String, nullable=False),  # pii.blind_index: HMAC, never the value
    Column("customer_id", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind", "digest", "customer_id"),
    Index("ix_hq_customer_index_customer", "tenant_id", "customer_id"),
)
hq_customer_stores = Table(
    "hq_customer_stores",
    Column("tenant_id", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("first_seen_at", String, nullable=False),
    Column("last_seen_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "customer_id", "store_id"),
)
hq_gdpr_requests = Table(
    "hq_gdpr_requests",
    Column("request_id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("kind", String, nullable=False),  # export | erase | retention
    Column("requested_by", String, nullable=False),
    Column("requested_at", String, nullable=False),
    Column("stores", JSON, nullable=False),  # the stores an erasure was sent to
    Column("done", Boolean, nullable=False, default=False),  # erase: every store confirmed
    Index("ix_hq_gdpr_requests_tenant", "tenant_id", "requested_at"),
)
hq_gdpr_confirmations = Table(
    "hq_gdpr_confirmations",
    Column("tenant_id", String, nullable=False),
    Column("request_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("confirmed_at", String, nullable=False),  # when the store applied it
    Column("received_at", String, nullable=False),
    Column("event_id", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "request_id", "store_id"),
)


def upgrade_sales(conn: Connection) -> None:
    """A hub created before customers: `sales.customer_id` (create_all adds no columns)."""
    tables = set(inspect(conn).get_table_names())
    if "sales" in tables and "customer_id" not in {c["name"] for c in inspect(conn).get_columns("sales")}:
        conn.exec_driver_sql("ALTER TABLE sales ADD COLUMN customer_id VARCHAR")
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_sales_customer ON sales (tenant_id, customer_id)")
