"""SQLAlchemy Core tables of the store's record.

Every row carries `tenant_id`; repositories filter on it from the unit of work's context, so a
tenant is never taken from a request body or header. Money is integer minor units. Times are
ISO 8601 UTC strings ("...Z"), which sort correctly as text in SQLite and Postgres alike.

Each table names the migration that creates it in `info["migration"]`; a migration creates
exactly the tables tagged with its revision (see `edge/adapters/migrations`). A column added to
an existing table later must be added by its own migration with `op.add_column`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

BASE = {"migration": "0001"}

tenants = Table(
    "tenants",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("require_mfa", Boolean, nullable=False, default=True),
    Column("currency", String(3), nullable=False, default="USD"),
    Column("created_at", String, nullable=False),
    info=BASE,
)

stores = Table(
    "stores",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("id", String, nullable=False),
    Column("name", String, nullable=False),
    Column("timezone", String, nullable=False, default="UTC"),
    Column("day_start_hour", Integer, nullable=False, default=0),
    Column("created_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    info=BASE,
)

lanes = Table(
    "lanes",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("id", String, nullable=False),
    Column("name", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "store_id", "id"),
    ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
    info=BASE,
)

users = Table(
    "users",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=True),  # None: a tenant-wide account
    Column("username", String, nullable=False),
    Column("password_hash", String, nullable=False),
    Column("pin_hash", String, nullable=True),
    # HMAC-SHA256(pepper, store|pin): finds the cashier for a lane PIN without trying every
    # Argon2 hash; the Argon2 hash is still what proves the PIN.
    Column("pin_lookup", String, nullable=True),
    Column("roles", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("totp_secret", String, nullable=True),  # pending until confirmed
    Column("totp_confirmed", Boolean, nullable=False, default=False),
    Column("totp_last_step", Integer, nullable=True),  # single use of a code within its step
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    UniqueConstraint("tenant_id", "username", name="uq_users_tenant_username"),
    UniqueConstraint("tenant_id", "store_id", "pin_lookup", name="uq_users_pin"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    info=BASE,
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String, primary_key=True),  # SHA-256 of the opaque token; never the token
    Column("family_id", String, nullable=False),
    Column("tenant_id", String, nullable=False),
    Column("user_id", String, nullable=False),
    Column("lane_id", String, nullable=True),
    Column("issued_at", String, nullable=False),
    Column("expires_at", String, nullable=False),
    Column("rotated_at", String, nullable=True),  # set when exchanged: a second use is reuse
    Column("revoked_at", String, nullable=True),
    Index("ix_refresh_family", "family_id"),
    info=BASE,
)

login_attempts = Table(
    # Kept per (tenant, login name) whether or not the account exists, so an unknown user is
    # locked out exactly like a real one and the answers cannot tell them apart.
    "login_attempts",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("subject", String, nullable=False),  # a username, or "lane:<id>" for PIN logins
    Column("failures", Integer, nullable=False),
    Column("locked_until", String, nullable=True),
    Column("updated_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "subject"),
    info=BASE,
)

tax_categories = Table(
    "tax_categories",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("code", String, nullable=False),
    Column("name", String, nullable=False),
    Column("rate_bp", Integer, nullable=False),  # basis points: 825 = 8.25 %
    Column("inclusive", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False, default=1),
    Column("updated_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "code"),
    info=BASE,
)

products = Table(
    "products",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("sku", String, nullable=False),
    Column("name", String, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("tax_category", String, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("attributes", JSON, nullable=False),
    Column("sold_by_weight", Boolean, nullable=False, default=False),  # price_cents is per kg
    Column("low_stock_threshold", Integer, nullable=False, default=0),
    Column("version", Integer, nullable=False),  # tenant catalog version at the last change
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    UniqueConstraint("tenant_id", "sku", name="uq_products_tenant_sku"),
    Index("ix_products_tenant_version", "tenant_id", "version"),
    Index("ix_products_tenant_name", "tenant_id", "name"),
    info=BASE,
)

product_barcodes = Table(
    "product_barcodes",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("barcode", String, nullable=False),
    Column("product_id", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "barcode"),
    Index("ix_barcodes_product", "tenant_id", "product_id", "barcode"),
    info=BASE,
)

price_overrides = Table(
    "price_overrides",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("valid_from", String, nullable=False),
    Column("valid_to", String, nullable=True),  # open-ended when None
    Column("created_at", String, nullable=False),
    Index("ix_overrides_lookup", "tenant_id", "store_id", "product_id"),
    info=BASE,
)

catalog_versions = Table(
    "catalog_versions",
    metadata,
    Column("tenant_id", String, primary_key=True),
    Column("version", Integer, nullable=False),
    info=BASE,
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String, nullable=False),
    Column("principal", String, nullable=False),
    Column("route", String, nullable=False),
    Column("key", String, nullable=False),
    Column("body_sha256", String, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "principal", "route", "key"),
    Index("ix_idempotency_created", "created_at"),
    info=BASE,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=True),
    Column("at", String, nullable=False),
    Column("actor", String, nullable=False),  # username, or "system"
    Column("actor_id", String, nullable=True),
    Column("action", String, nullable=False),
    Column("entity", String, nullable=False),
    Column("entity_id", String, nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("lane_id", String, nullable=True),
    Column("device_id", String, nullable=True),
    Column("request_id", String, nullable=True),
    Index("ix_audit_tenant_at", "tenant_id", "at"),
    Index("ix_audit_entity", "tenant_id", "entity", "entity_id"),
    info=BASE,
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the store's monotonic sequence
    Column("event_id", String, nullable=False, unique=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("type", String, nullable=False),
    Column("occurred_at", String, nullable=False),
    Column("envelope", Text, nullable=False),  # the encoded EventEnvelope, exactly as published
    Column("sent_at", String, nullable=True),  # set only after the JetStream PubAck
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String, nullable=True),
    Index("ix_outbox_unsent", "sent_at", "seq"),
    info=BASE,
)

inbox = Table(
    "inbox",
    metadata,
    Column("command_id", String, primary_key=True),  # a down command is applied once, by its id
    Column("tenant_id", String, nullable=False),
    Column("type", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("received_at", String, nullable=False),
    Column("applied_at", String, nullable=True),
    Column("outcome", String, nullable=False),
    Column("detail", Text, nullable=True),
    info=BASE,
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("name", String, primary_key=True),  # e.g. "relay", "inbox"
    Column("value", JSON, nullable=False),
    Column("updated_at", String, nullable=False),
    info=BASE,
)
