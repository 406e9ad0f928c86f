"""Lane prices stand only for sales a lane really made offline: a lane-bound sign-in, a plausible
time, and a supervisor for a steep undercharge. Anything else is refused and records nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.edge.sales.conftest import key, post, stock

SUPERVISOR_PIN = "2468"


def _at(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def lane1(client) -> dict[str, str]:
    response = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def bak5(client, manager) -> dict[str, Any]:
    [product] = client.get("/api/v1/products?sku=BAK-0005", headers=manager).json()["items"]
    return product


def _orders(client, manager) -> list[dict[str, Any]]:
    return client.get("/api/v1/orders?limit=200", headers=manager).json()["items"]


def _issue_request(offline_created_at: str) -> dict[str, Any]:
    """The request from the report, byte for byte apart from the time."""
    return {"lane_id": "1", "offline_created_at": offline_created_at,
            "lines": [{"sku": "BAK-0005", "quantity": 3, "unit_price_cents": 1}],
            "tenders": [{"method": "cash", "amount_cents": 3}]}


def _refused_and_nothing_changed(client, manager, response, status: int, code: str, before: dict[str, Any]) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/" + code)
    assert _orders(client, manager) == before["orders"]
    assert stock(client, manager, "BAK-0005")["on_hand"] == before["on_hand"]


@pytest.fixture
def before(client, manager, bak5) -> dict[str, Any]:
    return {"orders": _orders(client, manager), "on_hand": stock(client, manager, "BAK-0005")["on_hand"]}


def test_the_reported_fake_offline_sale_by_an_online_cashier_is_refused(client, cashier, manager, bak5, before):
    """`cashier` is a password sign-in: not at a lane, so it cannot claim a lane's offline prices."""
    response = post(client, "/api/v1/orders", _issue_request(_at()), cashier)
    _refused_and_nothing_changed(client, manager, response, 403, "offline-needs-lane-session", before)


def test_the_reported_sale_from_a_lane_sign_in_needs_a_supervisor_for_a_one_cent_price(client, lane1, manager,
                                                                                         bak5, before):
    assert bak5["price_cents"] > 1_000  # the list price the lane claims was 1 cent
    response = post(client, "/api/v1/orders", _issue_request(_at()), lane1)
    _refused_and_nothing_changed(client, manager, response, 403, "offline-price-override-required", before)
    assert "BAK-0005" in response.json()["errors"][0]["message"]


def test_a_sale_claimed_three_days_in_the_future_is_refused(client, lane1, manager, bak5, before):
    body = _issue_request(_at(timedelta(days=3)))
    body["lines"][0]["unit_price_cents"] = bak5["price_cents"]  # even at the right price
    body["tenders"][0]["amount_cents"] = 10**6
    response = post(client, "/api/v1/orders", body, lane1)
    _refused_and_nothing_changed(client, manager, response, 422, "offline-time-in-future", before)


@pytest.mark.parametrize("created_at,code", [
    ("2026-01-01T10:00:00", "offline-time-invalid"),  # no offset: whose clock?
    ("yesterday", "offline-time-invalid"),
])
def test_an_offline_time_that_is_not_a_clear_instant_is_refused(client, lane1, manager, bak5, before, created_at,
                                                                 code):
    body = _issue_request(created_at)
    body["lines"][0]["unit_price_cents"] = bak5["price_cents"]
    body["tenders"][0]["amount_cents"] = 10**6
    _refused_and_nothing_changed(client, manager, post(client, "/api/v1/orders", body, lane1), 422, code, before)


def test_a_sale_older_than_the_longest_outage_is_refused(client, lane1, manager, bak5, before):
    body = _issue_request(_at(-timedelta(hours=73)))
    body["lines"][0]["unit_price_cents"] = bak5["price_cents"]
    body["tenders"][0]["amount_cents"] = 10**6
    response = post(client, "/api/v1/orders", body, lane1)
    _refused_and_nothing_changed(client, manager, response, 422, "offline-sale-too-old", before)


def test_a_lane_clock_a_little_ahead_is_tolerated(client, lane1, bak5):
    body = _issue_request(_at(timedelta(minutes=2)))
    body["lines"][0]["unit_price_cents"] = bak5["price_cents"]
    body["tenders"][0]["amount_cents"] = 10**6
    response = post(client, "/api/v1/orders", body, lane1)
    assert response.status_code == 201, response.text
    assert response.json()["verdict"] == "accepted"


