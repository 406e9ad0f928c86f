"""Customers at the lane in a real Chromium against a real edge process: sign-up with clear
errors, lookup by phone with contact details masked until tapped, the 360 panel, attach and
detach, a scanned loyalty card attaching its customer, points paying part of a sale, a sale
queued while the lane cannot reach the store server still carrying its customer, and, with the
store's WAN down (HQ out of reach), the store's cached customer served and points capped at
the offline allowance."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer, free_port, wait_until
from tests.webui.helpers import api, browser_page, shot
from tests.webui.test_admin_policy import apply_hq_policy
from tests.webui.test_lane import ESPRESSO, scan, sign_in

pytestmark = pytest.mark.slow

# One point is worth a cent, at least 100 at a time; 300 while HQ is out of reach.
PROGRAM = {"enabled": True, "points_per_unit": 1, "point_value_cents": 1, "min_redeem_points": 100,
           "offline_cap_points": 300,
           "tiers": [{"name": "Member", "threshold_points": 0}, {"name": "Gold", "threshold_points": 1000}]}


def start_edge(data_dir: Path, **env: str) -> EdgeServer:
    server = EdgeServer(data_dir, free_port(), extra_env=env)
    server.start(timeout=60)
    return server


def program_in_force(server: EdgeServer) -> None:
    """HQ's policy with the loyalty program, applied as the inbox applies it; the store follows it
    on its next read of the database."""
    apply_hq_policy(server, 1, loyalty=PROGRAM)
    with api(server) as client:
        wait_until(lambda: client.get("/api/v1/policy").json()["version"] == 1, timeout=15, what="policy version 1")


@pytest.fixture(scope="module")
def edge(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """A standalone store of this module's own (it mints its tenant key), with the program on."""
    data_dir = tmp_path_factory.mktemp("lane-customers") / "store"
    shutil.copytree(demo_template, data_dir)
    server = start_edge(data_dir)
    try:
        program_in_force(server)
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any, edge: EdgeServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    with browser_page(browser, edge.url, request.node.name, height=900) as page:
        yield page


def unique_contact() -> tuple[str, str]:
    tag = uuid.uuid4().int
    return f"shopper.{tag % 10**8}@example.com", f"+1 415 555 {tag % 10**4:04d}"


def create_customer(server: EdgeServer, name: str, *, points: int = 0) -> dict[str, Any]:
    email, phone = unique_contact()
    with api(server) as client:
        made = client.post("/api/v1/customers", json={"name": name, "email": email, "phone": phone,
                                                      "consents": {"marketing": True, "e_receipts": False}},
                           headers={"Idempotency-Key": uuid.uuid4().hex})
        assert made.status_code == 201, made.text
        customer = made.json()
        if points:
            given = client.post(f"/api/v1/customers/{customer['customer_id']}/loyalty/adjustments",
                                json={"points": points, "reason": "welcome bonus"},
                                headers={"Idempotency-Key": uuid.uuid4().hex})
            assert given.status_code == 201, given.text
    return customer


def search(server: EdgeServer, q: str) -> list[dict[str, Any]]:
    with api(server) as client:
        found = client.get("/api/v1/customers", params={"q": q})
        assert found.status_code == 200, found.text
        return found.json()["items"]


def ledger(server: EdgeServer, customer_id: str) -> dict[str, Any]:
    with api(server) as client:
        return client.get(f"/api/v1/customers/{customer_id}/loyalty/ledger").json()


def is_order_post(response: Any) -> bool:
    return response.request.method == "POST" and response.url.endswith("/api/v1/orders")


def pay_exact_cash(page: Any) -> None:
    page.get_by_role("button", name="Take cash").click()
    # The hidden dialog's title already reads "Sale complete": wait for the receipt itself.
    expect(page.locator("#receipt-dialog")).to_be_visible()
    expect(page.locator("#receipt-title")).to_contain_text("complete")


