"""A tenant selling in two currencies: the HQ charts show one currency at a time, chosen in the
page, never one sum of dollars and euros; narrowed to one store, they are in its currency."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.webui.hq_hub import HqHub, days_ago, drawn, hq, page, sale, shot, sign_in  # noqa: F401


def in_currency(payload: dict[str, Any], currency: str) -> dict[str, Any]:
    return {**payload, "currency": currency}


@pytest.fixture(scope="module", autouse=True)
def two_currencies(hq: HqHub) -> None:
    hq.replicate([("north", days_ago(2), "order.completed", sale(1250, sku="A", location="north"))])
    hq.replicate([("paris", days_ago(2), "order.completed",
                   in_currency(sale(2000, sku="A", location="paris", method="card"), "EUR"))])


def test_the_charts_show_one_currency_at_a_time_and_a_store_in_its_own(page: Any, hq: HqHub) -> None:
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)
    currency = page.locator("#currency")  # the label also names two loyalty-program fields
    expect(currency).to_be_visible()
    assert currency.locator("option").all_inner_texts() == ["EUR", "USD"]

    currency.select_option("USD")
    page.wait_for_function("() => document.getElementById('chart-range').textContent !== ''")
    expect(page.locator("#chart-sales-empty")).to_be_hidden()
    page.wait_for_function("""() => echarts.getInstanceByDom(document.getElementById('chart-sales'))
        .getOption().legend[0].data[0] === 'Net sales (USD)'""")
    assert sum(drawn(page, "chart-sales")["series"][0]) == 1250
    assert drawn(page, "chart-stores")["y"][0] == ["north"]

    currency.select_option("EUR")
    page.wait_for_function("""() => echarts.getInstanceByDom(document.getElementById('chart-sales'))
        .getOption().legend[0].data[0] === 'Net sales (EUR)'""")
    assert sum(drawn(page, "chart-sales")["series"][0]) == 2000
    assert dict(drawn(page, "chart-tenders")["series"][0]) == {"card": 2000}
    shot(page, "hq-charts-eur")

    page.get_by_label("Charts for").select_option("north")
    expect(page.locator("#chart-range")).to_contain_text("store north")
    expect(page.locator("#currency-pick")).to_be_hidden()
    page.wait_for_function("""() => echarts.getInstanceByDom(document.getElementById('chart-sales'))
        .getOption().legend[0].data[0] === 'Net sales (USD)'""")
    assert sum(drawn(page, "chart-sales")["series"][0]) == 1250
    assert dict(drawn(page, "chart-tenders")["series"][0]) == {"cash": 1250}
