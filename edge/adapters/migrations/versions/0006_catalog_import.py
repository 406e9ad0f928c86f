"""Catalog import jobs: large CSV imports applied in chunks, resumable after a crash.

Revision ID: 0006_catalog_import
Revises: 0005_lane
"""

from alembic import op

import edge.adapters.tables_imports  # noqa: F401  (registers the 0006_catalog_import tables on the shared metadata)
from edge.adapters.migrations import create_tables_of, drop_tables_of

revision = "0006_catalog_import"
down_revision = "0005_lane"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_of(op.get_bind(), "0006_catalog_import")


def downgrade() -> None:
    drop_tables_of(op.get_bind(), "0006_catalog_import")
