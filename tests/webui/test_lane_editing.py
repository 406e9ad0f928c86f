"""Editing a sale at the lane and the lane's stock levels, in a real Chromium against a real edge:
a typed quantity, a removed line with its reason on record, and an item the lane believes is out
of stock that only a supervisor lets through, named by its product."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api, shot
from tests.webui.test_lane import ESPRESSO, scan, sign_in

pytestmark = pytest.mark.slow

SUPERVISOR_PIN = "2468"


def test_a_typed_quantity_and_a_removed_line_with_its_reason(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    scan(page, ESPRESSO)
    line = page.locator("#cart-lines li").first
    line.get_by_role("button", name="Type the quantity of Espresso beans 250g").click()
    page.locator("#qty-input").fill("abc")
    page.get_by_role("button", name="Set quantity").click()
    expect(page.locator("#qty-error")).to_contain_text("whole number")
    page.locator("#qty-input").fill("12")
    page.get_by_role("button", name="Set quantity").click()
    expect(line.locator("output")).to_have_text("12")
    expect(page.locator("#total")).to_have_text("$332.68")  # 12 x 27.18 + 2 % food tax, priced by the edge
    shot(page, "lane-typed-quantity")

    line.get_by_role("button", name="Remove Espresso beans 250g").click()
    removal = page.locator("#removal-dialog")
    expect(removal).to_contain_text("12 × Espresso beans 250g")
    removal.get_by_role("button", name="Remove").click()
    expect(page.locator("#removal-error")).to_contain_text("Choose a reason")
    removal.get_by_label("Customer changed mind").check()
    shot(page, "lane-remove-reason")
    removal.get_by_role("button", name="Remove").click()
    expect(page.locator("#cart-empty")).to_be_visible()
    with api(web_server) as client:
        entries = client.get("/api/v1/audit", params={"action": "lane.line_removed"}).json()["items"]
    assert any(e["before"]["name"] == "Espresso beans 250g" and e["before"]["quantity"] == 12
               and e["before"]["reason"] == "Customer changed mind" for e in entries)


def test_keeping_a_line_leaves_the_sale_unchanged(page: Any) -> None:
    sign_in(page)
    scan(page, ESPRESSO)
    page.locator("#cart-lines li").first.get_by_role("button", name="One less Espresso beans 250g").click()
    page.get_by_role("button", name="Keep it").click()
    expect(page.locator("#cart-lines li output")).to_have_text("1")


def test_an_item_the_lane_counts_as_out_of_stock_needs_a_supervisor(page: Any, web_server: EdgeServer) -> None:
    with api(web_server) as client:
        products = client.get("/api/v1/products", params={"limit": 200}).json()["items"]
        product = next(p for p in reversed(products) if not p["sold_by_weight"] and p["barcodes"])
        counted = client.post("/api/v1/inventory/counts", headers={"Idempotency-Key": str(uuid.uuid4())},
                              json={"items": [{"product_id": product["id"], "counted": 0}], "ref": "lane test"})
        assert counted.status_code in (200, 201), counted.text
    sign_in(page)
    page.locator("#search-input").fill(product["sku"])
    expect(page.locator("#result-count")).to_have_text("1 product")
    expect(page.locator("#results .result", has_text=product["sku"]).locator(".stock")).to_have_text("Out of stock")
    shot(page, "lane-out-of-stock")
    page.locator("#search-input").press("Escape")

    scan(page, product["barcodes"][0])
    approval = page.locator("#approval-dialog")
    expect(page.locator("#approval-reason")).to_contain_text(f"{product['name']} is out of stock")
    approval.get_by_role("button", name="Cancel").click()
    expect(page.locator("#sale-error")).to_contain_text(f"{product['name']} is out of stock: not added")
    expect(page.locator("#cart-empty")).to_be_visible()

    scan(page, product["barcodes"][0])
    page.locator("#approval-pin").fill(SUPERVISOR_PIN)
    approval.get_by_role("button", name="Approve").click()
    expect(page.locator("#cart-lines li")).to_contain_text(product["name"])
    with api(web_server) as client:
        approvals = client.get("/api/v1/audit", params={"action": "lane.approved"}).json()["items"]
    assert any(a["after"]["product_id"] == product["id"] and a["after"]["approved_by"] == "manager" for a in approvals)
