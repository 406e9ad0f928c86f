"""A web order for pickup, end to end with every part real: a nats-server, the cloud hub and the
store servers as processes. HQ places it, a store accepts (or rejects, and HQ re-routes it to the
next store with stock), the store picks it and hands it over at the lane, and HQ shows it
completed with its history while its stock and sales figures agree with the store's sale."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import CloudServer, login, wait_until

LONG = 90.0  # the first events cross a freshly started hub: stream creation and sourcing take a while


@pytest.fixture
def hub(tmp_path: Path, nats_server):
    server = CloudServer(tmp_path)
    server.start(["--nats-url", nats_server.url])
    try:
        yield server
    finally:
        server.stop()


def step(edge: httpx.Client, headers: dict, order_id: str, action: str, body: dict | None = None) -> dict:
    response = edge.post(f"/api/v1/pickups/{order_id}/{action}", json=body or {},
                         headers=headers | {"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 200, response.text
    return response.json()


def hq_on_hand(hq: httpx.Client, admin: dict, sku: str, store_id: str) -> int | None:
    items = hq.get(f"/api/v1/hq/stock?sku={sku}", headers=admin).json()["items"]
    return next((i["on_hand"] for i in items if i["store_id"] == store_id), None)


def a_product(edge: httpx.Client, manager: dict) -> dict:
    return next(p for p in edge.get("/api/v1/products?limit=200", headers=manager).json()["items"]
                if not p["sold_by_weight"])


def hand_over(edge: httpx.Client, order_id: str) -> dict:
    """The store's part: the manager accepts, staff pick and ready it, the cashier hands it over."""
    manager, cashier = login(edge, "manager"), login(edge, "cashier")
    wait_until(lambda: edge.get(f"/api/v1/pickups/{order_id}", headers=manager).status_code == 200,
               timeout=LONG, what=f"the store to receive {order_id}")
    assert step(edge, manager, order_id, "accept")["status"] == "accepted"
    step(edge, manager, order_id, "picked")
    step(edge, manager, order_id, "ready")
    done = step(edge, cashier, order_id, "complete", {"lane_id": "1"})
    assert done["status"] == "completed"
    return done["sale"]


def test_a_prepaid_web_order_is_collected_at_the_store_and_hq_shows_it_completed_with_agreeing_figures(
        hub, store_a):
    with httpx.Client(base_url=store_a.url, timeout=10) as edge, httpx.Client(base_url=hub.url, timeout=10) as hq:
        admin = login(hq, "hq")
        sku = a_product(edge, login(edge, "manager"))["sku"]
        on_hand = wait_until(lambda: hq_on_hand(hq, admin, sku, "demo-001"), timeout=LONG,
                             what="HQ to know the store's stock")
        placed = hq.post("/api/v1/hq/bopis", headers=admin, json={
            "order_id": "WEB-1001", "lines": [{"sku": sku, "quantity": 2}], "prepaid": True})
        assert placed.status_code == 201, placed.text
        assert placed.json()["store_id"] == "demo-001" and placed.json()["status"] == "reserved"

        sale = hand_over(edge, "WEB-1001")

        order = wait_until(lambda: (o := hq.get("/api/v1/hq/bopis/WEB-1001", headers=admin).json())["status"]
                           == "completed" and o, timeout=LONG, what="HQ to see the pickup completed")
        assert [h["status"] for h in order["history"]] == [
            "placed", "reserved", "received", "accepted", "picked", "ready", "completed"]
        assert {h["store_id"] for h in order["history"][1:]} == {"demo-001"}
        assert (order["sale_order_id"], order["sale_total_cents"]) == (sale["id"], sale["total_cents"])

        # HQ's figures are the store's sale: stock down by two, the sale tendered prepaid.
        wait_until(lambda: hq_on_hand(hq, admin, sku, "demo-001") == on_hand - 2, timeout=LONG,
                   what="HQ's stock to follow the pickup")
        tenders = hq.get("/api/v1/hq/sales/tenders", headers=admin).json()["items"]
        assert [(t["method"], t["amount_cents"]) for t in tenders] == [("prepaid", sale["total_cents"])]
        summary = hq.get("/api/v1/hq/sales/summary", headers=admin).json()["items"]
        assert summary == [{"store_id": "demo-001", "orders": 1, "gross_cents": sale["total_cents"]}]


def test_a_rejected_order_is_rerouted_to_the_next_store_with_stock_which_hands_it_over(hub, store_a, store_b):
    stores = {"demo-001": store_a, "demo-002": store_b}
    with httpx.Client(base_url=hub.url, timeout=10) as hq:
        admin = login(hq, "hq")
        with httpx.Client(base_url=store_a.url, timeout=10) as edge:
            sku = a_product(edge, login(edge, "manager"))["sku"]
        for store_id in stores:
            wait_until(lambda s=store_id: hq_on_hand(hq, admin, sku, s), timeout=LONG,
                       what=f"HQ to know {store_id}'s stock")
        placed = hq.post("/api/v1/hq/bopis", headers=admin, json={
            "order_id": "WEB-2002", "lines": [{"sku": sku, "quantity": 1}], "prepaid": True}).json()
        first = placed["store_id"]
        second = next(s for s in stores if s != first)

        with httpx.Client(base_url=stores[first].url, timeout=10) as edge:
            manager = login(edge, "manager")
            wait_until(lambda: edge.get("/api/v1/pickups/WEB-2002", headers=manager).status_code == 200,
                       timeout=LONG, what="the first store to receive the order")
            assert step(edge, manager, "WEB-2002", "reject", {"reason": "damaged box"})["status"] == "rejected"

        rerouted = wait_until(lambda: (o := hq.get("/api/v1/hq/bopis/WEB-2002", headers=admin).json())["store_id"]
                              == second and o, timeout=LONG, what="HQ to re-route the order")
        assert rerouted["tried"] == [first]
        with httpx.Client(base_url=stores[second].url, timeout=10) as edge:
            sale = hand_over(edge, "WEB-2002")

        order = wait_until(lambda: (o := hq.get("/api/v1/hq/bopis/WEB-2002", headers=admin).json())["status"]
                           == "completed" and o, timeout=LONG, what="HQ to see the pickup completed")
        trail = [(h["status"], h["store_id"], h["reason"]) for h in order["history"]]
        assert trail[:4] == [("placed", None, None), ("reserved", first, None), ("received", first, None),
                             ("rejected", first, "damaged box")]
        assert [s for s, _, _ in trail[4:]] == ["reserved", "received", "accepted", "picked", "ready", "completed"]
        assert {store for _, store, _ in trail[4:]} == {second}
        summary = wait_until(lambda: hq.get("/api/v1/hq/sales/summary", headers=admin).json()["items"],
                             timeout=LONG, what="HQ to count the sale")
        assert summary == [{"store_id": second, "orders": 1, "gross_cents": sale["total_cents"]}]