def test_a_cashier_signs_up_a_customer_with_clear_errors_and_the_sale_carries_them(page: Any, edge: EdgeServer) -> None:
    email, phone = unique_contact()
    sign_in(page)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Customer", exact=True).click()
    page.get_by_role("button", name="New customer").click()
    dialog = page.locator("#customer-dialog")
    dialog.get_by_label("Name", exact=True).fill("Grace Hopper")
    dialog.get_by_label("Email", exact=True).fill("grace-at-example")
    dialog.get_by_role("button", name="Sign up and attach").click()
    expect(page.locator("#signup-email-error")).to_contain_text("not an email address")
    assert search(edge, "grace-at-example@example.com") == []

    dialog.get_by_label("Email", exact=True).fill(email)
    dialog.get_by_label("Phone", exact=True).fill(phone)
    dialog.get_by_label("Wants offers by email or text (marketing)").check()
    dialog.get_by_role("button", name="Sign up and attach").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#sale-customer")).to_contain_text("Grace Hopper")
    [found] = search(edge, email)
    assert found["name"] == "Grace Hopper" and email not in str(found)  # the search answers masked

    with page.expect_response(is_order_post) as created:
        page.get_by_role("button", name="Cash", exact=True).click()
    assert created.value.json()["customer_id"] == found["customer_id"]
    pay_exact_cash(page)
    # The receipt names the member by their card code (printed as a barcode too), not by contact details.
    receipt = page.frame_locator("#receipt-frame").locator("body")
    expect(receipt).to_contain_text(f"Member card {found['card_code']}")
    expect(receipt).not_to_contain_text(email)
    shot(page, "lane-customer-signed-up-receipt")
    page.get_by_role("button", name="New sale").click()
    expect(page.locator("#sale-customer")).to_be_hidden()

    # The same email again is refused, and the cashier can open the customer who has it.
    page.get_by_role("button", name="Customer", exact=True).click()
    page.get_by_role("button", name="New customer").click()
    dialog.get_by_label("Name", exact=True).fill("Someone Else")
    dialog.get_by_label("Email", exact=True).fill(email)
    dialog.get_by_role("button", name="Sign up and attach").click()
    expect(page.locator("#signup-error")).to_contain_text("exists already")
    page.get_by_role("button", name="Open that customer").click()
    expect(page.locator("#cv-name")).to_have_text("Grace Hopper")
    assert len(search(edge, email)) == 1


def test_lookup_by_phone_masks_contact_until_tapped_shows_the_360_and_attaches_then_detaches(
        page: Any, edge: EdgeServer) -> None:
    customer = create_customer(edge, "Ada Lovelace", points=700)
    email, phone = customer["email"], customer["phone"]
    sign_in(page)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Customer", exact=True).click()
    page.get_by_label("Phone, email or card").fill(phone)
    page.get_by_role("button", name="Find").click()
    result = page.locator(f"#customer-results li[data-customer='{customer['customer_id']}']")
    expect(result).to_contain_text("Ada Lovelace")
    expect(result).to_contain_text("700 pts")
    expect(result).not_to_contain_text(email)
    expect(result).not_to_contain_text(phone)

    result.get_by_role("button", name="Open").click()
    expect(page.locator("#cv-balance")).to_have_text("700 pts")
    expect(page.locator("#cv-tier")).to_have_text("Member")
    expect(page.locator("#cv-progress")).to_contain_text("to Gold")
    expect(page.locator("#cv-redeemable")).to_contain_text("$7.00")
    expect(page.locator("#cv-marketing")).to_contain_text("yes")
    expect(page.locator("#cv-ereceipts")).to_have_text("no")
    page.get_by_role("button", name="Agree to e-receipts").click()
    expect(page.locator("#cv-ereceipts")).to_contain_text("yes (since")
    expect(page.get_by_role("button", name="Withdraw e-receipts")).to_be_visible()
    with api(edge) as client:
        consents = client.get(f"/api/v1/customers/{customer['customer_id']}").json()["consents"]
    assert consents["e_receipts"] is True and consents["e_receipts_at"] and consents["marketing"] is True
    expect(page.locator("#cv-purchases")).to_contain_text("Recent purchases (0)")
    expect(page.locator("#cv-email")).not_to_have_text(email)
    page.get_by_role("button", name="Show contact").click()
    expect(page.locator("#cv-email")).to_have_text(email)
    expect(page.locator("#cv-phone")).to_have_text(phone)
    shot(page, "lane-customer-360")

    page.get_by_role("button", name="Attach to sale").click()
    expect(page.locator("#sale-customer")).to_contain_text("Ada Lovelace")
    expect(page.locator("#sale-customer")).to_contain_text("700 pts")
    page.locator("#sale-customer").get_by_role("button", name="Detach").click()
    expect(page.locator("#sale-customer")).to_be_hidden()
    with page.expect_response(is_order_post) as created:
        page.get_by_role("button", name="Cash", exact=True).click()
    assert created.value.json()["customer_id"] is None
    pay_exact_cash(page)


