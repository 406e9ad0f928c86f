"""The accounting export's record: which journal batches were exported, and which store events
each one covers, so that a re-export repeats the past and a late event becomes a correction."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, PrimaryKeyConstraint, String

from cloud.schema import Table

journal_batches = Table(
    "journal_batches",
    Column("tenant_id", String, nullable=False),
    Column("batch_id", String, nullable=False),  # J-<store>-<business day>-<n>: stable, readable
    Column("store_id", String, nullable=False),
    Column("business_day", String, nullable=False),
    Column("n", Integer, nullable=False),  # 1 is the day's original, 2.. its corrections
    Column("kind", String, nullable=False),  # original | correction
    Column("exported_at", String, nullable=False),
    Column("exported_by", String, nullable=False),
    Column("document", JSON, nullable=False),  # the batch exactly as it was first exported
    PrimaryKeyConstraint("tenant_id", "batch_id"),
    Index("ix_journal_batches_day", "tenant_id", "store_id", "business_day", "n"),
)
# An event is journaled once, in exactly one batch: the primary key says so.
journal_events = Table(
    "journal_events",
    Column("tenant_id", String, nullable=False),
    Column("event_id", String, nullable=False),
    Column("batch_id", String, nullable=False),
    PrimaryKeyConstraint("tenant_id", "event_id"),
)
