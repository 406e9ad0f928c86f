"""Foundation: tenants, stores, users, tokens, catalog, idempotency, audit, outbox, inbox.

Revision ID: 0001
Revises:
"""

from alembic import op

from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0001")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0001")
