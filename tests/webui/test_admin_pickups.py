"""The store admin's Pickups tab in a real Chromium: a manager works a web order HQ allocated to
the store from received to handed over, and a rejection without a reason is explained."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from edge.adapters.db import Database
from edge.adapters.inbox import Inbox, InboxConfig
from edge.adapters.replication import hq_handlers
from edge.bootstrap import effective_settings
from edge.contracts.events import Command
from edge.settings import load_settings
from tests.support import EdgeServer
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def allocate(server: EdgeServer, order_id: str, sku: str, *, prepaid: bool) -> None:
    """HQ's `bopis.reserve`, applied by the store's own inbox code to the server's database (the
    hub's delivery is covered end to end in tests/cloud/test_bopis_e2e.py)."""
    settings = effective_settings(load_settings(environ={"NOVAPOS_DATA_DIR": str(server.data_dir),
                                                         "NOVAPOS_DEMO": "1"}))
    db = Database(settings.db_path)  # not started: write_sync runs on the caller's thread
    try:
        inbox = Inbox(db, InboxConfig(nats_url="nats://unused", tenant_id="demo", store_id="demo-001"),
                      handlers=hq_handlers(settings))
        command = Command(command_id=str(uuid.uuid4()), tenant_id="demo", store_id="demo-001", type="bopis.reserve",
                          version=1, issued_at="2026-11-30T10:00:00Z",
                          payload={"order_id": order_id, "lines": [{"sku": sku, "quantity": 1}], "prepaid": prepaid})
        assert db.write_sync(lambda conn: inbox.apply(conn, command)) == "applied"
    finally:
        db._writer_engine.dispose()
        db._reader_engine.dispose()


def sign_in(page: Any) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("novapos-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("tab", name="Pickups").click()


def test_a_manager_accepts_picks_readies_and_hands_over_a_prepaid_web_order(page: Any, web_server: EdgeServer):
    order_id = f"WEB-{uuid.uuid4().hex[:6]}"
    allocate(web_server, order_id, "BAK-0005", prepaid=True)
    sign_in(page)
    row = page.locator(f"#pickup-rows tr[data-order='{order_id}']")
    expect(row).to_contain_text("received")
    expect(row).to_contain_text("BAK-0005 × 1")
    row.get_by_role("button", name="Accept").click()
    expect(row).to_contain_text("accepted")
    row.get_by_role("button", name="Mark picked").click()
    row.get_by_role("button", name="Mark ready").click()
    expect(row).to_contain_text("ready")
    shot(page, "admin-pickups")
    row.get_by_role("button", name="Hand over…").click()
    page.locator("#pickup-step").get_by_role("button", name="Confirm").click()
    expect(page.locator("#pickup-error")).to_contain_text("Handed over: sale")
    with api(web_server) as client:
        pickup = client.get(f"/api/v1/pickups/{order_id}").json()
        sale = client.get(f"/api/v1/orders/{pickup['sale_order_id']}").json()
    assert pickup["status"] == "completed"
    assert [t["method"] for t in sale["tenders"]] == ["prepaid"]


def test_a_rejection_needs_a_reason_and_the_screen_says_so(page: Any, web_server: EdgeServer):
    order_id = f"WEB-{uuid.uuid4().hex[:6]}"
    allocate(web_server, order_id, "BAK-0005", prepaid=False)
    sign_in(page)
    row = page.locator(f"#pickup-rows tr[data-order='{order_id}']")
    row.get_by_role("button", name="Reject…").click()
    page.locator("#pickup-step").get_by_role("button", name="Confirm").click()
    expect(page.locator("#pickup-error")).to_contain_text("reason")
    page.locator("#pickup-reason").fill("shelf empty, stock count wrong")
    page.locator("#pickup-step").get_by_role("button", name="Confirm").click()
    expect(row).to_have_count(0)  # no longer open
    page.get_by_label("Show").select_option("rejected")
    expect(row).to_contain_text("rejected")
    expect(row).to_contain_text("shelf empty")
