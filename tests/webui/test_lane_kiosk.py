"""The lane as a kiosk in a real Chromium against a real edge: it locks when left alone and keeps
the sale, unlocks only with the cashier's or a supervisor's PIN, sends the cashier back to
sign-in when the session's time is up however busy the lane was, and holds a screen wake lock.

The browser's clock is Playwright's fake clock, moved forward instead of waited for."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.webui.helpers import shot
from tests.webui.test_lane import ESPRESSO, scan, sign_in
from tests.webui.test_lane_returns import type_code

pytestmark = pytest.mark.slow

SUPERVISOR_PIN = "2468"


def unlock(page: Any, pin: str) -> None:
    page.locator("#lock-pin").fill(pin)
    page.locator("#lock-dialog").get_by_role("button", name="Unlock").click()


def test_an_idle_lane_locks_keeps_the_sale_and_unlocks_with_the_cashiers_pin(page: Any) -> None:
    page.clock.install()
    sign_in(page)
    scan(page, ESPRESSO)
    scan(page, ESPRESSO)
    expect(page.locator("#cart-lines li output")).to_have_text("2")
    page.clock.fast_forward("01:50")
    expect(page.locator("#lock-dialog")).to_be_hidden()  # 2 minutes is the default idle time
    page.clock.fast_forward("00:15")
    lock = page.locator("#lock-dialog")
    expect(lock).to_be_visible()
    expect(page.locator("#lock-note")).to_contain_text("The sale in progress (2 items) is kept")
    shot(page, "lane-idle-lock")

    # A reload does not get past the lock.
    page.reload()
    expect(page.locator("#lock-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#lock-dialog")).to_be_visible()

    unlock(page, "9999")
    expect(page.locator("#lock-error")).to_contain_text("wrong PIN")
    unlock(page, "1234")
    expect(lock).to_be_hidden()
    expect(page.locator("#who")).to_contain_text("Lane 1 · cashier")


def test_a_supervisor_unlocks_the_lane_and_the_sale_is_still_there(page: Any) -> None:
    page.clock.install()
    sign_in(page, lane="2")
    scan(page, ESPRESSO)
    page.clock.fast_forward("02:05")
    expect(page.locator("#lock-dialog")).to_be_visible()
    scan_blocked = page.locator("#scan-input")
    expect(scan_blocked).not_to_be_focused()  # scans do not reach the sale behind the lock
    unlock(page, SUPERVISOR_PIN)
    expect(page.locator("#lock-dialog")).to_be_hidden()
    expect(page.locator("#cart-lines li")).to_have_count(1)
    expect(page.locator("#cart-lines li")).to_contain_text("Espresso beans 250g")


def test_the_session_ends_at_its_maximum_length_however_busy_the_lane_was(page: Any) -> None:
    page.clock.install()
    sign_in(page, lane="3")
    session = page.evaluate("JSON.parse(sessionStorage.getItem('novapos.lane.session')).lane_session")
    assert session["session_max_s"] == 36_000
    # Busy all day: activity every few hours (the lane locks in between and is unlocked).
    for _ in range(3):
        page.clock.fast_forward("03:00:00")
        expect(page.locator("#lock-dialog")).to_be_visible()
        unlock(page, "1234")
        expect(page.locator("#lock-dialog")).to_be_hidden()
        type_code(page, ESPRESSO)
    expect(page.locator("#cart-lines li output")).to_have_text("3")
    page.clock.fast_forward("01:00:05")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("session at this lane has ended")
    expect(page.locator("#login-error")).to_contain_text("The sale in progress is kept")
    shot(page, "lane-session-ended")


def test_the_lane_holds_a_screen_wake_lock_while_it_is_open(page: Any) -> None:
    page.context.grant_permissions(["screen-wake-lock"])
    sign_in(page)
    expect(page.locator("body")).to_have_attribute("data-wake-lock", "held")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("body")).not_to_have_attribute("data-wake-lock", "held")
