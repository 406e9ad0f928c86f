"""Money shown equals money charged: failed refunds are shown as owed, never as refunded; crypto
confirmations count for what arrived; the cart is priced by checkout's own code before tender;
an order left at the tender is cancelled and its stock released; receipts label what they show."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from tests.edge.sales.conftest import cash_order, key, post, stock
from tests.support import demo_settings, login

SUPERVISOR_PIN = "2468"


@pytest.fixture
def quiet_client(demo_dir) -> Iterator[TestClient]:
    """The demo store without simulated lane devices: no printer issues receipts on its own."""
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir, NOVAPOS_HARDWARE_MODE="off")),
                    raise_server_exceptions=False) as c:
        yield c


def runtime(client: TestClient):
    return client.app.state.services.extras["sales"]


def quote(client: TestClient, headers, lines, discount_cents: int = 0):
    body = {"lines": lines, **({"discount_cents": discount_cents} if discount_cents else {})}
    return client.post("/api/v1/orders/quote", json=body, headers=headers)


def total_of(client: TestClient, headers, lines) -> int:
    """What checkout charges for these lines (a cash sale of them, so the test does not lean on
    the quote it also checks)."""
    return cash_order(client, headers, lines).json()["total_cents"]


def card_sale(client: TestClient, headers, sku: str, quantity: int = 1) -> dict:
    total = total_of(client, headers, [{"sku": sku, "quantity": quantity}])
    r = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku, "quantity": quantity}],
                                        "tenders": [{"method": "card", "amount_cents": total}]}, headers)
    assert r.status_code == 201 and r.json()["status"] == "COMPLETED", r.text
    return r.json()


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# -- a refund the processor refuses -----------------------------------------------------------
def test_a_card_void_whose_reversal_fails_shows_the_money_owed_and_can_be_retried(client, cashier, manager, products):
    order = card_sale(client, cashier, products[40]["sku"])
    total = order["total_cents"]
    runtime(client).terminal.reversal = "declined"

    voided = post(client, f"/api/v1/orders/{order['id']}/void", {"reason": "customer changed mind"}, manager)
    assert voided.status_code == 200, voided.text
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    for body in (voided.json(), shown):
        assert body["status"] == "VOIDED"
        assert body["refund_state"] == "failed"
        assert body["refunded_cents"] == 0 and body["refund_owed_cents"] == total
        assert body["refund_guidance"].startswith("Refund not processed")
        assert money(total) in body["refund_guidance"] and "cash with a manager" in body["refund_guidance"]
        assert body["tenders"][0]["status"] == "approved"  # the customer's card was never credited
    receipt = client.get(f"/api/v1/orders/{order['id']}/receipt?format=text", headers=cashier).text
    assert f"-{money(total)}" not in receipt
    assert "REFUND CARD NOT PROCESSED" in receipt and "REFUND NOT PROCESSED ***" in receipt
    assert next(ln for ln in receipt.splitlines() if ln.startswith("OWED TO CUSTOMER")).endswith(money(total))

    owed = client.get("/api/v1/orders/refunds-owed?lane_id=1", headers=cashier).json()["items"]
    assert [(o["number"], o["refund_owed_cents"]) for o in owed] == [(order["number"], total)]
    assert client.get("/api/v1/orders/refunds-owed?lane_id=2", headers=cashier).json()["items"] == []

    runtime(client).terminal.reversal = "approved"  # the processor is back
    retried = post(client, f"/api/v1/orders/{order['id']}/refunds/settle", {"settle": "original"}, cashier)
    assert retried.status_code == 200, retried.text
    after = retried.json()
    assert after["refund_state"] == "refunded" and after["refunded_cents"] == total
    assert after["refund_owed_cents"] == 0 and "refund_guidance" not in after
    assert after["tenders"][0]["status"] == "reversed"
    assert sorted(r["status"] for r in after["refunds"]) == ["refunded", "retried"]
    receipt = client.get(f"/api/v1/orders/{order['id']}/receipt?format=text", headers=cashier).text
    assert "REFUND CARD" in receipt and f"-{money(total)}" in receipt and "OWED" not in receipt
    assert client.get("/api/v1/orders/refunds-owed", headers=cashier).json()["items"] == []
    again = post(client, f"/api/v1/orders/{order['id']}/refunds/settle", {"settle": "original"}, cashier)
    assert again.status_code == 409 and again.json()["type"].endswith("/no-failed-refund")


def test_a_refused_card_refund_on_a_return_is_paid_in_cash_only_with_a_supervisor(client, cashier, manager,
                                                                                 products):
    order = card_sale(client, cashier, products[41]["sku"], quantity=2)
    runtime(client).terminal.reversal = "declined"
    ret = post(client, f"/api/v1/orders/{order['id']}/returns",
               {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "damaged"}, cashier)
    assert ret.status_code == 201, ret.text
    refund = ret.json()["refund_cents"]
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    assert shown["status"] == "PARTIALLY_REFUNDED" and shown["refund_state"] == "failed"
    assert shown["refunded_cents"] == 0 and shown["refund_owed_cents"] == refund

    body = {"settle": "cash", "reason": "card account closed"}
    refused = post(client, f"/api/v1/orders/{order['id']}/refunds/settle", body, cashier)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/refund-cash-override-required")
    assert client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()["refund_owed_cents"] == refund

    paid = post(client, f"/api/v1/orders/{order['id']}/refunds/settle", body | {"override_pin": SUPERVISOR_PIN},
                cashier)
    assert paid.status_code == 200, paid.text
    after = paid.json()
    assert after["refund_state"] == "refunded" and after["refunded_cents"] == refund
    assert {(r["method"], r["status"]) for r in after["refunds"]} == {("card", "settled_in_cash"),
                                                                      ("cash", "refunded")}
    trail = client.get(f"/api/v1/audit?entity=order&entity_id={order['id']}&action=refund.settled",
                       headers=manager).json()["items"]
    assert trail and trail[0]["after"]["settle"] == "cash" and trail[0]["after"]["override_by"] == "manager"


# -- crypto confirmations count for what arrived ------------------------------------------------
def _crypto_order(client, cashier, sku):
    rt = runtime(client)
    rt.provider.confirm_after_s = -1  # no automatic delivery: this test is the provider
    total = total_of(client, cashier, [{"sku": sku}])
    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku}],
                                            "tenders": [{"method": "crypto", "amount_cents": total}]}, cashier).json()
    return order, total


def _confirm(client, payment_id: str, amount_cents: int, event_id: str):
    from edge.adapters.payments.crypto_stub import sign

    event = {"id": event_id, "type": "charge.confirmed", "ref": payment_id, "charge_id": "ch_1",
             "status": "confirmed", "amount_cents": amount_cents}
    body = json.dumps(event).encode()
    headers = {"x-stub-signature": sign(runtime(client).provider.secret, body, int(time.time()))}
    r = client.post("/api/v1/payments/crypto/callback", content=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_underpaid_crypto_confirmation_does_not_complete_the_sale(client, cashier, manager, products):
    sku = products[42]["sku"]
    order, total = _crypto_order(client, cashier, sku)
    assert _confirm(client, order["tenders"][0]["id"], 1, "evt_under")["payment_status"] == "underpaid"

    shown = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    pay = shown["tenders"][0]
    assert shown["status"] == "PENDING" and shown["paid_cents"] == 1 and shown["due_cents"] == total - 1
    assert pay["status"] == "underpaid" and pay["approved_cents"] == 1
    assert pay["received_cents"] == 1 and pay["difference_cents"] == 1 - total
    assert "underpaid" in pay["guidance"] and money(total - 1) in pay["guidance"]
    assert stock(client, manager, sku)["reserved"] == 1  # the goods are still held, not sold

    rest = post(client, f"/api/v1/orders/{order['id']}/tenders",
                {"tenders": [{"method": "cash", "amount_cents": total - 1}]}, cashier)
    assert rest.status_code == 200 and rest.json()["status"] == "COMPLETED"


def test_a_crypto_underpayment_found_by_asking_the_provider_is_underpaid_too(client, cashier, products):
    from edge.service.ports import Actor

    order, total = _crypto_order(client, cashier, products[49]["sku"])
    rt = runtime(client)
    rt.provider.settle(order["tenders"][0]["id"], "confirmed", amount_cents=total - 250)  # no callback arrives
    client.blocking_portal.call(rt.processor.recover, Actor.system("demo", "demo-001", "recovery"))
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    assert shown["status"] == "PENDING" and shown["due_cents"] == 250
    assert shown["tenders"][0]["status"] == "underpaid" and shown["tenders"][0]["approved_cents"] == total - 250


def test_an_overpaid_crypto_confirmation_completes_and_shows_the_surplus_owed(client, cashier, manager, products):
    order, total = _crypto_order(client, cashier, products[43]["sku"])
    assert _confirm(client, order["tenders"][0]["id"], total + 500, "evt_over")["payment_status"] == "overpaid"
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    pay = shown["tenders"][0]
    assert shown["status"] == "COMPLETED" and shown["paid_cents"] == total
    assert pay["approved_cents"] == total and pay["received_cents"] == total + 500 and pay["difference_cents"] == 500
    assert "overpaid" in pay["guidance"] and "5.00" in pay["guidance"]
    cases = client.get("/api/v1/reviews?kind=payment_overpaid", headers=manager).json()["items"]
    assert [c["order_id"] for c in cases] == [order["id"]]


# -- the cart is priced by checkout's own code -------------------------------------------------
def test_a_quote_prices_the_cart_like_checkout_and_writes_nothing(client, cashier, manager, products):
    lines = [{"sku": products[44]["sku"], "quantity": 2}, {"sku": products[45]["sku"]}]
    orders_before = client.get("/api/v1/orders?limit=200", headers=manager).json()["items"]
    priced = quote(client, cashier, lines, discount_cents=39)
    assert priced.status_code == 200, priced.text
    q = priced.json()
    assert q["discount_cents"] == 39 and len(q["lines"]) == 2
    assert q["total_cents"] == sum(ln["total_cents"] for ln in q["lines"])
    assert q["subtotal_cents"] + q["tax_cents"] == q["total_cents"]
    assert stock(client, manager, products[44]["sku"])["reserved"] == 0
    assert client.get("/api/v1/orders?limit=200", headers=manager).json()["items"] == orders_before

    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": lines, "discount_cents": 39}, cashier).json()
    assert (order["total_cents"], order["tax_cents"], order["discount_cents"]) == (
        q["total_cents"], q["tax_cents"], q["discount_cents"])

    bad = quote(client, cashier, [{"sku": "NO-SUCH-SKU"}])
    assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")


# -- leaving the tender cancels the order ------------------------------------------------------
def test_leaving_the_tender_cancels_the_order_and_releases_its_stock_at_once(client, cashier, manager, products):
    sku = products[46]["sku"]
    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku}]}, cashier).json()
    assert order["status"] == "OPEN" and stock(client, manager, sku)["reserved"] == 1

    idem = key()
    missing = client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=cashier)
    assert missing.status_code == 400
    cancelled = post(client, f"/api/v1/orders/{order['id']}/cancel", {}, cashier, idem)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["cancel_reason"]
    assert stock(client, manager, sku)["reserved"] == 0
    replay = post(client, f"/api/v1/orders/{order['id']}/cancel", {}, cashier, idem)
    assert replay.status_code == 200 and replay.headers.get("idempotent-replayed") == "true"
    again = post(client, f"/api/v1/orders/{order['id']}/cancel", {}, cashier)
    assert again.status_code == 409
    trail = client.get(f"/api/v1/audit?entity=order&entity_id={order['id']}&action=order.cancelled",
                       headers=manager).json()["items"]
    assert len(trail) == 1 and trail[0]["actor"] == "cashier" and trail[0]["before"]["status"] == "OPEN"


def test_an_order_with_money_taken_cannot_be_cancelled_only_voided(client, cashier, manager, products):
    sku = products[47]["sku"]
    total = total_of(client, cashier, [{"sku": sku}])
    runtime(client).terminal.script = ["partial:100"]
    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku}],
                                            "tenders": [{"method": "card", "amount_cents": total}]}, cashier).json()
    assert order["status"] == "PENDING" and order["paid_cents"] == 100
    refused = post(client, f"/api/v1/orders/{order['id']}/cancel", {}, cashier)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/order-has-payment")
    assert stock(client, manager, sku)["reserved"] == 1
    sold = cash_order(client, cashier, [{"sku": sku}]).json()
    assert post(client, f"/api/v1/orders/{sold['id']}/cancel", {}, cashier).status_code == 409


# -- receipts say what they show ---------------------------------------------------------------
def test_receipt_labels_are_truthful_and_the_lanes_own_screen_is_not_a_copy(quiet_client):
    client = quiet_client
    cashier = login(client, "cashier")
    items = client.get("/api/v1/products?limit=200", headers=cashier).json()["items"]
    sku = [p for p in items if not p["sold_by_weight"]][48]["sku"]
    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku, "quantity": 2}],
                                            "discount_cents": 10,
                                            "tenders": [{"method": "cash", "amount_cents": 10**7}]}, cashier).json()
    receipt = f"/api/v1/orders/{order['id']}/receipt"
    text = client.get(f"{receipt}?format=text", headers=cashier).text
    assert "Subtotal" not in text
    assert any(ln.startswith("Net excl. tax") and ln.endswith(money(order["subtotal_cents"]))
               for ln in text.splitlines())
    assert "incl. discount" in text
    html = client.get(f"{receipt}?format=html", headers=cashier).text
    assert "Subtotal" not in html and "Net excl. tax" in html

    assert client.post(f"{receipt}/prints?format=text", headers=cashier).status_code == 201  # the lane printer
    screen = client.get(f"{receipt}?format=html&original=true", headers=cashier).text
    assert "COPY" not in screen and order["number"] in screen
    reprint = client.post(f"{receipt}/prints?format=escpos", headers=cashier).content
    assert b"COPY" in reprint and b"Net excl. tax" in reprint and b"Subtotal" not in reprint
