"""The store admin's Settlement tab: a manager reconciles a business day and reads the result."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def test_a_manager_reconciles_the_day_and_sees_the_terminal_settlement_match(page: Any, web_server: EdgeServer) -> None:
    with api(web_server, "cashier") as client:
        items = client.get("/api/v1/products?limit=20").json()["items"]
        sku = [p for p in items if not p["sold_by_weight"]][7]["sku"]
        total = client.post("/api/v1/orders/quote", json={"lines": [{"sku": sku}]}).json()["total_cents"]
        order = client.post("/api/v1/orders", json={"lane_id": "2", "lines": [{"sku": sku}],
                                                    "tenders": [{"method": "card", "amount_cents": total}]},
                            headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    assert order["status"] == "COMPLETED"

    page.goto("/admin/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("novapos-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("tab", name="Settlement").click()
    expect(page.locator("#tab-settlement")).to_be_visible()
    expect(page.locator("#tab-inventory")).to_be_hidden()
    page.locator("#settlement-day").fill(order["business_day"])
    page.locator("#settlement-provider").select_option("simulated-terminal")
    page.get_by_role("button", name="Reconcile now").click()
    row = page.locator("#settlement-rows tr[data-provider='simulated-terminal']", has_text=order["business_day"])
    expect(row).to_have_attribute("data-status", "matched")
    expect(row).to_contain_text("Matched")
    shot(page, "admin-settlement")

    page.get_by_role("tab", name="Orders").click()
    expect(page.locator("#tab-settlement")).to_be_hidden()
