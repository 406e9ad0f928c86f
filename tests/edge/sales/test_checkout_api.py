"""Checkout through the real app on SQLite files: cash, stock ledger, idempotency, validation."""

from __future__ import annotations

from tests.edge.sales.conftest import cash_order, key, post, stock


def test_cash_order_completes_at_once_with_change_and_moves_stock(client, cashier, manager, products):
    a, b = products[0], products[1]
    before_a, before_b = stock(client, manager, a["sku"]), stock(client, manager, b["sku"])
    r = cash_order(client, cashier, [{"sku": a["sku"], "quantity": 2}, {"barcode": b["barcodes"][0]}],
                   amount=100_000)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "COMPLETED"
    assert set(order) >= {"id", "number", "status", "lines", "subtotal_cents", "tax_cents", "total_cents",
                          "tenders", "change_due_cents"}
    assert order["number"].startswith("1-")
    assert order["total_cents"] == sum(ln["total_cents"] for ln in order["lines"])
    assert order["change_due_cents"] == 100_000 - order["total_cents"]
    assert all(isinstance(v, int) for k, v in order.items() if k.endswith("_cents"))
    after_a, after_b = stock(client, manager, a["sku"]), stock(client, manager, b["sku"])
    assert after_a["on_hand"] == before_a["on_hand"] - 2
    assert after_b["on_hand"] == before_b["on_hand"] - 1
    moves = client.get(f"/api/v1/inventory/movements?sku={a['sku']}&kind=sale", headers=manager).json()["items"]
    assert [(m["delta"], m["ref"]) for m in moves] == [(-2, order["id"])]


def test_retry_with_the_same_key_replays_and_sells_nothing_more(client, cashier, manager, products):
    sku = products[2]["sku"]
    before = stock(client, manager, sku)["on_hand"]
    idem = key()
    first = cash_order(client, cashier, [{"sku": sku}], idem=idem)
    again = cash_order(client, cashier, [{"sku": sku}], idem=idem)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert stock(client, manager, sku)["on_hand"] == before - 1
    other_body = cash_order(client, cashier, [{"sku": sku, "quantity": 2}], idem=idem)
    assert other_body.status_code == 422


def test_order_without_an_idempotency_key_is_refused(client, cashier, products):
    r = client.post("/api/v1/orders", json={"lane_id": "1", "lines": [{"sku": products[0]["sku"]}],
                                            "tenders": [{"method": "cash", "amount_cents": 99999}]}, headers=cashier)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")


def test_selling_more_than_available_is_refused_and_changes_nothing(client, cashier, manager, products):
    sku = products[3]["sku"]
    level = stock(client, manager, sku)
    r = cash_order(client, cashier, [{"sku": sku, "quantity": level["available"] + 1}])
    assert r.status_code == 409
    assert r.json()["type"].endswith("insufficient-stock")
    assert stock(client, manager, sku) == level


def test_short_tender_and_unknown_products_are_422(client, cashier, products):
    r = cash_order(client, cashier, [{"sku": products[0]["sku"]}], amount=1)
    assert r.status_code == 422 and r.json()["type"].endswith("tender-insufficient")
    r = cash_order(client, cashier, [{"sku": "NOPE-0000"}])
    assert r.status_code == 422 and r.json()["errors"]
    r = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": products[0]["sku"]}],
                                        "tenders": [{"method": "card", "amount_cents": 10_000_000}]}, cashier)
    assert r.status_code == 422 and r.json()["type"].endswith("tender-exceeds-due")


def test_weighed_item_is_priced_per_kg_and_stocked_in_grams(client, cashier, manager, weighed):
    before = stock(client, manager, weighed["sku"])["on_hand"]
    r = cash_order(client, cashier, [{"sku": weighed["sku"], "weight_grams": 1250}])
    assert r.status_code == 201, r.text
    line = r.json()["lines"][0]
    assert line["weight_grams"] == 1250
    assert line["total_cents"] - line["tax_cents"] == (weighed["price_cents"] * 1250 * 2 + 1000) // 2000
    assert stock(client, manager, weighed["sku"])["on_hand"] == before - 1250
    assert cash_order(client, cashier, [{"sku": weighed["sku"]}]).status_code == 422


def test_large_discount_needs_a_supervisor_override(client, cashier, manager, products):
    sku = products[4]["sku"]
    body = {"lane_id": "1", "lines": [{"sku": sku, "discount_cents": products[4]["price_cents"] // 2}],
            "tenders": [{"method": "cash", "amount_cents": 100_000}]}
    r = post(client, "/api/v1/orders", body, cashier)
    assert r.status_code == 403 and r.json()["type"].endswith("discount-override-required")
    token = manager["Authorization"].split()[1]
    r = post(client, "/api/v1/orders", {**body, "override_token": token}, cashier)
    assert r.status_code == 201, r.text
    assert r.json()["discount_cents"] == products[4]["price_cents"] // 2
    r = post(client, "/api/v1/orders", {**body, "override_token": cashier["Authorization"].split()[1]}, cashier)
    assert r.status_code == 403


def test_order_completed_event_carries_lines_tenders_and_movements_with_ids(client, cashier, demo_dir, products):
    import json
    import sqlite3

    order = cash_order(client, cashier, [{"sku": products[5]["sku"], "quantity": 3}]).json()
    db = sqlite3.connect(demo_dir / "store.db")
    rows = [json.loads(e) for (e,) in db.execute("SELECT envelope FROM outbox WHERE type='order.completed'")]
    event = next(r for r in rows if r["payload"]["order_id"] == order["id"])["payload"]
    assert event["lines"][0]["sku"] == products[5]["sku"]
    assert event["tenders"] == [{"payment_id": order["tenders"][0]["id"], "method": "cash",
                                 "amount_cents": order["total_cents"], "status": "approved"}]
    [movement] = event["movements"]
    assert movement["id"] and movement["delta"] == -3 and movement["kind"] == "sale"
    audits = db.execute("SELECT count(*) FROM audit_log WHERE entity='order' AND entity_id=?", (order["id"],))
    assert audits.fetchone()[0] >= 1


def test_order_search_filters_and_paginates(client, cashier, manager, products):
    made = [cash_order(client, cashier, [{"sku": products[6]["sku"]}]).json() for _ in range(3)]
    page1 = client.get(f"/api/v1/orders?sku={products[6]['sku']}&limit=2", headers=manager).json()
    assert [o["id"] for o in page1["items"]] == [made[2]["id"], made[1]["id"]]
    page2 = client.get(f"/api/v1/orders?sku={products[6]['sku']}&limit=2&cursor={page1['next_cursor']}",
                       headers=manager).json()
    assert [o["id"] for o in page2["items"]] == [made[0]["id"]] and page2["next_cursor"] is None
    by_number = client.get(f"/api/v1/orders?number={made[1]['number']}", headers=manager).json()["items"]
    assert [o["id"] for o in by_number] == [made[1]["id"]]
    assert client.get("/api/v1/orders?tender=card", headers=manager).json()["items"] == []
    csv_text = client.get(f"/api/v1/orders/export.csv?sku={products[6]['sku']}", headers=manager).text
    assert csv_text.splitlines()[0].startswith("id,number,status") and len(csv_text.splitlines()) == 4
