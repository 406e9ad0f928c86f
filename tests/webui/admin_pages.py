"""What the store admin's browser tests share: signing in, opening a tab, money as shown."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api


def sign_in(page: Any, username: str = "manager", password: str = "novapos-demo") -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_contain_text(username)


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")


def dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"  # the demo store's USD, as an en-US browser shows it


def on_hand(server: EdgeServer, sku: str) -> int:
    with api(server) as client:
        rows = client.get("/api/v1/inventory", params={"sku": sku}).json()["items"]
    return next(r for r in rows if r["sku"] == sku)["on_hand"]


def cash_sale(server: EdgeServer, lane: str, sku: str) -> dict[str, Any]:
    with api(server, "cashier") as client:
        response = client.post("/api/v1/orders", headers={"Idempotency-Key": str(uuid.uuid4())}, json={
            "lane_id": lane, "lines": [{"sku": sku, "quantity": 1}],
            "tenders": [{"method": "cash", "amount_cents": 100_000}]})
    assert response.status_code == 201, response.text
    return response.json()
