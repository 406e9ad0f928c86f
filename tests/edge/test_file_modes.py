"""The store's files are not readable by other local users: database, WAL, backups, keys."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edge.adapters.db import Database
from edge.adapters.migrations import backup, migrate

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def others_can_read(path: Path) -> bool:
    return bool(mode(path) & 0o007)


@pytest.fixture
def loose_umask():
    """The usual login umask (0022): what made every file 0644 before."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def test_a_new_database_and_its_wal_and_shm_are_owner_only(tmp_path, loose_umask):
    path = tmp_path / "store.db"
    migrate(path)
    db = Database(path)
    db.start()
    try:
        await db.write(lambda conn: conn.exec_driver_sql("CREATE TABLE probe (x)"))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await db.close()


async def test_a_database_left_world_readable_by_an_older_release_is_tightened_on_open(tmp_path, loose_umask):
    path = tmp_path / "store.db"
    migrate(path)
    for f in tmp_path.glob("store.db*"):
        f.chmod(0o644)
    db = Database(path)
    db.start()
    try:
        await db.write(lambda conn: conn.exec_driver_sql("CREATE TABLE probe (x)"))
    finally:
        await db.close()
    assert mode(path) == 0o600


def test_a_migration_backup_is_owner_only(tmp_path, loose_umask):
    path = tmp_path / "store.db"
    migrate(path)
    copy = backup(path, "test")
    assert mode(copy) == 0o600


def test_the_cli_creates_nothing_others_can_read(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "NOVAPOS_STORE_TENANT_ID": "acme", "NOVAPOS_STORE_STORE_ID": "store-017"}
    result = subprocess.run(
        ["sh", "-c", f'umask 022; exec "{BIN / "novapos-edge"}" user add erin --role cashier --password-stdin '
                     f'--data-dir "{data}"'],
        input="long-enough-password\n", capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    created = [data, *data.rglob("*")]
    assert any(p.name == "store.db" for p in created) and any(p.parent.name == "keys" for p in created)
    readable = [str(p.relative_to(tmp_path)) for p in created if others_can_read(p)]
    assert readable == []
    assert mode(data / "store.db") == 0o600


@pytest.mark.parametrize("unit", sorted((ROOT / "systemd").glob("*.service")), ids=lambda p: p.name)
def test_every_systemd_unit_sets_a_umask(unit):
    lines = [line.strip() for line in unit.read_text().splitlines()]
    assert "UMask=0027" in lines
