"""Partner gateway tables: apps and their credentials, webhook endpoints, deliveries and
attempts, partner idempotency records, usage figures and the shared rate-limit counters.

Apps, API keys and client-assertion ids are global tables (no RLS), like `hq_users`: a token
request or an API key names no tenant, so the credential has to be found before the tenant is
known. Each row carries its `tenant_id`, and every admin query filters on it. Everything a
partner's calls touch after that (endpoints, deliveries, idempotency, usage) is a tenant table
with the usual RLS policy. Secrets are never stored in clear: client secrets and API keys as
SHA-256 (they are 256-bit random values, so a slow hash adds nothing), webhook signing secrets
encrypted with the hub's key (`cloud.webhook_secrets`), because they must be usable to sign.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, PrimaryKeyConstraint, String, Text

from cloud.schema import Table

partner_apps = Table(
    "partner_apps",
    Column("app_id", String, primary_key=True),  # also the OAuth client_id
    Column("tenant_id", String, nullable=False),
    Column("name", String, nullable=False),
    Column("contact", String, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("allowed_ips", JSON, nullable=False),  # CIDRs; empty: any address
    Column("client_secret_hash", String, nullable=True),  # SHA-256; None: no secret issued
    Column("jwks", JSON, nullable=True),  # public keys for private_key_jwt
    Column("status", String, nullable=False),  # active | revoked
    Column("tokens_valid_after", Float, nullable=False, default=0.0),  # epoch s; older tokens refused
    Column("created_at", String, nullable=False),
    Column("created_by", String, nullable=False),
    Column("revoked_at", String, nullable=True),
    Index("ix_partner_apps_tenant", "tenant_id"),
    tenant=False,
)
partner_api_keys = Table(
    "partner_api_keys",
    Column("key_id", String, primary_key=True),  # the public part of `npk_<key_id>_<secret>`
    Column("app_id", String, nullable=False),
    Column("tenant_id", String, nullable=False),
    Column("key_hash", String, nullable=False),  # SHA-256 of the whole key
    Column("created_at", String, nullable=False),
    Column("expires_at", String, nullable=True),  # set when rotated: the overlap window's end
    Column("revoked_at", String, nullable=True),
    Column("last_used_at", String, nullable=True),
    Index("ix_partner_api_keys_app", "app_id"),
    tenant=False,
)
# private_key_jwt assertions are single-use: their `jti` is kept until the assertion expires.
partner_assertion_ids = Table(
    "partner_assertion_ids",
    Column("jti", String, primary_key=True),
    Column("expires_at", Float, nullable=False),
    tenant=False,
)
# Fixed-window counters of `cloud.ratelimit.SqlStorage` (the `limits` library's Storage
# interface): one row per limit key, shared by every hub instance on the database.
partner_rate_counters = Table(
    "partner_rate_counters",
    Column("key", String, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("expires_at", Float, nullable=False),  # epoch seconds, the database's clock
    tenant=False,
)

webhook_endpoints = Table(
    "webhook_endpoints",
    Column("endpoint_id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("app_id", String, nullable=False),
    Column("url", String, nullable=False),
    Column("event_types", JSON, nullable=False),  # exact types or a `prefix.*`
    Column("secret_enc", Text, nullable=False),
    Column("previous_secret_enc", Text, nullable=True),  # still signs until previous_until
    Column("previous_until", String, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", String, nullable=False),
    Index("ix_webhook_endpoints_tenant", "tenant_id", "app_id"),
)
webhook_deliveries = Table(
    "webhook_deliveries",
    Column("delivery_id", String, primary_key=True),  # the `webhook-id` header; kept on retries and replays
    Column("tenant_id", String, nullable=False),
    Column("endpoint_id", String, nullable=False),
    Column("event_id", String, nullable=False),
    Column("event_type", String, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String, nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", String, nullable=False),
    Column("claimed_until", String, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String, nullable=True),
    Column("created_at", String, nullable=False),
    Column("retry_from", String, nullable=False),  # enqueue or last manual replay: the 3-day window's start
    Column("delivered_at", String, nullable=True),
    Index("ux_webhook_deliveries_event", "endpoint_id", "event_id", unique=True),
    Index("ix_webhook_deliveries_due", "tenant_id", "status", "next_attempt_at"),
)
webhook_attempts = Table(
    "webhook_attempts",
    Column("attempt_id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("delivery_id", String, nullable=False),
    Column("endpoint_id", String, nullable=False),
    Column("attempt_no", Integer, nullable=False),
    Column("at", String, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("error", String, nullable=True),
    Index("ix_webhook_attempts_delivery", "tenant_id", "delivery_id"),
)
partner_idempotency = Table(
    "partner_idempotency",
    Column("tenant_id", String, nullable=False),
    Column("app_id", String, nullable=False),
    Column("route", String, nullable=False),
    Column("idem_key", String, nullable=False),
    Column("body_hash", String, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "app_id", "route", "idem_key"),
)
# Per app and minute, summed over every hub instance (each flushes its counts every few seconds).
partner_usage = Table(
    "partner_usage",
    Column("tenant_id", String, nullable=False),
    Column("app_id", String, nullable=False),
    Column("minute", String, nullable=False),  # YYYY-MM-DDTHH:MM
    Column("requests", BigInteger, nullable=False),
    Column("throttled", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("latency_ms_sum", Float, nullable=False),
    PrimaryKeyConstraint("tenant_id", "app_id", "minute"),
)
