"""Each state of a real card terminal, through the order API of a store server process talking
Terminal API to a fake Adyen terminal on 127.0.0.1. No state charges the card twice."""

from __future__ import annotations

import base64

from tests.edge import card_terminal_support as support
from tests.edge.card_terminal_support import LANE2_POIID, NOTIFY_PASSWORD, POIID
from tests.fakes.adyen_terminal import CANARY_PAN
from tests.support import wait_until

card_store, terminal = support.card_store, support.terminal  # the fake terminal and its store server

DIAGNOSIS = f"/api/v1/devices/adyen-{POIID}/actions/terminal_diagnostics"


def _card(order):
    return next(t for t in order["tenders"] if t["method"] == "card")


def test_approved_card_completes_the_sale_with_only_the_last_four_digits(card_store, terminal):
    order = card_store.card_sale(card_store.product(0)["sku"])
    card = _card(order)
    assert order["status"] == "COMPLETED"
    assert card["status"] == "approved" and card["approved_cents"] == order["total_cents"]
    assert card["card_last4"] == CANARY_PAN[-4:] and card["card_brand"] == "VISA" and card["entry_mode"] == "chip"
    assert terminal.payments_received[card["id"]] == 1
    assert terminal.charged_cents(card["id"]) == order["total_cents"]


def test_declined_for_insufficient_funds_tells_the_cashier_why_and_charges_nothing(card_store, terminal):
    terminal.script.append("declined:12:Not enough balance")
    order = card_store.card_sale(card_store.product(1)["sku"])
    card = _card(order)
    assert order["status"] == "PENDING" and card["status"] == "declined"
    assert "not enough funds" in card["guidance"]
    assert terminal.charged_cents(card["id"]) == 0
    # The cashier takes cash for it instead, on the same order.
    paid = card_store.call("POST", f"/api/v1/orders/{order['id']}/tenders",
                           body={"tenders": [{"method": "cash", "amount_cents": order["total_cents"]}]})
    assert paid.status_code == 200 and paid.json()["status"] == "COMPLETED"


def test_each_refusal_reason_gets_its_own_guidance(card_store, terminal):
    sku = card_store.product(2)["sku"]
    expected = {"declined:5:Blocked Card": "blocked", "declined:6:Expired Card": "expired",
                "declined:17:Invalid Pin": "wrong PIN", "declined:37:Contactless fallback": "insert the card",
                "customer_cancel": "customer cancelled"}
    for state, words in expected.items():
        terminal.script.append(state)
        order = card_store.card_sale(sku)
        card = _card(order)
        assert card["status"] == "declined" and words in card["guidance"], (state, card["guidance"])
        assert terminal.charged_cents(card["id"]) == 0
        card_store.call("POST", f"/api/v1/orders/{order['id']}/cancel", body={"reason": "declined"})


def test_partial_approval_counts_what_the_card_had_and_asks_for_the_rest(card_store, terminal):
    sku = card_store.product(3)["sku"]
    total = card_store.total(sku, 3)
    terminal.script.append(f"partial:{total - 150}")
    order = card_store.call("POST", "/api/v1/orders", body={"lane_id": "1", "lines": [{"sku": sku, "quantity": 3}],
                                                            "tenders": [{"method": "card", "amount_cents": total}]}).json()
    card = _card(order)
    assert card["status"] == "partially_approved" and card["approved_cents"] == total - 150
    assert order["status"] == "PENDING" and "collect the remaining" in card["guidance"]
    rest = card_store.call("POST", f"/api/v1/orders/{order['id']}/tenders",
                           body={"tenders": [{"method": "cash", "amount_cents": 150}]}).json()
    assert rest["status"] == "COMPLETED"
    assert terminal.payments_received[card["id"]] == 1


def test_a_lost_answer_is_settled_by_a_status_inquiry_never_by_a_second_charge(card_store, terminal):
    terminal.script.append("lost_reply")
    order = card_store.card_sale(card_store.product(4)["sku"])
    card = _card(order)
    assert card["status"] == "approved" and order["status"] == "COMPLETED"
    assert terminal.payments_received[card["id"]] == 1
    assert terminal.charged_cents(card["id"]) == order["total_cents"]


