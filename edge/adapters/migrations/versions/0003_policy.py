"""Policy in force: the sales and returns policy HQ sent, with its version and source.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

import edge.adapters.tables_policy  # noqa: F401  (registers the 0003 table on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0003")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0003")
