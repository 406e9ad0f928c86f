"""Orders in the store admin: the From and To days narrow the search (a day after today finds
nothing, today finds today's sale), in the list and in the CSV export alike."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.admin_pages import cash_sale, open_tab, sign_in
from tests.webui.helpers import shot

pytestmark = pytest.mark.slow


def search(page: Any, **fields: str) -> Any:
    form = page.locator("#order-filters")
    for label, value in fields.items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Search").click()
    return page.locator("#order-rows tr")


def test_the_from_day_leaves_out_earlier_orders_in_the_list_and_the_export(page: Any, web_server: EdgeServer) -> None:
    order = cash_sale(web_server, "1", "BAK-0008")
    today = datetime.now(UTC).date().isoformat()  # the demo store's business day starts at 00:00 UTC
    sign_in(page)
    open_tab(page, "Orders")
    expect(search(page, From="2099-01-01")).to_have_text(["No orders match."])
    shot(page, "admin-orders-from-later")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert order["number"] not in Path(download.value.path()).read_text(encoding="utf-8")

    rows = search(page, From=today, To=today)
    expect(rows.filter(has_text=order["number"])).to_have_count(1)
    shot(page, "admin-orders")
