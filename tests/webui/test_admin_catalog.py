"""The catalog in the store admin: a manager edits a product and sets a store price override
for a window; a tenant admin changes a tax category; a CSV import with bad rows lists each one
and imports nothing, and the corrected file imports with its progress shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.admin_pages import dollars, open_tab, sign_in
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def product(server: EdgeServer, sku: str) -> dict[str, Any]:
    with api(server) as client:
        return next(p for p in client.get("/api/v1/products", params={"sku": sku}).json()["items"] if p["sku"] == sku)


def find(page: Any, text: str) -> Any:
    page.get_by_label("Search products").fill(text)
    page.locator("#catalog-filters").get_by_role("button", name="Search").click()
    row = page.locator(f"#catalog-rows tr[data-sku='{text}']")
    expect(row).to_have_count(1)
    return row


def test_a_manager_edits_a_product_and_overrides_its_price_for_a_window(page: Any, web_server: EdgeServer) -> None:
    sku = "HOU-0025"
    sign_in(page)
    open_tab(page, "Catalog")
    find(page, sku).get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Scented candle")
    dialog.get_by_label("List price").fill("7.25")
    dialog.get_by_label("Low-stock threshold").fill("8")
    dialog.get_by_role("button", name="Save product").click()
    expect(dialog).to_be_hidden()
    row = find(page, sku)
    expect(row).to_contain_text("Scented candle")
    expect(row).to_contain_text(dollars(725))
    stored = product(web_server, sku)
    assert (stored["name"], stored["list_price_cents"], stored["low_stock_threshold"]) == ("Scented candle", 725, 8)

    row.get_by_role("button", name="Edit").click()
    expect(dialog.locator("#override-rows")).to_contain_text("No override")
    dialog.get_by_label("Override price").fill("5.99")
    dialog.get_by_label("Until").fill("2099-12-31T18:00")
    dialog.get_by_role("button", name="Add override").click()
    override = dialog.locator("#override-rows tr").first
    expect(override).to_contain_text(dollars(599))
    expect(override).to_contain_text("in force")
    dialog.get_by_label("Override price").fill("4.99")
    dialog.get_by_label("From").fill("2099-01-01T09:00")
    dialog.get_by_label("Until").fill("2098-01-01T09:00")
    dialog.get_by_role("button", name="Add override").click()
    expect(dialog.locator("#override-error")).to_contain_text("end after it starts")
    shot(page, "admin-catalog-product")
    dialog.get_by_role("button", name="Close").click()
    expect(find(page, sku)).to_contain_text("override")
    assert product(web_server, sku)["price_cents"] == 599  # the price the lanes charge here now


def test_a_stale_edit_is_refused_and_changes_nothing(page: Any, web_server: EdgeServer) -> None:
    sku = "HOU-0026"
    sign_in(page)
    open_tab(page, "Catalog")
    find(page, sku).get_by_role("button", name="Edit").click()
    with api(web_server) as client:  # a colleague saves the product meanwhile
        current = product(web_server, sku)
        assert client.patch(f"/api/v1/products/{current['id']}", json={"name": "Kitchen roll XL"}).status_code == 200
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Kitchen roll 2-pack")
    dialog.get_by_role("button", name="Save product").click()
    expect(dialog.locator("#product-error")).not_to_be_empty()
    assert product(web_server, sku)["name"] == "Kitchen roll XL"


def test_a_tenant_admin_changes_a_tax_rate(page: Any, web_server: EdgeServer) -> None:
    sign_in(page, "admin")
    open_tab(page, "Catalog")
    page.locator("#tax-rows tr[data-code='food']").get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Code", exact=True)).to_have_value("food")
    page.locator("#tax-form").get_by_label("Rate (%)").fill("2.5")
    page.get_by_role("button", name="Save tax category").click()
    expect(page.locator("#tax-rows tr[data-code='food']")).to_contain_text("2.50 %")
    with api(web_server, "admin") as client:
        food = next(t for t in client.get("/api/v1/tax-categories").json()["items"] if t["code"] == "food")
        assert food["rate_bp"] == 250
        # the other browser tests share this store: its groceries go back to 2 %
        restored = client.put("/api/v1/tax-categories/food", json={"name": food["name"], "rate_bp": 200})
        assert restored.status_code == 200, restored.text
    page.get_by_label("Code", exact=True).fill("luxury")
    page.locator("#tax-form").get_by_label("Name").fill("Luxury 20 %")
    page.locator("#tax-form").get_by_label("Rate (%)").fill("120")
    page.get_by_role("button", name="Save tax category").click()
    expect(page.locator("#tax-error")).to_contain_text("between 0 and 100")
    expect(page.locator("#tax-rows tr[data-code='luxury']")).to_have_count(0)


def test_a_csv_import_lists_every_bad_row_then_imports_the_corrected_file(page: Any, web_server: EdgeServer,
                                                                          tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,price_cents,tax_category\n"
                   "IMP-0001,Imported tea,450,food\n"
                   "IMP-0002,Imported mug,twelve,standard\n"
                   "IMP-0003,Imported spoon,199,luxury\n")
    sign_in(page)
    open_tab(page, "Catalog")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.locator("#import-form").get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text("2 row(s) are not valid; nothing was imported")
    problems = page.locator("#import-problem-rows tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("3")
    expect(problems.nth(0)).to_contain_text("IMP-0002")
    expect(problems.nth(0)).to_contain_text("price_cents")
    expect(problems.nth(1)).to_contain_text("IMP-0003")
    expect(problems.nth(1)).to_contain_text("luxury")
    shot(page, "admin-catalog-import-errors")
    with api(web_server) as client:
        assert client.get("/api/v1/products", params={"sku": "IMP-0001"}).json()["items"] == []

    good = tmp_path / "good.csv"
    good.write_text("sku,name,price_cents,tax_category\n"
                    "IMP-0001,Imported tea,450,food\n"
                    "IMP-0002,Imported mug,1200,standard\n")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.locator("#import-form").get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text("Imported 2 rows: 2 created, 0 updated")
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-problems")).to_be_hidden()
    assert product(web_server, "IMP-0002")["price_cents"] == 1200
    shot(page, "admin-catalog-import")
