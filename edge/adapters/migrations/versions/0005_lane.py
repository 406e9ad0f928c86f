"""Lane pairing, device credentials and lane sessions (one cashier per lane, maximum length).

Revision ID: 0005_lane
Revises: 0004
"""

from alembic import op

import edge.adapters.tables_pairing  # noqa: F401  (registers the 0005_lane tables on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0005_lane"
down_revision = "0005_bopis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0005_lane")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0005_lane")
