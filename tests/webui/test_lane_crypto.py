"""The lane's crypto checkout in Chromium, against a store server configured for BTCPay (the
Greenfield fake on a real port, posting signed webhooks to the server): the QR and its countdown,
a sale that settles on screen, one that expires on screen, and a cancel that withdraws the invoice."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fakes.btcpay import FakeBtcpay
from tests.fakes.btcpay_store import WEBHOOK, btcpay_env
from tests.support import EdgeServer, free_port, wait_until
from tests.webui.helpers import api, browser_page, shot

pytestmark = pytest.mark.slow

ESPRESSO = "2000000000015"  # COF-0001 "Espresso beans 250g", 27.18 in the demo catalog


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBtcpay]:
    server = FakeBtcpay().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def btcpay_server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory, fake: FakeBtcpay) -> Iterator[EdgeServer]:
    base = tmp_path_factory.mktemp("lane-crypto")
    data_dir = base / "store"
    shutil.copytree(demo_template, data_dir)
    server = EdgeServer(data_dir, free_port(), extra_env=btcpay_env(fake, base / "secrets"))
    server.start()
    fake.webhook_url = server.url + WEBHOOK
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lane(browser: Any, request: pytest.FixtureRequest, btcpay_server: EdgeServer) -> Iterator[Any]:
    with browser_page(browser, btcpay_server.url, request.node.name, height=900) as page:
        yield page


def sign_in_and_scan(page: Any) -> None:
    page.goto("/")
    page.get_by_role("button", name="Lane 1").click()
    for digit in "1234":
        page.locator("#pinpad").get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#catalog-status")).to_contain_text("catalog v")
    page.locator("#scan-input").focus()
    page.keyboard.type(ESPRESSO)
    page.keyboard.press("Enter")
    expect(page.locator("#cart-lines li")).to_have_count(1)


def open_crypto_checkout(page: Any, fake: FakeBtcpay) -> dict[str, Any]:
    before = set(fake.invoices)
    page.get_by_role("button", name="Crypto", exact=True).click()
    dialog = page.locator("#crypto-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#crypto-qr")).to_be_visible()
    expect(page.locator("#crypto-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    [invoice_id] = wait_until(lambda: set(fake.invoices) - before, what="an invoice at BTCPay")
    return fake.invoices[invoice_id]


def test_a_crypto_sale_shows_its_qr_and_countdown_and_completes_on_screen(lane: Any, fake: FakeBtcpay,
                                                                          btcpay_server: EdgeServer) -> None:
    sign_in_and_scan(lane)
    invoice = open_crypto_checkout(lane, fake)
    assert invoice["amount"] == "27.72"  # 27.18 + 2 % food tax
    expect(lane.locator("#crypto-amount")).to_have_text("$27.72")
    countdown = lane.locator("#crypto-countdown")
    expect(countdown).to_have_text(re.compile(r"^1[45]:[0-5]\d left to pay$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)  # it counts down
    expect(lane.locator("#crypto-link")).to_have_text(invoice["checkoutLink"])
    shot(lane, "lane-crypto-qr")

    for event in fake.pay(invoice["id"], invoice["amount"]):
        assert fake.deliver(event) == 200
    expect(lane.locator("#receipt-dialog")).to_be_visible()
    expect(lane.locator("#receipt-title")).to_contain_text("complete")
    shot(lane, "lane-crypto-paid")


def test_an_expired_invoice_is_shown_as_expired_and_the_cashier_can_take_another_tender(
        lane: Any, fake: FakeBtcpay) -> None:
    sign_in_and_scan(lane)
    invoice = open_crypto_checkout(lane, fake)
    for event in fake.expire(invoice["id"]):
        assert fake.deliver(event) == 200
    expect(lane.locator("#crypto-dialog")).to_have_attribute("data-outcome", "expired")
    expect(lane.locator("#crypto-status")).to_contain_text("expired unpaid")
    expect(lane.locator("#crypto-qr")).to_be_hidden()
    shot(lane, "lane-crypto-expired")
    lane.get_by_role("button", name="Back").click()
    expect(lane.locator("#crypto-dialog")).to_be_hidden()
    lane.get_by_role("button", name="Cash", exact=True).click()  # the sale goes on with cash
    expect(lane.locator("#amount-due")).to_have_text("$27.72")
    lane.get_by_role("button", name="Take cash").click()
    expect(lane.locator("#receipt-dialog")).to_be_visible()


def test_cancelling_while_waiting_withdraws_the_invoice_and_keeps_the_cart(lane: Any, fake: FakeBtcpay,
                                                                           btcpay_server: EdgeServer) -> None:
    sign_in_and_scan(lane)
    invoice = open_crypto_checkout(lane, fake)
    lane.get_by_role("button", name="Cancel sale").click()
    expect(lane.locator("#crypto-dialog")).to_be_hidden()
    assert fake.invoices[invoice["id"]]["status"] == "Invalid"
    expect(lane.locator("#cart-lines li")).to_have_count(1)  # the cart stays for the cashier
    with api(btcpay_server) as client:
        order = client.get(f"/api/v1/payments/{invoice['metadata']['orderId']}").json()["order_id"]
        assert client.get(f"/api/v1/orders/{order}").json()["status"] == "CANCELLED"


def test_the_demo_stub_still_takes_crypto_at_the_lane(page: Any) -> None:
    """The demo store (crypto stub, confirming by itself after a second) completes on screen."""
    sign_in_and_scan(page)
    page.get_by_role("button", name="Crypto", exact=True).click()
    expect(page.locator("#receipt-dialog")).to_be_visible()
    expect(page.locator("#receipt-title")).to_contain_text("complete")
