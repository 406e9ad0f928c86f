"""The lane in a real Chromium against a real edge: the cart shows the total the edge will charge
(order discount included), and leaving the tender cancels the order and frees its stock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api, shot
from tests.webui.test_lane import ESPRESSO, scan, sign_in

pytestmark = pytest.mark.slow

ESPRESSO_SKU = "COF-0001"


def wait_for(probe: Callable[[], Any], *, what: str, limit_s: float = 10.0) -> Any:
    """Poll a condition until it holds (the lane cancels after closing its dialog)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def reserved(server: EdgeServer, sku: str) -> int:
    with api(server) as client:
        return client.get("/api/v1/inventory", params={"sku": sku}).json()["items"][0]["reserved"]


def test_the_cart_total_is_the_charged_total_with_an_order_discount(page: Any) -> None:
    sign_in(page)
    scan(page, ESPRESSO)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Discount").click()
    page.locator("#discount-input").fill("1.00")
    page.get_by_role("button", name="Apply").click()

    # The edge takes the discount off before tax: 2 x 27.18 - 1.00 = 53.36, plus 2 % food tax
    # (1.07) = 54.43. Taking it off the taxed estimate would have shown 54.45.
    expect(page.locator("#totals")).to_have_attribute("data-priced", "edge")
    expect(page.locator("#total")).to_have_text("$54.43")
    expect(page.locator("#tax-note")).to_have_text("")
    shot(page, "lane-cart-priced-by-the-edge")

    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#amount-due")).to_have_text("$54.43")
    page.locator("#tendered-input").fill("60")
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#change-due")).to_have_text("$5.57")
    receipt = page.frame_locator("#receipt-frame")
    expect(receipt.get_by_text("TOTAL USD")).to_be_visible()
    expect(receipt.locator("tr", has_text="TOTAL USD")).to_contain_text("54.43")
    expect(receipt.get_by_text("COPY")).to_have_count(0)  # the sale's own receipt, whatever the printer did
    page.get_by_role("button", name="New sale").click()


def test_the_cart_is_marked_as_an_estimate_when_the_edge_cannot_price_it(page: Any) -> None:
    sign_in(page)
    page.context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    scan(page, ESPRESSO)
    expect(page.locator("#totals")).to_have_attribute("data-priced", "estimate")
    expect(page.locator("#tax-note")).to_have_text("(estimate)")
    expect(page.locator("#totals-note")).to_contain_text("Estimate")
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#totals")).to_have_attribute("data-priced", "edge")
    page.get_by_role("button", name="Clear sale").click()


def test_back_from_the_tender_cancels_the_order_and_releases_its_stock(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    held_before = reserved(web_server, ESPRESSO_SKU)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Card", exact=True).click()
    expect(page.locator("#tender-note")).to_contain_text("Order ")
    number = page.locator("#tender-note").inner_text().split()[1]
    assert reserved(web_server, ESPRESSO_SKU) == held_before + 1  # the open order holds the beans

    page.get_by_role("button", name="Back").click()
    expect(page.locator("#tender-dialog")).to_be_hidden()
    with api(web_server) as client:
        order = wait_for(lambda: next((o for o in client.get("/api/v1/orders", params={"number": number})
                                       .json()["items"] if o["status"] == "CANCELLED"), None),
                         what=f"order {number} cancelled")
        trail = client.get("/api/v1/audit", params={"entity": "order", "entity_id": order["id"],
                                                    "action": "order.cancelled"}).json()["items"]
    assert reserved(web_server, ESPRESSO_SKU) == held_before
    assert len(trail) == 1 and trail[0]["actor"] == "cashier"
    expect(page.locator("#cart-lines li")).to_have_count(1)  # the cart is kept for the cashier to change

    # Paying afterwards makes a new order for the same cart.
    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#tender-dialog")).to_be_visible()
    expect(page.locator("#tender-note")).not_to_contain_text(number)
    expect(page.locator("#tender-note")).to_contain_text("Order ")
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#change-due")).to_have_text("$0.00")
    page.get_by_role("button", name="New sale").click()
