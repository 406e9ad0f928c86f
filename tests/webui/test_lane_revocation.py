"""A lane whose session the edge revokes goes back to sign-in on its next request, and the sale
in progress survives for whoever signs in next (real Chromium, real edge)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow

ESPRESSO = "2000000000015"  # COF-0001 "Espresso beans 250g", 27.18 in the demo catalog


def _pin(page: Any, lane: str, pin: str) -> None:
    page.get_by_role("button", name=f"Lane {lane}").click()
    for digit in pin:
        page.locator("#pinpad").get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Sign in").click()


def _ring_up_two_espressos(page: Any) -> None:
    page.goto("/")
    _pin(page, "1", "1234")
    expect(page.locator("#who")).to_contain_text("Lane 1 · cashier")
    expect(page.locator("#catalog-status")).to_contain_text("catalog v")
    for _ in range(2):
        expect(page.locator("#scan-input")).to_be_focused()
        page.keyboard.type(ESPRESSO)
        page.keyboard.press("Enter")
    expect(page.locator("#cart-lines li output")).to_have_text("2")


def _finish_with_cash(page: Any) -> None:
    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#amount-due")).to_have_text("$55.45")
    page.locator("#tendered-input").fill("100")
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#change-due")).to_have_text("$44.55")


def _until_lane_reports(manager: Any, *, queued: int) -> None:
    deadline = time.monotonic() + 15
    while True:
        lanes = manager.get("/api/v1/lanes/queue-status").json()["items"]
        if any(str(q["lane_id"]) == "1" and q["queued"] == queued for q in lanes):
            return
        assert time.monotonic() < deadline, f"lane 1 never reported {queued} unsynced sales: {lanes}"
        time.sleep(0.2)


def test_a_logged_out_lane_signs_in_again_and_keeps_the_cart(page: Any, web_server: EdgeServer) -> None:
    _ring_up_two_espressos(page)
    refresh = page.evaluate("JSON.parse(sessionStorage.getItem('novapos.lane.session')).refresh_token")
    with httpx.Client(base_url=web_server.url, timeout=10) as client:  # e.g. signed out from another screen
        assert client.post("/api/v1/auth/logout", json={"refresh_token": refresh}).status_code == 204

    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("sale in progress is kept")
    expect(page.locator("#tender-dialog")).not_to_be_visible()
    shot(page, "lane-revoked-sign-in")

    _pin(page, "1", "1234")
    expect(page.locator("#who")).to_contain_text("Lane 1 · cashier")
    expect(page.locator("#cart-lines li")).to_contain_text("Espresso beans 250g")
    expect(page.locator("#cart-lines li output")).to_have_text("2")
    _finish_with_cash(page)
    shot(page, "lane-revoked-sale-finished")


def test_a_disabled_cashiers_lane_stops_and_a_supervisor_finishes_the_sale(page: Any, web_server: EdgeServer) -> None:
    _ring_up_two_espressos(page)
    with api(web_server) as manager:
        cashier = next(u for u in manager.get("/api/v1/users").json()["items"] if u["username"] == "cashier")
        try:
            assert manager.patch(f"/api/v1/users/{cashier['id']}", json={"disabled": True}).status_code == 200

            page.get_by_role("button", name="Cash", exact=True).click()
            expect(page.locator("#login-view")).to_be_visible()
            expect(page.locator("#login-error")).to_contain_text("disabled")
            _pin(page, "1", "1234")  # the disabled cashier cannot come back
            expect(page.locator("#login-error")).to_contain_text("invalid lane or PIN")
            expect(page.locator("#sale-view")).to_be_hidden()

            _pin(page, "1", "2468")  # the supervisor signs in at the lane
            expect(page.locator("#who")).to_contain_text("Lane 1 · manager")
            expect(page.locator("#cart-lines li output")).to_have_text("2")
            _finish_with_cash(page)
            receipt = page.frame_locator("#receipt-frame")
            expect(receipt.get_by_text("2x Espresso beans 250g")).to_be_visible()
        finally:
            manager.patch(f"/api/v1/users/{cashier['id']}", json={"disabled": False})


def test_an_offline_sale_far_below_todays_price_waits_for_a_supervisors_pin(page: Any, web_server: EdgeServer) -> None:
    """The lane sold at its cached price; HQ raised the price by half meanwhile. The edge records
    the sale only once a supervisor keys in their PIN at the lane."""
    with api(web_server) as manager:
        product = next(p for p in manager.get("/api/v1/products", params={"limit": 200}).json()["items"]
                       if p["sku"] == "HOU-0026")
        page.goto("/")
        _pin(page, "1", "1234")
        expect(page.locator("#catalog-status")).to_contain_text("catalog v")
        page.context.set_offline(True)
        expect(page.locator("#net-status")).to_contain_text("Offline")
        page.keyboard.type(product["sku"])
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Cash", exact=True).click()
        page.locator("#tendered-input").fill("1000")
        page.get_by_role("button", name="Take cash").click()
        expect(page.locator("#receipt-title")).to_have_text("Sale saved offline")
        page.get_by_role("button", name="New sale").click()
        try:
            raised = manager.patch(f"/api/v1/products/{product['id']}",
                                   json={"price_cents": product["price_cents"] * 3 // 2})
            assert raised.status_code == 200, raised.text

            page.context.set_offline(False)
            expect(page.locator("#net-status")).to_have_text("Online")
            page.locator("#queue-badge").click()
            row = page.locator("#resolution-list li")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("a supervisor must approve this sale")
            expect(row.get_by_role("button", name="Resolved")).to_have_count(0)  # not to be waved away
            _until_lane_reports(manager, queued=1)  # so the day cannot close without it
            shot(page, "lane-offline-needs-supervisor")
            row.get_by_role("button", name="Supervisor approves").click()
            page.locator("#approval-pin").fill("2468")
            page.locator("#approval-form").get_by_role("button", name=re.compile("approve", re.I)).click()
            expect(page.locator("#resolution-list li .verdict-label")).to_have_text("accepted with a price variance")
            _until_lane_reports(manager, queued=0)
            orders = manager.get("/api/v1/orders", params={"sku": product["sku"], "limit": 200}).json()["items"]
            assert [o["lines"][0]["unit_price_cents"] for o in orders if o.get("offline_created_at")] == [
                product["price_cents"]]
        finally:
            page.context.set_offline(False)
            manager.patch(f"/api/v1/products/{product['id']}", json={"price_cents": product["price_cents"]})
