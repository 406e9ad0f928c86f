"""A card number that a store lets through is masked at HQ before it is stored or projected,
and the cloud's log lines never carry one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog
from conftest import CloudSide, sale, wait_until
from sqlalchemy import select

from cloud.schema import events, sale_lines
from edge.adapters.relay import Relay, RelayConfig

PAN = "4111111111111111"
SPACED = "4111 1111 1111 1111"
EAN_THAT_PASSES_LUHN = "2000000000008"


def _relay(store, url: str) -> Relay:
    return Relay(store.db, RelayConfig(nats_url=url, tenant_id=store.tenant_id, store_id=store.store_id,
                                       reconnect_wait_s=0.2, ack_timeout_s=2.0, idle_poll_s=0.05))


async def test_an_event_carrying_a_card_number_is_masked_before_hq_stores_it(nats_server, make_store, cloud_db,
                                                                            tmp_path: Path):
    store = make_store("s1")
    paid = sale(1099, sku="GIFT")
    paid["lines"][0]["name"] = f"Gift card {SPACED}"
    paid["note"] = PAN
    product = {"product_id": "p1", "sku": "APPLE", "name": "Apples", "barcodes": [EAN_THAT_PASSES_LUHN],
               "price_cents": 199, "tax_category": "std", "active": True, "version": 1,
               "attributes": {"origin": f"card {PAN}"}}
    order_id, product_event = await store.emit([("order.completed", paid), ("product.changed", product)])
    relay = _relay(store, nats_server.url)
    cloud = CloudSide(cloud_db, nats_server.url)
    with structlog.testing.capture_logs() as logged:
        await relay.start()
        try:
            # The store stream must exist before the aggregate can source it.
            await wait_until(lambda: _drained(store), what="outbox drained")
            await cloud.start()
            await wait_until(lambda: _count(cloud), what="both events at HQ")
        finally:
            await relay.stop()
            await cloud.stop()

    async with cloud_db.tenant("acme", write=False) as conn:
        stored = {r.event_id: json.loads(r.envelope) for r in await conn.execute(select(events))}
        names = [r.name for r in await conn.execute(select(sale_lines))]
    assert names == ["Gift card **** **** **** 1111"]  # the sale is kept, the digits are not
    assert stored[order_id]["payload"]["note"] == "************1111"
    assert stored[product_event]["payload"]["barcodes"] == [EAN_THAT_PASSES_LUHN]  # a barcode stays a barcode
    assert stored[product_event]["payload"]["attributes"]["origin"] == "card ************1111"
    everything = json.dumps(stored)
    assert PAN not in everything and SPACED not in everything
    blob = _sqlite_bytes(tmp_path)  # the SQLite variant: not a byte of it anywhere in the files
    assert PAN.encode() not in blob and SPACED.encode() not in blob
    warnings = [e for e in logged if e["event"] == "ingest.card_number_masked"]
    assert {w["event_id"] for w in warnings} == {order_id, product_event}
    assert sorted(warnings[0]["fields"] + warnings[1]["fields"]) == ["attributes.origin", "lines[0].name", "note"]
    assert PAN not in repr(logged) and SPACED not in repr(logged)


def _sqlite_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.glob("cloud.db*"))


async def _drained(store) -> bool:
    return await store.pending() == 0


async def _count(cloud: CloudSide) -> bool:
    return len(await cloud.event_ids()) == 2


def test_cloud_log_lines_mask_card_numbers(capsys):
    from cloud.logs import configure_logging

    configure_logging()
    capsys.readouterr()
    try:
        structlog.get_logger().warning("hq.command_rejected", detail=f"name {SPACED}")
        logging.getLogger("nats.aio.client").error("nats: encountered error %s", PAN)
        text = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
        logging.basicConfig(force=True)
    assert "**** **** **** 1111" in text and "************1111" in text
    assert PAN not in text and SPACED not in text


async def test_hq_refuses_a_card_number_in_a_command_or_a_login_and_stores_nothing(tmp_path: Path):
    from litestar.testing import AsyncTestClient

    from cloud.app import create_app
    from cloud.settings import CloudSettings

    app = create_app(CloudSettings(db_url=f"sqlite:///{tmp_path / 'cloud.db'}", demo=True,
                                   keys_dir=str(tmp_path / "keys")))
    async with AsyncTestClient(app=app) as client:
        token = (await client.post("/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"})
                 ).json()["access_token"]
        command = await client.post("/api/v1/hq/commands", headers={"Authorization": f"Bearer {token}"}, json={
            "type": "catalog.upsert", "payload": {"sku": "GIFT", "name": f"Gift {SPACED}", "price_cents": 100,
                                                  "barcodes": [EAN_THAT_PASSES_LUHN]}})
        login = await client.post("/api/v1/auth/login", json={"username": PAN, "password": "whatever-it-is"})
    for response, field in ((command, "payload.name"), (login, "username")):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("/card-number-rejected")
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert PAN not in response.text and SPACED not in response.text
    blob = _sqlite_bytes(tmp_path)
    assert blob and PAN.encode() not in blob and SPACED.encode() not in blob
