"""Alembic environment: always online, always on the store's SQLite file."""

from alembic import context
from sqlalchemy import Connection

from edge.adapters.db import make_engine
from edge.adapters.tables import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


from pathlib import Path  # noqa: E402

engine = make_engine(Path(config.attributes["db_path"]), writer=True)
with engine.connect() as conn:
    run(conn)
    conn.commit()
engine.dispose()
