"""Every page of the lane, the store admin, the HQ dashboard and both API docs pages works under
the servers' Content-Security-Policy: nothing is refused (no console error, no
`securitypolicyviolation` event), and the pages still do their job."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import CloudServer, EdgeServer
from tests.webui.helpers import api, shot
from tests.webui.test_lane import ESPRESSO, scan, sign_in

pytestmark = pytest.mark.slow

# Runs before any page script, in every frame (srcdoc receipts too); init scripts are injected
# by the browser itself, so the policy under test cannot refuse them.
WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation?.(`${e.violatedDirective} refused ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def violations(page: Any) -> Iterator[list[str]]:
    found: list[str] = []
    page.expose_binding("__cspViolation", lambda _source, text: found.append(text))
    page.add_init_script(WATCH)
    page.on("console", lambda msg: found.append(msg.text)
            if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text) else None)
    yield found


def inline_script_runs(page: Any) -> bool:
    """What an injected `<script>` (stored XSS in a product name, say) could do: run or not."""
    ran = page.evaluate("""() => new Promise((resolve) => {
      document.addEventListener("securitypolicyviolation", () => resolve(false), { once: true });
      const s = document.createElement("script");
      s.textContent = "window.__injected = true";
      document.body.append(s);
      if (window.__injected === true) resolve(true);
    })""")
    settle(page)  # the refusal has reached the `violations` list before the caller clears it
    return ran


def settle(page: Any) -> None:
    # A violation is reported by a queued task: two animation frames later it has been delivered.
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_the_lane_sells_and_shows_a_receipt_with_nothing_refused(page: Any, violations: list[str]) -> None:
    sign_in(page)
    assert not inline_script_runs(page)
    violations.clear()  # the probe's own refusal; from here on, nothing may be refused
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Discount").click()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Cash", exact=True).click()
    page.get_by_role("button", name="Take cash").click()
    receipt = page.frame_locator("#receipt-frame")
    expect(receipt.get_by_text("TOTAL USD")).to_be_visible()
    # The amounts column is still right-aligned inside the sandboxed frame (no inline style needed).
    align = receipt.locator("td").nth(1).evaluate("td => getComputedStyle(td).textAlign")
    assert align.endswith("right")  # Chromium reports the align attribute as -webkit-right
    page.get_by_role("button", name="New sale").click()
    settle(page)
    shot(page, "csp-lane")
    assert violations == []


def test_every_admin_tab_loads_with_nothing_refused(page: Any, web_server: EdgeServer,
                                                     violations: list[str]) -> None:
    with api(web_server, "cashier") as client:  # an order whose detail and receipt the admin opens
        sale = client.post("/api/v1/orders", headers={"Idempotency-Key": str(uuid.uuid4())}, json={
            "lane_id": "1", "lines": [{"barcode": ESPRESSO, "quantity": 1}],
            "tenders": [{"method": "cash", "amount_cents": 5000}]})
        assert sale.status_code == 201, sale.text
    page.goto("/admin/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("novapos-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_contain_text("manager")
    assert not inline_script_runs(page)
    violations.clear()
    for tab in ["Inventory", "Orders", "Reviews", "Tills", "Users", "Devices", "Audit log", "Sync"]:
        page.get_by_role("tab", name=tab).click()
        settle(page)
    page.get_by_role("tab", name="Orders").click()
    page.get_by_label("Receipt number").fill(sale.json()["number"])
    page.get_by_role("button", name="Search").click()
    page.locator("#order-rows tr").first.click()
    expect(page.locator("#order-dialog")).to_be_visible()
    expect(page.frame_locator("#receipt-slot iframe").get_by_text("TOTAL USD")).to_be_visible()
    settle(page)
    shot(page, "csp-admin")
    assert violations == []


def test_the_edge_api_docs_render_from_the_box_itself(page: Any, web_server: EdgeServer,
                                                      violations: list[str]) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/api/v1/schema/swagger")
    expect(page.get_by_text("NovaPOS edge API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()  # the operations were rendered
    settle(page)
    shot(page, "csp-edge-swagger")
    assert violations == []
    assert requested and all(url.startswith(web_server.url) or url.startswith("data:") for url in requested), requested


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path_factory.mktemp("cloud-csp"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_hq_dashboard_and_its_api_docs_load_with_nothing_refused(page: Any, cloud: CloudServer,
                                                                       violations: list[str]) -> None:
    page.goto(f"{cloud.url}/hq/")
    page.get_by_label("Username").fill("hq")
    page.get_by_label("Password").fill("novapos-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#dash")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("hq")
    settle(page)
    assert not inline_script_runs(page)
    violations.clear()
    shot(page, "csp-hq")

    page.goto(f"{cloud.url}/schema/swagger")
    expect(page.locator(".opblock").first).to_be_visible()
    settle(page)
    assert violations == []
