"""Returns, exchanges, voids and reprints at the lane, in a real Chromium against a real edge: the
sale is found by its receipt's QR code or its number, refunds go to the original tender, and a
supervisor's PIN is asked for where the policy needs one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api, shot
from tests.webui.test_lane import ESPRESSO, scan, sign_in

pytestmark = pytest.mark.slow

SUPERVISOR_PIN = "2468"
SALE_DONE = re.compile(r"^Sale \d+-\d+ complete$")


def cash_sale(page: Any, *barcodes: str, quantity: int | None = None) -> str:
    """Ring up the barcodes and pay exactly in cash; returns the sale's number."""
    for code in barcodes:
        scan(page, code)
    if quantity:
        page.locator("#cart-lines li").first.get_by_role("button", name="Type the quantity").click()
        page.locator("#qty-input").fill(str(quantity))
        page.get_by_role("button", name="Set quantity").click()
        expect(page.locator("#cart-lines li output").first).to_have_text(str(quantity))
    expect(page.locator("#totals")).to_have_attribute("data-priced", "edge")
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#receipt-title")).to_have_text(SALE_DONE)
    number = page.locator("#receipt-title").inner_text().split()[1]
    page.get_by_role("button", name="New sale").click()
    return number


def type_code(page: Any, code: str) -> None:
    """A keyboard-wedge scan right after a dialog closed: the keystrokes must reach the scan field."""
    scan(page, code)


def order_by_number(server: EdgeServer, number: str) -> dict[str, Any]:
    with api(server) as client:
        return client.get("/api/v1/orders", params={"number": number}).json()["items"][0]


def find_sale(page: Any, text: str) -> None:
    page.get_by_role("button", name="Returns & receipts").click()
    page.locator("#return-find").fill(text)
    page.get_by_role("button", name="Find sale").click()
    expect(page.locator("#return-order-summary")).to_contain_text("Sale ")


