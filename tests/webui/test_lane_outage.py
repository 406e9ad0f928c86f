"""The lane through a store-server outage, in a real Chromium against a real edge process: a
hung server (SIGSTOP) never freezes the lane, a payment whose outcome is unknown is replayed with
its own idempotency key and answered `duplicate`, and a cashier whose browser restarted during
the outage signs in offline with their PIN, sells, and the sale reaches the edge afterwards."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer, free_port
from tests.webui.helpers import api, shot
from tests.webui.test_lane import ESPRESSO, order_count, scan

pytestmark = pytest.mark.slow

SERVER_TIMEOUT_S = 2  # the lane's patience (lane.server_timeout_s), short for the test


@pytest.fixture(scope="module")
def edge(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """An edge of this module's own: these tests stop it."""
    data_dir = tmp_path_factory.mktemp("outage") / "store"
    shutil.copytree(demo_template, data_dir)
    server = EdgeServer(data_dir, free_port(), extra_env={
        "NOVAPOS_LANE_SERVER_TIMEOUT_S": str(SERVER_TIMEOUT_S),
        # Fewer PBKDF2 rounds keep the test quick on a shared 2-core box; production uses 600,000.
        "NOVAPOS_LANE_OFFLINE_PIN_ITERATIONS": "100000",
    })
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lane(page: Any, edge: EdgeServer) -> Iterator[Any]:
    page.context.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    page.goto(edge.url + "/")  # the page fixture's base_url is the shared server; this module uses its own
    try:
        yield page
    finally:
        if edge.proc and edge.proc.poll() is None:
            edge.proc.send_signal(signal.SIGCONT)  # never leave the edge stopped for the next test


def freeze(edge: EdgeServer) -> None:
    assert edge.proc is not None
    edge.proc.send_signal(signal.SIGSTOP)


def thaw(edge: EdgeServer) -> None:
    assert edge.proc is not None
    edge.proc.send_signal(signal.SIGCONT)


def queued_keys(page: Any) -> list[str]:
    return page.evaluate("""() => new Promise((resolve, reject) => {
      const open = indexedDB.open("novapos-lane");
      open.onsuccess = () => {
        const all = open.result.transaction("queue").objectStore("queue").getAllKeys();
        all.onsuccess = () => resolve(all.result);
        all.onerror = () => reject(all.error);
      };
      open.onerror = () => reject(open.error);
    })""")


def send_queue_until(page: Any, verdict_text: str) -> None:
    """Open the queue and press "Send now" until the edge's verdict shows (each press is one replay)."""
    page.locator("#queue-badge").click()
    verdicts = page.locator("#verdict-list li")
    for _ in range(30):
        page.get_by_role("button", name="Send now").click()
        try:
            expect(verdicts.filter(has_text=verdict_text)).to_have_count(1, timeout=1_000)
            return
        except AssertionError:
            continue
    expect(verdicts.filter(has_text=verdict_text)).to_have_count(1)


def lane_sign_in(page: Any, edge: EdgeServer) -> None:
    page.goto(edge.url + "/")
    page.get_by_role("button", name="Lane 1").click()
    for digit in "1234":
        page.locator("#pinpad").get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_contain_text("Lane 1 · cashier")
    expect(page.locator("#catalog-status")).to_contain_text("catalog v")


