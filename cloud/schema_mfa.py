"""TOTP enrolments in progress: a new secret waits here until its first code confirms it.

Kept apart from `hq_users.totp_secret` so that starting an enrolment (or abandoning one) never
disturbs the code an admin signs in with today: the secret moves over only when confirmed.
Global like the users table (no tenant is known while an admin enrols before a first sign-in).
"""

from __future__ import annotations

from sqlalchemy import Column, String

from cloud.schema import Table

totp_enrolments = Table(
    "hq_totp_enrolments",
    Column("user_id", String, primary_key=True),  # one enrolment in progress per user
    Column("secret", String, nullable=False),  # base32; TOTP needs it in clear, as hq_users does
    Column("started_at", String, nullable=False),
    tenant=False,
)
