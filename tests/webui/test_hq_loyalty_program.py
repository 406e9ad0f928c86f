"""The HQ loyalty program editor in a real Chromium, against a real `novapos-cloud serve`: a
tenant admin turns the program on, sets the rate, the offline allowance and a second tier, and
the saved policy version carries it (so it reaches stores as the usual policy command); a tier
list that does not rise is refused on the page and nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.webui.helpers import browser_page, shot
from tests.webui.test_hq_policy import hq_url, policy_over_api

pytestmark = pytest.mark.slow
__all__ = ["hq_url"]  # the fixture: a demo hub of this test's own


def test_a_tenant_admin_sets_up_the_loyalty_program_and_it_is_saved_as_a_policy_version(
        browser: Any, hq_url: str) -> None:
    with browser_page(browser, hq_url, "hq-loyalty-program", height=1000) as page:
        page.goto("/hq/")
        page.get_by_label("Username").fill("hq")
        page.get_by_label("Password").fill("novapos-demo")
        page.get_by_role("button", name="Sign in").click()
        panel = page.locator("#loyalty-program")
        expect(panel.get_by_label("Program on")).not_to_be_checked()

        panel.get_by_label("Program on").check()
        panel.get_by_label("Points per currency unit").fill("5")
        panel.get_by_label("One point is worth (currency)").fill("0.02")
        panel.get_by_label("Redeem at least (points)").fill("50")
        panel.get_by_label("Offline allowance").fill("300")
        panel.get_by_role("button", name="Add tier").click()
        panel.get_by_label("Tier 2 name").fill("Gold")
        panel.get_by_label("Tier 2 threshold (points)").fill("1000")
        panel.get_by_label("Tier 2 earn multiplier").fill("1.5")
        panel.get_by_role("button", name="Save the loyalty program").click()
        expect(page.locator("#loyalty-status")).to_contain_text("Saved as policy version 1")
        shot(page, "hq-loyalty-program")

        program = policy_over_api(hq_url)["policy"]["loyalty"]
        assert program["enabled"] is True and program["points_per_unit"] == 5
        assert program["point_value_cents"] == 2 and program["min_redeem_points"] == 50
        assert program["offline_cap_points"] == 300
        assert [(t["name"], t["threshold_points"], t["earn_multiplier_bps"]) for t in program["tiers"]] == [
            ("Member", 0, 10000), ("Gold", 1000, 15000)]

        # A second tier below the first is refused before anything is sent.
        panel.get_by_label("Tier 2 threshold (points)").fill("0")
        panel.get_by_role("button", name="Save the loyalty program").click()
        expect(page.locator("#loyalty-status")).to_contain_text("rising thresholds")
        assert policy_over_api(hq_url)["version"] == 1
