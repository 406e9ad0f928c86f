"""The store admin's Policy tab in a real Chromium: the manager sees the rules in force and
whether they are the built-in defaults or HQ's, with its version."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer, free_port
from tests.webui.helpers import shot

pytestmark = pytest.mark.slow


def apply_hq_policy(server: EdgeServer, version: int, **fields: Any) -> None:
    """What the inbox does when HQ's `policy.set` arrives, on the running store's database file."""
    from edge.adapters.db import make_engine
    from edge.adapters.inbox import Inbox, InboxConfig
    from edge.adapters.replication import hq_handlers
    from edge.bootstrap import effective_settings
    from edge.contracts.events import Command
    from edge.domain.ids import now_iso, uuid7
    from tests.support import demo_settings

    inbox = Inbox(None, InboxConfig(nats_url="nats://unused", tenant_id="demo", store_id="demo-001"),  # type: ignore[arg-type]
                  hq_handlers(effective_settings(demo_settings(server.data_dir))))
    command = Command(command_id=uuid7(), tenant_id="demo", store_id=None, type="policy.set", version=version,
                      issued_at=now_iso(), payload=fields)
    engine = make_engine(server.data_dir / "store.db", writer=True)  # a second writer, as a relay process is
    try:
        with engine.connect() as conn, conn.begin():
            assert inbox.apply(conn, command) == "applied"
    finally:
        engine.dispose()


def test_the_policy_tab_shows_the_defaults_then_hqs_policy_and_its_version(browser: Any, demo_dir) -> None:
    server = EdgeServer(demo_dir, free_port())
    server.start()
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto("/admin/")
        page.get_by_label("Username").fill("manager")
        page.get_by_label("Password").fill("novapos-demo")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("tab", name="Policy").click()
        expect(page.locator("#policy-source")).to_contain_text("Built-in defaults")
        expect(page.locator("#policy-rows")).to_contain_text("20 %")

        apply_hq_policy(server, 4, discount_supervisor_over_bps=1000, return_window_days=14)
        # The store follows its database on the next sweep: refresh the tab until it shows version 4.
        deadline = time.monotonic() + 15
        while "version 4" not in page.locator("#policy-source").inner_text() and time.monotonic() < deadline:
            page.get_by_role("button", name="Refresh policy").click()
            page.wait_for_timeout(200)
        expect(page.locator("#policy-source")).to_contain_text("From HQ: version 4")
        expect(page.locator("#policy-rows")).to_contain_text("10 %")
        expect(page.locator("#policy-rows")).to_contain_text("14 days")
        shot(page, "admin-policy")
    finally:
        context.close()
        server.stop()
