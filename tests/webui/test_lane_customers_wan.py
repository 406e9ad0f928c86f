"""Customers at the lane with a live HQ whose link is then cut, every part real: a nats-server
started here, `novapos-cloud serve`, two `novapos-edge serve` stores, and Chromium on store A's lane.

WAN up: a customer who signed up at store B is found at store A's lane by phone through HQ, the
360 shows HQ's balance, tier and both stores' purchases, and points pay part of a sale. The
nats-server is killed: the lane still finds the now-cached customer, caps points at the offline
allowance (and says so above it), and signs up and sells to a new customer. The server restarts
on the same port and store: HQ has the new customer's key (store B finds them) and the offline
redemption in its ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.cloud.conftest import NatsServer
from tests.cloud.test_customers_e2e import lookup, query, sell, sign_up, start_store, unique_person
from tests.support import CloudServer, EdgeServer, login, wait_until
from tests.webui.helpers import browser_page, shot
from tests.webui.test_lane import ESPRESSO, scan, sign_in
from tests.webui.test_lane_customers import PROGRAM, is_order_post

pytestmark = pytest.mark.slow

LONG = 120.0  # the first events cross a freshly started hub: stream creation and sourcing take a while


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "js")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hub(tmp_path: Path, nats: NatsServer) -> Iterator[CloudServer]:
    directory = tmp_path / "hub"
    directory.mkdir()
    server = CloudServer(directory)
    server.start(["--nats-url", nats.url])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stores(tmp_path: Path, demo_dir: Path, hub: CloudServer, nats: NatsServer) -> Iterator[tuple[EdgeServer, EdgeServer]]:
    dir_b = tmp_path / "store-b"
    dir_b.mkdir()
    store_a = start_store(demo_dir, nats.url)
    try:
        store_b = start_store(dir_b, nats.url, "demo-002")
        try:
            yield store_a, store_b
        finally:
            store_b.stop()
    finally:
        store_a.stop()


def hq_ledger(hq: httpx.Client, admin: dict[str, str], customer_id: str) -> dict[str, Any]:
    got = hq.get(f"/api/v1/hq/customers/{customer_id}/loyalty/ledger", headers=admin)
    assert got.status_code == 200, got.text
    return got.json()


def entries_at_hq(hq: httpx.Client, admin: dict[str, str], customer_id: str, *wanted: tuple[str, str]) -> dict | None:
    """HQ's ledger once it holds an entry of each (kind, store) in `wanted`."""
    ledger = hq_ledger(hq, admin, customer_id)
    have = {(e["kind"], e["store_id"]) for e in ledger["items"]}
    return ledger if set(wanted) <= have else None


def redemptions_at_hq(hq: httpx.Client, admin: dict[str, str], customer_id: str, count: int) -> list | None:
    got = [(e["store_id"], e["points"], e["offline"]) for e in hq_ledger(hq, admin, customer_id)["items"]
           if e["kind"] == "redeem"]
    return got if len(got) == count else None


def find_at_lane(page: Any, query: str, customer_id: str) -> Any:
    page.get_by_role("button", name="Customer", exact=True).click()
    page.get_by_label("Phone, email or card").fill(query)
    page.get_by_role("button", name="Find").click()
    result = page.locator(f"#customer-results li[data-customer='{customer_id}']")
    expect(result).to_be_visible()
    return result


def take_exact_cash(page: Any, order: dict[str, Any]) -> None:
    """Pay the rest in cash and wait for this sale's receipt (the dialog keeps the previous sale's
    title while hidden, so a bare "complete" would match before this one is paid)."""
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#receipt-dialog")).to_be_visible()
    expect(page.locator("#receipt-title")).to_have_text(f"Sale {order['number']} complete")


def pay_with_points(page: Any, refused: int | None, points: int) -> dict[str, Any]:
    """Tender the attached sale: `refused` points first (the lane says no), then `points`, the rest cash."""
    with page.expect_response(is_order_post) as created:
        page.get_by_role("button", name="Cash", exact=True).click()
    order = created.value.json()
    if refused is not None:
        expect(page.locator("#points-note")).to_contain_text(f"Up to {points} points")
        expect(page.locator("#points-note")).to_contain_text("offline allowance")
        page.locator("#points-input").fill(str(refused))
        page.get_by_role("button", name="Use points").click()
        expect(page.locator("#tender-error")).to_contain_text(f"At most {points} points")
    page.locator("#points-input").fill(str(points))
    page.get_by_role("button", name="Use points").click()
    expect(page.locator("#amount-due")).to_have_text(f"${(order['total_cents'] - points) / 100:.2f}")
    take_exact_cash(page, order)
    return order