def test_a_scanned_card_attaches_its_customer_and_points_pay_part_of_the_sale(page: Any, edge: EdgeServer) -> None:
    customer = create_customer(edge, "Alan Turing", points=500)
    sign_in(page)
    scan(page, ESPRESSO)  # 27.18
    scan(page, customer["card_code"])
    expect(page.locator("#sale-customer")).to_contain_text("Alan Turing")
    expect(page.locator("#cart-lines li")).to_have_count(1)  # a card is not a product

    with page.expect_response(is_order_post) as created:
        page.get_by_role("button", name="Cash", exact=True).click()
    order = created.value.json()
    assert order["customer_id"] == customer["customer_id"]
    expect(page.locator("#points-note")).to_contain_text("Up to 500 points ($5.00)")
    page.locator("#points-input").fill("50")
    page.get_by_role("button", name="Use points").click()
    expect(page.locator("#tender-error")).to_contain_text("At least 100 points")
    page.locator("#points-input").fill("200")
    expect(page.locator("#points-value")).to_have_text("= $2.00")
    page.get_by_role("button", name="Use points").click()
    expect(page.locator("#amount-due")).to_have_text(f"${(order['total_cents'] - 200) / 100:.2f}")
    expect(page.locator("#points-note")).to_contain_text("200 points ($2.00) applied")
    shot(page, "lane-points-tender")
    pay_exact_cash(page)

    with api(edge) as client:
        paid = client.get(f"/api/v1/orders/{order['id']}").json()
    assert paid["status"] == "COMPLETED"
    assert sorted((t["method"], t["amount_cents"]) for t in paid["tenders"]) == [
        ("cash", order["total_cents"] - 200), ("points", 200)]
    entries = ledger(edge, customer["customer_id"])["items"]
    assert [e["points"] for e in entries if e["kind"] == "redeem" and e["order_id"] == order["id"]] == [-200]


def test_a_sale_queued_while_the_lane_is_offline_keeps_the_customer_whose_card_was_scanned(
        page: Any, edge: EdgeServer) -> None:
    customer = create_customer(edge, "Katherine Johnson")
    sign_in(page)
    scan(page, customer["card_code"])  # seen online: this tab knows the card now
    expect(page.locator("#sale-customer")).to_contain_text("Katherine Johnson")
    page.locator("#sale-customer").get_by_role("button", name="Detach").click()

    page.context.set_offline(True)
    expect(page.locator("#net-status")).to_contain_text("Offline")
    scan(page, ESPRESSO)
    scan(page, customer["card_code"])
    expect(page.locator("#sale-customer")).to_contain_text("Katherine Johnson")
    expect(page.locator("#sale-customer")).to_contain_text("as last seen")
    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#tender-note")).to_contain_text("Offline")
    expect(page.locator("#points-note")).to_contain_text("Points need the store server")
    page.locator("#tendered-input").fill("30")
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#receipt-title")).to_have_text("Sale saved offline")
    page.get_by_role("button", name="New sale").click()
    expect(page.locator("#sale-customer")).to_be_hidden()

    with page.expect_response(is_order_post, timeout=30_000) as replayed:
        page.context.set_offline(False)
    assert replayed.value.status == 201, replayed.value.text()
    assert replayed.value.json()["customer_id"] == customer["customer_id"]


# -- the store's WAN down: HQ out of reach ----------------------------------------------------------
@pytest.fixture(scope="module")
def cut_off(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EdgeServer, dict]]:
    """A store that knew a customer, restarted configured for an HQ it cannot reach (its NATS
    server is gone): the edge keeps serving, from its own cache."""
    data_dir = tmp_path_factory.mktemp("wan-down") / "store"
    shutil.copytree(demo_template, data_dir)
    server = start_edge(data_dir)
    try:
        program_in_force(server)
        customer = create_customer(server, "Hedy Lamarr", points=800)
    finally:
        server.stop()
    dead = f"nats://127.0.0.1:{free_port()}"
    server = start_edge(data_dir, NOVAPOS_NATS_URL=dead)
    try:
        yield server, customer
    finally:
        server.stop()


