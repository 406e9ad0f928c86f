"""A lane whose session the edge revokes goes back to sign-in on its next request, and the sale
in progress survives for whoever signs in next (real Chromium, real edge)."""

from __future__ import annotations

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
