"""Sales: orders, payments, returns, tills, stock ledger, reservations, review cases.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

import edge.adapters.tables_sales  # noqa: F401  (registers the 0002 tables on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0002")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0002")
