"""Settlement reports: the daily reconciliation of captured and refunded totals per provider.

Revision ID: 0005_crypto
Revises: 0004
"""

from alembic import op

import edge.adapters.tables_settlement  # noqa: F401  (registers the table on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0005_crypto"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0005_crypto")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0005_crypto")
