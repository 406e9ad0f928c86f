"""The store's policy in force (migration 0003): one row per policy name, with where it came from.

HQ is the single writer of a tenant's policies; the store keeps the newest version it has
applied, so sales follow it offline too. No row means the built-in defaults are in force.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, String, Table

from edge.adapters.tables import metadata

POLICY = {"migration": "0003"}

policy_in_force = Table(
    "policy_in_force",
    metadata,
    Column("tenant_id", String, primary_key=True),
    Column("name", String, primary_key=True),  # "sales": discounts, returns, reservations, pay-outs
    Column("document", JSON, nullable=False),  # the PolicyDocument as HQ sent it
    Column("version", Integer, nullable=False),  # HQ's version: an older one never replaces a newer
    Column("source", String, nullable=False),  # "hq"
    Column("command_id", String, nullable=True),  # the HQ command that carried it
    Column("issued_at", String, nullable=True),  # when HQ decided it
    Column("applied_at", String, nullable=False),  # when this store applied it
    info=POLICY,
)
