"""`bopis.*` webhooks on both databases: queued with the status HQ records, once per status even
when the store's event arrives twice, only for the app that placed the order, with the store's
rejection reason and the re-route; an order HQ placed goes to every subscribed endpoint."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from cloud import bopis, webhooks
from cloud.ingest import Ingestor
from cloud.schema_partners import webhook_deliveries
from tests.cloud.test_bopis_hq import NOW, event, stocked


async def endpoint(db, tmp_path: Path, app_id: str, types: list[str]) -> str:
    box = webhooks.SecretBox(tmp_path / "keys")
    found = await db.write(webhooks.subscribe, "demo", app_id, f"https://{app_id}.example/hooks", types, box,
                           tenant_id="demo")
    return found["endpoint_id"]


async def queued(db, endpoint_id: str) -> list[tuple[str, dict]]:
    async with db.tenant("demo", write=False) as conn:
        rows = await conn.execute(select(webhook_deliveries.c.event_type, webhook_deliveries.c.payload)
                                  .where(webhook_deliveries.c.endpoint_id == endpoint_id))
        return sorted(((r.event_type, dict(r.payload)) for r in rows), key=lambda r: r[1]["sequence"])


async def test_the_placing_app_hears_each_store_decision_once_and_another_app_nothing(cloud_db, tmp_path):
    await stocked(cloud_db, "a", "b")
    shop = await endpoint(cloud_db, tmp_path, "app_shop", ["bopis.*"])
    other = await endpoint(cloud_db, tmp_path, "app_other", ["bopis.*"])
    placed = await cloud_db.write(bopis.place, "demo", "WEB-1", [{"sku": "SKU-1", "quantity": 2}],
                                  actor="partner:app_shop", now=NOW, prepaid=True, tenant_id="demo")
    assert placed["store_id"] == "b"
    assert await queued(cloud_db, shop) == []  # placed and reserved are the shop's own answer

    ingest = Ingestor(cloud_db).ingest
    rejected = event("b", 1, "rejected", reason="damaged box")
    await ingest([event("b", 0, "received"), rejected])
    await ingest([rejected])  # redelivered by NATS: nothing more
    await ingest([event("a", 1, "received"), event("a", 2, "accepted"), event("a", 3, "picked"),
                  event("a", 4, "ready"), event("a", 5, "completed", sale_order_id="o-9", total_cents=1234)])

    got = await queued(cloud_db, shop)
    assert [t for t, _ in got] == ["bopis.rejected", "bopis.rerouted", "bopis.accepted", "bopis.picked",
                                   "bopis.ready", "bopis.completed"]
    by_type = dict(got)
    assert (by_type["bopis.rejected"]["store_id"], by_type["bopis.rejected"]["reason"]) == ("b", "damaged box")
    assert (by_type["bopis.rerouted"]["store_id"], by_type["bopis.rerouted"]["previous_store_id"]) == ("a", "b")
    done = by_type["bopis.completed"]
    assert (done["order_id"], done["reference"], done["status"], done["store_id"]) == ("WEB-1", "WEB-1", "completed",
                                                                                      "a")
    assert (done["sale_order_id"], done["total_cents"], done["at"]) == ("o-9", 1234, "2026-03-02T10:05:00.000Z")
    assert await queued(cloud_db, other) == []


async def test_an_order_hq_placed_reaches_every_endpoint_subscribed_to_the_type(cloud_db, tmp_path):
    await stocked(cloud_db, "a")
    everything = await endpoint(cloud_db, tmp_path, "app_one", ["bopis.*"])
    cancels = await endpoint(cloud_db, tmp_path, "app_two", ["bopis.cancelled"])
    sales = await endpoint(cloud_db, tmp_path, "app_three", ["order.completed"])
    await cloud_db.write(bopis.place, "demo", "WEB-2", [{"sku": "SKU-1", "quantity": 1}], actor="hq", now=NOW,
                         tenant_id="demo")
    await Ingestor(cloud_db).ingest([event("a", 1, "received", order_id="WEB-2"),
                                     event("a", 2, "accepted", order_id="WEB-2")])
    await cloud_db.write(bopis.cancel, "demo", "WEB-2", reason="customer called", actor="hq", now=NOW,
                         tenant_id="demo")
    assert [t for t, _ in await queued(cloud_db, everything)] == ["bopis.accepted", "bopis.cancelled"]
    [(kind, body)] = await queued(cloud_db, cancels)
    assert (kind, body["reason"], body["store_id"]) == ("bopis.cancelled", "customer called", "a")
    assert await queued(cloud_db, sales) == []
