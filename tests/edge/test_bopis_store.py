"""BOPIS at the store: HQ's `bopis.reserve` becomes a pickup order the store accepts or rejects,
picks, readies and hands over as a sale; every step is an event for HQ, and stock follows."""

from __future__ import annotations

import json
import uuid

import pytest

from edge.adapters.inbox import Inbox, InboxConfig
from edge.adapters.replication import hq_handlers
from edge.contracts.events import Command
from tests.support import FakeClock, login, wait_until


@pytest.fixture
def manager(client):
    return login(client, "manager")


@pytest.fixture
def cashier(client):
    return login(client, "cashier")


@pytest.fixture
def products(client, manager):
    return [p for p in client.get("/api/v1/products?limit=200", headers=manager).json()["items"]
            if not p["sold_by_weight"]]


def services(client):
    return client.app.state.services


def send(client, type_: str, payload: dict, command_id: str | None = None) -> str:
    """Deliver an HQ command through the store's real inbox, as the NATS consumer would."""
    s = services(client)
    cfg = s.settings.store
    inbox = Inbox(s.db, InboxConfig(nats_url="nats://unused", tenant_id=cfg.tenant_id, store_id=cfg.store_id),
                  handlers=hq_handlers(s.settings))
    command = Command(command_id=command_id or str(uuid.uuid4()), tenant_id=cfg.tenant_id, store_id=cfg.store_id,
                      type=type_, version=1, issued_at="2026-11-30T10:00:00Z", payload=payload)
    return s.db.write_sync(lambda conn: inbox.apply(conn, command))


def stock(client, headers, sku):
    return client.get(f"/api/v1/inventory?sku={sku}", headers=headers).json()["items"][0]


def act(client, headers, order_id, step, body=None):
    return client.post(f"/api/v1/pickups/{order_id}/{step}", json=body or {},
                       headers={**headers, "Idempotency-Key": uuid.uuid4().hex})


def events(client, order_id):
    rows = services(client).db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT type, envelope FROM outbox WHERE type LIKE 'bopis.%' ORDER BY seq").all())
    return [(t, json.loads(e)["payload"]) for t, e in rows if json.loads(e)["payload"]["order_id"] == order_id]


def test_a_prepaid_web_order_is_received_accepted_picked_and_collected_as_a_prepaid_sale(
        client, manager, cashier, products):
    sku = products[3]["sku"]
    before = stock(client, manager, sku)
    assert send(client, "bopis.reserve", {"order_id": "WEB-1001", "lines": [{"sku": sku, "quantity": 2}],
                                          "prepaid": True}) == "applied"
    assert client.get("/api/v1/pickups/WEB-1001", headers=cashier).json()["status"] == "received"
    assert [p["order_id"] for p in client.get("/api/v1/pickups?status=open", headers=cashier).json()["items"]] \
        == ["WEB-1001"]

    accepted = act(client, manager, "WEB-1001", "accept")
    assert accepted.status_code == 200, accepted.text
    assert stock(client, manager, sku)["available"] == before["available"] - 2
    assert act(client, cashier, "WEB-1001", "picked").json()["status"] == "picked"
    assert act(client, cashier, "WEB-1001", "ready").json()["status"] == "ready"
    done = act(client, cashier, "WEB-1001", "complete", {"lane_id": "1"})
    assert done.status_code == 200, done.text
    sale = done.json()["sale"]
    assert done.json()["status"] == "completed" and done.json()["sale_order_id"] == sale["id"]
    assert sale["status"] == "COMPLETED"
    assert [(t["method"], t["approved_cents"]) for t in sale["tenders"]] == [("prepaid", sale["total_cents"])]

    after = stock(client, manager, sku)
    assert after["on_hand"] == before["on_hand"] - 2 and after["reserved"] == before["reserved"]
    trail = events(client, "WEB-1001")
    assert [t for t, _ in trail] == ["bopis.received", "bopis.accepted", "bopis.picked", "bopis.ready",
                                     "bopis.completed"]
    assert trail[-1][1]["sale_order_id"] == sale["id"] and trail[-1][1]["total_cents"] == sale["total_cents"]


def test_the_same_command_delivered_twice_is_received_once(client, products):
    command_id = str(uuid.uuid4())
    body = {"order_id": "WEB-2", "lines": [{"sku": products[4]["sku"], "quantity": 1}]}
    assert send(client, "bopis.reserve", body, command_id) == "applied"
    assert send(client, "bopis.reserve", body, command_id) == "duplicate"
    assert [t for t, _ in events(client, "WEB-2")] == ["bopis.received"]


def test_an_order_the_store_cannot_fill_is_rejected_at_once_with_the_reason(client, manager, products):
    sku = products[5]["sku"]
    on_hand = stock(client, manager, sku)["available"]
    assert send(client, "bopis.reserve", {"order_id": "WEB-3", "lines": [{"sku": sku, "quantity": on_hand + 1}]}) \
        == "rejected"
    pickup = client.get("/api/v1/pickups/WEB-3", headers=manager).json()
    assert pickup["status"] == "rejected" and sku in pickup["reason"]
    assert [t for t, _ in events(client, "WEB-3")] == ["bopis.received", "bopis.rejected"]
    assert stock(client, manager, sku)["available"] == on_hand


