"""The store admin pages in a real Chromium: a manager signs in and reads stock, users,
devices, the audit log and sync status; finds, exports and voids orders, works the review
queue and reads a till's X report."""

from __future__ import annotations

import csv
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def sign_in(page: Any, username: str = "manager", password: str = "novapos-demo") -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_manager_signs_in_and_sees_inventory_rows(page: Any) -> None:
    sign_in(page)
    expect(page.locator("#who")).to_contain_text("manager")
    rows = page.locator("#inventory-rows tr")
    expect(rows.first).to_contain_text("BAK-0005")
    assert rows.count() == 100  # one page; the rest behind "Load more"
    expect(page.get_by_role("button", name="Load more")).to_be_visible()
    shot(page, "admin-inventory")

    page.get_by_label("Low stock only").check()
    expect(page.locator("#inventory-rows tr").first).not_to_contain_text("BAK-0005")


def test_wrong_password_shows_the_servers_reason(page: Any) -> None:
    sign_in(page, password="wrong")
    expect(page.locator("#login-error")).not_to_be_empty()
    expect(page.locator("#app")).to_be_hidden()


def test_audit_log_filters_by_action_and_sync_tab_shows_the_link(page: Any) -> None:
    sign_in(page)
    page.get_by_role("tab", name="Audit log").click()
    page.get_by_label("Action").fill("auth.login")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#audit-rows tr")
    expect(rows.first).to_contain_text("auth.login")
    for text in rows.all_inner_texts():
        assert "auth.login" in text
    shot(page, "admin-audit")

    page.get_by_role("tab", name="Users").click()
    expect(page.locator("#user-rows")).to_contain_text("cashier")
    page.get_by_role("tab", name="Devices").click()
    expect(page.locator("#devices-note")).not_to_be_empty()
    page.get_by_role("tab", name="Sync").click()
    expect(page.locator("#sync-cards")).to_contain_text("Link to HQ")
    shot(page, "admin-sync")


# -- sales: orders, reviews, tills -------------------------------------------------------------
def dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"  # the demo store's USD, as an en-US browser shows it


def catalog_product(server: EdgeServer) -> dict[str, Any]:
    with api(server) as client:
        return client.get("/api/v1/products", params={"limit": 5}).json()["items"][0]


def cash_order(server: EdgeServer, lane: str = "1") -> dict[str, Any]:
    """A completed cash sale rung up by the cashier, as the API answered it."""
    sku = catalog_product(server)["sku"]
    with api(server, "cashier") as client:
        response = client.post("/api/v1/orders", headers={"Idempotency-Key": str(uuid.uuid4())}, json={
            "lane_id": lane, "lines": [{"sku": sku, "quantity": 1}],
            "tenders": [{"method": "cash", "amount_cents": 100_000}]})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "COMPLETED"
    return order


def order_status(server: EdgeServer, order_id: str) -> dict[str, Any]:
    with api(server) as client:
        return client.get(f"/api/v1/orders/{order_id}").json()


def search_by_number(page: Any, number: str) -> Any:
    page.get_by_role("tab", name="Orders").click()
    page.get_by_label("Receipt number").fill(number)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#order-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    return rows.first


def test_an_order_found_by_its_receipt_number_shows_lines_and_receipt(page: Any, web_server: EdgeServer) -> None:
    order = cash_order(web_server)
    sign_in(page)
    row = search_by_number(page, order["number"])
    expect(row).to_contain_text("COMPLETED")
    expect(row).to_contain_text("cash")
    expect(row).to_contain_text(dollars(order["total_cents"]))

    row.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=f"Order {order['number']}")).to_be_visible()
    line = order["lines"][0]
    expect(page.locator("#order-lines tr")).to_have_count(1)
    expect(page.locator("#order-lines")).to_contain_text(line["name"])
    expect(page.locator("#order-payments")).to_contain_text("Cash received")  # the tender's guidance
    receipt = page.frame_locator("#receipt-slot iframe")
    expect(receipt.get_by_text("TOTAL USD")).to_be_visible()
    expect(receipt.get_by_text(f"1x {line['name']}")).to_be_visible()
    shot(page, "admin-order-detail")


def test_a_manager_voids_an_order_with_a_reason(page: Any, web_server: EdgeServer) -> None:
    order = cash_order(web_server)
    sign_in(page)
    search_by_number(page, order["number"]).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Void", exact=True).click()
    dialog.get_by_label("Reason for the void").fill("customer changed their mind")
    shot(page, "admin-order-void")
    dialog.get_by_role("button", name="Confirm void").click()

    expect(dialog.locator(".meta").first).to_contain_text("VOIDED")
    expect(dialog).to_contain_text("customer changed their mind")
    expect(dialog.get_by_role("button", name="Void", exact=True)).to_be_hidden()
    expect(page.locator("#order-payments")).to_contain_text("Refund")
    expect(page.frame_locator("#receipt-slot iframe").get_by_text("TOTAL USD")).to_be_visible()
    stored = order_status(web_server, order["id"])
    assert stored["status"] == "VOIDED"
    assert stored["void_reason"] == "customer changed their mind"

    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("#order-rows tr").first).to_contain_text("VOIDED")


def test_a_void_the_server_refuses_shows_its_reason(page: Any, web_server: EdgeServer) -> None:
    order = cash_order(web_server)
    sign_in(page)
    search_by_number(page, order["number"]).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Void", exact=True)).to_be_visible()
    with api(web_server) as client:  # voided elsewhere while the manager looks at it
        response = client.post(f"/api/v1/orders/{order['id']}/void", headers={"Idempotency-Key": str(uuid.uuid4())},
                               json={"reason": "voided at the lane"})
        assert response.status_code == 200, response.text

    dialog.get_by_role("button", name="Void", exact=True).click()
    dialog.get_by_label("Reason for the void").fill("second try")
    dialog.get_by_role("button", name="Confirm void").click()
    expect(page.locator("#order-error")).to_contain_text(re.compile(rf"cannot void order {order['number']}.*VOIDED"))
    assert order_status(web_server, order["id"])["void_reason"] == "voided at the lane"


