"""User administration in the store admin: a manager creates a cashier with a lane PIN, resets
their password, and disables the account (which signs them out at once); roles above the
manager's own are not offered, and the server refuses them anyway."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer, login
from tests.webui.admin_pages import open_tab, sign_in
from tests.webui.helpers import api, shot

pytestmark = pytest.mark.slow


def can_sign_in(server: EdgeServer, username: str, password: str) -> bool:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        return client.post("/api/v1/auth/login", json={"username": username, "password": password}).status_code == 200


def test_a_manager_creates_a_user_resets_their_password_and_disables_them(page: Any, web_server: EdgeServer) -> None:
    username = f"dana{uuid.uuid4().hex[:6]}"
    sign_in(page)
    open_tab(page, "Users")
    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("checkbox", name="Tenant admin")).to_have_count(0)  # not the manager's to grant
    expect(dialog.get_by_role("checkbox", name="Store manager")).to_have_count(0)
    dialog.get_by_label("Username").fill(username)
    dialog.get_by_role("checkbox", name="Cashier").check()
    dialog.get_by_label("New password").fill("short")
    dialog.get_by_role("button", name="Create user").click()
    expect(dialog.locator("#user-error")).to_contain_text("at least 10 characters")  # the server's field problem
    dialog.get_by_label("New password").fill("first-long-password")
    dialog.get_by_label("Lane PIN").fill("4826")
    shot(page, "admin-user-new")
    dialog.get_by_role("button", name="Create user").click()
    expect(dialog).to_be_hidden()

    row = page.locator("#user-rows tr", has_text=username)
    expect(row).to_contain_text("Cashier")
    expect(row).to_contain_text("active")
    expect(row.get_by_role("cell", name="set", exact=True)).to_be_visible()  # the lane PIN
    assert can_sign_in(web_server, username, "first-long-password")

    row.get_by_role("button", name="Reset password").click()
    dialog.get_by_label("New password").fill("second-long-password")
    dialog.get_by_role("button", name="Set password").click()
    expect(dialog).to_be_hidden()
    assert not can_sign_in(web_server, username, "first-long-password")
    assert can_sign_in(web_server, username, "second-long-password")

    with httpx.Client(base_url=web_server.url, timeout=10) as theirs:  # signed in elsewhere meanwhile
        theirs.headers.update(login(theirs, username, "second-long-password"))
        assert theirs.get("/api/v1/store").status_code == 200
        row.get_by_role("button", name="Disable").click()
        expect(dialog).to_contain_text("signed out everywhere")
        dialog.get_by_role("button", name="Disable").click()
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("disabled")
        assert theirs.get("/api/v1/store").status_code == 401
    assert not can_sign_in(web_server, username, "second-long-password")
    shot(page, "admin-users")

    row.get_by_role("button", name="Enable").click()
    dialog.get_by_role("button", name="Enable").click()
    expect(row).to_contain_text("active")
    assert can_sign_in(web_server, username, "second-long-password")


def test_a_manager_changes_a_users_roles_within_their_own(page: Any, web_server: EdgeServer) -> None:
    username = f"sam{uuid.uuid4().hex[:6]}"
    with api(web_server) as client:
        created = client.post("/api/v1/users", json={"username": username, "password": "a-long-password",
                                                     "roles": ["cashier"]})
        assert created.status_code == 201, created.text
    sign_in(page)
    open_tab(page, "Users")
    row = page.locator("#user-rows tr", has_text=username)
    row.get_by_role("button", name="Roles").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("checkbox", name="Supervisor").check()
    dialog.get_by_role("button", name="Save roles").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Cashier, Supervisor")
    with api(web_server) as client:
        stored = next(u for u in client.get("/api/v1/users").json()["items"] if u["username"] == username)
        assert sorted(stored["roles"]) == ["cashier", "supervisor"]
        # what the page does not offer, the server refuses too
        refused = client.patch(f"/api/v1/users/{stored['id']}", json={"roles": ["tenant_admin"]})
        assert refused.status_code == 403


def test_the_signed_in_manager_is_offered_no_way_to_disable_themselves(page: Any) -> None:
    sign_in(page)
    open_tab(page, "Users")
    own = page.locator("#user-rows tr", has=page.get_by_role("cell", name="manager", exact=True))
    expect(own).to_have_count(1)
    expect(own.get_by_role("button", name="Disable")).to_have_count(0)
    expect(own.get_by_role("button", name="Roles")).to_have_count(0)
    admin_row = page.locator("#user-rows tr", has=page.get_by_role("cell", name="admin", exact=True))
    expect(admin_row.get_by_role("button")).to_have_count(0)  # a tenant admin's account is not a manager's to change


def test_a_lost_authenticator_is_reset_so_the_user_enrols_again(page: Any, web_server: EdgeServer) -> None:
    username = f"kim{uuid.uuid4().hex[:6]}"
    with api(web_server) as client:
        created = client.post("/api/v1/users", json={"username": username, "password": "a-long-password",
                                                     "roles": ["supervisor"]})
        assert created.status_code == 201, created.text
    with httpx.Client(base_url=web_server.url, timeout=10) as theirs:
        theirs.headers.update(login(theirs, username, "a-long-password"))
        secret = theirs.post("/api/v1/auth/mfa/enroll").json()["secret"]
        confirmed = theirs.post("/api/v1/auth/mfa/confirm", json={"code": pyotp.TOTP(secret).now()})
        assert confirmed.status_code == 204, confirmed.text

    sign_in(page)
    open_tab(page, "Users")
    row = page.locator("#user-rows tr", has_text=username)
    expect(row).to_contain_text("enrolled")
    row.get_by_role("button", name="Reset MFA").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("set up two-factor sign-in again")
    dialog.get_by_role("button", name="Reset MFA").click()
    expect(dialog).to_be_hidden()
    expect(row).not_to_contain_text("enrolled")
    expect(row.get_by_role("button", name="Reset MFA")).to_have_count(0)
    with api(web_server) as client:
        stored = next(u for u in client.get("/api/v1/users").json()["items"] if u["username"] == username)
    assert stored["mfa_enabled"] is False
