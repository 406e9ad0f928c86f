"""What keeps the store server small on a Raspberry Pi-class box (ARCHITECTURE.md, "Memory on a
small box"): the serving process never loads Alembic or the device drivers it does not drive, the
upgrade runs in a child process, and glibc's malloc arenas are capped. `make bench`'s
`bench_memory.py` shows the megabytes; these tests hold the mechanisms in place."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.support import BIN, EdgeServer, free_port


def test_head_constant_is_alembics_own_head():
    from edge.adapters.migrations import HEAD, head_revision

    # A stale HEAD would let `migrate` skip an upgrade the code needs.
    assert HEAD == head_revision()


def test_serving_store_loads_neither_alembic_nor_device_drivers(tmp_path):
    # PYTHONPROFILEIMPORTTIME makes the real server print every module it imports to its log.
    server = EdgeServer(tmp_path / "data", free_port(),
                        {"NOVAPOS_HARDWARE_MODE": "off", "PYTHONPROFILEIMPORTTIME": "1"})
    server.start(timeout=120)  # import profiling slows the start
    try:
        from edge.adapters.migrations import HEAD, current_revision

        assert current_revision(server.data_dir / "store.db") == HEAD  # the child process upgraded it
        imported = {line.split("|")[-1].strip() for line in server.log.read_text().splitlines()
                    if line.startswith("import time:")}
        assert "litestar" in imported and "sqlalchemy" in imported  # the log does list imports
        assert not {"alembic", "mako", "escpos", "PIL", "evdev"} & imported
    finally:
        server.stop()


def test_upgrade_in_a_child_process_backs_up_and_upgrades(tmp_path):
    from edge.adapters.migrations import HEAD, current_revision, downgrade, migrate

    db = tmp_path / "store.db"
    assert migrate(db, in_child=True) is None  # a new file: nothing to back up
    assert current_revision(db) == HEAD
    downgrade(db, "0003")
    backup = migrate(db, in_child=True)
    assert current_revision(db) == HEAD
    assert backup is not None and os.path.exists(backup)
    names = {r[0] for r in sqlite3.connect(backup).execute("SELECT version_num FROM alembic_version")}
    assert names == {"0003"}  # the copy is of the file before the upgrade


def test_serve_on_a_file_that_is_not_a_database_says_so_and_changes_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "store.db").write_bytes(b"this is not a database" * 100)
    before = (data / "store.db").read_bytes()
    done = subprocess.run([str(BIN / "novapos-edge"), "serve", "--data-dir", str(data), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NOVAPOS_HARDWARE_MODE": "off"})
    assert done.returncode != 0
    assert "store.db is not a store database (file is not a database)" in done.stderr, done.stderr
    assert "the server did not start" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert (data / "store.db").read_bytes() == before


def test_malloc_arenas_are_capped_before_threads_start():
    # In a fresh interpreter: mallopt must run before the first thread, and must not touch this one.
    code = ("from edge.adapters.memory import limit_malloc_arenas as cap; "
            "print(cap(2), cap(0))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]  # glibc takes the cap; 0 leaves the default alone
