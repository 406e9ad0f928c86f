"""Customers at the store: sealed profiles, blind indexes, and the link from an order to its customer.

Revision ID: 0007_customers
Revises: 0006_catalog_import
"""

from alembic import op
from sqlalchemy import text

import edge.adapters.tables_customers  # noqa: F401  (registers the 0007_customers tables on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0007_customers"
down_revision = "0006_catalog_import"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    create_tables_of(conn, "0007_customers")
    # A database created at this code's 0002 already has the column (tables_sales declares it).
    columns = {row[1] for row in conn.execute(text("PRAGMA table_info(orders)"))}
    if "customer_id" not in columns:
        conn.execute(text("ALTER TABLE orders ADD COLUMN customer_id VARCHAR"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_orders_customer ON orders (tenant_id, customer_id)"))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(text("DROP INDEX IF EXISTS ix_orders_customer"))
    conn.execute(text("ALTER TABLE orders DROP COLUMN customer_id"))
    drop_tables_of(conn, "0007_customers")
