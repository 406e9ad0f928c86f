"""The HQ pickup orders panel in Chromium against a real hub: each web order's status and store,
and its history with the reason it was cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.cloud.partner_support import PartnerHub, admin_headers
from tests.support import DEMO_PASSWORD
from tests.webui.helpers import browser_page


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    server = PartnerHub(tmp_path_factory.mktemp("hq-pickups"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any, hub: PartnerHub, request: pytest.FixtureRequest) -> Iterator[Any]:
    with browser_page(browser, hub.url, request.node.name, height=900, timeout_ms=15_000) as page:
        yield page


def test_hq_sees_a_pickup_orders_status_and_why_it_was_cancelled(page: Any, hub: PartnerHub):
    admin = admin_headers(hub.url)
    # No store has reported stock of this SKU: HQ cannot allocate it and cancels it at once.
    placed = httpx.post(f"{hub.url}/api/v1/hq/bopis", headers=admin, timeout=30,
                        json={"order_id": "WEB-7007", "lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]})
    assert placed.status_code == 201, placed.text

    page.goto("/hq/")
    page.get_by_label("Username").fill("hq")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#pickup-orders tr", has_text="WEB-7007")
    expect(row.locator("td").nth(1)).to_have_text("cancelled")
    row.get_by_role("button", name="History").click()
    expect(page.locator("#pickup-history-title")).to_have_text("History of WEB-7007 (cancelled)")
    history = page.locator("#pickup-history tr")
    expect(history.nth(1).locator("td").first).to_have_text("placed")
    expect(history.nth(2)).to_contain_text("no store has the stock")
