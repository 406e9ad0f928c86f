"""BOPIS pickups: web orders HQ allocated to this store, and where each one stands.

Revision ID: 0005_bopis
Revises: 0004
"""

from alembic import op

import edge.adapters.tables_bopis  # noqa: F401  (registers the pickups table on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0005_bopis"
down_revision = "0005_crypto"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0005_bopis")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0005_bopis")
