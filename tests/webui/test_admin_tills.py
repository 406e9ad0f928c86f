"""Tills in the store admin: a manager opens lane 3's drawer with a float, records cash in and
out, reads the X report, closes blind with a count of notes and coins, and reads over/short on
the Z report, which reads back the same from the session list."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.admin_pages import cash_sale, dollars, open_tab, sign_in
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def lane_card(page: Any, lane: str) -> Any:
    return page.locator(f"#till-lanes [data-lane='{lane}']")


def test_a_drawer_opened_worked_and_closed_blind_reports_what_it_is_short(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    open_tab(page, "Tills")
    card = lane_card(page, "3")
    expect(card).to_contain_text("No drawer open")
    shot(page, "admin-tills-lanes")

    card.get_by_role("button", name="Open drawer").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Opening float").fill("150")
    dialog.get_by_role("button", name="Open drawer").click()
    expect(dialog).to_be_hidden()
    expect(card).to_contain_text("Drawer open")
    expect(card).to_contain_text(dollars(15_000))
    with api(web_server) as client:
        [session] = client.get("/api/v1/tills", params={"lane_id": "3", "status": "open"}).json()["items"]

    card.get_by_role("button", name="Cash in/out").click()
    dialog.get_by_label("Movement").select_option("pay_in")
    dialog.get_by_label("Amount").fill("20.00")
    dialog.get_by_label("Reason").fill("change from the bank")
    dialog.get_by_role("button", name="Record").click()
    expect(dialog).to_be_hidden()
    card.get_by_role("button", name="Cash in/out").click()
    dialog.get_by_label("Movement").select_option("pay_out")
    dialog.get_by_label("Amount").fill("5")
    dialog.get_by_label("Reason").fill("window cleaner")
    dialog.get_by_role("button", name="Record").click()
    expect(dialog).to_be_hidden()

    sale = cash_sale(web_server, "3", "DRI-0031")
    expected = 15_000 + 2_000 - 500 + sale["total_cents"]
    card.get_by_role("button", name="X report").click()
    report = page.locator("#xreport")
    expect(report.get_by_role("heading")).to_have_text("X report · lane 3")
    expect(report.get_by_role("row", name="Expected cash")).to_contain_text(dollars(expected))
    expect(report.get_by_role("row", name="Pay-ins")).to_contain_text(dollars(2_000))
    expect(page.locator("#journal-rows")).to_contain_text("window cleaner")
    shot(page, "admin-tills-x-report")

    card.get_by_role("button", name="Close and count").click()
    expect(dialog).not_to_contain_text(dollars(expected))  # a blind count: the expected cash is not shown
    short_by = 37
    counted = expected - short_by
    notes, rest = divmod(counted, 2_000)
    dialog.get_by_label(f"Number of {dollars(2_000)}").fill(str(notes))
    dialog.get_by_label(f"Number of {dollars(1)}", exact=True).fill(str(rest))
    expect(dialog.get_by_label("Cash counted")).to_have_value(f"{counted / 100:.2f}")
    shot(page, "admin-tills-count")
    dialog.get_by_role("button", name="Close drawer").click()
    expect(dialog).to_be_hidden()

    expect(report.get_by_role("heading")).to_have_text("Z report · lane 3")
    expect(report.get_by_role("row", name="Counted cash")).to_contain_text(dollars(counted))
    expect(report.get_by_role("row", name="Short")).to_contain_text(f"Short {dollars(short_by)}")
    expect(report).to_contain_text("closed by manager")
    expect(card).to_contain_text("No drawer open")
    checklist = page.locator("#day-close-items")
    expect(checklist).not_to_contain_text("Lane 3")  # no longer among the drawers still open
    expect(checklist).to_contain_text("Closed today")
    shot(page, "admin-tills-z-report")

    with api(web_server) as client:
        stored = client.get(f"/api/v1/tills/{session['id']}/z-report").json()
    assert (stored["counted_cents"], stored["expected_cents"], stored["variance_cents"]) == (counted, expected, -short_by)

    page.locator("#till-filters").get_by_label("Lane").select_option("3")
    row = page.locator(f"#till-rows tr[data-session='{session['id']}']")
    expect(row).to_contain_text(f"Short {dollars(short_by)}")
    row.get_by_role("button", name="Z report").click()
    expect(report.get_by_role("row", name="Short")).to_contain_text(f"Short {dollars(short_by)}")


def test_a_pay_out_without_a_reason_is_refused_in_the_dialog(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    open_tab(page, "Tills")
    card = lane_card(page, "1")
    expect(card.get_by_role("button").first).to_be_visible()
    if card.get_by_role("button", name="Open drawer").count():
        card.get_by_role("button", name="Open drawer").click()
        page.get_by_role("dialog").get_by_label("Opening float").fill("100")
        page.get_by_role("dialog").get_by_role("button", name="Open drawer").click()
    card.get_by_role("button", name="Cash in/out").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Amount").fill("12")
    dialog.get_by_role("button", name="Record").click()
    expect(dialog.locator("#till-error")).to_contain_text("reason")
    dialog.get_by_label("Amount").fill("twelve")
    dialog.get_by_label("Reason").fill("stamps")
    dialog.get_by_role("button", name="Record").click()
    expect(dialog.locator("#till-error")).to_contain_text("amount")
