"""The HQ dashboard in Chromium against a real `novapos-cloud serve` process (production mode,
so admins need a one-time code): the figures, the store list and the conflict queue an analyst
sees, a token refresh nobody notices, and failures shown on the screen rather than swallowed."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
import pyotp
import pytest
from playwright.sync_api import expect

from cloud.auth import AuthService, TokenKeys
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from edge.contracts.envelope import EventEnvelope
from tests.support import CloudServer
from tests.webui.helpers import browser_page

T = TypeVar("T")
BIN = Path(sys.executable).parent
PASSWORD = "hq-test-pass-1"
TENANT = "acme"


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs a coroutine on its own loop in another thread: Playwright's sync API owns this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result(timeout=60)


class CloudHub(CloudServer):
    """`novapos-cloud serve` in production mode (admins need TOTP), restartable on the same port,
    database and keys, with what the tests need to seed it."""

    def __init__(self, root: Path):
        super().__init__(root, demo=False)

    def keys(self) -> TokenKeys:
        return TokenKeys(self.keys_dir)  # the hub's own signing key, read from its directory

    def add_user(self, roles: list[str], *, totp: bool = False) -> tuple[str, str | None]:
        """A new user of tenant acme (one per test: a one-time code is accepted once per step)."""
        username = f"{roles[0]}-{uuid.uuid4().hex[:8]}"
        secret = pyotp.random_base32() if totp else None

        async def create() -> None:
            db = CloudDB(self.db_url)
            try:
                await AuthService(db, self.keys()).create_user(username, PASSWORD, roles, TENANT, totp_secret=secret)
            finally:
                await db.close()

        run_async(create)
        return username, secret

    def ingest(self, events: list[tuple[str, int, str, dict[str, Any]]]) -> None:
        """Events as the stores' replication delivers them: (store, seq, type, payload)."""
        envelopes = [EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=TENANT, store_id=store, seq=seq, type=type_,
                                   occurred_at="2026-03-02T14:05:00.000Z", business_day="2026-03-02", payload=payload)
                     for store, seq, type_, payload in events]

        async def ingest() -> None:
            db = CloudDB(self.db_url)
            try:
                await Ingestor(db).ingest(envelopes)
            finally:
                await db.close()

        run_async(ingest)

    def api_login(self, username: str, secret: str | None = None) -> dict[str, Any]:
        body = {"username": username, "password": PASSWORD}
        if secret:
            body["totp"] = pyotp.TOTP(secret).now()
        answer = httpx.post(f"{self.url}/api/v1/auth/login", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()


def sale(total_cents: int, *, sku: str, location: str, method: str = "cash",
         price_variance_cents: int | None = None) -> dict[str, Any]:
    order_id = str(uuid.uuid4())
    line: dict[str, Any] = {"sku": sku, "name": f"Product {sku}", "quantity": 1, "total_cents": total_cents}
    if price_variance_cents is not None:
        line["price_variance_cents"] = price_variance_cents
    return {
        "order_id": order_id, "currency": "USD", "total_cents": total_cents, "lines": [line],
        "tenders": [{"method": method, "amount_cents": total_cents}],
        "movements": [{"id": str(uuid.uuid4()), "location_id": location, "product_id": sku, "sku": sku,
                       "kind": "sale", "delta": -1, "ref": order_id}],
    }


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudHub]:
    """One hub for the module, with two stores' sales and a price variance in its conflict queue."""
    hub = CloudHub(tmp_path_factory.mktemp("hq"))
    hub.start()
    try:
        hub.ingest([
            ("north", 1, "order.completed", sale(1250, sku="A", location="north", method="card")),
            ("north", 2, "order.completed", sale(2500, sku="B", location="north")),
            ("south", 1, "order.completed", sale(730, sku="A", location="south", price_variance_cents=-120)),
        ])
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def page(browser: Any, hub: CloudHub, request: pytest.FixtureRequest) -> Iterator[Any]:
    with browser_page(browser, hub.url, request.node.name, height=900) as page:
        yield page