def test_a_manager_rejects_with_a_reason_and_a_rejection_without_one_changes_nothing(client, manager, products):
    send(client, "bopis.reserve", {"order_id": "WEB-4", "lines": [{"sku": products[6]["sku"], "quantity": 1}]})
    refused = act(client, manager, "WEB-4", "reject", {"reason": "   "})
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/pickups/WEB-4", headers=manager).json()["status"] == "received"
    rejected = act(client, manager, "WEB-4", "reject", {"reason": "damaged packaging"})
    assert rejected.json()["status"] == "rejected"
    assert events(client, "WEB-4")[-1] == ("bopis.rejected", {
        "order_id": "WEB-4", "status": "rejected", "reason": "damaged packaging", "sale_order_id": None,
        "total_cents": None, "prepaid": False})


def test_steps_out_of_order_and_cashiers_deciding_are_refused(client, manager, cashier, products):
    send(client, "bopis.reserve", {"order_id": "WEB-5", "lines": [{"sku": products[7]["sku"], "quantity": 1}]})
    assert act(client, cashier, "WEB-5", "accept").status_code == 403
    early = act(client, cashier, "WEB-5", "complete", {"lane_id": "1"})
    assert early.status_code == 409 and early.json()["type"].endswith("illegal-transition")
    assert act(client, cashier, "UNKNOWN-1", "picked").status_code == 404
    assert client.get("/api/v1/pickups/WEB-5", headers=manager).json()["status"] == "received"


def test_an_order_paid_at_pickup_needs_its_cash_and_is_sold_for_it(client, manager, cashier, products):
    sku = products[8]["sku"]
    send(client, "bopis.reserve", {"order_id": "WEB-6", "lines": [{"sku": sku, "quantity": 1}]})
    for step in ("accept", "picked", "ready"):
        assert act(client, manager, "WEB-6", step).status_code == 200
    unpaid = act(client, cashier, "WEB-6", "complete", {"lane_id": "1"})
    assert unpaid.status_code == 422 and client.get("/api/v1/pickups/WEB-6", headers=manager).json()["status"] \
        == "ready"
    paid = act(client, cashier, "WEB-6", "complete",
               {"lane_id": "1", "tenders": [{"method": "cash", "amount_cents": 100_000}]})
    assert paid.status_code == 200, paid.text
    assert [t["method"] for t in paid.json()["sale"]["tenders"]] == ["cash"]


def test_cancelling_from_hq_or_the_store_releases_the_held_stock(client, manager, products):
    sku = products[9]["sku"]
    before = stock(client, manager, sku)["available"]
    send(client, "bopis.reserve", {"order_id": "WEB-7", "lines": [{"sku": sku, "quantity": 3}]})
    act(client, manager, "WEB-7", "accept")
    assert stock(client, manager, sku)["available"] == before - 3
    assert send(client, "bopis.cancel", {"order_id": "WEB-7", "reason": "customer changed their mind"}) == "applied"
    assert stock(client, manager, sku)["available"] == before
    assert client.get("/api/v1/pickups/WEB-7", headers=manager).json()["status"] == "cancelled"
    assert send(client, "bopis.cancel", {"order_id": "WEB-7"}) == "stale"


def test_a_pickup_never_collected_expires_with_its_hold(client, manager, products):
    sku = products[10]["sku"]
    before = stock(client, manager, sku)["available"]
    clock = FakeClock()
    services(client).uow.clock = clock
    send(client, "bopis.reserve", {"order_id": "WEB-8", "lines": [{"sku": sku, "quantity": 1}], "hold_hours": 1})
    act(client, manager, "WEB-8", "accept")
    clock.advance(3601)
    # The store's own reservation sweeper notices, as it would overnight.
    wait_until(lambda: client.get("/api/v1/pickups/WEB-8", headers=manager).json()["status"] == "expired",
               what="the pickup to expire with its hold")
    assert stock(client, manager, sku)["available"] == before
    assert events(client, "WEB-8")[-1][0] == "bopis.expired"


def test_a_malformed_command_is_recorded_and_creates_no_pickup(client, manager):
    assert send(client, "bopis.reserve", {"order_id": "WEB-9", "lines": []}) == "invalid"
    assert send(client, "bopis.reserve", {"order_id": "WEB-9", "lines": [{"sku": "X", "quantity": 0}]}) == "invalid"
    assert client.get("/api/v1/pickups/WEB-9", headers=manager).status_code == 404
    assert events(client, "WEB-9") == []


def test_paying_for_a_prepaid_order_or_unknown_fields_are_refused_and_change_nothing(client, manager, cashier,
                                                                                    products):
    sku = products[11]["sku"]
    send(client, "bopis.reserve", {"order_id": "WEB-10", "lines": [{"sku": sku, "quantity": 1}], "prepaid": True})
    for step in ("accept", "picked", "ready"):
        act(client, manager, "WEB-10", step)
    paid_twice = act(client, cashier, "WEB-10", "complete",
                     {"lane_id": "1", "tenders": [{"method": "cash", "amount_cents": 500}]})
    assert paid_twice.status_code == 422 and paid_twice.json()["type"].endswith("pickup-prepaid")
    odd = act(client, cashier, "WEB-10", "complete", {"lane_id": "1", "discount_cents": 100})
    assert odd.status_code == 400
    card = act(client, cashier, "WEB-10", "complete", {"lane_id": "1", "tenders": [{"method": "card",
                                                                                    "amount_cents": 500}]})
    assert card.status_code == 400
    assert client.get("/api/v1/pickups/WEB-10", headers=manager).json()["status"] == "ready"
    assert stock(client, manager, sku)["reserved"] >= 1
