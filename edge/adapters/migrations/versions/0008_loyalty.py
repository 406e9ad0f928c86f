"""Loyalty: the store's points ledger and HQ's last balance per customer.

Revision ID: 0008_loyalty
Revises: 0007_customers
"""

from alembic import op

import edge.adapters.tables_loyalty  # noqa: F401  (registers the 0008_loyalty tables on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0008_loyalty"
down_revision = "0007_customers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0008_loyalty")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0008_loyalty")
