"""When the store box must not print: a sale replayed from a lane's offline queue, and sales
it already reacted to before a restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar.testing import TestClient

from tests.edge.hardware.conftest import order, wait_for
from tests.support import demo_settings, login


def jobs_for(client, headers, order_id):
    return [j for j in client.get("/api/v1/devices/jobs?limit=500", headers=headers).json()["items"]
            if j["ref"] == order_id]


def test_an_offline_sale_replayed_later_prints_nothing_and_opens_no_drawer(client, cashier, sim, products):
    sku = next(p for p in products if not p["sold_by_weight"])["sku"]
    sale = {"idempotency_key": uuid.uuid4().hex, "offline_created_at": datetime.now(UTC).isoformat(), "lane_id": "1",
            "lines": [{"sku": sku}], "tenders": [{"method": "cash", "amount_cents": 100_000}]}
    pin = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"}).json()  # a lane replays its own sales
    lane = {"Authorization": f"Bearer {pin['access_token']}"}
    replayed = client.post("/api/v1/offline/sales", json={"sales": [sale]}, headers=lane).json()["results"][0]
    assert replayed["verdict"] == "accepted"
    # A live sale after it proves the reactor has moved past the replay.
    live = order(client, cashier, [{"sku": sku}], [{"method": "cash", "amount_cents": 100_000}]).json()
    wait_for(lambda: any(j["status"] == "printed" for j in jobs_for(client, cashier, live["id"])),
             what="the live sale's receipt")
    assert sim.lane(1).printer.drawer_kicks == 1
    assert len(sim.lane(1).printer.texts) == 1 and live["number"] in sim.lane(1).printer.texts[0]


def test_a_restart_does_not_print_old_receipts_again(demo_dir):
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir))) as client:
        cashier = login(client, "cashier")
        sku = next(p for p in client.get("/api/v1/products?limit=20", headers=cashier).json()["items"]
                   if not p["sold_by_weight"])["sku"]
        sale = order(client, cashier, [{"sku": sku}], [{"method": "cash", "amount_cents": 100_000}]).json()
        wait_for(lambda: any(j["status"] == "printed" for j in jobs_for(client, cashier, sale["id"])),
                 what="the receipt")
    with TestClient(create_app(demo_settings(demo_dir))) as client:
        cashier = login(client, "cashier")
        # A sale made after the restart prints once the reactor has passed everything before it,
        # the old sale included: only then is "it did not print again" an observation.
        after = order(client, cashier, [{"sku": sku}], [{"method": "cash", "amount_cents": 100_000}]).json()
        wait_for(lambda: any(j["status"] == "printed" for j in jobs_for(client, cashier, after["id"])),
                 what="the receipt of the sale after the restart")
        assert len(jobs_for(client, cashier, sale["id"])) == 1
        texts = client.app.state.services.hardware.simulators.lane(1).printer.texts
        assert len(texts) == 1 and after["number"] in texts[0] and sale["number"] not in texts[0]
