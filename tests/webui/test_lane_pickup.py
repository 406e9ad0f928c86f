"""The lane's Pickup button in a real Chromium: a cashier hands over a web order the store made
ready, taking the cash for one to pay at pickup; the edge records the sale on the lane."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api
from tests.webui.test_admin_pickups import allocate
from tests.webui.test_lane import sign_in

pytestmark = pytest.mark.slow


def ready_pickup(server: EdgeServer, *, prepaid: bool) -> str:
    order_id = f"WEB-{uuid.uuid4().hex[:6]}"
    allocate(server, order_id, "BAK-0005", prepaid=prepaid)
    with api(server) as manager:
        for step in ("accept", "picked", "ready"):
            response = manager.post(f"/api/v1/pickups/{order_id}/{step}", json={},
                                    headers={"Idempotency-Key": uuid.uuid4().hex})
            assert response.status_code == 200, response.text
    return order_id


def test_a_cashier_hands_over_a_web_order_paid_at_pickup_for_cash(page: Any, web_server: EdgeServer) -> None:
    order_id = ready_pickup(web_server, prepaid=False)
    sign_in(page, lane="2")
    page.get_by_role("button", name="Pickup").click()
    item = page.locator(f"#pickup-list li[data-order='{order_id}']")
    expect(item).to_contain_text("pay now")
    item.get_by_role("button", name="Hand over").click()
    expect(page.locator("#pickup-error")).to_contain_text("Enter the cash")
    item.get_by_label(f"Cash for {order_id}").fill("100")
    item.get_by_role("button", name="Hand over").click()
    expect(item).to_contain_text("handed over · sale 2-")
    with api(web_server) as client:
        pickup = client.get(f"/api/v1/pickups/{order_id}").json()
        sale = client.get(f"/api/v1/orders/{pickup['sale_order_id']}").json()
    assert pickup["status"] == "completed" and sale["lane_id"] == "2"
    assert [t["method"] for t in sale["tenders"]] == ["cash"]
