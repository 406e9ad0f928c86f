"""The HQ dashboard's charts in Chromium, drawn by ECharts from sales the stores replicated
(through the cloud's real ingest) in the last days: sales over time, the store comparison, the
tender mix, the weekday-hour heatmap in the analyst's own time zone, and stock cover. A range
with nothing in it says so; a reversed or over-long range is refused with the reason."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from cloud.clock import parse_iso
from tests.webui.hq_hub import HqHub, days_ago, drawn, hq, page, received, sale, shot, sign_in  # noqa: F401

TIMEZONE = "America/New_York"  # the browser's zone: the heatmap's hours are the analyst's

SALES = [  # (store, occurred_at, total_cents, method)
    ("north", days_ago(3, 14, 5), 1250, "card"),
    ("north", days_ago(3, 15, 30), 2500, "cash"),
    ("north", days_ago(1, 14, 20), 4000, "cash"),
    ("south", days_ago(2, 9, 0), 730, "cash"),
]


@pytest.fixture(scope="module", autouse=True)
def replicated(hq: HqHub) -> None:
    hq.replicate([("north", days_ago(20), "stock.moved", received("north", "A", 40)),
                  ("south", days_ago(20), "stock.moved", received("south", "A", 10))])
    hq.replicate([(store, at, "order.completed", sale(total, sku="A", location=store, method=method))
                  for store, at, total, method in SALES])


def test_an_analyst_sees_the_five_charts_drawn_from_replicated_sales(page: Any, hq: HqHub) -> None:
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)

    sales = drawn(page, "chart-sales")
    assert len(sales["x"][0]) == 28  # four weeks to today, quiet days included
    by_day = dict(zip(sales["x"][0], sales["series"][0], strict=True))
    assert by_day[days_ago(3)[:10]] == 3750 and by_day[days_ago(1)[:10]] == 4000
    assert sum(sales["series"][0]) == 8480 and sum(sales["series"][1]) == 4  # net sales, orders
    assert sales["yNames"][0] == "USD" and "Net sales (USD)" in sales["legend"]  # amounts carry their currency

    stores = drawn(page, "chart-stores")
    assert dict(zip(stores["y"][0], stores["series"][0], strict=True)) == {"north": 7750, "south": 730}
    tenders = drawn(page, "chart-tenders")
    assert dict(tenders["series"][0]) == {"card": 1250, "cash": 7230}

    # 14:05 UTC is 09:05 in New York in winter (the heatmap follows daylight saving by date).
    heat = drawn(page, "chart-heatmap")
    expected: dict[tuple[int, int], int] = {}
    for _, at, _, _ in SALES:
        local = parse_iso(at).astimezone(ZoneInfo(TIMEZONE))
        expected[(local.hour, local.weekday())] = expected.get((local.hour, local.weekday()), 0) + 1
    assert {(h, d): n for h, d, n, _ in heat["series"][0]} == expected
    expect(page.locator("#heatmap-zone")).to_have_text(f"hours in {TIMEZONE}")

    cover = drawn(page, "chart-cover")
    # North: 40 in, 3 sold in 28 days; south: 10 in, 1 sold. Days of cover = on hand / daily sales.
    assert dict(zip(cover["y"][0], cover["series"][0], strict=True)) == {"north · A": 345.3, "south · A": 252.0}
    expect(page.locator("#cover-note")).to_contain_text("2 products selling")
    for empty in ("sales", "stores", "tenders", "heatmap", "cover"):
        expect(page.locator(f"#chart-{empty}-empty")).to_be_hidden()
    expect(page.locator("#dash-error")).to_be_hidden()
    page.locator("#chart-heatmap").scroll_into_view_if_needed()
    shot(page, "hq-charts")


def test_a_range_without_sales_says_so_in_every_chart(page: Any, hq: HqHub) -> None:
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)
    drawn(page, "chart-sales")
    page.locator("#from").fill("2020-01-01")
    page.locator("#to").fill("2020-01-31")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#chart-sales-empty")).to_have_text("No sales between 2020-01-01 and 2020-01-31.")
    expect(page.locator("#chart-stores-empty")).to_contain_text("No store sold anything")
    expect(page.locator("#chart-tenders-empty")).to_have_text("No payments between 2020-01-01 and 2020-01-31.")
    expect(page.locator("#chart-heatmap-empty")).to_have_text("No orders between 2020-01-01 and 2020-01-31.")
    expect(page.locator("#chart-cover-empty")).to_contain_text("No product was both stocked and sold")
    expect(page.locator("#chart-sales")).to_be_hidden()
    expect(page.locator("#summary")).to_contain_text("None.")
    shot(page, "hq-charts-empty")


def test_a_reversed_range_is_stopped_and_an_over_long_one_is_refused_with_the_reason(page: Any, hq: HqHub) -> None:
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)
    drawn(page, "chart-sales")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/analytics/" in r.url else None)
    page.locator("#from").fill("2020-02-01")
    page.locator("#to").fill("2020-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#range-error")).to_have_text("The range starts (2020-02-01) after it ends (2020-01-01).")
    assert asked == []  # nothing was asked of the hub
    expect(page.locator("#chart-sales")).to_be_visible()  # the figures on screen stay

    page.locator("#from").fill("2020-01-01")
    page.locator("#to").fill("2022-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#range-error")).to_be_empty()
    error = page.locator("#dash-error")
    expect(error).to_contain_text("Could not load Store comparison chart, Sales over time")
    expect(error).to_contain_text("at most 366")
    # A valid range again clears the banner.
    page.locator("#to").fill("2020-12-31")
    page.get_by_role("button", name="Apply").click()
    expect(error).to_be_hidden()


def test_without_the_chart_library_the_banner_says_so_and_the_tables_still_load(page: Any, hq: HqHub) -> None:
    page.route("**/vendor/echarts/**", lambda route: route.abort())  # a hub installed without `make install`
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)
    expect(page.locator("#dash-error")).to_contain_text("the chart library is missing on the HQ server")
    expect(page.locator("#summary").get_by_role("row", name=re.compile(r"^north\b"))).to_contain_text("77.50")
