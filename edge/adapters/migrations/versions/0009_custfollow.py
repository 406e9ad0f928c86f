"""HQ's figure of the points a customer earned over the tier window, cached with the balance.

Revision ID: 0009_custfollow
Revises: 0008_loyalty
"""

from alembic import op
from sqlalchemy import text

revision = "0009_custfollow"
down_revision = "0008_loyalty"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    # A database created by this code's 0007 already has it (tables_customers declares it).
    columns = {row[1] for row in conn.execute(text("PRAGMA table_info(customers)"))}
    if "earned_in_window" not in columns:
        conn.execute(text("ALTER TABLE customers ADD COLUMN earned_in_window INTEGER NOT NULL DEFAULT 0"))


def downgrade() -> None:
    op.get_bind().execute(text("ALTER TABLE customers DROP COLUMN earned_in_window"))
