"""Card and crypto tenders, recovery, voids, returns, exchanges, receipts, tills, offline, holds."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

from tests.edge.sales.conftest import cash_order, key, post, stock
from tests.support import FakeClock, wait_until


def runtime(client):
    return client.app.state.services.extras["sales"]


def card_order(client, headers, sku, qty=1, cash=0):
    price = client.get(f"/api/v1/products?sku={sku}", headers=headers).json()["items"][0]["price_cents"]
    quote = cash_order(client, headers, [{"sku": sku, "quantity": qty}], amount=10**7).json()  # learn the total
    total = quote["total_cents"]
    assert total >= price
    tenders = [{"method": "card", "amount_cents": total - cash}] + ([{"method": "cash", "amount_cents": cash}]
                                                                    if cash else [])
    return post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku, "quantity": qty}],
                                           "tenders": tenders}, headers)


def test_card_payment_is_approved_and_the_order_completes(client, cashier, manager, products):
    sku = products[10]["sku"]
    before = stock(client, manager, sku)["on_hand"]
    r = card_order(client, cashier, sku, cash=100)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "COMPLETED"
    card = next(t for t in order["tenders"] if t["method"] == "card")
    assert card["status"] == "approved" and card["card_last4"] == "4242" and "guidance" in card
    assert stock(client, manager, sku)["on_hand"] == before - 2  # the quote order sold one too
    assert runtime(client).terminal.sales_sent[card["id"]] == 1


def test_declined_card_leaves_the_order_pending_with_guidance_and_a_reservation(client, cashier, manager, products):
    sku = products[11]["sku"]
    runtime(client).terminal.script = ["declined"]
    r = card_order(client, cashier, sku)
    order = r.json()
    assert order["status"] == "PENDING"
    assert order["tenders"][0]["status"] == "declined" and "another" in order["tenders"][0]["guidance"]
    assert stock(client, manager, sku)["reserved"] == 1
    paid = post(client, f"/api/v1/orders/{order['id']}/tenders",
                {"tenders": [{"method": "cash", "amount_cents": order["total_cents"]}]}, cashier)
    assert paid.status_code == 200 and paid.json()["status"] == "COMPLETED"
    level = stock(client, manager, sku)
    assert level["reserved"] == 0


def test_lost_terminal_answer_is_recovered_by_asking_never_by_charging_again(client, cashier, products):
    term = runtime(client).terminal
    term.script = ["timeout"]  # the sale goes through but its answer is lost
    r = card_order(client, cashier, products[12]["sku"])
    order = r.json()
    card = order["tenders"][0]
    assert order["status"] == "COMPLETED" and card["status"] == "approved"
    assert term.sales_sent[card["id"]] == 1


def test_pending_payment_left_by_a_crash_is_settled_by_recovery(client, cashier, products):
    rt = runtime(client)

    async def crash(*_args):  # the process dies right after the order+payment(created) commit
        return None

    drive, rt.processor.drive_order = rt.processor.drive_order, crash
    order = card_order(client, cashier, products[13]["sku"]).json()
    rt.processor.drive_order = drive
    card = order["tenders"][0]
    assert order["status"] == "PENDING" and card["status"] == "created"
    rt.terminal.journal[card["id"]] = _approved(card)  # the terminal did take the payment
    from edge.service.ports import Actor

    actor = Actor.system("demo", "demo-001", "recovery")
    client.blocking_portal.call(rt.processor.recover, actor)  # what start-up does
    after = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    assert after["status"] == "COMPLETED" and after["tenders"][0]["status"] == "approved"
    assert rt.terminal.sales_sent[card["id"]] == 0  # recovery asked; it never sent a SALE


def _approved(card):
    from edge.service.payment_ports import TerminalOutcome

    return TerminalOutcome(status="approved", ref=card["id"], approved_cents=card["amount_cents"],
                           card_last4="4242", card_brand="VISA", auth_code="A1")


def test_crypto_payment_completes_through_a_signed_callback_once(client, cashier, products):
    from edge.adapters.payments.crypto_stub import sign

    rt = runtime(client)
    rt.provider.confirm_after_s = -1  # no automatic delivery: this test is the provider
    sku = products[14]["sku"]
    total = cash_order(client, cashier, [{"sku": sku}]).json()["total_cents"]
    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku}],
                                            "tenders": [{"method": "crypto", "amount_cents": total}]}, cashier).json()
    pay = order["tenders"][0]
    assert order["status"] == "PENDING" and pay["status"] == "awaiting" and pay["checkout_url"]
    event = {"id": "evt_1", "type": "charge.confirmed", "ref": pay["id"], "charge_id": "x", "status": "confirmed",
             "amount_cents": total}
    body = json.dumps(event).encode()
    bad = client.post("/api/v1/payments/crypto/callback", content=body,
                      headers={"x-stub-signature": sign(b"wrong", body, int(time.time()))})
    assert bad.status_code == 400
    stale = client.post("/api/v1/payments/crypto/callback", content=body,
                        headers={"x-stub-signature": sign(rt.provider.secret, body, int(time.time()) - 301)})
    assert stale.status_code == 400
    assert client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()["status"] == "PENDING"
    good = {"x-stub-signature": sign(rt.provider.secret, body, int(time.time()))}
    assert client.post("/api/v1/payments/crypto/callback", content=body, headers=good).json()["status"] == "recorded"
    assert client.post("/api/v1/payments/crypto/callback", content=body, headers=good).json()["status"] == "duplicate"
    assert client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()["status"] == "COMPLETED"


def test_void_needs_a_supervisor_and_returns_stock_and_reverses_the_card(client, cashier, manager, products):
    sku = products[15]["sku"]
    order = card_order(client, cashier, sku).json()
    level = stock(client, manager, sku)["on_hand"]
    refused = post(client, f"/api/v1/orders/{order['id']}/void", {"reason": "customer changed mind"}, cashier)
    assert refused.status_code == 403
    voided = post(client, f"/api/v1/orders/{order['id']}/void", {"reason": "customer changed mind"}, manager)
    assert voided.status_code == 200, voided.text
    body = voided.json()
    assert body["status"] == "VOIDED" and body["refunds"][0]["status"] == "refunded"
    assert body["tenders"][0]["status"] == "reversed"
    assert stock(client, manager, sku)["on_hand"] == level + 1
    again = post(client, f"/api/v1/orders/{order['id']}/void", {"reason": "again"}, manager)
    assert again.status_code == 409 and again.json()["type"].endswith("illegal-transition")


def test_returns_are_limited_to_what_was_sold_and_refund_to_the_original_tender(client, cashier, manager, products):
    sku = products[16]["sku"]
    order = cash_order(client, cashier, [{"sku": sku, "quantity": 3}]).json()
    line = order["lines"][0]
    level = stock(client, manager, sku)["on_hand"]
    too_many = post(client, f"/api/v1/orders/{order['id']}/returns",
                    {"lines": [{"line_id": line["id"], "quantity": 4}], "reason": "unwanted"}, cashier)
    assert too_many.status_code == 422 and too_many.json()["type"].endswith("return-exceeds-sold")
    first = post(client, f"/api/v1/orders/{order['id']}/returns",
                 {"lines": [{"line_id": line["id"], "quantity": 2}], "reason": "unwanted"}, cashier)
    assert first.status_code == 201, first.text
    ret = first.json()
    assert ret["order_status"] == "PARTIALLY_REFUNDED"
    assert ret["refunds"][0]["method"] == "cash" and ret["refund_cents"] == line["total_cents"] * 2 // 3
    assert stock(client, manager, sku)["on_hand"] == level + 2
    damaged = post(client, f"/api/v1/orders/{order['id']}/returns",
                   {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "damaged"}, cashier).json()
    assert damaged["order_status"] == "REFUNDED" and damaged["movements"] == []  # written off, not restocked
    assert ret["refund_cents"] + damaged["refund_cents"] == line["total_cents"]
    assert stock(client, manager, sku)["on_hand"] == level + 2
    more = post(client, f"/api/v1/orders/{order['id']}/returns",
                {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "unwanted"}, cashier)
    assert more.status_code == 409


def test_exchange_is_a_return_and_a_new_sale_in_one_transaction(client, cashier, products):
    a, b = products[17], products[18]
    order = cash_order(client, cashier, [{"sku": a["sku"]}]).json()
    r = post(client, f"/api/v1/orders/{order['id']}/returns",
             {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "wrong size",
              "exchange": {"lines": [{"sku": b["sku"]}], "tenders": [{"method": "cash", "amount_cents": 100_000}]}},
             cashier)
    assert r.status_code == 201, r.text
    ret = r.json()
    new = ret["exchange_order"]
    assert new["status"] == "COMPLETED" and new["exchange_of"] == ret["id"]
    assert ret["credit_cents"] == min(ret["refund_cents"], new["total_cents"])
    credit = next(t for t in new["tenders"] if t["method"] == "exchange_credit")
    assert credit["approved_cents"] == ret["credit_cents"]


def test_till_x_and_z_reports_with_variance_and_unsynced_lanes_block_the_z(client, cashier, manager, products):
    till = post(client, "/api/v1/tills", {"lane_id": "2", "float_cents": 10_000}, cashier).json()
    sid = till["session_id"]
    post(client, f"/api/v1/tills/{sid}/cash", {"kind": "pay_out", "amount_cents": 1_500, "reason": "milk"}, cashier)
    order = post(client, "/api/v1/orders", {"lane_id": "2", "lines": [{"sku": products[20]["sku"]}],
                                            "tenders": [{"method": "cash", "amount_cents": 100_000}]}, cashier).json()
    x = client.get(f"/api/v1/tills/{sid}/x-report", headers=cashier).json()
    assert x["expected_cents"] == 10_000 - 1_500 + order["total_cents"]
    client.post("/api/v1/lanes/3/queue-status", json={"queued": 2}, headers=cashier)
    blocked = post(client, f"/api/v1/tills/{sid}/close", {"counted_cents": x["expected_cents"]}, manager)
    assert blocked.status_code == 409 and blocked.json()["type"].endswith("unsynced-lane-queues")
    client.post("/api/v1/lanes/3/queue-status", json={"queued": 0}, headers=cashier)
    z = post(client, f"/api/v1/tills/{sid}/close", {"counted_cents": x["expected_cents"] - 200}, manager).json()
    assert z["kind"] == "Z" and z["variance_cents"] == -200 and z["status"] == "closed"


def test_offline_replay_gives_verdicts_and_opens_review_cases(client, manager, products):
    sku = products[21]["sku"]
    level = stock(client, manager, sku)
    price = products[21]["price_cents"]
    # Offline prices are honoured for a lane's own sign-in and a recent sale (see test_offline_fraud).
    pin = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"}).json()
    cashier = {"Authorization": f"Bearer {pin['access_token']}"}
    recent = datetime.now(UTC).isoformat()
    sales = [
        {"idempotency_key": key(), "offline_created_at": recent, "lane_id": "1",
         "lines": [{"sku": sku}], "tenders": [{"method": "cash", "amount_cents": 100_000}]},
        {"idempotency_key": key(), "offline_created_at": recent, "lane_id": "1",
         "lines": [{"sku": sku, "unit_price_cents": price - 10}], "tenders": [{"method": "cash", "amount_cents": 100_000}]},
        {"idempotency_key": key(), "offline_created_at": recent, "lane_id": "1",
         "lines": [{"sku": sku, "quantity": level["available"] + 5}],
         "tenders": [{"method": "cash", "amount_cents": 10**8}]},
    ]
    verdicts = [r["verdict"] for r in client.post("/api/v1/offline/sales", json={"sales": sales},
                                                  headers=cashier).json()["results"]]
    assert verdicts == ["accepted", "accepted_with_price_variance", "accepted_with_stock_conflict"]
    again = client.post("/api/v1/offline/sales", json={"sales": sales}, headers=cashier).json()["results"]
    assert [r["verdict"] for r in again] == ["duplicate"] * 3
    assert stock(client, manager, sku)["on_hand"] < 0  # never refused for stock
    cases = client.get("/api/v1/reviews", headers=manager).json()["items"]
    kinds = sorted(c["kind"] for c in cases if c["detail"].get("sku") == sku)
    assert kinds == ["price_variance", "stock_conflict"]
    resolved = client.post(f"/api/v1/reviews/{cases[0]['id']}/resolve", json={"resolution": "accepted"},
                           headers=manager)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"


def test_bopis_hold_reserves_then_pickup_sells_exactly_once(client, manager, products):
    sku = products[22]["sku"]
    level = stock(client, manager, sku)
    hold = post(client, "/api/v1/reservations", {"items": [{"sku": sku, "quantity": 2}], "ref": "WEB-1",
                                                 "ttl_s": 600}, manager).json()
    assert stock(client, manager, sku)["available"] == level["available"] - 2
    idem = key()
    picked = post(client, f"/api/v1/reservations/{hold['id']}/pickup", {}, manager, idem)
    assert picked.status_code == 200 and picked.json()["status"] == "committed"
    assert post(client, f"/api/v1/reservations/{hold['id']}/pickup", {}, manager, idem).status_code == 200
    assert post(client, f"/api/v1/reservations/{hold['id']}/pickup", {}, manager).status_code == 409
    after = stock(client, manager, sku)
    assert after["on_hand"] == level["on_hand"] - 2 and after["reserved"] == level["reserved"]


def test_expired_hold_is_released_by_the_sweeper(client, manager, products):
    sku, other_sku = products[23]["sku"], products[26]["sku"]
    level, other_level = stock(client, manager, sku), stock(client, manager, other_sku)
    clock = FakeClock()
    client.app.state.services.uow.clock = clock  # every unit of work, the sweeper's included, reads it

    def hold(item_sku: str, ttl_s: int) -> dict:
        created = post(client, "/api/v1/reservations", {"items": [{"sku": item_sku, "quantity": 1}], "ttl_s": ttl_s},
                       manager)
        assert created.status_code == 201, created.text
        return created.json()

    def reserved(item_sku: str) -> int:
        return stock(client, manager, item_sku)["reserved"]

    kept, short = hold(sku, 60), hold(other_sku, 30)
    assert (reserved(sku), reserved(other_sku)) == (level["reserved"] + 1, other_level["reserved"] + 1)

    # The store's background sweeper, not the test, must notice each TTL running out. The short
    # hold going shows that a sweep ran at 45 s; the 60 s hold had to survive that sweep.
    clock.advance(45)
    wait_until(lambda: reserved(other_sku) == other_level["reserved"], timeout=15, what="the 30 s hold released")
    assert reserved(sku) == level["reserved"] + 1
    clock.advance(16)
    wait_until(lambda: reserved(sku) == level["reserved"], timeout=15, what="the 60 s hold released")

    for expired in (kept, short):
        assert client.get(f"/api/v1/reservations/{expired['id']}", headers=manager).json()["status"] == "expired"
    audit = client.get("/api/v1/audit?action=reservation.expired", headers=manager).json()["items"]
    assert sorted((a["entity_id"], a["actor"]) for a in audit) == sorted(
        [(kept["id"], "reservation-sweeper"), (short["id"], "reservation-sweeper")])
    assert stock(client, manager, sku)["on_hand"] == level["on_hand"]  # released, not sold


def test_stock_operations_adjust_count_receive_transfer_and_csv(client, manager, products):
    sku = products[24]["sku"]
    on_hand = stock(client, manager, sku)["on_hand"]
    assert post(client, "/api/v1/inventory/adjustments", {"sku": sku, "delta": -2, "reason": "damaged"},
                manager).status_code == 201
    assert post(client, "/api/v1/inventory/adjustments", {"sku": sku, "delta": 1, "reason": "whim"},
                manager).status_code == 422
    post(client, "/api/v1/inventory/receipts", {"ref": "PO-7", "items": [{"sku": sku, "quantity": 10}]}, manager)
    post(client, "/api/v1/inventory/transfers/out", {"to_location": "store-2", "items": [{"sku": sku, "quantity": 3}]},
         manager)
    counted = post(client, "/api/v1/inventory/counts",
                   {"items": [{"sku": sku, "counted": 100, "expected_at_count": on_hand + 5}]}, manager).json()
    assert counted["movements"][0]["expected_at_count"] == on_hand + 5
    assert stock(client, manager, sku)["on_hand"] == 100
    moves = client.get(f"/api/v1/inventory/movements?sku={sku}", headers=manager).json()["items"]
    assert [m["kind"] for m in moves][-4:] == ["adjustment", "receive", "transfer_out", "count"]
    r = client.post("/api/v1/inventory/import", content=f"sku,on_hand\n{sku},7\n".encode(),
                    headers={**manager, "Idempotency-Key": key()})
    assert r.status_code == 200 and stock(client, manager, sku)["on_hand"] == 7
    exported = client.get("/api/v1/inventory/export.csv", headers=manager).text.splitlines()
    assert exported[0] == "sku,name,on_hand,reserved,available,threshold" and len(exported) == 201
    low = client.get("/api/v1/inventory?low_stock=true", headers=manager).json()["items"]
    assert all(i["available"] <= i["threshold"] for i in low)


def test_low_stock_is_pushed_to_managers_over_the_websocket(client, manager, products):
    sku = products[25]["sku"]
    on_hand = stock(client, manager, sku)["on_hand"]
    token = manager["Authorization"].split()[1]
    with client.websocket_connect("/api/v1/inventory/alerts/ws", subprotocols=[f"bearer.{token}"]) as ws:
        assert ws.receive_json()["type"] == "hello"
        post(client, "/api/v1/inventory/adjustments", {"sku": sku, "delta": -(on_hand - 2), "reason": "theft"},
             manager)
        alert = ws.receive_json()
        assert alert["type"] == "stock.low" and alert["sku"] == sku and alert["available"] == 2
    _ = asyncio
