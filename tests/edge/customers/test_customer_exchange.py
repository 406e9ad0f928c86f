"""An exchange's new sale belongs to the same customer as the sale it came back from (it shows in
their history), unless the store no longer knows that customer: then it has no link, and the
exchange still goes through."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from edge.service import customers as cases
from edge.service.ports import Actor
from tests.edge.customers.conftest import key, sell_to, sign_up, unique_person


def exchange(client: TestClient, headers: dict[str, str], order: dict[str, Any]) -> Any:
    items = client.get("/api/v1/products?limit=50", headers=headers).json()["items"]
    other = next(p["sku"] for p in items if not p["sold_by_weight"] and p["sku"] != order["lines"][0]["sku"])
    return client.post(f"/api/v1/orders/{order['id']}/returns",
                       json={"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "wrong size",
                             "exchange": {"lines": [{"sku": other}],
                                          "tenders": [{"method": "cash", "amount_cents": 100_000}]}},
                       headers={**headers, "Idempotency-Key": key()})


def test_the_exchange_sale_carries_the_customer_of_the_original_sale(client: TestClient, cashier) -> None:
    p = unique_person()
    cid = sign_up(client, cashier, {"name": p["name"], "email": p["email"]}).json()["customer_id"]
    order = sell_to(client, cashier, cid).json()
    made = exchange(client, cashier, order)
    assert made.status_code == 201, made.text
    new = made.json()["exchange_order"]
    assert new["customer_id"] == cid
    assert client.get(f"/api/v1/orders/{new['id']}", headers=cashier).json()["customer_id"] == cid
    history = client.get(f"/api/v1/customers/{cid}", headers=cashier).json()["recent_purchases"]
    assert {order["id"], new["id"]} <= {h["order_id"] for h in history}


def test_an_exchange_for_a_customer_the_store_forgot_goes_through_without_a_link(client: TestClient, cashier) -> None:
    services = client.app.state.services
    p = unique_person()
    cid = sign_up(client, cashier, {"name": p["name"], "email": p["email"]}).json()["customer_id"]
    order = sell_to(client, cashier, cid).json()
    # HQ has them; the bounded cache then forgets them (the order keeps its link).
    system = Actor.system("demo", "demo-001", "test")
    services.uow.run_sync(system, lambda u: cases.mark_escrowed(u, cid, 1))
    vault = services.extras["customers"].vault
    services.uow.run_sync(system, lambda u: cases.evict(u, vault, cache_max=0, cache_days=90))
    assert client.get(f"/api/v1/customers/{cid}", headers=cashier).status_code == 404
    assert client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()["customer_id"] == cid

    made = exchange(client, cashier, order)
    assert made.status_code == 201, made.text
    assert made.json()["exchange_order"]["customer_id"] is None


def test_an_anonymous_sales_exchange_stays_anonymous(client: TestClient, cashier) -> None:
    order = sell_to(client, cashier, None).json()
    made = exchange(client, cashier, order)
    assert made.status_code == 201, made.text
    assert made.json()["exchange_order"]["customer_id"] is None