def test_the_export_downloads_the_searched_orders_as_csv(page: Any, web_server: EdgeServer) -> None:
    order = cash_order(web_server)
    sign_in(page)
    search_by_number(page, order["number"])
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename == "orders.csv"
    rows = list(csv.reader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert rows[0][:3] == ["id", "number", "status"]
    assert [r[1] for r in rows[1:]] == [order["number"]]  # the same filters as the search
    assert rows[1][0] == order["id"]
    assert rows[1][rows[0].index("total_cents")] == str(order["total_cents"])


def offline_sale_with_price_variance(server: EdgeServer) -> dict[str, Any]:
    """A sale the lane queued offline at a price the catalog no longer has: a review case."""
    product = catalog_product(server)
    with api(server, "cashier") as client:
        # Lane prices are honoured only for a lane's own PIN sign-in.
        pin = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"}).json()
        client.headers["Authorization"] = f"Bearer {pin['access_token']}"
        response = client.post("/api/v1/offline/sales", json={"sales": [{
            "idempotency_key": str(uuid.uuid4()), "lane_id": "1",
            "offline_created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "lines": [{"sku": product["sku"], "quantity": 1, "unit_price_cents": product["price_cents"] - 100}],
            "override_pin": "2468", "tenders": [{"method": "cash", "amount_cents": 100_000}]}]})
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["verdict"] == "accepted_with_price_variance", result
    return result


def open_reviews(server: EdgeServer) -> list[dict[str, Any]]:
    with api(server) as client:
        return client.get("/api/v1/reviews", params={"limit": 500}).json()["items"]


def test_a_price_variance_from_an_offline_sale_is_reviewed_and_resolved(page: Any, web_server: EdgeServer) -> None:
    sale = offline_sale_with_price_variance(web_server)
    case = next(c for c in open_reviews(web_server) if c["order_id"] == sale["order_id"])
    sign_in(page)
    page.get_by_role("tab", name="Reviews").click()
    row = page.locator("#review-rows tr", has_text=sale["number"])
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Price variance")
    detail = case["detail"]
    summary = (f"{detail['sku']} sold offline at {dollars(detail['charged_cents'])}; "
               f"catalog price {dollars(detail['catalog_cents'])}")
    expect(row).to_contain_text(summary)
    open_before = page.locator("#review-rows tr").count()
    shot(page, "admin-reviews")

    row.get_by_role("button", name="Resolve").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(summary)
    dialog.get_by_label("Resolution").select_option("accepted")
    dialog.get_by_label("Note").fill("old shelf label; price stands")
    dialog.get_by_role("button", name="Resolve").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#review-rows tr", has_text=sale["number"])).to_have_count(0)
    if open_before > 1:
        expect(page.locator("#review-rows tr")).to_have_count(open_before - 1)
    else:
        expect(page.locator("#review-rows")).to_have_text("No review cases match.")
    assert all(c["id"] != case["id"] for c in open_reviews(web_server))
    with api(web_server) as client:
        resolved = client.get("/api/v1/reviews", params={"status": "resolved", "limit": 500}).json()["items"]
    stored = next(c for c in resolved if c["id"] == case["id"])
    assert (stored["resolution"], stored["note"], stored["resolved_by"]) == (
        "accepted", "old shelf label; price stands", "manager")

    page.locator("#review-filters").get_by_label("Status").select_option("resolved")
    expect(page.locator("#review-rows tr", has_text=sale["number"])).to_contain_text("accepted by manager")


def open_till(server: EdgeServer, lane: str) -> str:
    """The open drawer session of the lane: opened now, or the one another test opened."""
    with api(server, "cashier") as client:
        response = client.post("/api/v1/tills", headers={"Idempotency-Key": str(uuid.uuid4())},
                               json={"lane_id": lane, "float_cents": 10_000})
        if response.status_code == 201:
            return response.json()["session_id"]
        assert response.status_code == 409, response.text
        return client.get("/api/v1/tills", params={"lane_id": lane, "status": "open"}).json()["items"][0]["id"]


def test_the_x_report_of_an_open_till_shows_the_expected_cash(page: Any, web_server: EdgeServer) -> None:
    session_id = open_till(web_server, "2")
    order = cash_order(web_server, lane="2")  # cash kept from a sale goes into lane 2's drawer
    with api(web_server) as client:
        report = client.get(f"/api/v1/tills/{session_id}/x-report").json()
    assert report["totals"]["cash_sale"] >= order["total_cents"]

    sign_in(page)
    page.get_by_role("tab", name="Tills").click()
    page.locator("#till-filters").get_by_label("Lane").select_option("2")
    page.locator("#till-filters").get_by_label("Status").select_option("open")
    rows = page.locator("#till-rows tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("button", name="X report").click()

    panel = page.locator("#xreport")
    expect(panel.get_by_role("heading")).to_have_text("X report · lane 2")
    expected = panel.get_by_role("row", name="Expected cash")
    expect(expected).to_contain_text(dollars(report["expected_cents"]))
    expect(panel.get_by_role("row", name="Cash sales")).to_contain_text(dollars(report["totals"]["cash_sale"]))
    expect(panel.get_by_role("row", name="Opening float")).to_contain_text(dollars(report["float_cents"]))
    shot(page, "admin-till-x-report")
