"""Stock in the store admin: finding products by part of a name, an adjustment with a reason, a
count whose variance shows before it is posted, a delivery received, a transfer out with its
printable slip and the same transfer received elsewhere, and each product's movement history."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.admin_pages import on_hand, sign_in
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def search(page: Any, text: str) -> Any:
    page.get_by_label("Search stock").fill(text)
    page.locator("#inventory-filters").get_by_role("button", name="Apply").click()
    return page.locator("#inventory-rows tr")


def add_line(page: Any, sku: str, quantity: int) -> None:
    page.get_by_label("Add product").fill(sku)
    page.locator("#sheet-add").get_by_role("button", name="Add").click()
    page.locator(f"#sheet-rows tr[data-sku='{sku}'] input").fill(str(quantity))


def test_part_of_a_name_finds_the_products_in_stock(page: Any) -> None:
    sign_in(page)
    rows = search(page, "bagel")
    expect(rows.first).to_contain_text("Bagel")
    for text in rows.all_inner_texts():
        assert "bagel" in text.lower()
    expect(search(page, "bak-000").first).to_contain_text("BAK-0005")
    shot(page, "admin-stock-search")


def test_an_adjustment_with_a_reason_moves_stock_and_shows_in_the_history(page: Any, web_server: EdgeServer) -> None:
    sku = "HOU-0027"
    before = on_hand(web_server, sku)
    sign_in(page)
    row = search(page, sku).first
    row.get_by_role("button", name="Adjust").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Change in units").fill("-2")
    dialog.get_by_label("Reason").select_option("damaged")
    dialog.get_by_label("Note").fill("dropped in aisle 4")
    dialog.get_by_role("button", name="Adjust").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#stock-notice")).to_contain_text(f"{sku}: -2 (damaged)")
    assert on_hand(web_server, sku) == before - 2
    expect(search(page, sku).first).to_contain_text(str(before - 2))

    search(page, sku).first.get_by_role("button", name="History").click()
    history = page.locator("#history-rows tr").first
    expect(history).to_contain_text("Adjustment")
    expect(history).to_contain_text("-2")
    expect(history).to_contain_text("damaged · dropped in aisle 4")
    expect(history).to_contain_text("manager")
    shot(page, "admin-stock-history")


def test_a_count_shows_each_variance_before_it_is_posted(page: Any, web_server: EdgeServer) -> None:
    over, under = "STA-0021", "STA-0022"
    had = {sku: on_hand(web_server, sku) for sku in (over, under)}
    sign_in(page)
    page.get_by_role("button", name="Count", exact=True).click()
    page.locator("#sheet-ref").fill("aisle 5 shelf count")
    add_line(page, over, had[over] + 3)
    add_line(page, under, had[under] - 1)
    expect(page.locator(f"#sheet-rows tr[data-sku='{over}'] .variance")).to_have_text("+3")
    expect(page.locator(f"#sheet-rows tr[data-sku='{under}'] .variance")).to_have_text("-1")
    expect(page.locator("#sheet-variance")).to_have_text("+3 / -1")
    assert on_hand(web_server, over) == had[over]  # nothing posted yet
    shot(page, "admin-stock-count")

    page.get_by_role("button", name="Post count").click()
    expect(page.locator("#stock-notice")).to_contain_text("Count posted: 2 of 2 products corrected")
    assert (on_hand(web_server, over), on_hand(web_server, under)) == (had[over] + 3, had[under] - 1)
    with api(web_server) as client:
        moves = client.get("/api/v1/inventory/movements", params={"sku": over, "kind": "count"}).json()["items"]
    assert moves[0]["counted"] == had[over] + 3 and moves[0]["ref"] == "aisle 5 shelf count"


def test_a_delivery_is_received_against_its_note(page: Any, web_server: EdgeServer) -> None:
    sku = "DRI-0032"
    before = on_hand(web_server, sku)
    sign_in(page)
    page.get_by_role("button", name="Receive", exact=True).click()
    page.get_by_role("button", name="Post delivery").click()
    expect(page.locator("#sheet-error")).to_contain_text("Add at least one product")
    add_line(page, sku, 24)
    page.get_by_role("button", name="Post delivery").click()
    expect(page.locator("#sheet-error")).to_contain_text("delivery note")
    page.locator("#sheet-ref").fill("PO-88812")
    page.get_by_role("button", name="Post delivery").click()
    expect(page.locator("#stock-notice")).to_contain_text("Delivery PO-88812 received")
    assert on_hand(web_server, sku) == before + 24


def test_a_transfer_out_prints_a_slip_and_the_slip_receives_it_back_in(page: Any, web_server: EdgeServer) -> None:
    sku_a, sku_b = "BOO-0036", "COF-0041"
    had = {sku: on_hand(web_server, sku) for sku in (sku_a, sku_b)}
    sign_in(page)
    page.get_by_role("button", name="Transfer out", exact=True).click()
    page.get_by_label("Destination store").fill("demo-002")
    page.get_by_label("Add product").fill("BOO-003")  # several match: pick one from the choices
    page.locator("#sheet-add").get_by_role("button", name="Add").click()
    page.locator("#sheet-choices").get_by_role("button", name=sku_a).click()
    page.locator(f"#sheet-rows tr[data-sku='{sku_a}'] input").fill("2")
    add_line(page, sku_b, 3)
    page.get_by_role("button", name="Post transfer").click()

    slip = page.locator("#transfer-slip")
    expect(slip.get_by_role("heading", name="Transfer slip")).to_be_visible()
    expect(slip).to_contain_text("demo-002")
    expect(slip.locator("#slip-rows tr")).to_have_count(2)
    expect(slip.locator("#slip-total")).to_have_text("5")
    transfer_id = slip.locator("#slip-facts dd").first.inner_text()
    assert (on_hand(web_server, sku_a), on_hand(web_server, sku_b)) == (had[sku_a] - 2, had[sku_b] - 3)
    shot(page, "admin-stock-transfer-slip")
    page.evaluate("window.print = () => { window.printed = true; }")  # no print dialog in a test browser
    slip.get_by_role("button", name="Print slip").click()
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")  # the printed page holds the slip and nothing else
    shot(page, "admin-stock-transfer-slip-print")
    expect(slip.locator("#slip-rows")).to_be_visible()
    expect(slip.get_by_role("button", name="Print slip")).to_be_hidden()
    expect(page.locator("#inventory-rows")).to_be_hidden()
    expect(page.get_by_role("tab", name="Inventory")).to_be_hidden()
    page.emulate_media(media="screen")
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    expect(page.locator("#inventory-rows")).to_be_visible()

    # The goods come back (the other store refused them): the same slip books them in.
    page.get_by_role("button", name="Transfer in", exact=True).click()
    page.get_by_label("Transfer number").fill(transfer_id)
    page.get_by_label("From store").fill("demo-002")
    add_line(page, sku_a, 2)
    add_line(page, sku_b, 3)
    page.get_by_role("button", name="Post transfer in").click()
    expect(page.locator("#stock-notice")).to_contain_text(f"Transfer {transfer_id} from demo-002 received")
    assert (on_hand(web_server, sku_a), on_hand(web_server, sku_b)) == (had[sku_a], had[sku_b])
    with api(web_server) as client:
        moves = client.get("/api/v1/inventory/movements", params={"ref": transfer_id}).json()["items"]
    assert sorted((m["kind"], m["sku"], m["delta"]) for m in moves) == sorted([
        ("transfer_out", sku_a, -2), ("transfer_out", sku_b, -3), ("transfer_in", sku_a, 2), ("transfer_in", sku_b, 3)])


def test_a_count_line_left_empty_is_named_and_nothing_is_posted(page: Any, web_server: EdgeServer) -> None:
    sku = "HOU-0028"
    before = on_hand(web_server, sku)
    sign_in(page)
    page.get_by_role("button", name="Count", exact=True).click()
    page.get_by_label("Add product").fill(sku)
    page.locator("#sheet-add").get_by_role("button", name="Add").click()
    page.get_by_role("button", name="Post count").click()
    expect(page.locator("#sheet-error")).to_contain_text(sku)
    assert on_hand(web_server, sku) == before

