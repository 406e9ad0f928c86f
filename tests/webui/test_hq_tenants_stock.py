"""A super-admin switches tenant from the hub's tenant list (never a typed id), and stock across
locations is filtered and paged in Chromium instead of one long scroll box."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.webui.hq_hub import HqHub, days_ago, hq, page, received, sale, shot, sign_in  # noqa: F401

SKUS = [f"P-{n:03d}" for n in range(30)]


@pytest.fixture(scope="module", autouse=True)
def two_tenants(hq: HqHub) -> None:
    hq.tenant("acme", "Acme retail")
    hq.tenant("rival", "Rival stores")
    # 30 SKUs at two stores: 60 levels; every third one at or below the reorder point (5).
    hq.replicate([(store, days_ago(5), "stock.moved", received(store, sku, 3 if n % 3 == 0 else 20))
                  for n, sku in enumerate(SKUS) for store in ("north", "south")])
    hq.replicate([("north", days_ago(1), "order.completed", sale(1500, sku="P-001", location="north"))])
    hq.replicate([("rival-1", days_ago(1), "order.completed", sale(5000, sku="R", location="rival-1"))],
                 tenant="rival")


def test_a_super_admin_switches_tenant_from_the_list(page: Any, hq: HqHub) -> None:
    boss, secret = hq.add(["super_admin"], totp=True)
    sign_in(page, boss, secret)
    summary = page.locator("#summary")
    expect(summary).to_contain_text("north")
    tenant = page.get_by_label("Tenant")
    assert tenant.locator("option").all_inner_texts() == ["Acme retail (acme)", "Rival stores (rival)"]
    expect(tenant.locator("option:checked")).to_have_text("Acme retail (acme)")

    tenant.select_option(label="Rival stores (rival)")
    expect(summary.get_by_role("row", name=re.compile(r"^rival-1\b"))).to_contain_text("50.00")
    expect(summary).not_to_contain_text("north")
    page.wait_for_function("""() => { const c = echarts.getInstanceByDom(document.getElementById('chart-stores'));
        return c && JSON.stringify(c.getOption().yAxis[0].data) === '["rival-1"]'; }""")
    shot(page, "hq-tenant-switched")

    tenant.select_option(label="Acme retail (acme)")
    expect(summary).to_contain_text("north")
    expect(summary).not_to_contain_text("rival-1")


def test_a_tenant_admin_has_no_tenant_list(page: Any, hq: HqHub) -> None:
    admin, secret = hq.add(["tenant_admin"], totp=True)
    sign_in(page, admin, secret)
    expect(page.locator("#summary")).to_contain_text("north")
    expect(page.locator("#tenant-switch")).to_be_hidden()


def test_stock_across_locations_is_paged_and_filtered(page: Any, hq: HqHub) -> None:
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)
    panel = page.locator("#stock-panel")
    rows = page.locator("#stock tr:has(td)")
    pager = page.locator("#stock-page")
    expect(pager).to_have_text("1–25 of 60")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("P-000")
    panel.get_by_role("button", name="Next").click()
    expect(pager).to_have_text("26–50 of 60")
    expect(rows.first).to_contain_text("P-012")
    panel.get_by_role("button", name="Next").click()
    expect(pager).to_have_text("51–60 of 60")
    expect(rows).to_have_count(10)
    expect(panel.get_by_role("button", name="Next")).to_be_disabled()
    panel.get_by_role("button", name="Previous").click()
    expect(pager).to_have_text("26–50 of 60")

    panel.get_by_label("SKU").fill("p-01")
    panel.get_by_role("button", name="Filter").click()
    expect(pager).to_have_text("1–20 of 20")  # P-010 … P-019 at two stores, from the first page again
    panel.get_by_label("Store").select_option("south")
    expect(pager).to_have_text("1–10 of 10")
    expect(rows.filter(has_text="north")).to_have_count(0)
    panel.get_by_label("Low stock only").check()
    expect(pager).to_have_text("1–3 of 3")  # P-012, P-015, P-018 at south
    expect(page.locator("#stock td.bad")).to_have_count(3)
    shot(page, "hq-stock-filtered")

    panel.get_by_label("SKU").fill("nothing-like-it")
    panel.get_by_role("button", name="Filter").click()
    expect(page.locator("#stock")).to_contain_text("No stock level matches these filters.")
