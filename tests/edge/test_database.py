"""The writer's group commit: units share a COMMIT, but each one stands or falls on its own."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import threading

import pytest
from sqlalchemy import Connection

from edge.adapters.db import Database
from tests.support import ROOT, eventually


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "store.db")
    database.write_sync(lambda c: c.exec_driver_sql("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)"))
    database.start()
    yield database
    await database.close()


def put(k: str, v: int):
    def unit(c: Connection) -> str:
        c.exec_driver_sql("INSERT INTO t (k, v) VALUES (?, ?)", (k, v))
        return k
    return unit


def rows(db: Database) -> dict[str, int]:
    return dict(db.read_sync(lambda c: c.exec_driver_sql("SELECT k, v FROM t").all()))


async def test_a_failing_unit_rolls_back_alone_and_the_rest_of_its_batch_commits(db):
    gate, holding = threading.Event(), threading.Event()

    def first_unit(c: Connection) -> str:
        holding.set()
        gate.wait(10)
        return put("first", 0)(c)

    # Hold the writer on a first unit so the next five queue up and run as one batch.
    first = asyncio.ensure_future(db.write(first_unit))
    await eventually(holding.is_set, what="the writer to hold the first unit")

    def half_then_fail(c: Connection) -> None:
        put("half", 1)(c)
        raise ValueError("the cashier's card was declined")

    def nested(c: Connection) -> str:
        with c.begin_nested() as inner:  # a unit may open its own savepoint
            put("inner-undone", 9)(c)
            inner.rollback()
        return put("nested", 3)(c)

    later = [asyncio.ensure_future(db.write(fn)) for fn in (put("a", 1), half_then_fail, put("b", 2), nested,
                                                             put("a", 5))]
    await eventually(lambda: db._queue.qsize() == 5, what="the five units queued behind it")
    commits_before = db.commits
    gate.set()
    results = await asyncio.gather(first, *later, return_exceptions=True)

    assert results[0] == "first"
    assert results[1] == "a" and results[3] == "b" and results[4] == "nested"
    assert isinstance(results[2], ValueError) and "declined" in str(results[2])
    assert "UNIQUE" in str(results[5])  # a duplicate key fails its own unit only
    assert rows(db) == {"first": 0, "a": 1, "b": 2, "nested": 3}
    assert db.commits - commits_before == 2  # the first unit, then the other five in one COMMIT


# The child answers the way a request handler would, then dies by SIGKILL on the very next
# line: no atexit, no close, no checkpoint. The 4 MiB row makes the COMMIT long enough that
# an answer given before it would be caught by the kill.
_ANSWER_THEN_DIE = """
import asyncio, os, signal, sys
from pathlib import Path
from edge.adapters.db import Database

async def main(path):
    db = Database(Path(path))
    db.start()
    synchronous = await db.write(lambda c: c.exec_driver_sql("PRAGMA synchronous").scalar())
    body = os.urandom(4 << 20)
    await db.write(lambda c: c.exec_driver_sql("INSERT INTO sale (k, body) VALUES ('x', ?)", (body,)))
    print(f"answered synchronous={synchronous}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main(sys.argv[1]))
"""


def test_a_write_resolves_only_once_its_commit_is_on_disk(tmp_path):
    path = tmp_path / "store.db"
    Database(path).write_sync(lambda c: c.exec_driver_sql("CREATE TABLE sale (k TEXT PRIMARY KEY, body BLOB)"))
    child = subprocess.run([sys.executable, "-c", _ANSWER_THEN_DIE, str(path)], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
    assert child.returncode == -signal.SIGKILL, child.stderr
    # FULL: SQLite syncs the WAL before COMMIT returns, so the answer also survives power loss.
    assert child.stdout.strip() == "answered synchronous=2"
    survivor = sqlite3.connect(path)  # a fresh process's view: recovery from the WAL the child left
    try:
        assert survivor.execute("SELECT k, length(body) FROM sale").fetchall() == [("x", 4 << 20)]
        assert survivor.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        survivor.close()
