"""The lane and the store admin in a real Chromium against a real edge: the cart shows the total
the edge will charge (order discount included), leaving the tender cancels the order and frees
its stock, and a refund the processor refused is shown as owed until a manager settles it."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer, free_port
from tests.webui.helpers import api, shot
from tests.webui.test_admin import search_by_number
from tests.webui.test_admin import sign_in as admin_sign_in
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


# -- a refund the processor refuses, as the store admin sees it --------------------------------
@pytest.fixture(scope="module")
def refusing_server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """A demo store whose simulated card terminal approves sales and refuses every reversal."""
    data_dir = tmp_path_factory.mktemp("refusing") / "store"
    shutil.copytree(demo_template, data_dir)
    server = EdgeServer(data_dir, free_port(), {"NOVAPOS_PAYMENTS_SIMULATED_CARD_OUTCOME": "reversal_declined"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_admin_shows_a_refused_card_refund_as_owed_and_a_manager_settles_it_in_cash(
        browser: Any, refusing_server: EdgeServer) -> None:
    with api(refusing_server) as client:
        sku = client.get("/api/v1/products", params={"sku": ESPRESSO_SKU}).json()["items"][0]["sku"]
        quoted = client.post("/api/v1/orders/quote", json={"lines": [{"sku": sku}]}).json()["total_cents"]
        order = client.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
            "lane_id": "1", "lines": [{"sku": sku}], "tenders": [{"method": "card", "amount_cents": quoted}]}).json()
        voided = client.post(f"/api/v1/orders/{order['id']}/void", headers={"Idempotency-Key": uuid.uuid4().hex},
                             json={"reason": "wrong card"}).json()
    assert voided["refund_state"] == "failed"
    owed = f"{quoted // 100}.{quoted % 100:02d}"

    context = browser.new_context(base_url=refusing_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        admin_sign_in(page)
        search_by_number(page, order["number"]).click()
        notice = page.locator("#refund-notice")
        expect(notice).to_contain_text("Refund not processed")
        expect(notice).to_contain_text(owed)
        expect(page.locator("#order-detail .meta").last).to_contain_text("Owed to customer")
        expect(page.frame_locator("#receipt-slot iframe").get_by_text("OWED TO CUSTOMER")).to_be_visible()
        shot(page, "admin-refund-owed")

        page.locator("#refund-cash-reason").fill("card account closed")
        page.get_by_role("button", name="Paid in cash").click()
        expect(page.locator("#refund-notice")).to_have_count(0)
        expect(page.locator("#order-payments")).to_contain_text("settled in cash")
        expect(page.frame_locator("#receipt-slot iframe").get_by_text("OWED TO CUSTOMER")).to_have_count(0)
        shot(page, "admin-refund-settled")
    finally:
        context.close()
    with api(refusing_server) as client:
        after = client.get(f"/api/v1/orders/{order['id']}").json()
    assert after["refund_state"] == "refunded" and after["refunded_cents"] == quoted


def _refused_void(server: EdgeServer) -> dict[str, Any]:
    """A card sale on lane 1, voided, whose reversal the processor refuses."""
    with api(server) as client:
        quoted = client.post("/api/v1/orders/quote", json={"lines": [{"sku": ESPRESSO_SKU}]}).json()["total_cents"]
        order = client.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
            "lane_id": "1", "lines": [{"sku": ESPRESSO_SKU}],
            "tenders": [{"method": "card", "amount_cents": quoted}]}).json()
        voided = client.post(f"/api/v1/orders/{order['id']}/void", headers={"Idempotency-Key": uuid.uuid4().hex},
                             json={"reason": "wrong card"}).json()
    assert voided["refund_state"] == "failed"
    return voided


def test_the_lane_shows_a_refused_refund_and_a_supervisor_settles_it_in_cash(
        browser: Any, refusing_server: EdgeServer) -> None:
    order = _refused_void(refusing_server)
    context = browser.new_context(base_url=refusing_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        sign_in(page)
        owed = page.locator(f"#refunds-owed-list li[data-order='{order['number']}']")
        expect(page.locator("#refunds-owed")).to_be_visible()
        expect(owed).to_contain_text("Refund not processed")
        expect(owed).to_contain_text("cash with a manager")
        shot(page, "lane-refund-owed")

        owed.get_by_role("button", name="Retry refund").click()  # the processor still refuses
        expect(page.locator("#toast")).to_contain_text("Refund not processed")
        expect(owed).to_be_visible()

        owed.get_by_role("button", name="Paid in cash").click()
        page.locator("#approval-pin").fill("2468")
        page.locator("#approval-dialog").get_by_role("button", name="Approve").click()
        expect(owed).to_have_count(0)
    finally:
        context.close()
    with api(refusing_server) as client:
        after = client.get(f"/api/v1/orders/{order['id']}").json()
    assert after["refund_state"] == "refunded" and after["refund_owed_cents"] == 0
