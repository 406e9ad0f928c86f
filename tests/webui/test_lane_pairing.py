"""Pairing a lane device, as a manager and a cashier do it, in a real Chromium against a real edge:
the admin shows a one-time code as a QR, the tablet opens its link (or the code is typed), and from
then on the tablet signs cashiers in to that lane only. A store that requires pairing shows an
unpaired tablet nothing but the pairing form."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support import EdgeServer, free_port
from tests.webui.helpers import api, shot
from tests.webui.test_admin import sign_in as admin_sign_in

pytestmark = pytest.mark.slow


def pin_sign_in(page: Any, pin: str = "1234") -> None:
    for digit in pin:
        page.locator("#pinpad").get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Sign in").click()


def test_a_manager_pairs_a_tablet_by_qr_and_it_signs_in_to_that_lane_only(browser: Any, page: Any,
                                                                          web_server: EdgeServer) -> None:
    admin = browser.new_context(base_url=web_server.url, viewport={"width": 1280, "height": 800})
    try:
        desk = admin.new_page()
        admin_sign_in(desk)
        desk.get_by_role("tab", name="Lanes").click()
        desk.get_by_role("button", name="Pair a device with Lane 3").click()
        expect(desk.locator("#pairing-qr")).to_be_visible()
        assert desk.locator("#pairing-qr").get_attribute("src").startswith("data:image/svg+xml;base64,")
        code = desk.locator("#pairing-code").inner_text()
        shot(desk, "admin-pairing-qr")

        # The tablet's camera reads the QR code and opens its link.
        page.goto(f"/?pair={code}")
        expect(page.locator("#paired-lane")).to_contain_text("Lane 3")
        expect(page.get_by_role("button", name="Lane 1")).to_be_hidden()  # no other lane to pick
        assert "pair=" not in page.url
        shot(page, "lane-paired-sign-in")
        pin_sign_in(page)
        expect(page.locator("#who")).to_contain_text("Lane 3 · cashier")

        desk.get_by_role("button", name="Done").click()
        expect(desk.locator("[data-lane='3']")).to_contain_text("last sign-in")
        shot(desk, "admin-lanes")
    finally:
        admin.close()


def test_a_typed_code_pairs_the_tablet_and_unpairing_sends_it_back_to_pairing(page: Any,
                                                                             web_server: EdgeServer) -> None:
    with api(web_server) as client:
        code = client.post("/api/v1/lanes/2/pairing-codes", json={}).json()["code"]
    page.goto("/")
    page.get_by_role("button", name="Pair this device with a lane").click()
    page.get_by_label("Pairing code").fill("WRONG-CODE1")
    page.get_by_role("button", name="Pair", exact=True).click()
    expect(page.locator("#pair-error")).to_contain_text("not valid")
    page.get_by_label("Pairing code").fill(code.lower().replace("-", " "))  # as read out, in any case
    page.get_by_label("Name of this device (optional)").fill("Tablet by the door")
    page.get_by_role("button", name="Pair", exact=True).click()
    expect(page.locator("#paired-lane")).to_contain_text("Lane 2 · Tablet by the door (paired)")

    with api(web_server) as client:
        device = next(d for d in client.get("/api/v1/lanes/devices").json()["items"] if d["label"] == "Tablet by the door")
        assert client.post(f"/api/v1/lanes/devices/{device['id']}/unpair").status_code == 200
    page.reload()
    expect(page.locator("#login-error")).to_contain_text("no longer paired")
    expect(page.get_by_role("button", name="Lane 1")).to_be_visible()  # this demo store does not require pairing


@pytest.fixture(scope="module")
def strict_server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """A store that requires every lane device to be paired (the default outside demo mode)."""
    data_dir = tmp_path_factory.mktemp("strict") / "store"
    shutil.copytree(demo_template, data_dir)
    server = EdgeServer(data_dir, free_port(), extra_env={"NOVAPOS_LANE_PAIRING_REQUIRED": "true"})
    server.start(timeout=120)  # a second server on a shared two-core machine
    try:
        yield server
    finally:
        server.stop()


def test_where_pairing_is_required_an_unpaired_tablet_can_only_pair(browser: Any, strict_server: EdgeServer) -> None:
    context = browser.new_context(base_url=strict_server.url, viewport={"width": 1280, "height": 800})
    try:
        tablet = context.new_page()
        tablet.goto("/")
        expect(tablet.locator("#pair-form")).to_be_visible()
        expect(tablet.locator("#pin-form")).to_be_hidden()
        expect(tablet.get_by_role("button", name="Cancel")).to_be_hidden()
        shot(tablet, "lane-pairing-required")
        with api(strict_server) as client:
            code = client.post("/api/v1/lanes/1/pairing-codes", json={}).json()["code"]
        tablet.get_by_label("Pairing code").fill(code)
        tablet.get_by_role("button", name="Pair", exact=True).click()
        expect(tablet.locator("#paired-lane")).to_contain_text("Lane 1")
        pin_sign_in(tablet)
        expect(tablet.locator("#who")).to_contain_text("Lane 1 · cashier")
    finally:
        context.close()
