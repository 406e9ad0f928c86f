"""Conflict cases handled with forms in Chromium: an admin assigns a case to a colleague picked
from the tenant's users and resolves it with one of the resolutions its kind allows, each with a
note that stays on the case; nothing can be typed in place of a resolution."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import expect

from tests.webui.hq_hub import PASSWORD, HqHub, days_ago, hq, page, sale, shot, sign_in  # noqa: F401


@pytest.fixture(scope="module", autouse=True)
def cases(hq: HqHub) -> None:
    """A price variance (an offline sale below HQ's price) and a negative stock level."""
    hq.replicate([("east", days_ago(1), "order.completed",
                   sale(900, sku="V", location="east", price_variance_cents=-150))])


def test_an_admin_assigns_from_the_user_list_and_resolves_with_an_allowed_resolution(page: Any, hq: HqHub) -> None:
    admin, secret = hq.add(["tenant_admin"], totp=True)
    colleague, _ = hq.add(["hq_analyst"])
    outsider, _ = hq.add(["hq_analyst"], tenant="rival")
    sign_in(page, admin, secret)

    row = page.locator("#conflicts tr", has_text="price_variance")
    row.get_by_role("button", name="Assign").click()
    assignee = page.get_by_label("Assign to")
    expect(assignee.locator("option", has_text=colleague)).to_have_count(1)
    expect(assignee.locator("option", has_text=outsider)).to_have_count(0)  # another tenant's user is no choice
    assignee.select_option(colleague)
    page.get_by_label("Note").fill("check the shelf label at east")
    shot(page, "hq-conflict-assign")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#conflict-dialog")).to_be_hidden()
    expect(row).to_contain_text(colleague)
    expect(row).to_contain_text("assigned")

    row.get_by_role("button", name="Resolve").click()
    resolution = page.get_by_label("Resolution")
    labels = [o.strip() for o in resolution.locator("option").all_inner_texts()]
    assert labels == ["Choose…", "Price accepted", "Price corrected in the catalog",
                      "Difference refunded to the customer", "Difference written off"]
    page.get_by_role("button", name="Save", exact=True).click()  # nothing chosen: the form does not send
    expect(page.locator("#conflict-dialog")).to_be_visible()
    resolution.select_option(label="Price corrected in the catalog")
    page.get_by_label("Note").fill("shelf label was last week's")
    shot(page, "hq-conflict-resolve")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#conflict-dialog")).to_be_hidden()
    expect(row).to_contain_text(re.compile(r"Price corrected in the catalog — shelf label was last week's"))

    # The case's trail keeps who did what, with each note.
    case = _case(hq, admin, secret, "price_variance")
    assert [(a["action"], (a["detail"] or {}).get("note")) for a in case["audit"]] == [
        ("raised", None), ("assigned", "check the shelf label at east"), ("resolved", "shelf label was last week's")]
    assert case["resolution"] == "price_corrected" and case["assignee"] == colleague


def _case(hq: HqHub, admin: str, secret: str, kind: str) -> dict[str, Any]:
    """The case as the API shows it, read with a sign-in of its own (the next code's step)."""
    body = {"username": admin, "password": PASSWORD, "totp": pyotp.TOTP(secret).at(time.time() + 30)}
    token = httpx.post(f"{hq.url}/api/v1/auth/login", json=body, timeout=10).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    [item] = httpx.get(f"{hq.url}/api/v1/hq/conflicts?kind={kind}", headers=h, timeout=10).json()["items"]
    return httpx.get(f"{hq.url}/api/v1/hq/conflicts/{item['id']}", headers=h, timeout=10).json()
