"""What the checkout writer's cheaper paths must still give: the outbox's seq in its envelope,
NULLs and booleans stored as before, IN lists and multi-row inserts of every size answered
right, and ids that stay unique across a fork."""

from __future__ import annotations

import json
import os

import msgspec
import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, bindparam, create_engine, insert, select

import edge.adapters.db  # noqa: F401  (registers the sqlite3 adapters, as the app does)
from edge.adapters.db import Database
from edge.adapters.migrations import migrate
from edge.adapters.repos.prepared import Prepared
from edge.adapters.uow import UnitOfWorkFactory
from edge.domain.ids import uuid7
from edge.service.ports import Actor

md = MetaData()
things = Table("things", md, Column("id", Integer, primary_key=True), Column("name", String, nullable=False),
               Column("note", String, nullable=True), Column("flag", Boolean, nullable=False))


@pytest.fixture
def conn(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    md.create_all(engine)
    with engine.begin() as c:
        yield c


def test_nulls_and_booleans_are_stored_as_sqlite_stored_them(conn):
    write = Prepared(insert(things))
    write.execute(conn, {"id": 1, "name": "a", "note": None, "flag": True})
    write.execute_many(conn, [{"id": i, "name": f"n{i}", "note": None if i % 2 else "x", "flag": i % 3 == 0}
                              for i in range(2, 40)])
    raw = conn.connection.dbapi_connection
    assert raw.execute("SELECT note, typeof(note), flag, typeof(flag) FROM things WHERE id = 1").fetchone() == (
        None, "null", 1, "integer")
    assert raw.execute("SELECT count(*) FROM things WHERE note IS NULL").fetchone() == (20,)
    assert raw.execute("SELECT count(*) FROM things WHERE flag = 1").fetchone() == (14,)
    # Core reads the booleans back as booleans, as before.
    assert conn.execute(select(things.c.flag).where(things.c.id == 3)).scalar_one() is True


def test_in_lists_and_multi_row_inserts_of_every_size_find_the_right_rows(conn):
    write = Prepared(insert(things))
    names = Prepared(select(things.c.name).where(things.c.id.in_(bindparam("ids", expanding=True)))
                     .order_by(things.c.id), expanding=["ids"])
    next_id = 1
    for size in (1, 3, 2, 3, 33, 1, 70):  # the same sizes again reuse the SQL texts built before
        rows = [{"id": next_id + k, "name": f"n{next_id + k}", "note": None, "flag": False} for k in range(size)]
        write.execute_many(conn, rows)
        ids = [r["id"] for r in rows]
        assert [n for (n,) in names.execute(conn, {"ids": ids}).fetchall()] == [r["name"] for r in rows]
        next_id += size
    assert len(conn.execute(select(things.c.id)).all()) == next_id - 1


def test_events_carry_their_outbox_seq_also_after_a_refused_unit(tmp_path):
    path = tmp_path / "store.db"
    migrate(path)
    db = Database(path)
    uow = UnitOfWorkFactory(db)
    actor = Actor.system("t1", "s1")

    def two_events(u):
        u.emit("test.one", {"n": 1})
        u.emit("test.two", {"n": 2})

    def refused(u):
        u.emit("test.refused", {"n": 0})
        raise ValueError("refused")

    uow.run_sync(actor, two_events)
    with pytest.raises(ValueError):
        # As the writer runs a unit: inside a savepoint that is rolled back.
        uow.run_sync(actor, lambda u: _in_savepoint(u, refused))
    uow.run_sync(actor, lambda u: u.emit_many("test.many", [{"n": 3}, {"n": 4}]))
    uow.run_sync(actor, lambda u: u.emit("test.last", {"n": 5}))
    rows = db.read_sync(lambda c: c.exec_driver_sql("SELECT seq, event_id, type, envelope FROM outbox ORDER BY seq")
                        .all())
    assert [r[2] for r in rows] == ["test.one", "test.two", "test.many", "test.many", "test.last"]
    assert [r[0] for r in rows] == list(range(rows[0][0], rows[0][0] + 5))
    for seq, event_id, kind, envelope in rows:
        body = json.loads(envelope)
        assert (body["seq"], body["event_id"], body["type"]) == (seq, event_id, kind)
    db._writer_engine.dispose()
    db._reader_engine.dispose()


def _in_savepoint(u, fn):
    raw = u.conn.connection.dbapi_connection
    raw.execute("SAVEPOINT unit")
    try:
        return fn(u)
    except BaseException:
        raw.execute("ROLLBACK TO unit")
        raw.execute("RELEASE unit")
        raise


def test_ids_made_after_a_fork_differ_from_the_parents():
    uuid7()  # the parent has randomness buffered
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, msgspec.json.encode([uuid7() for _ in range(50)]))
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as f:
        child = msgspec.json.decode(f.read())
    parent = [uuid7() for _ in range(50)]
    # The random tail (after the time and counter) must not repeat between the processes.
    assert not {i[19:] for i in child} & {i[19:] for i in parent}
    assert len(set(parent)) == 50 and parent == sorted(parent)