def test_a_cashier_returns_one_item_by_sale_number_and_the_cash_goes_back(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    number = cash_sale(page, ESPRESSO, ESPRESSO)
    find_sale(page, number)
    expect(page.locator("#return-order-summary")).to_contain_text(number)
    expect(page.locator("#return-tender-note")).to_contain_text("original payment (cash)")
    line = page.locator("#return-lines tr").first
    expect(line).to_contain_text("Espresso beans 250g")
    line.get_by_label("Return quantity of Espresso beans 250g").fill("1")
    page.get_by_role("button", name="Refund").click()
    expect(page.locator("#return-error")).to_contain_text("Choose the reason")
    page.get_by_label("Reason for the return").select_option("Defective or damaged")
    shot(page, "lane-return-lines")
    page.get_by_role("button", name="Refund").click()
    # 27.18 plus 2 % food tax comes back, to cash, out of this drawer.
    expect(page.locator("#return-result-text")).to_contain_text("$27.72 to cash")
    expect(page.locator("#return-result-text")).to_contain_text("give the cash back from this drawer")
    expect(page.frame_locator("#return-receipt").get_by_text("2x Espresso beans 250g")).to_be_visible()
    shot(page, "lane-return-done")
    order = order_by_number(web_server, number)
    assert order["status"] == "PARTIALLY_REFUNDED"
    assert order["lines"][0]["returned_quantity"] == 1
    assert [r["method"] for r in order["refunds"]] == ["cash"]


def test_scanning_the_receipt_qr_opens_the_sale_and_a_large_refund_needs_a_supervisor(
        page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    number = cash_sale(page, ESPRESSO, quantity=8)  # 8 x 27.18 + tax: over the 200.00 refund limit
    order = order_by_number(web_server, number)
    # The receipt's QR code holds its link; a scanner types it into the scan field.
    type_code(page, f"https://receipts.novapos.dev/demo/{order['id']}")
    expect(page.locator("#return-order-summary")).to_contain_text(number)
    page.get_by_label("Return quantity of Espresso beans 250g").fill("8")
    page.get_by_label("Reason for the return").select_option("Changed mind")
    page.get_by_role("button", name="Refund").click()
    approval = page.locator("#approval-dialog")
    expect(approval).to_be_visible()
    expect(page.locator("#approval-reason")).to_contain_text("needs a supervisor")
    page.locator("#approval-pin").fill("1234")  # the cashier's own PIN approves nothing
    approval.get_by_role("button", name="Approve").click()
    expect(page.locator("#approval-error")).to_contain_text("not a supervisor's PIN")
    assert order_by_number(web_server, number)["status"] == "COMPLETED"  # nothing refunded meanwhile
    page.locator("#approval-pin").fill(SUPERVISOR_PIN)
    approval.get_by_role("button", name="Approve").click()
    expect(page.locator("#return-result-text")).to_contain_text("$221.79 to cash")
    assert order_by_number(web_server, number)["status"] == "REFUNDED"


def test_an_exchange_settles_the_return_and_the_new_items_together(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    number = cash_sale(page, ESPRESSO)
    # The customer swaps the espresso for two bags: the new items go into the sale first.
    type_code(page, ESPRESSO)
    type_code(page, ESPRESSO)
    expect(page.locator("#cart-lines li output")).to_have_text("2")
    find_sale(page, number)
    page.get_by_label("Return quantity of Espresso beans 250g").fill("1")
    page.get_by_label("Reason for the return").select_option("Wrong size or colour")
    page.get_by_role("button", name="Exchange for items in the sale").click()
    # The refund pays for one bag; the customer pays the difference with the exchange.
    expect(page.locator("#exchange-due")).to_contain_text("$27.73 more than the return")
    shot(page, "lane-exchange-due")
    page.locator("#exchange-cash").fill("30")
    page.get_by_role("button", name="Take cash").click()
    result = page.locator("#return-result-text")
    expect(result).to_contain_text("$27.72 paid for the new items")
    expect(result).to_contain_text("COMPLETED")
    expect(result).to_contain_text("change due $2.27")
    expect(page.frame_locator("#return-receipt").get_by_text("2x Espresso beans 250g")).to_be_visible()
    shot(page, "lane-exchange-done")
    exchange_number = re.search(r"new sale (\S+):", result.inner_text()).group(1)
    page.get_by_role("button", name="Close").click()
    expect(page.locator("#cart-empty")).to_be_visible()
    original, exchange = order_by_number(web_server, number), order_by_number(web_server, exchange_number)
    assert original["status"] == "REFUNDED" and original["refunds"] == []  # the refund went to the new sale
    assert exchange["status"] == "COMPLETED" and exchange.get("exchange_of")
    assert [t["method"] for t in exchange["tenders"]] == ["exchange_credit", "cash"]


def test_a_void_needs_a_supervisor_and_reprints_say_copy(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    number = cash_sale(page, ESPRESSO)
    page.get_by_role("button", name="Returns & receipts").click()
    page.get_by_role("button", name="Reprint last receipt").click()
    expect(page.locator("#return-result-text")).to_contain_text(f"Receipt of sale {number} reprinted")
    expect(page.frame_locator("#return-receipt").get_by_text("COPY").first).to_be_visible()
    shot(page, "lane-reprint")
    page.get_by_role("button", name="Close").click()

    find_sale(page, number)
    page.get_by_role("button", name="Void sale…").click()
    page.get_by_label("Reason for the void").select_option("Rung up by mistake")
    page.locator("#void-confirm").click()
    expect(page.locator("#approval-reason")).to_contain_text(f"Void sale {number}")
    page.locator("#approval-pin").fill(SUPERVISOR_PIN)
    page.locator("#approval-dialog").get_by_role("button", name="Approve").click()
    expect(page.locator("#return-result-text")).to_contain_text(f"Sale {number} voided")
    shot(page, "lane-void")
    order = order_by_number(web_server, number)
    assert order["status"] == "VOIDED" and order["void_reason"] == "Rung up by mistake"


def test_an_unknown_sale_number_is_explained(page: Any) -> None:
    sign_in(page)
    page.get_by_role("button", name="Returns & receipts").click()
    page.locator("#return-find").fill("9-999999")
    page.get_by_role("button", name="Find sale").click()
    expect(page.locator("#return-find-error")).to_contain_text("No sale numbered 9-999999")
    expect(page.locator("#return-order")).to_be_hidden()
