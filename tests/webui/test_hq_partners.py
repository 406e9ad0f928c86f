"""The HQ partner panel in Chromium against a real hub: each app's health (requests, 429s,
errors, latency), its webhook dead letters, and a replay an admin starts from the page."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.cloud.partner_support import PartnerHub, admin_headers, bearer, client_token, register_app
from tests.cloud.test_webhooks_out import store_sale
from tests.support import DEMO_PASSWORD, free_port, wait_until
from tests.webui.helpers import browser_page


class Refusing(BaseHTTPRequestHandler):
    """A partner endpoint that is down: every delivery gets a 503."""

    hits = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).hits += 1
        self.send_response(503)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    server = PartnerHub(tmp_path_factory.mktemp("hq-partners"), {
        "NOVAPOS_CLOUD_PARTNER_ALLOW_PRIVATE_WEBHOOKS": "1", "NOVAPOS_CLOUD_PARTNER_WEBHOOK_POLL_S": "0.2",
        "NOVAPOS_CLOUD_PARTNER_WEBHOOK_BACKOFF_BASE_S": "0.2", "NOVAPOS_CLOUD_PARTNER_WEBHOOK_BACKOFF_CAP_S": "0.4",
        "NOVAPOS_CLOUD_PARTNER_WEBHOOK_MAX_AGE_S": "2", "NOVAPOS_CLOUD_PARTNER_USAGE_FLUSH_S": "0.2",
        "NOVAPOS_CLOUD_PARTNER_APP_SUSTAINED_PER_MIN": "4", "NOVAPOS_CLOUD_PARTNER_BREAKER_FAILURES": "100"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def endpoint_down() -> Iterator[str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/hooks"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser: Any, hub: PartnerHub, request: pytest.FixtureRequest) -> Iterator[Any]:
    with browser_page(browser, hub.url, request.node.name, height=900, timeout_ms=15_000) as page:
        yield page


def test_an_admin_sees_each_apps_health_and_replays_a_dead_letter(page: Any, hub: PartnerHub, endpoint_down: str):
    admin = admin_headers(hub.url)
    name = f"Shop {uuid.uuid4().hex[:6]}"
    app = register_app(hub.url, admin, ["catalog:read"], name=name)
    r = httpx.post(f"{hub.url}/api/v1/partner-admin/apps/{app['app_id']}/webhooks", headers=admin,
                   json={"url": endpoint_down, "event_types": ["order.completed"]})
    assert r.status_code == 201, r.text
    token = client_token(hub.url, app).json()["access_token"]
    statuses = [httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(token)).status_code for _ in range(6)]
    assert statuses.count(429) == 2  # four a minute
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(store_sale, hub).result(timeout=60)
    wait_until(lambda: httpx.get(f"{hub.url}/api/v1/partner-admin/deliveries", params={"status": "dead"},
                                 headers=admin).json()["items"], timeout=30, what="a dead letter")

    page.goto("/hq/")
    page.get_by_label("Username").fill("hq")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#partner-health tr", has_text=name)
    expect(row).to_be_visible()
    cells = row.locator("td")
    expect(cells.nth(2)).to_have_text("6")  # requests in the last hour
    expect(cells.nth(3)).to_have_text(str(statuses.count(429)))  # 429s
    expect(cells.nth(7)).to_have_text("1")  # dead letters

    hits_before = Refusing.hits
    dead = page.locator("#partner-dead tr", has_text="order.completed").first
    dead.get_by_role("button", name="Replay").click()
    expect(dead.get_by_role("button", name="Queued")).to_be_visible()
    wait_until(lambda: Refusing.hits > hits_before, timeout=20, what="the replayed delivery to be sent again")