def test_the_lane_cancels_a_card_payment_that_waits_and_nothing_is_charged(card_store, terminal):
    terminal.script.append("wait")
    thread, result = card_store.card_sale_in_background(card_store.product(5)["sku"])
    ref = wait_until(lambda: terminal.waiting() and terminal.waiting()[0], what="the terminal waits for the card")
    order_id = wait_until(lambda: next((o["id"] for o in card_store.orders_on_lane()
                                        if any(t["id"] == ref for t in card_store.order(o["id"])["tenders"])), None),
                          what="the pending order")
    cancel = card_store.call("POST", f"/api/v1/orders/{order_id}/card/cancel")
    assert cancel.status_code == 202, cancel.text
    thread.join(30)
    card = _card(result["body"])
    assert card["status"] == "declined" and "cancelled" in card["guidance"] and "nothing was charged" in card["guidance"]
    assert terminal.charged_cents(ref) == 0 and terminal.payments_received[ref] == 1
    left = card_store.call("POST", f"/api/v1/orders/{order_id}/cancel", body={"reason": "customer left"})
    assert left.status_code == 200 and left.json()["status"] == "CANCELLED"
    again = card_store.call("POST", f"/api/v1/orders/{order_id}/card/cancel")
    assert again.status_code == 409


def test_a_card_approved_as_the_cancel_arrived_is_reversed_so_no_charge_is_left(card_store, terminal):
    terminal.script.append("wait_approve")
    thread, result = card_store.card_sale_in_background(card_store.product(6)["sku"])
    ref = wait_until(lambda: terminal.waiting() and terminal.waiting()[0], what="the terminal waits for the card")
    order_id = wait_until(lambda: next((o["id"] for o in card_store.orders_on_lane()
                                        if any(t["id"] == ref for t in card_store.order(o["id"])["tenders"])), None),
                          what="the pending order")
    assert card_store.call("POST", f"/api/v1/orders/{order_id}/card/cancel").status_code == 202
    thread.join(30)
    card = _card(result["body"])
    assert result["body"]["status"] == "PENDING" and card["status"] == "declined"
    assert len([r for r in terminal.reversals if "ReversedAmount" not in r]) >= 1
    assert terminal.charged_cents(ref) == 0


def test_a_just_approved_payment_is_reversed_by_a_void(card_store, terminal):
    order = card_store.card_sale(card_store.product(7)["sku"])
    card = _card(order)
    voided = card_store.call("POST", f"/api/v1/orders/{order['id']}/void", "manager", {"reason": "wrong customer"})
    assert voided.status_code == 200, voided.text
    body = voided.json()
    assert body["status"] == "VOIDED" and _card(body)["status"] == "reversed"
    assert body["refunds"][0]["status"] == "refunded"
    assert terminal.charged_cents(card["id"]) == 0
    poi_ref = terminal.reversals[-1]["OriginalPOITransaction"]["POITransactionID"]["TransactionID"]
    assert terminal.transactions[poi_ref]["ref"] == card["id"]


def test_a_referenced_refund_works_after_the_terminal_forgot_the_sale(card_store, terminal):
    """Another lane or another day: the terminal's own journal no longer holds the sale, and the
    refund names the sale's POI transaction, which Adyen refunds from any terminal."""
    sku = card_store.product(8)["sku"]
    order = card_store.card_sale(sku, 2)
    card = _card(order)
    terminal._journal.clear()  # a new day (or the other lane's terminal): no local history
    line = order["lines"][0]
    refund = card_store.call("POST", f"/api/v1/orders/{order['id']}/returns", "manager",
                             {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "unwanted"})
    assert refund.status_code == 201, refund.text
    after = wait_until(lambda: (o := card_store.order(order["id"]))["refunds"] and
                       all(r["status"] == "refunded" for r in o["refunds"]) and o, what="the refund settles")
    assert after["status"] == "PARTIALLY_REFUNDED"
    sent = terminal.reversals[-1]
    assert "ReversedAmount" in sent  # a referenced refund of part of the sale, not a whole reversal
    refunded = after["refunds"][0]["amount_cents"]
    assert terminal.charged_cents(card["id"]) == order["total_cents"] - refunded


def test_a_refund_the_processor_refuses_is_owed_to_the_customer_not_lost(card_store, terminal):
    order = card_store.card_sale(card_store.product(9)["sku"])
    terminal.reversal = "declined"
    line = order["lines"][0]
    card_store.call("POST", f"/api/v1/orders/{order['id']}/returns", "manager",
                    {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "unwanted"})
    after = wait_until(lambda: (o := card_store.order(order["id"]))["refunds"] and
                       o["refunds"][0]["status"] == "failed" and o, what="the refund is refused")
    assert "Refund not processed" in after["refunds"][0]["guidance"] or "refund" in after["refunds"][0]["guidance"]
    assert terminal.charged_cents(_card(order)["id"]) == order["total_cents"]


def test_signature_required_is_approved_with_guidance_to_get_the_receipt_signed(card_store, terminal):
    terminal.script.append("signature")
    order = card_store.card_sale(card_store.product(10)["sku"])
    card = _card(order)
    assert card["status"] == "approved" and "sign the receipt" in card["guidance"]
    assert "ASK_SIGNATURE" in terminal.notifications_sent


