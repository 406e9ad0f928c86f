"""Manager lists take only what they can answer, never answering a 500 or a silently empty list:
- a value the route declares a type or an enum for, and that does not match it, is a 400 (the
  framework's schema check);
- a well-formed value the store refuses, such as a tampered cursor or an unknown order status,
  is a 422.
Both are problem+json naming the field. Resolving a review case is safe to retry, and the till
list shows the drawer figures without internals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from tests.edge.sales.conftest import cash_order, key, post


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/api/v1/reviews", "/api/v1/orders", "/api/v1/audit", "/api/v1/products",
                                  "/api/v1/inventory", "/api/v1/inventory/movements"])
@pytest.mark.parametrize("bad", [{"id": 1}, [1, 2, 3], "not-base64-json!"])
def test_a_tampered_cursor_is_a_422_naming_the_cursor(client, manager, path, bad):
    cursor = bad if isinstance(bad, str) else cursor_of(bad)
    r = client.get(path, params={"cursor": cursor}, headers=manager)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "cursor", "message": "malformed"}]


def test_a_cursor_handed_out_by_a_list_still_pages_it(client, manager):
    first = client.get("/api/v1/products", params={"limit": 5}, headers=manager).json()
    second = client.get("/api/v1/products", params={"limit": 5, "cursor": first["next_cursor"]},
                        headers=manager).json()
    assert {p["id"] for p in first["items"]}.isdisjoint(p["id"] for p in second["items"]) and second["items"]
    audit = client.get("/api/v1/audit", params={"limit": 2}, headers=manager).json()
    older = client.get("/api/v1/audit", params={"limit": 2, "cursor": audit["next_cursor"]}, headers=manager)
    assert older.status_code == 200 and older.json()["items"][0]["id"] < audit["items"][-1]["id"]


def test_an_unknown_order_status_is_refused_not_an_empty_list(client, manager, cashier, products):
    cash_order(client, cashier, [{"sku": products[40]["sku"]}])
    r = client.get("/api/v1/orders", params={"status": "completed,RETURNED"}, headers=manager)
    assert r.status_code == 422 and "RETURNED" in r.json()["detail"] and "REFUNDED" in r.json()["detail"]
    ok = client.get("/api/v1/orders", params={"status": "completed"}, headers=manager).json()["items"]
    assert ok and {o["status"] for o in ok} == {"COMPLETED"}


def test_resolving_a_review_again_with_its_key_gives_the_same_answer(client, manager, products):
    sku, price = products[41]["sku"], products[41]["price_cents"]
    pin = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"}).json()
    cashier = {"Authorization": f"Bearer {pin['access_token']}"}  # a lane's own sign-in replays its sales
    sale = {"idempotency_key": key(), "offline_created_at": datetime.now(UTC).isoformat(), "lane_id": "1",
            "lines": [{"sku": sku, "unit_price_cents": price - 100}], "override_pin": "2468",
            "tenders": [{"method": "cash", "amount_cents": 100_000}]}
    client.post("/api/v1/offline/sales", json={"sales": [sale]}, headers=cashier)
    [case] = [c for c in client.get("/api/v1/reviews", headers=manager).json()["items"]
              if c["detail"].get("sku") == sku]
    assert case["summary"] == f"{sku} sold offline at {(price - 100) / 100:.2f} USD, today {price / 100:.2f} USD"
    idem = key()
    first = post(client, f"/api/v1/reviews/{case['id']}/resolve", {"resolution": "accepted", "note": "ok"}, manager,
                 idem)
    again = post(client, f"/api/v1/reviews/{case['id']}/resolve", {"resolution": "accepted", "note": "ok"}, manager,
                 idem)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other = post(client, f"/api/v1/reviews/{case['id']}/resolve", {"resolution": "accepted"}, manager)
    assert other.status_code == 409  # a second, different resolution is still refused


def test_the_till_list_shows_drawer_figures_only(client, cashier, manager):
    post(client, "/api/v1/tills", {"lane_id": "3", "float_cents": 5_000}, cashier)
    [till] = client.get("/api/v1/tills", params={"lane_id": "3", "status": "open"}, headers=manager).json()["items"]
    assert till["float_cents"] == 5_000 and till["status"] == "open"
    assert "tenant_id" not in till and "z_report" not in till


def test_a_till_status_outside_its_declared_values_is_a_400_naming_the_field(client, manager):
    r = client.get("/api/v1/tills", params={"status": "shut"}, headers=manager)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["status"] and "shut" in r.json()["errors"][0]["message"]


def test_an_html_copy_says_copy_once(client, cashier, products):
    order = cash_order(client, cashier, [{"sku": products[42]["sku"]}]).json()
    client.post(f"/api/v1/orders/{order['id']}/receipt/prints", headers=cashier)
    html = client.get(f"/api/v1/orders/{order['id']}/receipt?format=html", headers=cashier).text
    assert html.count("COPY") == 1
