"""The store admin's Customers tab in a real Chromium against a real edge: a manager finds a
customer by email (contact details masked), opens the 360 with the points ledger, and adjusts
points with a reason; an adjustment without a reason changes nothing, and the audit log keeps
the customer's id, never their details."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.admin_pages import open_tab, sign_in
from tests.webui.helpers import api, shot
from tests.webui.test_lane_customers import create_customer, ledger

pytestmark = pytest.mark.slow


def test_a_manager_finds_a_customer_masked_sees_the_360_and_adjusts_points_with_a_reason(
        page: Any, web_server: EdgeServer) -> None:
    customer = create_customer(web_server, "Margaret Hamilton", points=120)
    cid, email, phone = customer["customer_id"], customer["email"], customer["phone"]
    sign_in(page)
    open_tab(page, "Customers")
    page.get_by_label("Find a customer").fill(email)
    page.get_by_role("button", name="Find").click()
    row = page.locator(f"#customer-rows tr[data-customer='{cid}']")
    expect(row).to_contain_text("Margaret Hamilton")
    expect(row).to_contain_text(customer["card_code"])
    expect(row).to_contain_text("120")
    expect(row).not_to_contain_text(email)
    expect(row).not_to_contain_text(phone[-8:])

    row.get_by_role("button", name="Open").click()
    expect(page.locator("#customer-360-name")).to_have_text("Margaret Hamilton")
    facts = page.locator("#customer-facts")
    expect(facts).to_contain_text("120")
    expect(facts).not_to_contain_text(email)
    expect(page.locator("#customer-ledger")).to_contain_text("welcome bonus")

    page.locator("#points-adjust").get_by_label("Points (+ or −)").fill("30")
    page.get_by_role("button", name="Adjust").click()
    expect(page.locator("#points-adjust-error")).to_contain_text("Say why")
    assert ledger(web_server, cid)["balance_points"] == 120

    page.locator("#points-adjust").get_by_label("Reason").fill("goodwill: late delivery")
    page.get_by_role("button", name="Adjust").click()
    expect(page.locator("#customers-error")).to_contain_text("Adjusted by +30 points")
    expect(page.locator("#customer-ledger")).to_contain_text("goodwill: late delivery")
    expect(page.locator("#customer-facts")).to_contain_text("150")
    shot(page, "admin-customers")
    assert ledger(web_server, cid)["balance_points"] == 150

    with api(web_server) as client:
        entries = client.get("/api/v1/audit", params={"limit": 200}).json()["items"]
    mentions = [e for e in entries if cid in str(e)]
    assert mentions, "the adjustment is audited with the customer's id"
    assert not [e for e in entries if email in str(e) or customer["phone"] in str(e)]
