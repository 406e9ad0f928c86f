"""Cloud tables (SQLAlchemy Core) and their creation, with row-level security on Postgres.

Tenant tables carry `tenant_id` and, on Postgres, an ENABLE + FORCE RLS policy on
`current_setting('app.tenant_id', true)`: a transaction that forgot to set it sees nothing.
Global tables (tenants, users, refresh tokens) are read before a tenant is known (login), so
they have no policy and are reached only through `CloudDB.system()`.
Times are ISO 8601 UTC text ("...Z"), which sorts correctly on both engines.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    inspect,
    text,
)
from sqlalchemy import Table as _Table
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud.db import CloudDB

metadata = MetaData()
TENANT_TABLES: list[str] = []


def Table(name: str, *cols, tenant: bool = True, **kw):
    if tenant:
        TENANT_TABLES.append(name)
    return _Table(name, metadata, *cols, **kw)


tenants = Table(
    "tenants",
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("created_at", String, nullable=False),
    tenant=False,
)
users = Table(
    "hq_users",
    Column("id", String, primary_key=True),
    Column("username", String, nullable=False, unique=True),  # logins carry no tenant: unique
    Column("password_hash", String, nullable=False),
    Column("roles", JSON, nullable=False),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=True),
    Column("failures", Integer, nullable=False, default=0),  # unused: see hq_login_failures
    Column("locked_until", String, nullable=True),  # unused: see hq_login_failures
    Column("created_at", String, nullable=False),
    Column("totp_secret", String, nullable=True),
    Column("totp_confirmed", Boolean, nullable=False, default=False),
    Column("totp_last_step", BigInteger, nullable=True),  # a code's step is accepted once
    tenant=False,
)
# Failures are counted per *username*, known or not, so an unknown name locks out exactly like
# a real one and the answers never tell them apart.
login_failures = Table(
    "hq_login_failures",
    Column("username", String, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", String, nullable=True),
    Column("updated_at", String, nullable=False),
    tenant=False,
)
refresh_tokens = Table(
    "hq_refresh_tokens",
    Column("token_hash", String, primary_key=True),  # SHA-256 of the opaque token; never the token
    Column("user_id", String, nullable=False),
    Column("family_id", String, nullable=False),  # one login's chain of rotations
    Column("expires_at", String, nullable=False),
    Column("rotated_at", String, nullable=True),
    Column("revoked_at", String, nullable=True),
    Index("ix_refresh_family", "family_id"),
    tenant=False,
)

events = Table(
    "events",
    Column("event_id", String, primary_key=True),  # the store's UUIDv7: the dedup key
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", String, nullable=False),
    Column("business_day", String, nullable=False),
    Column("received_at", String, nullable=False),
    Column("envelope", Text, nullable=False),  # raw, so unknown types can be projected later
    Index("ix_events_store_seq", "tenant_id", "store_id", "seq"),
)
stores = Table(
    "stores",
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("name", String, nullable=True),
    Column("leaf_domain", String, nullable=True),  # JetStream domain of the store's leaf, if any
    Column("first_seen_at", String, nullable=True),
    Column("last_seen_at", String, nullable=True),  # when the cloud last received an event
    Column("last_event_at", String, nullable=True),  # occurred_at of the newest event
    Column("lag_s", Integer, nullable=True),  # received - occurred, for the newest event
    Column("events_received", BigInteger, nullable=False, default=0),
    Column("min_seq", BigInteger, nullable=True),
    Column("max_seq", BigInteger, nullable=True),
    Column("missing_seqs", BigInteger, nullable=False, default=0),  # gaps in the store's seq
    PrimaryKeyConstraint("tenant_id", "store_id"),
)
sales = Table(
    "sales",
    Column("event_id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("order_id", String, nullable=True),
    Column("kind", String, nullable=False),  # sale | void | return
    Column("business_day", String, nullable=False),
    Column("occurred_at", String, nullable=False),
    Column("hour", Integer, nullable=False),  # UTC hour of occurred_at
    Column("orders", Integer, nullable=False),  # +1 sale, -1 void, 0 return
    Column("gross_cents", BigInteger, nullable=False),  # signed: voids and returns negative
    Column("currency", String(3), nullable=True),
    Column("customer_id", String, nullable=True),  # the order's customer; None when none, erased or expired
    Index("ix_sales_day", "tenant_id", "business_day", "store_id"),
    Index("ix_sales_customer", "tenant_id", "customer_id"),
)
sale_lines = Table(
    "sale_lines",
    Column("event_id", String, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("business_day", String, nullable=False),
    Column("sku", String, nullable=True),
    Column("name", String, nullable=True),
    Column("quantity", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    PrimaryKeyConstraint("event_id", "line_no"),
)
sale_tenders = Table(
    "sale_tenders",
    Column("event_id", String, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("business_day", String, nullable=False),
    Column("method", String, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    PrimaryKeyConstraint("event_id", "idx"),
)
stock_movements = Table(
    "stock_movements",
    Column("tenant_id", String, nullable=False),
    Column("movement_id", String, nullable=False),  # each movement applied once, by its id
    Column("store_id", String, nullable=False),
    Column("location_id", String, nullable=False),
    Column("product_id", String, nullable=True),
    Column("sku", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("ref", String, nullable=True),
    Column("at", String, nullable=True),
    Column("event_id", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "movement_id"),
)
stock_levels = Table(
    "stock_levels",
    Column("tenant_id", String, nullable=False),
    Column("location_id", String, nullable=False),
    Column("sku", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("threshold", BigInteger, nullable=False, default=0),
    Column("updated_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "location_id", "sku"),
)
transfers = Table(
    "transfers",
    Column("tenant_id", String, nullable=False),
    Column("transfer_id", String, nullable=False),
    Column("sku", String, nullable=False),
    Column("from_location", String, nullable=True),
    Column("to_location", String, nullable=True),
    Column("qty_out", BigInteger, nullable=False, default=0),
    Column("qty_in", BigInteger, nullable=False, default=0),
    Column("out_at", String, nullable=True),
    Column("in_at", String, nullable=True),
    Column("status", String, nullable=False),  # in_transit | received | overdue
    PrimaryKeyConstraint("tenant_id", "transfer_id", "sku"),
)
conflicts = Table(
    "conflicts",
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=True),
    Column("kind", String, nullable=False),  # negative_stock | transfer_unreceived | price_variance | bopis
    Column("dedup_key", String, nullable=False),
    Column("status", String, nullable=False),  # open | assigned | resolved
    Column("summary", String, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("assignee", String, nullable=True),
    Column("resolution", String, nullable=True),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    Index("ix_conflicts_dedup", "tenant_id", "dedup_key"),
    # One *open* case per key, held by the database: several HQ instances sweep and ingest at
    # once, and two transactions that both read "no open case" would otherwise both open one.
    Index(
        "uq_conflicts_open", "tenant_id", "dedup_key", unique=True,
        sqlite_where=text("status != 'resolved'"), postgresql_where=text("status != 'resolved'"),
    ),
    Index("ix_conflicts_status", "tenant_id", "status"),
)
conflict_audit = Table(
    "conflict_audit",
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("conflict_id", String, nullable=False),
    Column("at", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("action", String, nullable=False),
    Column("detail", JSON, nullable=True),
    Index("ix_conflict_audit", "tenant_id", "conflict_id"),
)
bopis_orders = Table(
    "bopis_orders",
    Column("tenant_id", String, nullable=False),
    Column("order_id", String, nullable=False),
    Column("lines", JSON, nullable=False),  # [{sku, quantity}]
    Column("store_id", String, nullable=True),  # the store currently asked, or that accepted
    Column("tried", JSON, nullable=False),  # stores that rejected
    Column("status", String, nullable=False),  # reserved | accepted | cancelled
    Column("updated_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "order_id"),
)
commands = Table(
    "commands",
    Column("command_id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=True),  # None: all stores
    Column("type", String, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("issued_at", String, nullable=False),
    Column("issued_by", String, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("published_at", String, nullable=True),
    Index("ix_commands_type", "tenant_id", "type", "version"),
)

# A tenant's policies as HQ decided them; `version` is the `policy.set` command version that
# carried this document to the stores, so HQ and every store name the same version.
tenant_policies = Table(
    "tenant_policies",
    Column("tenant_id", String, nullable=False),
    Column("name", String, nullable=False),  # "sales"
    Column("document", JSON, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", String, nullable=False),
    Column("updated_by", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "name"),
)
# -- the trust boundary: store ownership, NATS users, enrollment, quarantine, audit ----------
# A store id belongs to exactly one tenant, across all tenants: the primary key says so. It is
# global (no RLS) because the check has to see other tenants' claims.
store_owners = Table(
    "store_owners",
    Column("store_id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("claimed_at", String, nullable=False),
    Column("claimed_by", String, nullable=False),  # an HQ user, or "ingest" for a store seen first
    tenant=False,
)
# NATS users the hub's accounts file is rendered from. Public keys only: a store's seed goes
# to the box once, at enrollment; the HQ seed per tenant lives in the auth directory (0600).
nats_users = Table(
    "nats_users",
    Column("public_key", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=True),  # None: the HQ user of the tenant's account
    Column("leaf_domain", String, nullable=True),  # set when the user is a store leaf's link
    Column("created_at", String, nullable=False),
    Column("revoked_at", String, nullable=True),
    Index("ix_nats_users_tenant", "tenant_id", "store_id"),
    tenant=False,
)
enrollment_tokens = Table(
    "enrollment_tokens",
    Column("token_hash", String, primary_key=True),  # SHA-256 of the token; never the token
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("created_by", String, nullable=False),
    Column("expires_at", String, nullable=False),
    Column("claimed_at", String, nullable=True),
    tenant=False,
)
# Events whose envelope names another tenant or store than the subject they came on. Filed
# under the tenant the subject (the sender's account) belongs to, never the one claimed.
quarantined_events = Table(
    "quarantined_events",
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("subject", String, nullable=False),
    Column("event_id", String, nullable=True),
    Column("claimed_tenant_id", String, nullable=True),
    Column("claimed_store_id", String, nullable=True),
    Column("reason", String, nullable=False),
    Column("envelope", Text, nullable=False),  # truncated to QUARANTINE_MAX_BYTES
    Column("received_at", String, nullable=False),
    Index("ix_quarantine_tenant", "tenant_id", "received_at"),
)
# Who changed what at HQ, with before and after: tenants, policies (DESIGN §6).
hq_audit = Table(
    "hq_audit",
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("at", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("action", String, nullable=False),
    Column("entity", String, nullable=False),
    Column("entity_id", String, nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index("ix_hq_audit_entity", "tenant_id", "entity", "at"),
)


async def create_schema(db: CloudDB) -> None:
    """Create tables (idempotent). On Postgres also the app role, grants and RLS policies."""
    from cloud.schema_customers import upgrade_sales as _upgrade_sales

    async with db.engine.begin() as conn:
        if db.is_postgres and db.schema:
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"')
        await conn.run_sync(_upgrade_auth_tables)
        await conn.run_sync(_upgrade_sales)  # sales.customer_id on a hub created before customers
        await conn.run_sync(_merge_duplicate_open_cases)  # before create_all adds uq_conflicts_open
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(_create_missing_indexes, [conflicts])
        if db.is_postgres:
            await _postgres_security(conn, db)


def _upgrade_auth_tables(conn: Connection) -> None:
    """Bring a hub created before TOTP and token families up to date (create_all adds no columns).

    Old refresh tokens have no family, so they are dropped: those users simply log in again.
    """
    tables = set(inspect(conn).get_table_names())
    if "hq_users" in tables and "totp_secret" not in {c["name"] for c in inspect(conn).get_columns("hq_users")}:
        conn.exec_driver_sql("ALTER TABLE hq_users ADD COLUMN totp_secret VARCHAR")
        conn.exec_driver_sql("ALTER TABLE hq_users ADD COLUMN totp_confirmed BOOLEAN NOT NULL DEFAULT false")
        conn.exec_driver_sql("ALTER TABLE hq_users ADD COLUMN totp_last_step BIGINT")
    if "hq_refresh_tokens" in tables and "family_id" not in {
        c["name"] for c in inspect(conn).get_columns("hq_refresh_tokens")
    }:
        conn.exec_driver_sql("DROP TABLE hq_refresh_tokens")


def _merge_duplicate_open_cases(conn: Connection) -> None:
    """A hub created before `uq_conflicts_open` may hold two open cases for one key (two instances
    raced): keep the oldest open, resolve the others as `duplicate`, so the unique index can be built."""
    inspector = inspect(conn)
    if "conflicts" not in inspector.get_table_names():
        return
    if any(ix["name"] == "uq_conflicts_open" for ix in inspector.get_indexes("conflicts")):
        return
    if conn.dialect.name == "postgresql":
        # FORCEd row-level security would hide every tenant's rows from the owner too; the
        # policies are forced again by `_postgres_security`, later in this same transaction.
        conn.exec_driver_sql("ALTER TABLE conflicts NO FORCE ROW LEVEL SECURITY")
    conn.exec_driver_sql(
        "UPDATE conflicts SET status = 'resolved', resolution = 'duplicate' "
        "WHERE status != 'resolved' AND EXISTS (SELECT 1 FROM conflicts AS older "
        "WHERE older.tenant_id = conflicts.tenant_id AND older.dedup_key = conflicts.dedup_key "
        "AND older.status != 'resolved' AND (older.created_at, older.id) < (conflicts.created_at, conflicts.id))"
    )


def _create_missing_indexes(conn: Connection, tables: list[_Table]) -> None:
    """create_all builds indexes only with their table: add the ones a newer release declares on an
    existing table."""
    inspector = inspect(conn)
    for table in tables:
        present = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(conn)


async def _postgres_security(conn: AsyncConnection, db: CloudDB) -> None:
    role = db.app_role
    exists = await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists.first() is None:
        # NOLOGIN, not a superuser, not the owner: RLS applies to it (superusers bypass even FORCE).
        await conn.exec_driver_sql(f'CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS')
    schema = db.schema or "public"
    await conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
    for name in TENANT_TABLES:
        await conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{name}" TO "{role}"')
        await conn.exec_driver_sql(f'ALTER TABLE "{name}" ENABLE ROW LEVEL SECURITY')
        await conn.exec_driver_sql(f'ALTER TABLE "{name}" FORCE ROW LEVEL SECURITY')
        await conn.exec_driver_sql(f'DROP POLICY IF EXISTS tenant_isolation ON "{name}"')
        await conn.exec_driver_sql(
            f'CREATE POLICY tenant_isolation ON "{name}" '
            "USING (tenant_id = current_setting('app.tenant_id', true)) "
            "WITH CHECK (tenant_id = current_setting('app.tenant_id', true))"
        )


import cloud.schema_bopis  # noqa: E402  (BOPIS terms and status history, on the same metadata)
import cloud.schema_customers  # noqa: E402  (customers, their keys and GDPR requests)
import cloud.schema_journal  # noqa: E402  (the accounting export's batches)
import cloud.schema_loyalty  # noqa: E402  (the points ledger, on the same metadata)
import cloud.schema_partners  # noqa: E402,F401  (partner gateway tables on the same metadata)
from cloud import schema_mfa  # noqa: E402,F401  (its tables join `metadata` before create_all)
