"""Who may use the store admin: a cashier is turned away at sign-in, and each other role sees
only the tabs its work needs, while the server keeps refusing the rest on its own."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer
from tests.webui.admin_pages import open_tab, sign_in
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def tab_names(page: Any) -> list[str]:
    return page.get_by_role("tab").all_inner_texts()


def test_a_cashier_is_refused_at_sign_in_and_keeps_no_session(page: Any, web_server: EdgeServer) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill("cashier")
    page.get_by_label("Password").fill("novapos-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("cannot use the store admin")
    expect(page.locator("#app")).to_be_hidden()
    expect(page.get_by_role("tab")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('novapos.admin.session')") is None
    shot(page, "admin-cashier-refused")

    page.reload()  # nothing kept: the sign-in form again
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()


def test_a_manager_sees_the_back_office_tabs_but_not_tenant_only_actions(page: Any) -> None:
    sign_in(page)
    assert tab_names(page) == ["Inventory", "Catalog", "Orders", "Pickups", "Customers", "Reviews", "Tills", "Settlement",
                               "Users", "Lanes", "Devices", "Audit log", "Sync", "Policy"]
    open_tab(page, "Catalog")
    expect(page.locator("#tax-rows tr").first).to_be_visible()
    expect(page.locator("#tax-form")).to_be_hidden()  # tax categories are the tenant admin's
    expect(page.get_by_role("button", name="Edit").first).to_be_visible()  # products are the manager's
    shot(page, "admin-catalog")


def test_a_technician_sees_stock_devices_and_sync_and_the_server_agrees(page: Any, web_server: EdgeServer) -> None:
    sign_in(page, "tech")
    assert tab_names(page) == ["Inventory", "Catalog", "Lanes", "Devices", "Sync"]  # a technician pairs lane devices
    expect(page.locator("#inventory-rows tr").first).to_be_visible()
    for sheet in ("Count", "Receive", "Transfer out", "Transfer in"):
        expect(page.get_by_role("button", name=sheet, exact=True)).to_be_hidden()
    expect(page.locator("#inventory-rows").get_by_role("button", name="Adjust")).to_have_count(0)
    shot(page, "admin-technician")
    page.goto("/admin/#users")  # a hand-typed address opens an allowed tab, not the hidden one
    page.reload()
    expect(page.get_by_role("tab", name="Inventory")).to_have_attribute("aria-selected", "true")
    with api(web_server, "tech") as client:
        assert client.get("/api/v1/users").status_code == 403
        assert client.get("/api/v1/audit").status_code == 403


def test_a_supervisor_works_stock_tills_and_reviews_but_not_users(page: Any, web_server: EdgeServer) -> None:
    with api(web_server) as client:
        created = client.post("/api/v1/users", json={"username": "sky-supervisor", "password": "a-long-password",
                                                     "roles": ["supervisor"]})
        assert created.status_code in (201, 409), created.text
    sign_in(page, "sky-supervisor", "a-long-password")
    assert tab_names(page) == ["Inventory", "Catalog", "Orders", "Pickups", "Customers", "Reviews", "Tills",
                               "Devices"]
    expect(page.get_by_role("button", name="Count", exact=True)).to_be_visible()
    open_tab(page, "Tills")
    expect(page.locator("#till-lanes article").first).to_be_visible()
