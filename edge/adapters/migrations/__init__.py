"""Versioned schema migrations (Alembic), run on start after an automatic backup.

`migrate(path)` is what `novapos-edge migrate` and `serve` call. Before it upgrades a database
that already has data, it copies the file with SQLite's online backup API into
`<data_dir>/backups/`, so a field upgrade that goes wrong can be rolled back by a technician.

Alembic (with Mako) costs the process about 10 MB it never gives back, and a store server only
needs it on the start that upgrades. So this module imports Alembic only inside the functions
that run it; `migrate` returns at once, reading the version table with `sqlite3`, when the file
is already at `HEAD`; and `serve` upgrades in a child process (`migrate(..., in_child=True)`,
which runs `python -m edge.adapters.migrations`), so the long-running server never loads it.
`HEAD` is the revision this code's tables are at; a test holds it to Alembic's own head.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Connection

from edge.adapters.db import make_private
from edge.adapters.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config

log = structlog.get_logger()

HERE = Path(__file__).parent
HEAD = "0009_custfollow"  # the newest revision in versions/; tests/edge/test_memory_footprint.py checks it


class MigrationFailed(RuntimeError):
    """The child process that upgrades the database failed; the message says why."""


def alembic_config(path: Path) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    cfg.attributes["db_path"] = str(path)
    return cfg


def head_revision() -> str:
    """Alembic's own head, from the scripts in versions/ (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(Path("unused.db"))).get_current_head() or "base"


def current_revision(path: Path) -> str | None:
    """The revision stamped in the file's `alembic_version` table; None for a new or unstamped file."""
    if not path.exists():
        return None
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):  # a database Alembic never touched
            return None
        raise MigrationFailed(f"{path} cannot be read ({err})") from None
    except sqlite3.DatabaseError as err:
        raise MigrationFailed(f"{path} is not a store database ({err})") from None
    finally:
        conn.close()
    if len(rows) > 1:
        raise MigrationFailed(f"{path} is stamped with several revisions ({', '.join(r[0] for r in rows)})")
    return rows[0][0] if rows else None


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


def migrate(path: Path, *, revision: str = "head", in_child: bool = False) -> str | None:
    """Upgrade the database at `path`; returns the backup file made, if any.

    `in_child` runs the upgrade in a separate interpreter, so this process never imports
    Alembic (what `serve` does); errors come back as `MigrationFailed` with the child's reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if revision == "head" and current_revision(path) == HEAD:
        return None
    if in_child:
        return _migrate_in_child(path, revision)
    from alembic import command

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


def _migrate_in_child(path: Path, revision: str) -> str | None:
    done = subprocess.run([sys.executable, "-m", "edge.adapters.migrations", str(path), revision],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise MigrationFailed(f"upgrading {path} failed: {reason}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]).get("backup") if lines else None


def downgrade(path: Path, revision: str) -> None:
    from alembic import command

    backup(path, f"before-downgrade-{revision}")
    command.downgrade(alembic_config(path), revision)


def create_tables_of(conn: Connection, revision: str) -> None:
    """Create the tables that `tables.py` tags with `info["migration"] == revision`."""
    wanted = [t for t in metadata.sorted_tables if t.info.get("migration") == revision]
    metadata.create_all(conn, tables=wanted)


def drop_tables_of(conn: Connection, revision: str) -> None:
    wanted = [t for t in metadata.sorted_tables if t.info.get("migration") == revision]
    metadata.drop_all(conn, tables=wanted)
