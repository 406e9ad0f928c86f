"""The store admin pages in a real Chromium: a manager signs in and reads stock, users,
devices, the audit log and sync status."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.webui.helpers import shot

pytestmark = pytest.mark.slow


def sign_in(page: Any, username: str = "manager", password: str = "novapos-demo") -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_manager_signs_in_and_sees_inventory_rows(page: Any) -> None:
    sign_in(page)
    expect(page.locator("#who")).to_contain_text("manager")
    rows = page.locator("#inventory-rows tr")
    expect(rows.first).to_contain_text("BAK-0005")
    assert rows.count() == 100  # one page; the rest behind "Load more"
    expect(page.get_by_role("button", name="Load more")).to_be_visible()
    shot(page, "admin-inventory")

    page.get_by_label("Low stock only").check()
    expect(page.locator("#inventory-rows tr").first).not_to_contain_text("BAK-0005")


def test_wrong_password_shows_the_servers_reason(page: Any) -> None:
    sign_in(page, password="wrong")
    expect(page.locator("#login-error")).not_to_be_empty()
    expect(page.locator("#app")).to_be_hidden()


def test_audit_log_filters_by_action_and_sync_tab_shows_the_link(page: Any) -> None:
    sign_in(page)
    page.get_by_role("tab", name="Audit log").click()
    page.get_by_label("Action").fill("auth.login")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#audit-rows tr")
    expect(rows.first).to_contain_text("auth.login")
    for text in rows.all_inner_texts():
        assert "auth.login" in text
    shot(page, "admin-audit")

    page.get_by_role("tab", name="Users").click()
    expect(page.locator("#user-rows")).to_contain_text("cashier")
    page.get_by_role("tab", name="Devices").click()
    expect(page.locator("#devices-note")).not_to_be_empty()
    page.get_by_role("tab", name="Sync").click()
    expect(page.locator("#sync-cards")).to_contain_text("Link to HQ")
    shot(page, "admin-sync")
