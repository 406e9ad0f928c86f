"""The HQ Customers panel in Chromium against a real `novapos-cloud serve` (production mode): a
tenant admin finds a customer (masked), opens the 360, exports everything HQ holds on them as a
JSON download, and erases them, the dialog showing the request and each store's confirmation
as the stores' `customer.erased` events arrive; the request log lists both requests. An analyst
searches masked and can neither export nor erase.

Customers reach HQ the way stores send them: the data key and blind indexes over the rpc
channel (`CustomerRpc`, called in-process as the cloud tests do), the sealed profile, sales and
points as events through the hub's real ingest."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from cloud.customer_keys import KEK_FILENAME, CustomerKeys
from cloud.customer_rpc import CustomerRpc
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from edge.contracts import pii
from tests.cloud.customer_support import FakeStore
from tests.webui import test_hq as base
from tests.webui.hq_hub import HqHub, page, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.slow
TENANT = base.TENANT


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A hub whose customer KEK is a file this test can read too (as a store's keys reach HQ)."""
    hub = HqHub(tmp_path_factory.mktemp("hq-customers"))
    hub.keys_dir.mkdir(parents=True)
    pii.write_new_kek(hub.keys_dir / KEK_FILENAME)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def seed_customer(hub: HqHub, name: str, *, points: int) -> dict[str, Any]:
    """One customer who joined at north and bought at north and south, with points earned."""
    email = f"dsr.{uuid.uuid4().hex[:10]}@example.com"
    phone = f"+1 212 555 {uuid.uuid4().int % 10**4:04d}"

    async def run() -> dict[str, Any]:
        db = CloudDB(hub.db_url)
        try:
            rpc = CustomerRpc(db, CustomerKeys.from_file(hub.keys_dir / KEK_FILENAME))
            north, south = FakeStore(rpc, TENANT, "north"), FakeStore(rpc, TENANT, "south")
            customer_id, _, profile, upserted = await north.create(name, email, phone, marketing=True)
            order_n, order_s = f"n-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}"
            await Ingestor(db).ingest([
                upserted,
                north.sale(order_n, 1250, customer_id), south.sale(order_s, 800, customer_id),
                north.points(f"{order_n}:earn", customer_id, points, order_n),
            ])
            return {"customer_id": customer_id, "email": profile.email, "phone": profile.phone,
                    "card_code": profile.card_code, "orders": [order_n, order_s]}
        finally:
            await db.close()

    return base.run_async(run)


def confirm(hub: HqHub, store: str, request_id: str, customer_id: str) -> None:
    """A store's inbox applied the erase and says so (its `customer.erased` event)."""

    async def run() -> None:
        db = CloudDB(hub.db_url)
        try:
            store_side = FakeStore(CustomerRpc(db, CustomerKeys.from_file(hub.keys_dir / KEK_FILENAME)), TENANT, store)
            await Ingestor(db).ingest([store_side.erased(request_id, customer_id)])
        finally:
            await db.close()

    base.run_async(run)


def find(page: Any, q: str) -> None:
    panel = page.locator("#customers")
    panel.get_by_label("Phone, email or card").fill(q)
    panel.get_by_role("button", name="Search").click()


