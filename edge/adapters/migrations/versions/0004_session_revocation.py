"""Session revocation: an index for reading the recently revoked sessions.

Every request checks its token's session against the sessions revoked within one access-token
lifetime (see `edge.adapters.security.revocation`); the list is re-read after each revocation
and every few seconds, so the read must not scan every refresh token the store ever issued.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_refresh_revoked_at ON refresh_tokens (revoked_at)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_refresh_revoked_at")
