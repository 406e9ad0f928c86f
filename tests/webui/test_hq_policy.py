"""The HQ dashboard's store policy form in a real Chromium, against a real `novapos-cloud serve`:
a tenant admin lowers the discount threshold and saves a new version; a refused change shows
the server's reason and changes nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support import free_port
from tests.webui.helpers import shot

pytestmark = pytest.mark.slow


@pytest.fixture
def hq_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "cloud.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cloud.cli", "serve", "--demo", "--db-url",
                                 f"sqlite:///{tmp_path / 'hq.db'}", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the hub never answered"
        time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def policy_over_api(url: str) -> dict[str, Any]:
    token = httpx.post(f"{url}/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return httpx.get(f"{url}/api/v1/hq/policies", headers=headers).json()["items"][0]


def test_a_tenant_admin_lowers_the_discount_threshold_from_the_dashboard(browser: Any, hq_url: str) -> None:
    context = browser.new_context(base_url=hq_url, viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto("/hq/")
        page.get_by_label("Username").fill("hq")
        page.get_by_label("Password").fill("novapos-demo")
        page.get_by_role("button", name="Sign in").click()
        discount = page.get_by_label("Discount without a supervisor, up to (%)")
        expect(discount).to_have_value("20")
        expect(page.locator("#policy-version")).to_contain_text("defaults")

        discount.fill("10")
        page.get_by_role("button", name="Save and send to stores").click()
        expect(page.locator("#policy-status")).to_contain_text("Saved as version 1")
        expect(page.locator("#policy-version")).to_contain_text("version 1, by hq")
        shot(page, "hq-policy")
        assert policy_over_api(hq_url)["policy"]["discount_supervisor_over_bps"] == 1000

        page.get_by_label("Restocking fee (%)").fill("5")
        page.get_by_label("or flat restocking fee").fill("2")
        page.get_by_role("button", name="Save and send to stores").click()
        expect(page.locator("#policy-status")).to_contain_text("not both")
        current = policy_over_api(hq_url)
        assert current["version"] == 1 and current["policy"]["restocking_fee_bps"] == 0
    finally:
        context.close()
    assert not errors, errors