def sign_in(page: Any, username: str, secret: str | None = None) -> None:
    page.goto("/hq/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    if secret:
        page.get_by_label("One-time code", exact=True).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#dash")).to_be_visible()


def session(page: Any) -> dict[str, Any]:
    return page.evaluate("JSON.parse(sessionStorage.getItem('novapos.hq.session'))")


def test_an_analyst_sees_sales_by_store_the_store_list_and_the_conflict_queue(page: Any, hub: CloudHub) -> None:
    analyst, _ = hub.add_user(["hq_analyst"])
    sign_in(page, analyst)
    expect(page.locator("#who")).to_have_text(f"{analyst} · {TENANT}")
    summary = page.locator("#summary")
    expect(summary.get_by_role("row", name=re.compile(r"^north\b"))).to_contain_text("37.50")  # 12.50 + 25.00
    expect(summary.get_by_role("row", name=re.compile(r"^south\b"))).to_contain_text("7.30")
    stores = page.locator("#stores")
    expect(stores).to_contain_text("north")
    expect(stores).to_contain_text("south")
    variance = page.locator("#conflicts tr", has_text="price_variance")
    expect(variance).to_contain_text("south")
    # Assigning and resolving are an admin's: an analyst is not offered buttons the hub refuses.
    expect(page.locator("#conflicts button")).to_have_count(0)
    expect(page.locator("#dash-error")).to_be_hidden()


def test_an_admin_needs_the_one_time_code_and_resolves_a_conflict(page: Any, hub: CloudHub) -> None:
    admin, secret = hub.add_user(["tenant_admin"], totp=True)
    page.goto("/hq/")
    page.get_by_label("Username").fill(admin)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("one-time code")
    expect(page.locator("#dash")).to_be_hidden()

    sign_in(page, admin, secret)
    case = page.locator("#conflicts tr", has_text="negative_stock").filter(has_text="north").first
    case.get_by_role("button", name="Resolve").click()
    page.get_by_label("Resolution").select_option("counted")  # a resolution its kind allows, not free text
    page.get_by_label("Note").fill("stock counted, adjusted")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#conflict-dialog")).to_be_hidden()
    expect(page.locator("#conflicts tr", has_text="stock counted, adjusted")).to_have_count(1)


def test_an_expired_access_token_is_refreshed_without_the_analyst_noticing(page: Any, hub: CloudHub) -> None:
    analyst, _ = hub.add_user(["hq_analyst"])
    sign_in(page, analyst)
    expect(page.locator("#summary")).to_contain_text("north")
    before = session(page)
    claims = jwt.decode(before["access_token"], options={"verify_signature": False})
    expired = hub.keys().issue({k: claims[k] for k in ("sub", "sid", "username", "roles", "tenant_id", "store_id")},
                               ttl_s=-60)
    page.evaluate("""(token) => {
        const s = JSON.parse(sessionStorage.getItem('novapos.hq.session'));
        sessionStorage.setItem('novapos.hq.session', JSON.stringify({...s, access_token: token}));
    }""", expired)
    hub.ingest([("west", 1, "order.completed", sale(4200, sku="C", location="west"))])
    refreshes: list[str] = []
    page.on("request", lambda r: refreshes.append(r.url) if r.url.endswith("/api/v1/auth/refresh") else None)

    # Every panel loads at once and each finds the token expired: one refresh serves them all
    # (a second use of the rotated refresh token would revoke the session).
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#summary").get_by_role("row", name=re.compile(r"^west\b"))).to_contain_text("42.00")
    expect(page.locator("#dash-error")).to_be_hidden()
    expect(page.locator("#login")).to_be_hidden()
    assert len(refreshes) == 1
    after = session(page)
    assert after["access_token"] not in (before["access_token"], expired)
    assert after["refresh_token"] != before["refresh_token"]
    # The session lives on at the hub: its newest refresh token is still good.
    again = httpx.post(f"{hub.url}/api/v1/auth/refresh", json={"refresh_token": after["refresh_token"]}, timeout=10)
    assert again.status_code == 200, again.text


def test_a_refusal_is_shown_in_the_dialog_and_the_case_stays_as_it_is(page: Any, hub: CloudHub) -> None:
    admin, secret = hub.add_user(["tenant_admin"], totp=True)
    colleague, colleague_secret = hub.add_user(["tenant_admin"], totp=True)
    sign_in(page, admin, secret)
    row = page.locator("#conflicts tr", has_text="price_variance")
    row.get_by_role("button", name="Resolve").click()

    # Meanwhile a colleague resolves the same case.
    token = hub.api_login(colleague, colleague_secret)["access_token"]
    cases = httpx.get(f"{hub.url}/api/v1/hq/conflicts?kind=price_variance", timeout=10,
                      headers={"Authorization": f"Bearer {token}"}).json()["items"]
    done = httpx.post(f"{hub.url}/api/v1/hq/conflicts/{cases[0]['id']}/resolve", json={"resolution": "accepted"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert done.status_code == 200, done.text

    page.get_by_label("Resolution").select_option("price_corrected")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#conflict-error")).to_contain_text("resolved")
    expect(page.locator("#conflict-dialog")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#conflicts tr", has_text="price_variance")).to_contain_text("accepted")


def test_an_unreachable_hub_is_reported_and_the_dashboard_recovers(page: Any, hub: CloudHub) -> None:
    analyst, _ = hub.add_user(["hq_analyst"])
    sign_in(page, analyst)
    expect(page.locator("#summary")).to_contain_text("north")
    hub.stop()
    try:
        page.get_by_role("button", name="Apply").click()
        error = page.locator("#dash-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("Could not load Sales by store")
        expect(error).to_contain_text("the HQ server cannot be reached")
        expect(page.locator("#summary")).to_contain_text("north")  # the last figures stay, marked by the error
    finally:
        hub.start()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#dash-error")).to_be_hidden()
    expect(page.locator("#updated")).to_contain_text("Updated")


def test_a_session_signed_out_elsewhere_returns_to_sign_in_with_the_reason(page: Any, hub: CloudHub) -> None:
    analyst, _ = hub.add_user(["hq_analyst"])
    sign_in(page, analyst)
    expect(page.locator("#summary")).to_contain_text("north")
    out = httpx.post(f"{hub.url}/api/v1/auth/logout", json={"refresh_token": session(page)["refresh_token"]},
                     timeout=10)
    assert out.status_code == 204, out.text
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("Signed out")
    assert session(page) is None
