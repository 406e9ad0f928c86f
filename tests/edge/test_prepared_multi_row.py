"""Prepared.execute_many sends INSERTs as multi-row statements: the same rows as one per row."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.dialects.sqlite import insert as upsert

from edge.adapters.repos.prepared import ROWS_PER_STATEMENT, Prepared

md = MetaData()
levels = Table("levels", md, Column("sku", String, primary_key=True), Column("on_hand", Integer, nullable=False),
               Column("note", String, nullable=True))


@pytest.fixture
def conn(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    md.create_all(engine)
    with engine.begin() as c:
        yield c


def rows_of(conn):
    return [tuple(r) for r in conn.execute(select(levels).order_by(levels.c.sku))]


def test_every_row_is_inserted_in_order_across_several_statements(conn):
    count = ROWS_PER_STATEMENT * 2 + 5
    Prepared(levels.insert()).execute_many(conn, [{"sku": f"S{n:04d}", "on_hand": n, "note": None}
                                                  for n in range(count)])
    assert rows_of(conn) == [(f"S{n:04d}", n, None) for n in range(count)]


def test_an_upsert_of_several_rows_adds_to_existing_rows_and_inserts_new_ones(conn):
    bump = upsert(levels)
    bump = Prepared(bump.on_conflict_do_update(index_elements=[levels.c.sku],
                                               set_={"on_hand": levels.c.on_hand + bump.excluded.on_hand}))
    bump.execute_many(conn, [{"sku": "A", "on_hand": 5, "note": "x"}, {"sku": "B", "on_hand": 1, "note": None}])
    bump.execute_many(conn, [{"sku": "A", "on_hand": -2, "note": "x"}, {"sku": "C", "on_hand": 7, "note": None},
                             {"sku": "B", "on_hand": 3, "note": None}])
    assert rows_of(conn) == [("A", 3, "x"), ("B", 4, None), ("C", 7, None)]


def test_a_batch_with_a_duplicate_key_is_refused_and_inserts_none_of_its_rows(conn):
    write = Prepared(levels.insert())
    write.execute(conn, {"sku": "A", "on_hand": 1, "note": None})
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        write.execute_many(conn, [{"sku": "Z", "on_hand": 1, "note": None}, {"sku": "A", "on_hand": 2, "note": None}])
    assert rows_of(conn) == [("A", 1, None)]
