"""Prepared statements: the SQL SQLAlchemy would run, without its per-call cost, same results."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, insert, select

from edge.adapters.repos.prepared import Prepared

md = MetaData()
notes = Table("notes", md, Column("id", Integer, primary_key=True), Column("who", String, nullable=False),
              Column("body", JSON, nullable=True))


@pytest.fixture
def conn(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    md.create_all(engine)
    with engine.begin() as c:
        yield c


def test_json_columns_read_back_through_core_as_written(conn):
    write = Prepared(insert(notes), json=("body",))
    write.execute(conn, {"who": "ann", "body": {"total_cents": 1250, "lines": ["a", "b"]}})
    write.execute_many(conn, [{"who": "bob", "body": None}, {"who": "cy", "body": [1, 2]}])
    rows = conn.execute(select(notes.c.who, notes.c.body).order_by(notes.c.id)).all()
    assert [tuple(r) for r in rows] == [("ann", {"total_cents": 1250, "lines": ["a", "b"]}), ("bob", None),
                                        ("cy", [1, 2])]
    # None is SQL NULL, so "IS NULL" finds it.
    assert conn.execute(select(notes.c.who).where(notes.c.body.is_(None))).scalar_one() == "bob"


def test_a_json_column_not_declared_is_refused():
    with pytest.raises(TypeError, match=r"notes\.body"):
        Prepared(insert(notes))