def test_a_real_offline_sale_with_a_small_price_change_is_recorded_and_reviewed(client, lane1, manager, bak5):
    lane_price = bak5["price_cents"] - bak5["price_cents"] // 20  # 5 % under today's price
    body = _issue_request(_at(-timedelta(hours=5)))
    body["lines"][0]["unit_price_cents"] = lane_price
    body["tenders"][0]["amount_cents"] = 10**6
    response = post(client, "/api/v1/orders", body, lane1)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["verdict"] == "accepted_with_price_variance" and order["lines"][0]["unit_price_cents"] == lane_price
    cases = [c for c in client.get("/api/v1/reviews", headers=manager).json()["items"] if c["order_id"] == order["id"]]
    assert [c["kind"] for c in cases] == ["price_variance"]


def test_a_supervisor_approves_a_steep_offline_undercharge_and_it_is_recorded_for_review(client, lane1, manager,
                                                                                          bak5):
    body = _issue_request(_at(-timedelta(minutes=30))) | {"override_pin": SUPERVISOR_PIN}
    response = post(client, "/api/v1/orders", body, lane1)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["total_cents"] == 3 and order["verdict"] == "accepted_with_price_variance"
    trail = client.get(f"/api/v1/audit?entity=order&entity_id={order['id']}&action=order.created",
                       headers=manager).json()["items"]
    assert trail[0]["after"]["override_by"] == "manager"
    assert any(c["order_id"] == order["id"] for c in client.get("/api/v1/reviews", headers=manager).json()["items"])


def test_one_line_at_a_cent_hidden_in_a_big_basket_still_needs_a_supervisor(client, lane1, manager, products, bak5,
                                                                          before):
    big = max(products, key=lambda p: p["price_cents"])
    body = {"lane_id": "1", "offline_created_at": _at(-timedelta(minutes=5)),
            "lines": [{"sku": big["sku"], "quantity": 20, "unit_price_cents": big["price_cents"]},
                      {"sku": "BAK-0005", "quantity": 1, "unit_price_cents": 1}],
            "tenders": [{"method": "cash", "amount_cents": 10**8}]}
    response = post(client, "/api/v1/orders", body, lane1)
    _refused_and_nothing_changed(client, manager, response, 403, "offline-price-override-required", before)


def test_the_offline_batch_route_keeps_the_same_rules_per_sale(client, lane1, manager, bak5):
    honest = {"idempotency_key": key(), "offline_created_at": _at(-timedelta(minutes=10)), "lane_id": "1",
              "lines": [{"sku": "BAK-0005", "unit_price_cents": bak5["price_cents"]}],
              "tenders": [{"method": "cash", "amount_cents": 100_000}]}
    fake = {"idempotency_key": key(), "offline_created_at": _at(), "lane_id": "1",
            "lines": [{"sku": "BAK-0005", "quantity": 3, "unit_price_cents": 1}],
            "tenders": [{"method": "cash", "amount_cents": 3}]}
    other_lane = honest | {"idempotency_key": key(), "lane_id": "2"}
    results = client.post("/api/v1/offline/sales", json={"sales": [honest, fake, other_lane]},
                          headers=lane1).json()["results"]
    assert [r["verdict"] for r in results] == ["accepted", "rejected", "rejected"]
    assert [r.get("code") for r in results[1:]] == ["offline-price-override-required", "lane-mismatch"]
    approved = client.post("/api/v1/offline/sales", json={"sales": [fake | {"override_pin": SUPERVISOR_PIN}]},
                           headers=lane1).json()["results"]
    assert approved[0]["verdict"] == "accepted_with_price_variance" and approved[0]["total_cents"] == 3


def test_online_sales_ignore_a_lane_supplied_price(client, lane1, bak5):
    body = {"lines": [{"sku": "BAK-0005", "quantity": 3, "unit_price_cents": 1}],
            "tenders": [{"method": "cash", "amount_cents": 10**6}]}
    order = post(client, "/api/v1/orders", body, lane1).json()
    assert order["lines"][0]["unit_price_cents"] == bak5["price_cents"]
