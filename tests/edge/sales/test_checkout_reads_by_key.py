"""A checkout's reads probe the catalog by key, whatever the catalog's size.

Without statistics SQLite read `tenant_id = ? AND id IN (...)` by walking every product of the
tenant (20 ms per checkout at 100,000 products, on the single writer), and `barcode IN (...)`
by walking every barcode. These tests hold the statements to their plans on the store's real
schema, and check that the rewritten reads still find exactly the tenant's own products.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import create_engine

from edge.adapters.repos import stock as stock_repo
from tests.edge.sales.conftest import cash_order, stock


def plan(db_path: Any, prepared: Any, params: dict[str, Any]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN for the SQL the Prepared statement would run."""
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn:
        sql, args = prepared._sql_args(conn, params)
    engine.dispose()
    with sqlite3.connect(db_path) as raw:
        return [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", args)]


IDS = ["01a00000-0000-7000-8000-000000000001", "01a00000-0000-7000-8000-000000000002",
       "01a00000-0000-7000-8000-000000000003"]


@pytest.mark.parametrize(("statement", "params"), [
    (stock_repo._LEVELS, {"b_location": "s1", "b_tenant": "t1", "b_ids": IDS}),
    (stock_repo._BY_ID, {"b_tenant": "t1", "b_store": "s1", "b_at": "2026-01-01T00:00:00.000Z", "b_values": IDS}),
])
def test_products_named_by_id_are_read_through_the_primary_key(demo_dir, statement, params):
    steps = plan(demo_dir / "store.db", statement, params)
    assert steps[0] == "SEARCH products USING INDEX sqlite_autoindex_products_1 (id=?)", steps


def test_a_scanned_barcode_is_one_primary_key_probe(demo_dir):
    steps = plan(demo_dir / "store.db", stock_repo._BY_BARCODE,
                 {"b_tenant": "t1", "b_store": "s1", "b_at": "2026-01-01T00:00:00.000Z", "b_value": "4006381333931"})
    assert steps[0] == ("SEARCH product_barcodes USING INDEX sqlite_autoindex_product_barcodes_1 "
                        "(tenant_id=? AND barcode=?)"), steps
    assert not any(step.startswith("SCAN") for step in steps), steps


def test_a_sale_by_product_id_and_by_barcodes_sells_those_products(client, cashier, manager, products):
    a, b, c = products[3], products[4], products[5]
    before = {p["sku"]: stock(client, manager, p["sku"])["on_hand"] for p in (a, b, c)}
    r = cash_order(client, cashier, [{"product_id": a["id"], "quantity": 2}, {"barcode": b["barcodes"][0]},
                                     {"barcode": c["barcodes"][0]}, {"barcode": b["barcodes"][0]}], amount=500_000)
    assert r.status_code == 201, r.text
    sold = {ln["sku"]: ln["quantity"] for ln in r.json()["lines"] if ln["sku"] != b["sku"]}
    assert sold == {a["sku"]: 2, c["sku"]: 1}
    assert sum(ln["quantity"] for ln in r.json()["lines"] if ln["sku"] == b["sku"]) == 2
    after = {p["sku"]: stock(client, manager, p["sku"])["on_hand"] for p in (a, b, c)}
    assert after == {a["sku"]: before[a["sku"]] - 2, b["sku"]: before[b["sku"]] - 2, c["sku"]: before[c["sku"]] - 1}


def test_an_unknown_barcode_or_id_is_refused_and_sells_nothing(client, cashier, manager, products):
    a = products[6]
    before = stock(client, manager, a["sku"])["on_hand"]
    for line in ({"barcode": "0000000000000"}, {"product_id": "01a00000-0000-7000-8000-00000000dead"}):
        r = cash_order(client, cashier, [{"sku": a["sku"]}, line])
        assert r.status_code in (404, 422), r.text
    assert stock(client, manager, a["sku"])["on_hand"] == before
