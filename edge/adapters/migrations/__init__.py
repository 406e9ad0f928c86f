"""Versioned schema migrations (Alembic), run on start after an automatic backup.

`migrate(path)` is what `novapos-edge migrate` and `serve` call. Before it upgrades a database
that already has data, it copies the file with SQLite's online backup API into
`<data_dir>/backups/`, so a field upgrade that goes wrong can be rolled back by a technician.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from edge.adapters.db import make_engine, make_private
from edge.adapters.tables import metadata

log = structlog.get_logger()

HERE = Path(__file__).parent


def alembic_config(path: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    cfg.attributes["db_path"] = str(path)
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(Path("unused.db"))).get_current_head() or "base"


def current_revision(path: Path) -> str | None:
    if not path.exists():
        return None
    engine = make_engine(path, writer=False)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def backup(path: Path, label: str) -> Path:
    backups = path.parent / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backups / f"{path.stem}-{stamp}-{label}.db"
    make_private(target)  # a backup holds everything the database does
    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # consistent even while WAL readers are open
    finally:
        dst.close()
        src.close()
    return target


def migrate(path: Path, *, revision: str = "head") -> str | None:
    """Upgrade the database at `path`; returns the backup file made, if any."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = current_revision(path)
    head = head_revision()
    backup_path = None
    if before == head and revision == "head":
        return None
    if before is not None:
        backup_path = backup(path, f"before-{head}")
        log.info("db.backup", path=str(backup_path), revision=before)
    command.upgrade(alembic_config(path), revision)
    log.info("db.migrated", from_revision=before, to_revision=current_revision(path))
    return str(backup_path) if backup_path else None


def downgrade(path: Path, revision: str) -> None:
    backup(path, f"before-downgrade-{revision}")
    command.downgrade(alembic_config(path), revision)


def create_tables_of(conn: Connection, revision: str) -> None:
    """Create the tables that `tables.py` tags with `info["migration"] == revision`."""
    wanted = [t for t in metadata.sorted_tables if t.info.get("migration") == revision]
    metadata.create_all(conn, tables=wanted)


def drop_tables_of(conn: Connection, revision: str) -> None:
    wanted = [t for t in metadata.sorted_tables if t.info.get("migration") == revision]
    metadata.drop_all(conn, tables=wanted)