def test_an_admin_exports_then_erases_a_customer_and_sees_each_store_confirm(
        page: Any, hq: HqHub, tmp_path: Path) -> None:
    ada = seed_customer(hq, "Ada Lovelace", points=12)
    other = seed_customer(hq, "Bob Other", points=7)
    admin, secret = hq.add(["tenant_admin"], totp=True)
    sign_in(page, admin, secret)

    find(page, ada["email"])
    results = page.locator("#customer-results")
    expect(results).to_contain_text(ada["card_code"])
    expect(results).not_to_contain_text(ada["email"])
    expect(results).not_to_contain_text("Ada Lovelace")  # the name is masked in a search too
    results.get_by_role("button", name="Open").click()
    facts = page.locator("#customer-facts")
    expect(facts).to_contain_text(ada["card_code"])
    expect(facts).to_contain_text("north, south")
    expect(facts).not_to_contain_text(ada["email"])
    expect(page.locator("#customer-purchases")).to_contain_text(ada["orders"][0])
    expect(page.locator("#customer-purchases")).to_contain_text(ada["orders"][1])
    expect(page.locator("#customer-ledger")).to_contain_text("earn")

    # A points adjustment needs a reason; with one, HQ's ledger and balance show it.
    page.locator("#hq-points-adjust").get_by_label("Adjust points (+ or −)").fill("5")
    page.locator("#hq-points-adjust").get_by_role("button", name="Adjust").click()
    expect(page.locator("#hq-adjust-status")).to_contain_text("Say why")
    page.locator("#hq-points-adjust").get_by_label("Reason").fill("goodwill")
    page.locator("#hq-points-adjust").get_by_role("button", name="Adjust").click()
    expect(page.locator("#hq-adjust-status")).to_contain_text("Adjusted by +5 points")
    expect(page.locator("#customer-ledger")).to_contain_text("goodwill")
    expect(facts.locator("dd").nth(4)).to_have_text("17")  # Points

    with page.expect_download() as download:
        page.get_by_role("button", name="Export (JSON)").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    assert download.value.suggested_filename == f"customer-{ada['customer_id']}.json"
    document = json.loads(saved.read_text())
    assert document["profile"]["email"] == ada["email"] and document["profile"]["card_code"] == ada["card_code"]
    assert sorted(o["order_id"] for o in document["orders"]) == sorted(ada["orders"])
    assert document["loyalty"]["balance_points"] == 17
    assert sorted(e["points"] for e in document["loyalty"]["ledger"]) == [5, 12]
    assert other["email"] not in saved.read_text() and other["customer_id"] not in saved.read_text()
    expect(page.locator("#customer-status")).to_contain_text("Exported")
    expect(page.locator("#gdpr-requests")).to_contain_text("export")

    page.get_by_role("button", name="Erase…").click()
    dialog = page.locator("#erase-dialog")
    expect(dialog).to_contain_text(ada["customer_id"])
    dialog.get_by_role("button", name="Erase", exact=True).click()  # not confirmed: nothing happens
    expect(dialog.locator("#erase-progress")).to_be_hidden()
    dialog.get_by_label("I have checked this is the person who asked to be erased").check()
    dialog.get_by_role("button", name="Erase", exact=True).click()
    expect(dialog.locator("#erase-request")).to_contain_text("0 of 2 stores confirmed")
    request_id = re.search(r"Request (\S+):", dialog.locator("#erase-request").inner_text()).group(1)
    stores = dialog.locator("#erase-stores")
    expect(stores).to_contain_text("waiting")

    confirm(hq, "north", request_id, ada["customer_id"])
    expect(dialog.locator("#erase-request")).to_contain_text("1 of 2 stores confirmed", timeout=15_000)
    confirm(hq, "south", request_id, ada["customer_id"])
    expect(dialog.locator("#erase-request")).to_contain_text("2 of 2 stores confirmed", timeout=15_000)
    expect(stores).not_to_contain_text("waiting")
    shot(page, "hq-customer-erased")
    dialog.get_by_role("button", name="Close").click()

    log = page.locator("#gdpr-requests")
    expect(log.locator("tr", has_text=request_id)).to_contain_text("2 / 2")
    find(page, ada["email"])
    expect(page.locator("#customer-results")).to_contain_text("None.")
    session = page.evaluate("JSON.parse(sessionStorage.getItem('novapos.hq.session'))")
    gone = httpx.get(f"{hq.url}/api/v1/hq/customers/{ada['customer_id']}", timeout=10,
                     headers={"Authorization": f"Bearer {session['access_token']}"})
    assert gone.status_code == 404


def test_an_analyst_searches_masked_and_cannot_export_or_erase(page: Any, hq: HqHub) -> None:
    grace = seed_customer(hq, "Grace Hopper", points=3)
    analyst, _ = hq.add(["hq_analyst"])
    sign_in(page, analyst)
    find(page, grace["phone"])
    results = page.locator("#customer-results")
    expect(results).to_contain_text(grace["card_code"])
    results.get_by_role("button", name="Open").click()
    expect(page.locator("#customer-facts")).to_contain_text(grace["card_code"])
    expect(page.locator("#customer-facts")).not_to_contain_text(grace["email"])
    expect(page.get_by_role("button", name="Export (JSON)")).to_be_disabled()
    expect(page.get_by_role("button", name="Erase…")).to_be_disabled()
    expect(page.locator("#hq-points-adjust")).to_have_count(0)
    expect(page.locator("#gdpr-requests")).to_contain_text("tenant admins")
