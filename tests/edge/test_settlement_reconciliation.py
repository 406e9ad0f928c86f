"""Daily settlement reconciliation: the store's captures and refunds against what BTCPay (the
Greenfield fake) and the simulated terminal hold; each difference is a review case, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from litestar.testing import TestClient

from edge.domain.business_day import business_day
from tests.fakes.btcpay import FakeBtcpay
from tests.fakes.btcpay_store import btcpay_store, crypto_order, key, staff
from tests.support import wait_until

REPORTS = "/api/v1/settlement/reports"


@pytest.fixture
def fake() -> Iterator[FakeBtcpay]:
    server = FakeBtcpay().start()
    yield server
    server.stop()


@pytest.fixture
def btcpay_client(demo_dir: Path, fake: FakeBtcpay, tmp_path: Path) -> Iterator[TestClient]:
    with btcpay_store(demo_dir, fake, tmp_path / "secrets") as c:
        yield c


def paid_crypto_sale(client: TestClient, fake: FakeBtcpay, index: int, *, deliver: bool = True) -> dict:
    order = crypto_order(client, staff(client), index)
    invoice = fake.invoice_of(order["tenders"][0]["id"])
    for event in fake.pay(invoice["id"], invoice["amount"]):
        if deliver:
            assert fake.deliver(event) == 200
    return order


def reconcile(client: TestClient, day: str, provider: str | None = None, who: str = "manager"):
    body = {"business_day": day, **({"provider": provider} if provider else {})}
    return client.post(REPORTS, json=body, headers=staff(client, who))


def test_a_day_where_btcpay_and_the_store_agree_is_matched(btcpay_client, fake):
    client = btcpay_client
    a = paid_crypto_sale(client, fake, 1)
    b = paid_crypto_sale(client, fake, 2)
    voided = client.post(f"/api/v1/orders/{b['id']}/void", json={"reason": "returned"},
                         headers={**staff(client, "manager"), "Idempotency-Key": key()})
    assert voided.json()["refunds"][0]["status"] == "refunded"
    answer = reconcile(client, a["business_day"], "btcpay")
    assert answer.status_code == 200, answer.text
    [report] = answer.json()["items"]
    assert report["status"] == "matched" and report["differences"] == []
    assert report["captured_cents"] == report["provider_captured_cents"] == a["total_cents"] + b["total_cents"]
    assert report["refunded_cents"] == report["provider_refunded_cents"] == b["total_cents"]


def test_each_difference_with_btcpay_becomes_one_review_case_and_a_rerun_adds_none(btcpay_client, fake):
    client, manager = btcpay_client, staff(btcpay_client, "manager")
    agreed = paid_crypto_sale(client, fake, 1)
    unseen = paid_crypto_sale(client, fake, 2, deliver=False)  # BTCPay holds it; the store never heard
    corrected = paid_crypto_sale(client, fake, 3)
    invoice = fake.invoice_of(corrected["tenders"][0]["id"])
    fake.paid[invoice["id"]] -= Decimal("1.00")  # BTCPay's books say one unit less arrived
    fake._sync(invoice)

    report = reconcile(client, agreed["business_day"], "btcpay").json()["items"][0]
    assert report["status"] == "differences"
    found = {(d["kind"], d["ref"]): d for d in report["differences"]}
    assert set(found) == {("missing_here", unseen["tenders"][0]["id"]),
                          ("amount_differs", corrected["tenders"][0]["id"])}
    differs = found[("amount_differs", corrected["tenders"][0]["id"])]
    assert differs["ours_cents"] - differs["provider_cents"] == 100
    cases = client.get("/api/v1/reviews?kind=settlement_difference", headers=manager).json()["items"]
    assert {c["id"] for c in cases} == {d["case_id"] for d in report["differences"]}
    assert {c["order_id"] for c in cases} == {unseen["id"], corrected["id"]}

    again = reconcile(client, agreed["business_day"], "btcpay").json()["items"][0]
    assert len(again["differences"]) == 2 and all(d["case_id"] is None for d in again["differences"])
    assert len(client.get("/api/v1/reviews?kind=settlement_difference", headers=manager).json()["items"]) == 2
    listed = client.get(f"{REPORTS}?business_day={agreed['business_day']}", headers=manager).json()
    assert [r["provider"] for r in listed["items"]] == ["btcpay"]  # replaced, not added
    assert "btcpay" in listed["providers"]


def test_the_simulated_terminal_is_reconciled_too_and_a_sale_it_lost_is_a_difference(client, as_user):
    manager, cashier = as_user("manager"), as_user("cashier")
    items = client.get("/api/v1/products?limit=20", headers=manager).json()["items"]
    sku = [p for p in items if not p["sold_by_weight"]][5]["sku"]
    quote = client.post("/api/v1/orders/quote", json={"lines": [{"sku": sku}]}, headers=cashier).json()
    order = client.post("/api/v1/orders", json={"lane_id": "1", "lines": [{"sku": sku}], "tenders": [
        {"method": "card", "amount_cents": quote["total_cents"]}]}, headers={**cashier, "Idempotency-Key": key()}).json()
    assert order["status"] == "COMPLETED"
    matched = client.post(REPORTS, json={"business_day": order["business_day"], "provider": "simulated-terminal"},
                          headers=manager).json()["items"][0]
    assert matched["status"] == "matched" and matched["captured_cents"] == quote["total_cents"]

    terminal = client.app.state.services.extras["sales"].terminal
    del terminal.journal[order["tenders"][0]["id"]]  # the acquirer never settled it
    report = client.post(REPORTS, json={"business_day": order["business_day"]}, headers=manager).json()["items"]
    [card] = [r for r in report if r["provider"] == "simulated-terminal"]
    assert [(d["kind"], d["ours_cents"], d["provider_cents"]) for d in card["differences"]] == [
        ("missing_at_provider", quote["total_cents"], 0)]


def test_bad_requests_are_refused_clearly_and_change_nothing(btcpay_client, fake):
    client = btcpay_client
    manager = staff(client, "manager")
    bad_day = client.post(REPORTS, json={"business_day": "2026-13-45"}, headers=manager)
    assert bad_day.status_code in (400, 422) and "business_day" in bad_day.text
    assert client.post(REPORTS, json={"business_day": "yesterday"}, headers=manager).status_code == 400
    assert client.post(REPORTS, json={"business_day": "2026-11-30", "provider": "paypal"},
                       headers=manager).status_code == 404
    assert client.post(REPORTS, json={"business_day": "2026-11-30"}, headers=staff(client)).status_code == 403
    fake.down = True
    down = client.post(REPORTS, json={"business_day": "2026-01-15", "provider": "btcpay"}, headers=manager)
    assert down.status_code == 503 and down.json()["type"].endswith("/provider-unavailable")
    assert client.get(f"{REPORTS}?business_day=2026-01-15", headers=manager).json()["items"] == []
    assert client.get(f"{REPORTS}?business_day=someday", headers=manager).status_code == 422


def test_the_business_day_that_ended_is_reconciled_by_itself_once_per_provider(btcpay_client):
    client = btcpay_client
    manager = staff(client, "manager")
    settings = client.app.state.services.settings.store
    yesterday = (business_day(datetime.now(UTC), settings.timezone, settings.day_start_hour)
                 - timedelta(days=1)).isoformat()
    # The run writes one report per provider, one after the other: wait for both.
    reports = wait_until(lambda: (items := client.get(f"{REPORTS}?business_day={yesterday}",
                                                      headers=manager).json()["items"]) and len(items) >= 2 and items,
                         what="the daily settlement run's report for each provider")
    assert sorted(r["provider"] for r in reports) == ["btcpay", "simulated-terminal"]
