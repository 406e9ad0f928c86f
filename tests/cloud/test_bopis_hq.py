"""HQ's side of a BOPIS order on both databases: every status the store reports lands in the
order's history once, a late answer from a store the order has left changes nothing, and HQ's
cancel tells the serving store while a closed order cannot be cancelled."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from cloud import bopis
from cloud.ingest import Ingestor
from cloud.schema import commands, stock_levels
from edge.contracts.envelope import EventEnvelope

NOW = "2026-03-02T10:00:00Z"


def event(store: str, seq: int, status: str, order_id: str = "WEB-1", **extra) -> EventEnvelope:
    return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="demo", store_id=store, seq=seq,
                         type=f"bopis.{status}", occurred_at=f"2026-03-02T10:{seq:02d}:00.000Z",
                         business_day="2026-03-02",
                         payload={"order_id": order_id, "status": status, "reason": None, "sale_order_id": None,
                                  "total_cents": None, "prepaid": True, **extra})


async def stocked(db, *stores: str) -> None:
    def put(conn):
        conn.execute(stock_levels.insert(), [{"tenant_id": "demo", "location_id": s, "sku": "SKU-1", "store_id": s,
                                              "on_hand": 10 + i, "threshold": 0, "updated_at": NOW}
                                             for i, s in enumerate(stores)])
    await db.write(put, tenant_id="demo")


async def detail(db, order_id: str = "WEB-1") -> dict:
    async with db.tenant("demo", write=False) as conn:
        return await conn.run_sync(bopis.detail, "demo", order_id)


async def sent(db, type_: str) -> list[dict]:
    async with db.tenant("demo", write=False) as conn:
        rows = await conn.execute(select(commands).where(commands.c.tenant_id == "demo", commands.c.type == type_)
                                  .order_by(commands.c.version))
        return [dict(r._mapping) for r in rows]


async def test_the_store_reports_become_the_orders_status_and_history(cloud_db):
    await stocked(cloud_db, "a", "b")
    placed = await cloud_db.write(bopis.place, "demo", "WEB-1", [{"sku": "SKU-1", "quantity": 2}], actor="hq",
                                  now=NOW, prepaid=True, tenant_id="demo")
    assert placed["store_id"] == "b"  # the best-stocked
    [reserve] = await sent(cloud_db, "bopis.reserve")
    assert reserve["store_id"] == "b" and reserve["payload"]["prepaid"] is True
    ingest = Ingestor(cloud_db).ingest
    await ingest([event("b", 1, "received"), event("b", 2, "accepted"), event("b", 3, "picked"),
                  event("b", 4, "ready"), event("b", 5, "completed", sale_order_id="o-9", total_cents=1234)])
    await ingest([event("a", 1, "rejected", reason="late")])  # a store never asked: ignored
    order = await detail(cloud_db)
    assert order["status"] == "completed" and (order["sale_order_id"], order["sale_total_cents"]) == ("o-9", 1234)
    assert [h["status"] for h in order["history"]] == ["placed", "reserved", "received", "accepted", "picked",
                                                      "ready", "completed"]


async def test_a_rejection_reroutes_and_the_first_stores_late_answers_change_nothing(cloud_db):
    await stocked(cloud_db, "a", "b")
    await cloud_db.write(bopis.place, "demo", "WEB-1", [{"sku": "SKU-1", "quantity": 2}], actor="hq", now=NOW,
                         tenant_id="demo")
    ingest = Ingestor(cloud_db).ingest
    await ingest([event("b", 1, "received"), event("b", 2, "rejected", reason="damaged")])
    order = await detail(cloud_db)
    assert (order["store_id"], order["tried"], order["status"]) == ("a", ["b"], "reserved")
    assert [c["store_id"] for c in await sent(cloud_db, "bopis.reserve")] == ["b", "a"]
    await ingest([event("b", 3, "cancelled")])  # the first store tidying up after itself
    assert (await detail(cloud_db))["status"] == "reserved"
    rejected = [h for h in (await detail(cloud_db))["history"] if h["status"] == "rejected"]
    assert rejected == [{"order_id": "WEB-1", "status": "rejected", "store_id": "b", "reason": "damaged",
                         "at": "2026-03-02T10:02:00.000Z", "event_id": rejected[0]["event_id"], "detail": None}]


async def test_hq_cancels_an_open_order_at_its_store_but_not_a_completed_one(cloud_db):
    await stocked(cloud_db, "a")
    await cloud_db.write(bopis.place, "demo", "WEB-1", [{"sku": "SKU-1", "quantity": 1}], actor="hq", now=NOW,
                         tenant_id="demo")
    cancelled = await cloud_db.write(bopis.cancel, "demo", "WEB-1", reason="customer called", actor="hq", now=NOW,
                                     tenant_id="demo")
    assert cancelled["status"] == "cancelled"
    [cancel] = await sent(cloud_db, "bopis.cancel")
    assert cancel["store_id"] == "a" and cancel["payload"] == {"order_id": "WEB-1", "reason": "customer called"}
    with pytest.raises(bopis.BopisNotCancellable):
        await cloud_db.write(bopis.cancel, "demo", "WEB-1", reason=None, actor="hq", now=NOW, tenant_id="demo")
    with pytest.raises(bopis.BopisNotFound):
        await cloud_db.write(bopis.cancel, "demo", "WEB-404", reason=None, actor="hq", now=NOW, tenant_id="demo")


async def test_the_hq_api_shows_an_order_and_answers_problems_for_unknown_or_closed_ones(tmp_path):
    from litestar.testing import AsyncTestClient

    from cloud.app import create_app
    from cloud.settings import CloudSettings

    app = create_app(CloudSettings(db_url=f"sqlite:///{tmp_path / 'hq.db'}", demo=True))
    async with AsyncTestClient(app=app) as client:
        token = (await client.post("/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"})
                 ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        await stocked(app.state.db, "a")
        placed = await client.post("/api/v1/hq/bopis", json={"order_id": "WEB-7", "prepaid": True, "hold_hours": 24,
                                                              "lines": [{"sku": "SKU-1", "quantity": 1}]})
        assert placed.status_code == 201, placed.text
        shown = (await client.get("/api/v1/hq/bopis/WEB-7")).json()
        assert (shown["prepaid"], shown["hold_hours"], shown["store_id"]) == (True, 24, "a")
        assert [h["status"] for h in shown["history"]] == ["placed", "reserved"]
        assert (await client.post("/api/v1/hq/bopis/WEB-7/cancel", json={"reason": "sold out online"})).status_code \
            == 200
        again = await client.post("/api/v1/hq/bopis/WEB-7/cancel", json={})
        assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
        missing = await client.get("/api/v1/hq/bopis/WEB-404")
        assert missing.status_code == 404 and missing.json()["type"].endswith("bopis-order-not-found")
        too_long = await client.post("/api/v1/hq/bopis", json={"order_id": "WEB-8", "hold_hours": 1000,
                                                                "lines": [{"sku": "SKU-1", "quantity": 1}]})
        assert too_long.status_code == 400
        assert (await client.get("/api/v1/hq/bopis/WEB-8")).status_code == 404
