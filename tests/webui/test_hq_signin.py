"""Signing in to the HQ dashboard in Chromium: the sign-in form leaves the screen (and forgets
the password) once the dashboard shows, and admins set up two-step sign-in in the dashboard:
the first time from the refused sign-in, later to replace their authenticator app."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp
from playwright.sync_api import expect

from tests.webui.hq_hub import PASSWORD, HqHub, hq, page, shot, sign_in  # noqa: F401


def next_code(secret: str) -> str:
    """The code of the next time step: the step that confirmed a set-up is spent."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_after_sign_in_the_form_is_gone_and_the_password_is_not_kept(page: Any, hq: HqHub) -> None:
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)
    form = page.locator("#login")
    expect(form).to_be_hidden()
    assert form.evaluate("(f) => getComputedStyle(f).display") == "none"
    assert page.locator("#login input[name=password]").input_value() == ""
    assert form.evaluate("(f) => f.inert") is True  # not reachable with the keyboard either
    expect(page.locator("#dash")).to_be_visible()
    shot(page, "hq-dashboard")

    page.get_by_role("button", name="Log out").click()
    expect(form).to_be_visible()
    expect(page.get_by_label("Password")).to_have_value("")


def test_an_admin_without_an_authenticator_sets_one_up_from_the_refused_sign_in(page: Any, hq: HqHub) -> None:
    admin, _ = hq.add(["tenant_admin"])  # created without TOTP, as an operator might
    page.goto("/hq/")
    page.get_by_label("Username").fill(admin)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    dialog = page.locator("#mfa-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#mfa-qr")).to_be_visible()
    assert page.locator("#mfa-qr").get_attribute("src").startswith("data:image/svg+xml;base64,")
    expect(page.locator("#mfa-secret")).not_to_be_empty()
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    shot(page, "hq-mfa-setup")

    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#mfa-error")).to_contain_text("does not match")
    expect(dialog).to_be_visible()

    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#login-error")).to_contain_text("Two-step sign-in is set up")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("One-time code", exact=True).fill(next_code(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#dash")).to_be_visible()
    expect(page.locator("#who")).to_contain_text(admin)


def test_a_signed_in_admin_replaces_the_authenticator_app(page: Any, hq: HqHub) -> None:
    admin, old_secret = hq.add(["tenant_admin"], totp=True)
    sign_in(page, admin, old_secret)
    page.get_by_role("button", name="Two-step sign-in").click()
    expect(page.locator("#mfa-intro")).to_contain_text("replaces your current one")
    expect(page.locator("#mfa-secret")).not_to_be_empty()
    new_secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(new_secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#mfa-dialog")).to_be_hidden()
    expect(page.locator("#updated")).to_contain_text("Two-step sign-in is set up")

    login = f"{hq.url}/api/v1/auth/login"
    old = httpx.post(login, json={"username": admin, "password": PASSWORD, "totp": next_code(old_secret)}, timeout=10)
    assert old.status_code == 401, old.text  # the old app's codes no longer sign in
    new = httpx.post(login, json={"username": admin, "password": PASSWORD, "totp": next_code(new_secret)}, timeout=10)
    assert new.status_code == 200, new.text