def test_the_lane_serves_customers_through_hq_then_from_its_cache_while_the_wan_is_cut_and_hq_catches_up(
        browser: Any, hub: CloudServer, stores: tuple[EdgeServer, EdgeServer], nats: NatsServer) -> None:
    store_a, store_b = stores
    member, newcomer = unique_person(), unique_person()
    with httpx.Client(base_url=hub.url, timeout=30) as hq, httpx.Client(base_url=store_a.url, timeout=30) as a, \
            httpx.Client(base_url=store_b.url, timeout=30) as b, \
            browser_page(browser, store_a.url, "lane-customers-wan", height=900) as page:
        admin = login(hq, "hq")
        changed = hq.patch("/api/v1/hq/policies", json={"loyalty": PROGRAM}, headers=admin)
        assert changed.status_code == 200, changed.text
        for edge in (a, b):
            manager = login(edge, "manager")
            wait_until(lambda e=edge, m=manager: e.get("/api/v1/policy", headers=m).json()["policy"]
                       .get("loyalty", {}).get("enabled"), timeout=LONG, what="the program at the store")
        cashier_a, cashier_b = login(a, "cashier"), login(b, "cashier")

        # The member signs up at store B, gets a welcome bonus from HQ and buys there.
        made = wait_until(lambda: sign_up(b, cashier_b, member), timeout=LONG, what="store B's tenant key from HQ")
        assert made.status_code == 201, made.text
        cid = made.json()["customer_id"]
        wait_until(lambda: hq.post(f"/api/v1/hq/customers/{cid}/loyalty/adjustments",
                                   json={"points": 800, "reason": "welcome"}, headers=admin).status_code == 201,
                   timeout=LONG, what="HQ to know the member")
        order_b = sell(b, cashier_b, cid)
        balance = wait_until(lambda: entries_at_hq(hq, admin, cid, ("earn", "demo-002")), timeout=LONG,
                             what="store B's points at HQ")["balance_points"]

        # WAN up: store A's lane finds them by phone through HQ, the 360 shows HQ's figures.
        sign_in(page)
        scan(page, ESPRESSO)
        result = find_at_lane(page, member["phone"], cid)
        expect(result).to_contain_text(member["name"])
        expect(result).not_to_contain_text(member["email"])
        result.get_by_role("button", name="Open").click()
        expect(page.locator("#cv-balance")).to_have_text(f"{balance} pts")
        expect(page.locator("#cv-tier")).to_have_text("Member")
        expect(page.locator("#cv-source")).to_have_count(0)
        expect(page.locator("#cv-purchases")).to_contain_text("Recent purchases (1)")
        expect(page.locator("#cv-purchases")).to_contain_text("demo-002")
        page.get_by_role("button", name="Attach to sale").click()
        expect(page.locator("#sale-customer")).to_contain_text(member["name"])
        order_a = pay_with_points(page, None, 200)
        assert order_a["customer_id"] == cid
        page.get_by_role("button", name="New sale").click()

        # HQ has this sale's redemption and earn; the 360 now shows both stores' purchases.
        ledger = wait_until(lambda: entries_at_hq(hq, admin, cid, ("redeem", "demo-001"), ("earn", "demo-001")),
                            timeout=LONG, what="store A's points at HQ")
        balance = ledger["balance_points"]
        [earned_a] = [e["points"] for e in ledger["items"] if e["kind"] == "earn" and e["store_id"] == "demo-001"]
        [earned_b] = [e["points"] for e in ledger["items"] if e["kind"] == "earn" and e["store_id"] == "demo-002"]
        assert earned_a > 0 and earned_b > 0
        assert redemptions_at_hq(hq, admin, cid, 1) == [("demo-001", -200, False)]
        find_at_lane(page, member["phone"], cid).get_by_role("button", name="Open").click()
        expect(page.locator("#cv-purchases")).to_contain_text("Recent purchases (2)")
        purchases = page.locator("#cv-purchases li")
        expect(purchases.filter(has_text="demo-001")).to_contain_text(
            f"${order_a['total_cents'] / 100:.2f} · +{earned_a} pts")
        expect(purchases.filter(has_text="demo-002")).to_contain_text(
            f"${order_b['total_cents'] / 100:.2f} · +{earned_b} pts")
        expect(page.locator("#cv-balance")).to_have_text(f"{balance} pts")
        shot(page, "lane-customer-360-two-stores")
        page.locator("#customer-dialog").get_by_role("button", name="Close").click()

        # The WAN is cut.
        nats.kill9()
        wait_until(lambda: a.get(f"/api/v1/customers/{cid}", headers=cashier_a).json()["offline"], timeout=LONG,
                   what="store A to notice HQ is out of reach")
        scan(page, ESPRESSO)
        find_at_lane(page, member["phone"], cid).get_by_role("button", name="Open").click()
        expect(page.locator("#cv-source")).to_contain_text("HQ is not reachable")
        expect(page.locator("#cv-balance")).to_have_text(f"{balance} pts")
        expect(page.locator("#cv-redeemable")).to_contain_text("300 pts")
        page.get_by_role("button", name="Attach to sale").click()
        offline_order = pay_with_points(page, 400, 300)
        assert offline_order["customer_id"] == cid
        shot(page, "lane-wan-cut-points")
        page.get_by_role("button", name="New sale").click()

        # A new customer signs up at the lane with HQ out of reach, and buys.
        scan(page, ESPRESSO)
        page.get_by_role("button", name="Customer", exact=True).click()
        page.get_by_role("button", name="New customer").click()
        dialog = page.locator("#customer-dialog")
        dialog.get_by_label("Name", exact=True).fill(newcomer["name"])
        dialog.get_by_label("Email", exact=True).fill(newcomer["email"])
        dialog.get_by_label("Phone", exact=True).fill(newcomer["phone"])
        dialog.get_by_role("button", name="Sign up and attach").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#sale-customer")).to_contain_text(newcomer["name"])
        with page.expect_response(is_order_post) as created:
            page.get_by_role("button", name="Cash", exact=True).click()
        new_order = created.value.json()
        new_cid = new_order["customer_id"]
        assert new_cid and new_cid != cid
        take_exact_cash(page, new_order)
        page.get_by_role("button", name="New sale").click()
        assert lookup(a, cashier_a, newcomer["phone"]) == [new_cid]

        # The link heals: HQ escrows the newcomer's key, finds them from store B, and has the
        # offline redemption and the newcomer's sale.
        nats.start()
        entries = wait_until(lambda: redemptions_at_hq(hq, admin, cid, 2), timeout=LONG,
                             what="the offline redemption at HQ")
        assert sorted(entries) == [("demo-001", -300, True), ("demo-001", -200, False)]
        assert wait_until(lambda: lookup(b, cashier_b, newcomer["phone"]), timeout=LONG,
                          what="store B to find the newcomer through HQ") == [new_cid]
        found = hq.get("/api/v1/hq/customers", params={"q": newcomer["email"]}, headers=admin).json()["items"]
        assert [c["customer_id"] for c in found] == [new_cid]
        wait_until(lambda: [x["order_id"] for x in hq.get(f"/api/v1/hq/customers/{new_cid}", headers=admin)
                            .json()["recent_purchases"]] == [new_order["id"]], timeout=LONG,
                   what="HQ to link the newcomer's sale")
        seen_at_b = b.get(f"/api/v1/customers/{new_cid}", headers=cashier_b).json()
        assert (seen_at_b["email"], seen_at_b["home_store_id"]) == (newcomer["email"], "demo-001")
        cloud_db = Path(hub.db_url.removeprefix("sqlite:///"))
        assert query(cloud_db, "SELECT count(*) FROM hq_customer_keys WHERE customer_id = ?", new_cid) == [(1,)]

        # Back online, the lane's 360 is HQ's again, with the offline sale's points counted.
        balance = wait_until(lambda: (got := hq_ledger(hq, admin, cid))["items"] and any(
            e["kind"] == "earn" and e["order_id"] == offline_order["id"] for e in got["items"]) and got,
            timeout=LONG, what="the offline sale's points at HQ")["balance_points"]
        find_at_lane(page, member["phone"], cid).get_by_role("button", name="Open").click()
        expect(page.locator("#cv-source")).to_have_count(0)
        expect(page.locator("#cv-balance")).to_have_text(f"{balance} pts")
        expect(page.locator("#cv-purchases")).to_contain_text("Recent purchases (3)")