def test_with_the_wan_down_the_lane_serves_the_cached_customer_and_caps_points_at_the_offline_allowance(
        browser: Any, cut_off: tuple[EdgeServer, dict]) -> None:
    edge, customer = cut_off
    with browser_page(browser, edge.url, "lane-wan-down", height=900) as page:
        sign_in(page)
        scan(page, ESPRESSO)
        page.get_by_role("button", name="Customer", exact=True).click()
        page.get_by_label("Phone, email or card").fill(customer["email"])
        page.get_by_role("button", name="Find").click()
        result = page.locator(f"#customer-results li[data-customer='{customer['customer_id']}']")
        result.get_by_role("button", name="Open").click()
        expect(page.locator("#cv-source")).to_contain_text("HQ is not reachable")
        expect(page.locator("#cv-balance")).to_have_text("800 pts")
        expect(page.locator("#cv-redeemable")).to_contain_text("300 pts")
        page.get_by_role("button", name="Attach to sale").click()

        with page.expect_response(is_order_post) as created:
            page.get_by_role("button", name="Cash", exact=True).click()
        order = created.value.json()
        expect(page.locator("#points-note")).to_contain_text("Up to 300 points")
        expect(page.locator("#points-note")).to_contain_text("offline allowance")
        page.locator("#points-input").fill("400")
        page.get_by_role("button", name="Use points").click()
        expect(page.locator("#tender-error")).to_contain_text("At most 300 points")
        page.locator("#points-input").fill("300")
        page.get_by_role("button", name="Use points").click()
        expect(page.locator("#amount-due")).to_have_text(f"${(order['total_cents'] - 300) / 100:.2f}")
        shot(page, "lane-wan-down-points")
        pay_exact_cash(page)
    entries = ledger(edge, customer["customer_id"])["items"]
    assert [(e["points"], e["offline"]) for e in entries if e["order_id"] == order["id"] and e["kind"] == "redeem"] == [
        (-300, True)]
    assert httpx.get(f"{edge.url}/healthz", timeout=5).status_code == 200


def test_a_cashier_edits_name_email_and_phone_from_the_panel_with_errors_under_the_fields(
        page: Any, edge: EdgeServer) -> None:
    customer = create_customer(edge, "Mary Godwin")
    other = create_customer(edge, "Percy Other")
    cid, old_email = customer["customer_id"], customer["email"]
    new_email, _ = unique_contact()
    sign_in(page)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Customer", exact=True).click()
    page.get_by_label("Phone, email or card").fill(customer["phone"])
    page.get_by_role("button", name="Find").click()
    page.locator(f"#customer-results li[data-customer='{cid}']").get_by_role("button", name="Open").click()
    page.get_by_role("button", name="Attach to sale").click()
    expect(page.locator("#sale-customer")).to_contain_text("Mary Godwin")
    page.locator("#sale-customer").get_by_role("button", name="View").click()

    page.get_by_role("button", name="Edit details").click()
    form = page.locator("#customer-edit")
    expect(form.get_by_label("Email", exact=True)).to_have_value(old_email)
    # A bad email: the edge's reason under the field, nothing changed.
    form.get_by_label("Email", exact=True).fill("mary-at-example")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-email-error")).to_contain_text("not an email address")
    # Another customer's email: refused, with the way to that customer.
    form.get_by_label("Email", exact=True).fill(other["email"])
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-error")).to_contain_text("exists already")
    expect(page.locator("#edit-email-error")).to_contain_text("already a customer")
    expect(form.get_by_role("button", name="Open that customer")).to_be_visible()
    # Neither email nor phone: said before asking the edge.
    form.get_by_label("Email", exact=True).fill("")
    form.get_by_label("Phone", exact=True).fill("")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-error")).to_contain_text("email or a phone")
    with api(edge) as client:
        kept = client.get(f"/api/v1/customers/{cid}").json()
    assert (kept["name"], kept["email"], kept["phone"]) == ("Mary Godwin", old_email, customer["phone"])

    form.get_by_label("Name", exact=True).fill("Mary Shelley")
    form.get_by_label("Email", exact=True).fill(new_email)
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#cv-name")).to_have_text("Mary Shelley")
    expect(page.locator("#customer-edit")).to_have_count(0)
    expect(page.locator("#sale-customer")).to_contain_text("Mary Shelley")
    page.get_by_role("button", name="Show contact").click()
    expect(page.locator("#cv-email")).to_have_text(new_email)
    expect(page.locator("#cv-phone")).to_have_text("–")
    with api(edge) as client:
        saved = client.get(f"/api/v1/customers/{cid}").json()
    assert (saved["name"], saved["email"], saved["phone"]) == ("Mary Shelley", new_email, None)
    assert [c["customer_id"] for c in search(edge, new_email)] == [cid]
    assert search(edge, old_email) == []
    shot(page, "lane-customer-edited")
