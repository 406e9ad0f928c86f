"""The lane PWA in a real Chromium against a real edge: sign-in, scanning, search, cash sales,
and offline sales that replay exactly once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow

BULK = 30_000
ESPRESSO = "2000000000015"  # COF-0001 "Espresso beans 250g", 27.18 in the demo catalog


def sign_in(page: Any, lane: str = "1", pin: str = "1234") -> None:
    page.goto("/")
    page.get_by_role("button", name=f"Lane {lane}").click()
    for digit in pin:
        page.locator("#pinpad").get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_contain_text(f"Lane {lane} · cashier")
    expect(page.locator("#catalog-status")).to_contain_text("catalog v")


def scan(page: Any, barcode: str) -> None:
    # A keyboard-wedge scanner types the digits into the focused field and presses Enter.
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type(barcode)
    page.keyboard.press("Enter")


def order_count(server: EdgeServer) -> int:
    with api(server) as client:
        total, cursor = 0, None
        while True:
            body = client.get("/api/v1/orders", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
            total += len(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                return total


def test_cashier_scans_pays_cash_and_sees_change_and_receipt(page: Any) -> None:
    sign_in(page)
    shot(page, "lane-signed-in")
    scan(page, ESPRESSO)
    scan(page, ESPRESSO)
    line = page.locator("#cart-lines li")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("Espresso beans 250g")
    expect(line.locator("output")).to_have_text("2")
    expect(page.locator("#total")).to_have_text("$55.45")  # 2 x 27.18 + 2 % food tax
    shot(page, "lane-cart")

    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#amount-due")).to_have_text("$55.45")
    page.locator("#tendered-input").fill("100")
    shot(page, "lane-tender")
    page.get_by_role("button", name="Take cash").click()

    expect(page.locator("#change-due")).to_have_text("$44.55")
    receipt = page.frame_locator("#receipt-frame")
    expect(receipt.get_by_text("TOTAL USD")).to_be_visible()
    expect(receipt.get_by_text("2x Espresso beans 250g")).to_be_visible()
    shot(page, "lane-receipt")
    page.get_by_role("button", name="New sale").click()
    expect(page.locator("#cart-empty")).to_be_visible()
    expect(page.locator("#scan-input")).to_be_focused()


def test_a_large_discount_is_approved_by_the_supervisors_pin_at_the_lane(page: Any, web_server: EdgeServer) -> None:
    sign_in(page)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Discount").click()
    page.locator("#discount-input").fill("10")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#discount")).to_have_text("−$10.00")

    page.get_by_role("button", name="Cash", exact=True).click()
    approval = page.locator("#approval-dialog")
    expect(approval).to_be_visible()
    expect(page.locator("#approval-reason")).to_contain_text("$10.00 off this sale needs a supervisor")
    page.locator("#approval-pin").fill("1234")  # the cashier's own PIN does not approve anything
    approval.get_by_role("button", name="Approve").click()
    expect(page.locator("#approval-error")).to_contain_text("not a supervisor's PIN")
    page.locator("#approval-pin").fill("2468")
    shot(page, "lane-supervisor-approval")
    approval.get_by_role("button", name="Approve").click()

    # The edge priced it: 27.18 - 10.00 = 17.18, plus 2 % food tax on what was paid.
    expect(page.locator("#amount-due")).to_have_text("$17.52")
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#change-due")).to_have_text("$0.00")
    number = page.locator("#receipt-title").inner_text().split()[1]
    with api(web_server) as client:
        [order] = [o for o in client.get("/api/v1/orders", params={"number": number}).json()["items"]]
        assert order["discount_cents"] == 1000 and order["total_cents"] == 1752
        trail = client.get("/api/v1/audit", params={"entity_id": order["id"], "action": "order.created"}).json()
        assert trail["items"][0]["after"]["override_by"] == "manager"


def test_unknown_barcode_is_explained_and_the_cart_is_unchanged(page: Any) -> None:
    sign_in(page)
    scan(page, "4000000000000")
    expect(page.locator("#sale-error")).to_have_text("No product with barcode or SKU 4000000000000.")
    expect(page.locator("#cart-lines li")).to_have_count(0)


def test_search_finds_a_product_by_name_and_adds_it(page: Any) -> None:
    sign_in(page)
    page.keyboard.press("F2")
    page.locator("#search-input").fill("croissant")
    first = page.locator("#results .result").first
    expect(first).to_contain_text("Croissant")
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^\d+ products?$"))
    shot(page, "lane-search")
    page.keyboard.press("Enter")
    expect(page.locator("#cart-lines li")).to_contain_text("Croissant")


def test_search_list_renders_only_the_visible_rows(page: Any) -> None:
    sign_in(page)
    total = int(page.locator("#result-count").inner_text().split()[0].replace(",", ""))
    assert total >= 150
    rendered = page.locator("#results .result").count()
    assert 0 < rendered < 40, rendered
    page.locator("#results").evaluate("el => el.scrollTop = el.scrollHeight")
    expect(page.locator("#results .result").last).to_be_visible()
    assert page.locator("#results .result").count() < 40


def test_a_large_catalog_searches_and_scrolls_with_only_visible_rows_rendered(page: Any) -> None:
    # 30k keeps the suite quick; with 100k (BULK = 100_000) it passes the same way, the IndexedDB
    # writes in the setup are what takes the time.
    sign_in(page)  # creates the lane's IndexedDB; then the bulk products go into its cache
    # The store's own catalog: the demo's 200, plus any product an earlier test of this server added.
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^[\d,]+ products$"))
    own = int(page.locator("#result-count").inner_text().split()[0].replace(",", ""))
    page.evaluate("""(count) => new Promise((resolve, reject) => {
        const open = indexedDB.open("novapos-lane");
        open.onsuccess = () => {
            const tx = open.result.transaction("products", "readwrite");
            const store = tx.objectStore("products");
            for (let i = 0; i < count; i++) {
                store.put({id: `bulk-${i}`, sku: `BULK-${i}`, name: `Bulk item ${i}`, barcodes: [`9${String(i).padStart(12, "0")}`],
                           price_cents: 100 + (i % 900), tax_category: "standard", active: true, version: 0, sold_by_weight: false});
            }
            tx.oncomplete = () => { open.result.close(); resolve(); };
            tx.onerror = () => reject(tx.error);
        };
        open.onerror = () => reject(open.error);
    })""", BULK)
    page.reload()  # the session survives a reload; the catalog now loads from IndexedDB
    expect(page.locator("#catalog-status")).to_contain_text("catalog v")
    expect(page.locator("#result-count")).to_have_text(f"{BULK + own:,} products")
    assert page.locator("#results .result").count() < 40
    page.locator("#results").evaluate("el => el.scrollTop = el.scrollHeight / 2")
    expect(page.locator("#results .result").first).to_contain_text("Bulk item")
    assert page.locator("#results .result").count() < 40
    page.keyboard.press("F2")
    page.locator("#search-input").fill(f"bulk item {BULK - 1}")
    expect(page.locator("#result-count")).to_have_text("1 product")
    page.keyboard.press("Enter")
    expect(page.locator("#cart-lines li")).to_contain_text(f"Bulk item {BULK - 1}")
    shot(page, "lane-large-catalog")


def test_offline_sale_is_queued_then_replayed_once_and_accepted(page: Any, web_server: EdgeServer) -> None:
    before = order_count(web_server)
    sign_in(page)
    page.context.set_offline(True)
    expect(page.locator("#net-status")).to_contain_text("Offline")
    scan(page, ESPRESSO)  # from the lane's IndexedDB catalog, no server needed
    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#tender-note")).to_contain_text("Offline")
    page.locator("#tendered-input").fill("30")
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#receipt-title")).to_have_text("Sale saved offline")
    expect(page.locator("#change-due")).to_have_text("$2.28")
    shot(page, "lane-offline-queued")
    page.get_by_role("button", name="New sale").click()
    expect(page.locator("#queue-count")).to_have_text("1")
    assert order_count(web_server) == before

    page.context.set_offline(False)
    expect(page.locator("#net-status")).to_have_text("Online")
    page.locator("#queue-badge").click()
    verdict = page.locator("#verdict-list li")
    expect(verdict).to_have_count(1)
    expect(verdict.locator(".verdict-label")).to_have_text("accepted")
    expect(page.locator("#queue-list li")).to_have_count(0)
    shot(page, "lane-offline-replayed")

    page.get_by_role("button", name="Send now").click()  # replaying again sends nothing new
    expect(page.locator("#verdict-list li")).to_have_count(1)
    assert order_count(web_server) == before + 1
    with api(web_server) as client:
        lanes = client.get("/api/v1/lanes/queue-status").json()["items"]
    assert any(str(q.get("lane_id")) == "1" and q.get("queued") == 0 for q in lanes), lanes


def test_a_replay_whose_answer_was_lost_is_recorded_once_as_duplicate(page: Any, web_server: EdgeServer) -> None:
    before = order_count(web_server)
    sign_in(page)
    page.context.set_offline(True)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("button", name="Take cash").click()  # empty field = exact amount
    page.get_by_role("button", name="New sale").click()

    # The edge commits the sale, but the lane never hears back (Wi-Fi drops mid-answer).
    lost: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()
            lost.append(route.request.headers.get("idempotency-key", ""))
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/orders", lose_first_answer)
    page.context.set_offline(False)
    for _ in range(100):
        if lost:
            break
        page.wait_for_timeout(100)
    assert lost, "the lane did not replay its queued sale when it came back online"
    expect(page.locator("#queue-count")).to_have_text("1")  # still queued: the lane cannot know
    page.locator("#queue-badge").click()
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#verdict-list li .verdict-label")).to_have_text("duplicate (already recorded)")
    shot(page, "lane-offline-duplicate")
    assert order_count(web_server) == before + 1
