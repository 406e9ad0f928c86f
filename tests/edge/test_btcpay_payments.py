"""Crypto sales paid through BTCPay Server (the Greenfield fake on a real port): signed webhooks
settle them, forged and replayed deliveries change nothing, every invoice state lands in its own
payment state, refunds become pull payments, a cancelled sale leaves no charge behind."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from litestar.testing import TestClient

from edge.service.ports import Actor
from tests.fakes.btcpay import FakeBtcpay
from tests.fakes.btcpay_store import WEBHOOK, btcpay_store, crypto_order, key, staff


@pytest.fixture
def fake() -> Iterator[FakeBtcpay]:
    server = FakeBtcpay().start()
    yield server
    server.stop()


@pytest.fixture
def client(demo_dir: Path, fake: FakeBtcpay, tmp_path: Path) -> Iterator[TestClient]:
    with btcpay_store(demo_dir, fake, tmp_path / "secrets") as c:
        yield c


def order_of(client: TestClient, order_id: str) -> dict:
    return client.get(f"/api/v1/orders/{order_id}", headers=staff(client)).json()


def amount(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2).quantize(Decimal("0.01")))


def test_a_crypto_sale_opens_one_invoice_for_the_payment_and_the_signed_webhook_completes_it(client, fake):
    cashier = staff(client)
    order = crypto_order(client, cashier)
    pay = order["tenders"][0]
    assert order["status"] == "PENDING" and pay["status"] == "awaiting"
    invoice = fake.invoice_of(pay["id"])
    assert invoice["amount"] == amount(order["total_cents"]) and invoice["currency"] == order["currency"]
    assert pay["checkout_url"] == invoice["checkoutLink"]
    assert fake.unauthorized == 0  # every call carried `Authorization: token <key>`

    for event in fake.pay(invoice["id"], invoice["amount"]):
        assert fake.deliver(event) == 200

    done = order_of(client, order["id"])
    assert done["status"] == "COMPLETED"
    assert done["tenders"][0]["status"] == "approved" and done["tenders"][0]["approved_cents"] == order["total_cents"]
    assert len([i for i in fake.invoices.values() if i["metadata"]["orderId"] == pay["id"]]) == 1


def test_a_forged_signature_is_refused_and_changes_nothing(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    settled = fake.pay(invoice["id"], invoice["amount"])[-1]
    body, headers = fake.signed(settled, secret="not-the-secret")
    forged = client.post(WEBHOOK, content=body, headers=headers)
    assert forged.status_code == 400 and forged.headers["content-type"].startswith("application/problem+json")
    assert forged.json()["type"].endswith("/signature-invalid")
    unsigned = client.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 400
    body, headers = fake.signed(settled)
    tampered = client.post(WEBHOOK, content=body.replace(b"InvoiceSettled", b"InvoiceSettleX"), headers=headers)
    assert tampered.status_code == 400
    assert order_of(client, order["id"])["status"] == "PENDING"


def test_a_replayed_or_redelivered_webhook_changes_nothing(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    settled = fake.pay(invoice["id"], invoice["amount"])[-1]
    body, headers = fake.signed(settled)
    assert client.post(WEBHOOK, content=body, headers=headers).json()["status"] == "recorded"
    audit_before = client.get("/api/v1/audit?limit=200", headers=staff(client, "manager")).json()["items"]
    assert client.post(WEBHOOK, content=body, headers=headers).json() == {"status": "duplicate"}
    body, headers = fake.signed(fake.redelivery(settled))
    assert client.post(WEBHOOK, content=body, headers=headers).json() == {"status": "duplicate"}
    audit_after = client.get("/api/v1/audit?limit=200", headers=staff(client, "manager")).json()["items"]
    assert len(audit_after) == len(audit_before)
    assert order_of(client, order["id"])["status"] == "COMPLETED"


def test_a_stale_delivery_is_refused(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    settled = fake.pay(invoice["id"], invoice["amount"])[-1]
    body, headers = fake.signed({**settled, "timestamp": settled["timestamp"] - 3600})
    refused = client.post(WEBHOOK, content=body, headers=headers)
    assert refused.status_code == 400 and refused.json()["type"].endswith("/signature-stale")
    assert order_of(client, order["id"])["status"] == "PENDING"


def test_an_expired_invoice_leaves_the_sale_waiting_for_another_tender(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    for event in fake.expire(invoice["id"]):
        assert fake.deliver(event) == 200
    after = order_of(client, order["id"])
    assert after["status"] == "PENDING" and after["due_cents"] == order["total_cents"]
    assert after["tenders"][0]["status"] == "expired"
    assert "expired unpaid" in after["tenders"][0]["guidance"]


def test_an_underpaid_invoice_counts_what_arrived_and_asks_for_the_rest(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    part = order["total_cents"] // 2
    events = fake.pay(invoice["id"], amount(part)) + fake.expire(invoice["id"])
    assert fake.invoices[invoice["id"]]["additionalStatus"] == "PaidPartial"
    for event in events:
        assert fake.deliver(event) == 200
    after = order_of(client, order["id"])
    tender = after["tenders"][0]
    assert tender["status"] == "underpaid" and tender["approved_cents"] == part
    assert after["status"] == "PENDING" and after["due_cents"] == order["total_cents"] - part
    assert "underpaid" in tender["guidance"]


def test_an_overpaid_invoice_completes_the_sale_and_opens_a_case_for_the_surplus(client, fake):
    manager = staff(client, "manager")
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    for event in fake.pay(invoice["id"], amount(order["total_cents"] + 500)):
        assert fake.deliver(event) == 200
    after = order_of(client, order["id"])
    assert after["status"] == "COMPLETED" and after["tenders"][0]["status"] == "overpaid"
    cases = client.get("/api/v1/reviews?kind=payment_overpaid", headers=manager).json()["items"]
    assert [c["detail"]["surplus_cents"] for c in cases if c["order_id"] == order["id"]] == [500]


def test_a_payment_waiting_for_confirmations_completes_when_it_confirms(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    for event in fake.pay(invoice["id"], invoice["amount"], confirmed=False):
        assert fake.deliver(event) == 200
    waiting = order_of(client, order["id"])
    assert waiting["status"] == "PENDING" and waiting["tenders"][0]["status"] == "awaiting"
    for event in fake.confirm(invoice["id"]):
        assert fake.deliver(event) == 200
    assert order_of(client, order["id"])["status"] == "COMPLETED"


def test_a_missed_webhook_is_settled_by_asking_btcpay_on_restart(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    fake.pay(invoice["id"], invoice["amount"])  # the deliveries are lost
    assert order_of(client, order["id"])["status"] == "PENDING"
    runtime = client.app.state.services.extras["sales"]
    client.blocking_portal.call(runtime.processor.recover, Actor.system("demo", "demo-001", "recovery"))
    assert order_of(client, order["id"])["status"] == "COMPLETED"


def test_a_void_refunds_the_crypto_payment_as_a_btcpay_pull_payment(client, fake):
    manager = staff(client, "manager")
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    for event in fake.pay(invoice["id"], invoice["amount"]):
        fake.deliver(event)
    voided = client.post(f"/api/v1/orders/{order['id']}/void", json={"reason": "customer returned it"},
                         headers={**manager, "Idempotency-Key": key()})
    assert voided.status_code == 200, voided.text
    refund = voided.json()["refunds"][0]
    assert refund["status"] == "refunded" and refund["amount_cents"] == order["total_cents"]
    [pull] = fake.pull_payments
    assert pull["invoiceId"] == invoice["id"] and pull["amount"] == invoice["amount"]
    assert pull["currency"] == invoice["currency"]
    # Asked again about the same refund (a lost answer), BTCPay is not asked for a second one.
    provider = client.app.state.services.extras["crypto"].provider
    again = client.blocking_portal.call(
        lambda: provider.refund(order["tenders"][0]["id"], order["total_cents"], refund_ref=refund["id"]))
    assert again.status == "refunded" and len(fake.pull_payments) == 1


def test_cancelling_a_waiting_crypto_sale_withdraws_the_invoice_and_a_late_payment_is_owed_back(client, fake):
    cashier, manager = staff(client), staff(client, "manager")
    order = crypto_order(client, cashier)
    pay = order["tenders"][0]
    invoice = fake.invoice_of(pay["id"])
    cancelled = client.post(f"/api/v1/payments/{pay['id']}/cancel", json={"reason": "customer left"},
                            headers={**cashier, "Idempotency-Key": key()})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert fake.invoices[invoice["id"]]["status"] == "Invalid"
    assert fake.invoices[invoice["id"]]["additionalStatus"] == "Marked"

    for event in fake.pay(invoice["id"], invoice["amount"]):  # the customer pays anyway
        assert fake.deliver(event) == 200
    after = order_of(client, order["id"])
    assert after["status"] == "CANCELLED" and after["tenders"][0]["status"] == "failed"
    cases = client.get("/api/v1/reviews?kind=crypto_paid_late", headers=manager).json()["items"]
    mine = [c for c in cases if c["order_id"] == order["id"]]
    assert len(mine) == 1 and mine[0]["detail"]["received_cents"] == order["total_cents"]
    assert "refund" in mine[0]["summary"]


def test_a_sale_paid_just_before_the_cancel_is_kept_not_cancelled(client, fake):
    cashier = staff(client)
    order = crypto_order(client, cashier)
    pay = order["tenders"][0]
    fake.pay(fake.invoice_of(pay["id"])["id"], fake.invoice_of(pay["id"])["amount"])  # webhook not yet in
    answer = client.post(f"/api/v1/payments/{pay['id']}/cancel", json={}, headers={**cashier, "Idempotency-Key": key()})
    assert answer.status_code == 200 and answer.json()["status"] == "COMPLETED"


def test_the_lane_gets_a_qr_and_the_time_left_for_a_waiting_payment(client, fake):
    cashier = staff(client)
    order = crypto_order(client, cashier)
    pay = order["tenders"][0]
    view = client.get(f"/api/v1/payments/{pay['id']}/checkout", headers=cashier).json()
    invoice = fake.invoice_of(pay["id"])
    assert view["checkout_url"] == invoice["checkoutLink"] and view["qr"].startswith("data:image/svg+xml;base64,")
    assert 0 < view["seconds_left"] <= 15 * 60
    assert view["payment_link"].startswith("bitcoin:")
    assert client.get("/api/v1/payments/nope/checkout", headers=cashier).status_code == 404


def test_btcpay_being_down_leaves_the_payment_waiting_and_the_webhook_asks_to_be_retried(client, fake):
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    events = fake.pay(invoice["id"], invoice["amount"])
    fake.down = True
    assert fake.deliver(events[-1]) == 503
    assert order_of(client, order["id"])["status"] == "PENDING"
    fake.down = False
    assert fake.deliver(events[-1]) == 200  # BTCPay's retry of the same delivery
    assert order_of(client, order["id"])["status"] == "COMPLETED"


def test_an_invoice_btcpay_refuses_fails_the_payment_at_once_and_charges_nothing(client, fake):
    fake.api_key = "revoked"  # the store's key was revoked in BTCPay
    order = crypto_order(client, staff(client))
    tender = order["tenders"][0]
    assert order["status"] == "PENDING" and tender["status"] == "failed"
    assert "nothing was charged" in tender["guidance"]
    assert fake.invoices == {}


def test_money_arriving_after_the_invoice_expired_is_owed_back_not_lost(client, fake):
    manager = staff(client, "manager")
    order = crypto_order(client, staff(client))
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    for event in fake.expire(invoice["id"]):
        fake.deliver(event)
    late = fake.pay(invoice["id"], invoice["amount"])
    assert late[0]["afterExpiration"] is True
    for event in late:
        assert fake.deliver(event) == 200
    after = order_of(client, order["id"])
    assert after["status"] == "PENDING" and after["tenders"][0]["status"] == "expired"
    cases = [c for c in client.get("/api/v1/reviews?kind=crypto_paid_late", headers=manager).json()["items"]
             if c["order_id"] == order["id"]]
    assert len(cases) == 1 and cases[0]["detail"]["received_cents"] == order["total_cents"]
