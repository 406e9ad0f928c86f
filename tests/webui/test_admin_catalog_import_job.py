"""The admin's Catalog tab follows a large import's job to its end: rows done of rows total on
the bar, then the counts, with every product in the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from edge.domain.catalog import ean13
from edge.service.catalog_import_jobs import SYNC_MAX_ROWS
from tests.support import EdgeServer
from tests.webui.admin_pages import open_tab, sign_in
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def test_a_large_import_shows_the_jobs_progress_then_its_counts(page: Any, web_server: EdgeServer,
                                                                tmp_path: Path) -> None:
    rows = SYNC_MAX_ROWS + 300
    big = tmp_path / "big.csv"
    big.write_text("sku,name,price_cents,tax_category,barcodes\n" + "".join(
        f"JOB-{n:05d},Job product {n},{100 + n},standard,{ean13(f'6{n:011d}')}\n" for n in range(rows)))
    sign_in(page)
    open_tab(page, "Catalog")
    page.get_by_label("CSV file").set_input_files(str(big))
    page.locator("#import-form").get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text(f"of {rows} rows", timeout=30_000)
    expect(page.locator("#import-status")).to_contain_text(f"Imported {rows} rows: {rows} created, 0 updated",
                                                           timeout=120_000)
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    shot(page, "admin-catalog-import-job")
    with api(web_server) as client:
        found = client.get("/api/v1/products", params={"sku": f"JOB-{rows - 1:05d}"}).json()["items"]
    assert [p["name"] for p in found] == [f"Job product {rows - 1}"]
