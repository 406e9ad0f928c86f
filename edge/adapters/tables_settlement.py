"""Settlement reconciliation reports (migration 0005_crypto): one row per provider and business
day, replaced when the day is reconciled again; each difference is also a review case."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, String, Table, UniqueConstraint

from edge.adapters.tables import metadata

SETTLEMENT = {"migration": "0005_crypto"}

settlement_reports = Table(
    "settlement_reports",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("provider", String, nullable=False),  # "btcpay", "simulated-terminal"
    Column("method", String, nullable=False),  # the tender method it settles
    Column("business_day", String, nullable=False),
    Column("currency", String, nullable=False),
    Column("status", String, nullable=False),  # matched | differences
    Column("captured_cents", Integer, nullable=False),  # ours
    Column("refunded_cents", Integer, nullable=False),
    Column("provider_captured_cents", Integer, nullable=False),  # theirs
    Column("provider_refunded_cents", Integer, nullable=False),
    Column("differences", JSON, nullable=False),  # [{kind, ref, ours_cents, provider_cents, case_id}]
    Column("created_at", String, nullable=False),
    UniqueConstraint("tenant_id", "provider", "business_day", name="uq_settlement_day"),
    info=SETTLEMENT,
)
