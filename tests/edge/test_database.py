"""The writer's group commit: units share a COMMIT, but each one stands or falls on its own."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Connection

from edge.adapters.db import Database


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
    gate = threading.Event()
    # Hold the writer on a first unit so the next five queue up and run as one batch.
    first = asyncio.ensure_future(db.write(lambda c: gate.wait(5) and put("first", 0)(c)))
    await asyncio.sleep(0.05)

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
    await asyncio.sleep(0.05)
    commits_before = db.commits
    gate.set()
    results = await asyncio.gather(first, *later, return_exceptions=True)

    assert results[0] == "first"
    assert results[1] == "a" and results[3] == "b" and results[4] == "nested"
    assert isinstance(results[2], ValueError) and "declined" in str(results[2])
    assert "UNIQUE" in str(results[5])  # a duplicate key fails its own unit only
    assert rows(db) == {"first": 0, "a": 1, "b": 2, "nested": 3}
    assert db.commits - commits_before == 2  # the first unit, then the other five in one COMMIT


async def test_a_write_resolves_only_once_its_commit_is_on_disk(db):
    await db.write(put("x", 1))
    # A new connection (another process, after a crash) sees it at once.
    assert rows(db) == {"x": 1}