def test_chip_fallback_to_swipe_is_approved_and_recorded_as_a_fallback(card_store, terminal):
    terminal.script.append("chip_fallback")
    order = card_store.card_sale(card_store.product(11)["sku"])
    card = _card(order)
    assert card["status"] == "approved" and card["entry_mode"] == "swipe_fallback"
    assert "swiped" in card["guidance"]


def test_a_busy_terminal_charges_nothing_and_says_to_wait(card_store, terminal):
    terminal.busy = True
    order = card_store.card_sale(card_store.product(12)["sku"])
    card = _card(order)
    assert card["status"] == "failed" and "busy" in card["guidance"] and order["status"] == "PENDING"
    terminal.busy = False
    retry = card_store.call("POST", f"/api/v1/orders/{order['id']}/tenders",
                            body={"tenders": [{"method": "card", "amount_cents": order["total_cents"]}]}).json()
    assert retry["status"] == "COMPLETED"


def test_an_offline_terminal_charges_nothing_and_says_to_check_it(card_store, terminal):
    terminal.stop()
    try:
        order = card_store.card_sale(card_store.product(13)["sku"])
        card = _card(order)
        assert card["status"] == "failed" and "cannot be reached" in card["guidance"]
        diagnosis = card_store.call("POST", DIAGNOSIS, "manager", idem=False).json()
        assert diagnosis["ok"] is False and "cannot be reached" in diagnosis["detail"]
        devices = card_store.call("GET", "/api/v1/devices", "manager").json()["items"]
        assert next(d for d in devices if d["id"] == f"adyen-{POIID}")["status"] == "offline"
    finally:
        terminal.start()


def test_the_technicians_test_reports_the_terminals_own_diagnosis(card_store, terminal):
    devices = card_store.call("GET", "/api/v1/devices", "manager").json()["items"]
    listed = next(d for d in devices if d["id"] == f"adyen-{POIID}")
    assert listed["kind"] == "terminal" and listed["actions"] == ["terminal_diagnostics"]
    good = card_store.call("POST", DIAGNOSIS, "manager", idem=False)
    assert good.status_code == 200 and good.json()["ok"] is True and good.json()["poiid"] == POIID
    terminal.diagnosis = {**terminal.diagnosis, "PEDOKFlag": False}
    terminal.host_reachable = False
    bad = card_store.call("POST", DIAGNOSIS, "manager", idem=False).json()
    assert bad["ok"] is False and "pin_pad_ok" in bad["detail"] and "unreachable" in bad["detail"]
    terminal.diagnosis = {**terminal.diagnosis, "PEDOKFlag": True}
    assert card_store.call("POST", DIAGNOSIS, "cashier", idem=False).status_code == 403
    audit = card_store.call("GET", "/api/v1/audit?limit=50", "manager").json()["items"]
    assert any(a["action"] == "device.tested" and a["entity_id"] == f"adyen-{POIID}" for a in audit)


def test_display_notifications_need_the_terminals_credentials(card_store, terminal):
    body = b'{"SaleToPOIRequest": {"MessageHeader": {"POIID": "%s"}, "DisplayRequest": {}}}' % POIID.encode()
    anonymous = card_store.http.post("/api/v1/payments/adyen/display", content=body)
    assert anonymous.status_code == 401
    wrong = base64.b64encode(b"adyen-terminal:guess").decode()
    assert card_store.http.post("/api/v1/payments/adyen/display", content=body,
                                headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    right = base64.b64encode(f"adyen-terminal:{NOTIFY_PASSWORD}".encode()).decode()
    assert card_store.http.post("/api/v1/payments/adyen/display", content=body,
                                headers={"Authorization": f"Basic {right}"}).status_code == 200


def test_each_lane_pays_on_its_own_terminal_and_reverses_there(card_store, terminal):
    other = card_store.lane2
    order = card_store.card_sale(card_store.product(14)["sku"], lane="2")
    card = _card(order)
    assert order["status"] == "COMPLETED"
    assert other.payments_received[card["id"]] == 1 and terminal.payments_received[card["id"]] == 0
    voided = card_store.call("POST", f"/api/v1/orders/{order['id']}/void", "manager", {"reason": "wrong lane"})
    assert voided.status_code == 200 and _card(voided.json())["status"] == "reversed"
    assert other.charged_cents(card["id"]) == 0
    devices = {d["id"] for d in card_store.call("GET", "/api/v1/devices", "manager").json()["items"]}
    assert {f"adyen-{POIID}", f"adyen-{LANE2_POIID}"} <= devices