def test_a_hung_server_shows_progress_then_queues_the_payment_with_its_own_key_and_replays_as_duplicate(
        lane: Any, edge: EdgeServer) -> None:
    page = lane
    lane_sign_in(page, edge)
    before = order_count(edge)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#tender-note")).to_contain_text("Order")  # priced by the edge, online

    tender_keys: list[str] = []
    tender_urls: list[str] = []

    def note_tender(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/tenders"):
            tender_keys.append(request.headers["idempotency-key"])
            tender_urls.append(request.url)

    page.on("request", note_tender)
    freeze(edge)
    page.locator("#tendered-input").fill("50")
    page.get_by_role("button", name="Take cash").click()
    # At once: the button spins, nothing can be pressed twice, and the badge says we are waiting.
    expect(page.locator("#tender-cash")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#tender-cash")).to_be_disabled()
    expect(page.locator("#tender-cancel")).to_be_disabled()
    expect(page.locator("#net-status")).to_have_text("Waiting for the store server…")
    shot(page, "lane-outage-waiting")
    # After the lane's timeout: the offline path, with the very request that hung.
    expect(page.locator("#receipt-title")).to_have_text("Sale saved offline")
    expect(page.locator("#net-status")).to_contain_text("Server not answering")
    expect(page.locator("#change-due")).to_have_text("$22.28")  # 50.00 - 27.72
    assert len(tender_keys) == 1
    assert queued_keys(page) == tender_keys
    shot(page, "lane-outage-queued")
    page.get_by_role("button", name="New sale").click()

    # The edge wakes up and commits the payment that was in flight; the replay finds it.
    thaw(edge)
    send_queue_until(page, "duplicate")
    assert queued_keys(page) == []
    expect(page.locator("#net-status")).to_have_text("Online")
    # One order, paid once: the replay did not take the cash a second time.
    assert order_count(edge) == before + 1
    with api(edge) as client:
        order = client.get(tender_urls[0].removeprefix(edge.url).removesuffix("/tenders")).json()
    assert order["status"] == "COMPLETED"
    assert len(order["tenders"]) == 1
    assert order["change_due_cents"] == 2228
    shot(page, "lane-outage-duplicate")


def test_pressing_cash_on_a_hung_server_spins_then_sells_offline(lane: Any, edge: EdgeServer) -> None:
    page = lane
    lane_sign_in(page, edge)
    scan(page, ESPRESSO)
    freeze(edge)
    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#pay-cash")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#pay-cash")).to_be_disabled()
    expect(page.locator("#pay-card")).to_be_disabled()
    expect(page.locator("#net-status")).to_have_text("Waiting for the store server…")
    expect(page.locator("#tender-note")).to_contain_text("Offline")
    expect(page.locator("#net-status")).to_contain_text("Server not answering")
    expect(page.locator("#tender-card")).to_be_disabled()
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#receipt-title")).to_have_text("Sale saved offline")
    assert len(queued_keys(page)) == 1
    page.get_by_role("button", name="New sale").click()
    thaw(edge)
    send_queue_until(page, "accepted")
    assert queued_keys(page) == []


def block_edge_api(page: Any) -> None:
    page.route("**/api/**", lambda route: route.abort("connectionrefused"))
    page.route("**/healthz", lambda route: route.abort("connectionrefused"))


def restart_browser_tab(page: Any, edge: EdgeServer) -> None:
    """What survives a browser restart: IndexedDB and localStorage, not the tab's session."""
    page.evaluate("sessionStorage.clear()")
    page.goto(edge.url + "/")
    expect(page.locator("#login-view")).to_be_visible()


def key_in_pin(page: Any, pin: str) -> None:
    page.get_by_role("button", name="Lane 1").click()
    page.locator("#pin-input").fill(pin)
    page.get_by_role("button", name="Sign in").click()


def test_a_cashier_signs_in_offline_after_a_browser_restart_and_the_sale_reaches_the_edge(
        lane: Any, edge: EdgeServer) -> None:
    page = lane
    lane_sign_in(page, edge)  # online: the lane receives this cashier's offline verifier
    before = order_count(edge)
    block_edge_api(page)
    restart_browser_tab(page, edge)

    key_in_pin(page, "1234")
    expect(page.locator("#who")).to_have_text("Lane 1 · cashier (offline sign-in)")
    expect(page.locator("#net-status")).to_contain_text("Offline")
    shot(page, "lane-offline-signed-in")
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Cash", exact=True).click()
    expect(page.locator("#tender-card")).to_be_disabled()  # offline: cash only
    page.get_by_role("button", name="Take cash").click()
    expect(page.locator("#receipt-title")).to_have_text("Sale saved offline")
    page.get_by_role("button", name="New sale").click()
    assert len(queued_keys(page)) == 1

    # The edge is reachable again: the lane signs the cashier in online by itself and sends the sale.
    page.unroute("**/api/**")
    page.unroute("**/healthz")
    expect(page.locator("#who")).to_have_text("Lane 1 · cashier")
    expect(page.locator("#queue-badge")).to_be_visible()
    page.locator("#queue-badge").click()
    expect(page.locator("#verdict-list li").first).to_contain_text("accepted")
    assert queued_keys(page) == []
    assert order_count(edge) == before + 1
    with api(edge) as client:
        latest = client.get("/api/v1/orders", params={"limit": 1}).json()["items"][0]
    assert latest["lane_id"] == "1"
    shot(page, "lane-offline-signed-in-replayed")


def test_offline_sign_in_refuses_a_wrong_pin_and_locks_after_the_allowed_attempts(lane: Any, edge: EdgeServer) -> None:
    page = lane
    lane_sign_in(page, edge)
    block_edge_api(page)
    restart_browser_tab(page, edge)
    for tries_left in (4, 3, 2, 1):
        key_in_pin(page, "9999")
        expect(page.locator("#login-error")).to_contain_text(f"{tries_left} tries left")
    key_in_pin(page, "9999")
    expect(page.locator("#login-error")).to_contain_text("locked")
    # Locked: even the right PIN no longer signs in offline (the verifiers are gone).
    key_in_pin(page, "1234")
    expect(page.locator("#login-error")).to_contain_text("no cashier has signed in on this lane")
    expect(page.locator("#sale-view")).to_be_hidden()
    stored = page.evaluate("""() => new Promise((resolve) => {
      const open = indexedDB.open("novapos-lane");
      open.onsuccess = () => {
        const get = open.result.transaction("meta").objectStore("meta").get("offline_pins");
        get.onsuccess = () => resolve(JSON.stringify(get.result || []));
      };
    })""")
    assert json.loads(stored) == []
    # Back online, a normal sign-in works and brings a fresh verifier.
    page.unroute("**/api/**")
    page.unroute("**/healthz")
    key_in_pin(page, "1234")
    expect(page.locator("#who")).to_have_text("Lane 1 · cashier")


def test_a_verifier_for_another_lane_does_not_sign_in(lane: Any, edge: EdgeServer) -> None:
    page = lane
    lane_sign_in(page, edge)  # a verifier for lane 1 only
    block_edge_api(page)
    restart_browser_tab(page, edge)
    page.get_by_role("button", name="Lane 2").click()
    page.locator("#pin-input").fill("1234")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("no cashier has signed in on this lane")
    expect(page.locator("#sale-view")).to_be_hidden()
