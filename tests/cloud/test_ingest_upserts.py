"""Ingest's upserts built once (cloud/bulk.py `update=`): a stock level adds each batch's delta to
what is stored, store telemetry takes the newest reading and counts seq gaps across batches, and a
redelivered batch changes neither. SQLite and Postgres."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from cloud.bulk import BulkInsert
from cloud.db import set_tenant
from cloud.ingest import Ingestor
from cloud.schema import stock_levels, stores
from edge.contracts.envelope import EventEnvelope

TENANT = "acme"


async def test_an_upsert_adds_deltas_and_takes_new_values_across_pages(cloud_db):
    writer = BulkInsert(stock_levels, ("tenant_id", "location_id", "sku", "store_id", "on_hand", "threshold",
                                       "updated_at"),
                        conflict=("tenant_id", "location_id", "sku"), update={"on_hand": "add", "updated_at": "excluded"})
    writer.page = 3  # several statements for one call

    def rows(delta: int, at: str) -> list[dict[str, Any]]:
        return [{"tenant_id": TENANT, "location_id": "s1", "sku": f"SKU-{i}", "store_id": "s1", "on_hand": delta * i,
                 "threshold": 7, "updated_at": at} for i in range(8)]

    def write(conn: Any, batch: list[dict[str, Any]]) -> None:
        set_tenant(conn, TENANT)
        writer.run(conn, batch)

    await cloud_db.write(write, rows(1, "t1"), tenant_id=TENANT)
    await cloud_db.write(write, rows(-3, "t2"), tenant_id=TENANT)
    async with cloud_db.tenant(TENANT, write=False) as conn:
        got = {r.sku: (r.on_hand, r.threshold, r.updated_at) for r in await conn.execute(select(stock_levels))}
    assert got == {f"SKU-{i}": (-2 * i, 7, "t2") for i in range(8)}  # threshold kept from the first insert


def _sale(store: str, seq: int, minute: int) -> EventEnvelope:
    payload = {"order_id": f"{store}-{seq}", "currency": "USD", "total_cents": 100,
               "lines": [{"sku": "SKU-A", "name": "A", "quantity": 1, "total_cents": 100}],
               "tenders": [{"method": "cash", "amount_cents": 100}],
               "movements": [{"id": str(uuid.uuid4()), "location_id": store, "sku": "SKU-A", "kind": "sale",
                              "delta": -1}]}
    return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=TENANT, store_id=store, seq=seq, type="order.completed",
                         occurred_at=f"2026-11-30T10:{minute:02d}:00.000Z", business_day="2026-11-30", payload=payload)


async def test_store_telemetry_and_levels_add_up_over_batches_and_a_redelivery(cloud_db):
    ingestor = Ingestor(cloud_db)
    first = [_sale("s1", seq, seq) for seq in (1, 2, 3)] + [_sale("s2", 1, 5)]
    second = [_sale("s1", seq, seq) for seq in (6, 7)] + [_sale("s2", 2, 9)]  # s1 misses 4 and 5
    await ingestor.ingest(first)
    await ingestor.ingest(second)
    again = await ingestor.ingest(second)  # a redelivery
    assert again.new == 0 and again.duplicates == 3
    async with cloud_db.tenant(TENANT, write=False) as conn:
        telemetry = {r.store_id: (r.events_received, r.min_seq, r.max_seq, r.missing_seqs, r.last_event_at)
                     for r in await conn.execute(select(stores).where(stores.c.tenant_id == TENANT))}
        levels = {r.location_id: r.on_hand for r in await conn.execute(select(stock_levels))}
    assert telemetry == {
        "s1": (5, 1, 7, 2, "2026-11-30T10:07:00.000Z"),
        "s2": (2, 1, 2, 0, "2026-11-30T10:09:00.000Z"),
    }
    assert levels == {"s1": -5, "s2": -2}
