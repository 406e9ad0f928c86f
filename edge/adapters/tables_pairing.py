"""Lane pairing and lane sessions (migration 0005_lane).

- `lane_pairing_codes`: one-time codes a manager shows (as a QR) to pair a device with a lane.
  Only the SHA-256 of a code is stored, so a database copy cannot pair a device.
- `lane_devices`: a paired device and the hash of its device credential. The credential names
  its lane, so a paired tablet cannot sign in to another one; revoking the row unpairs it.
- `lane_sessions`: the one cashier session a lane holds (a refresh-token family), when it
  started and when it must end (maximum length or shift change), however often it refreshes.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from edge.adapters.tables import metadata

LANE = {"migration": "0005_lane"}

lane_pairing_codes = Table(
    "lane_pairing_codes",
    metadata,
    Column("code_hash", String, primary_key=True),  # SHA-256 of the code; never the code
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("lane_id", String, nullable=False),
    Column("created_by", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("expires_at", String, nullable=False),
    Column("used_at", String, nullable=True),
    Column("device_id", String, nullable=True),  # the device it paired
    info=LANE,
)

lane_devices = Table(
    "lane_devices",
    metadata,
    Column("id", String, primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("lane_id", String, nullable=False),
    Column("token_hash", String, nullable=False, unique=True),  # SHA-256 of the device credential
    Column("label", String, nullable=False),
    Column("paired_at", String, nullable=False),
    Column("paired_by", String, nullable=False),  # who issued the pairing code
    Column("last_sign_in_at", String, nullable=True),
    Column("revoked_at", String, nullable=True),
    Column("revoked_by", String, nullable=True),
    Index("ix_lane_devices_lane", "tenant_id", "lane_id"),
    info=LANE,
)

lane_sessions = Table(
    "lane_sessions",
    metadata,
    Column("family_id", String, primary_key=True),  # the refresh-token family: the session
    Column("tenant_id", String, nullable=False),
    Column("store_id", String, nullable=False),
    Column("lane_id", String, nullable=False),
    Column("user_id", String, nullable=False),
    Column("username", String, nullable=False),
    Column("device_id", String, nullable=True),
    Column("started_at", String, nullable=False),
    Column("ends_at", String, nullable=False),  # maximum length or the next shift change
    Column("ended_at", String, nullable=True),
    Column("ended_reason", String, nullable=True),  # signed_out, taken_over, expired
    Index("ix_lane_sessions_open", "tenant_id", "lane_id", "ended_at"),
    info=LANE,
)
