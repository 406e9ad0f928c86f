"""Backup and restore of a store box: the SQLite database (online, consistent) and its keys.

A backup is a tar.gz holding `store.db` (taken with SQLite's backup API, so it is consistent
while the server runs), `keys/` and a manifest. Restore checks the archive's database before
touching anything, keeps the current files as `*.before-restore`, and refuses while a server
holds the database open for writing (stop novapos-edge first).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path


class BackupError(Exception):
    pass


def create_backup(data_dir: Path, out: Path) -> Path:
    db = data_dir / "store.db"
    if not db.exists():
        raise BackupError(f"no database at {db}; check --data-dir")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        src = sqlite3.connect(db)
        dst = sqlite3.connect(staged / "store.db")
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        manifest = {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "source": str(data_dir)}
        (staged / "manifest.json").write_text(json.dumps(manifest))
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w:gz") as tar:
            tar.add(staged / "store.db", arcname="store.db")
            tar.add(staged / "manifest.json", arcname="manifest.json")
            if (data_dir / "keys").is_dir():
                tar.add(data_dir / "keys", arcname="keys")
    out.chmod(0o600)  # it holds private keys
    return out


def _writer_active(db: Path) -> bool:
    if not db.exists():
        return False
    conn = sqlite3.connect(db, timeout=0.2)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def restore_backup(archive: Path, data_dir: Path) -> None:
    if not archive.exists():
        raise BackupError(f"{archive} does not exist")
    db = data_dir / "store.db"
    if _writer_active(db):
        raise BackupError("the database is in use; stop novapos-edge before restoring")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(staged, filter="data")
        except (tarfile.TarError, OSError) as err:
            raise BackupError(f"{archive} is not a NovaPOS backup ({err})") from None
        restored = staged / "store.db"
        if not restored.exists():
            raise BackupError(f"{archive} holds no store.db")
        conn = sqlite3.connect(restored)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("the database in the backup fails its integrity check; nothing was changed")
        finally:
            conn.close()
        data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            current = data_dir / f"store.db{suffix}"
            if current.exists():
                current.replace(data_dir / f"store.db{suffix}.before-restore")
        shutil.copy2(restored, db)
        db.chmod(0o600)  # the archive may carry the mode of an older release
        if (staged / "keys").is_dir():
            if (data_dir / "keys").exists():
                shutil.rmtree(data_dir / "keys.before-restore", ignore_errors=True)
                (data_dir / "keys").replace(data_dir / "keys.before-restore")
            shutil.copytree(staged / "keys", data_dir / "keys")
