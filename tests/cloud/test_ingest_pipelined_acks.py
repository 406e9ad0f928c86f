"""The ingest consumer decodes the next batch while one commits and sends a batch's acks once the
next commit is under way: over many small batches every event is stored and projected once,
every message ends up acked without a redelivery, and the stock level is the sum of the sales."""

from __future__ import annotations

import nats
from conftest import CloudSide, sale, wait_until
from sqlalchemy import select

from cloud import queries
from cloud.ingest import AGGREGATE_STREAM, INGEST_DURABLE
from cloud.schema import stock_levels
from edge.adapters.relay import Relay, RelayConfig


async def _all_acked(js, n: int) -> bool:
    try:
        info = await js.consumer_info(AGGREGATE_STREAM, INGEST_DURABLE)
    except nats.js.errors.NotFoundError:
        return False
    return info.ack_floor.stream_seq >= n and info.num_ack_pending == 0


async def test_many_small_batches_are_each_stored_once_and_all_acked(nats_server, make_store, cloud_db):
    store = make_store("s1")
    ids = await store.emit([("order.completed", sale(100, sku="SKU-P", location="s1")) for _ in range(90)])
    relay = Relay(store.db, RelayConfig(nats_url=nats_server.url, tenant_id=store.tenant_id, store_id=store.store_id,
                                        idle_poll_s=0.05))
    await relay.start()
    # The store stream must exist before the aggregate can source it.
    await wait_until(lambda: _pending_is(store, 0), what="outbox drained")
    side = CloudSide(cloud_db, nats_server.url, batch=7)  # 13 batches at least
    await side.start()
    try:
        await wait_until(lambda: _has(side, 90), what="every event stored")
        await wait_until(lambda: _all_acked(side.nc.jetstream(), 90), what="every message acked")
        info = await side.nc.jetstream().consumer_info(AGGREGATE_STREAM, INGEST_DURABLE)
        assert info.num_redelivered == 0  # each ack went out, none waited for ack_wait
        assert sorted(await side.event_ids()) == sorted(ids)
        assert side.ingestor.total_new == 90
        async with cloud_db.tenant("acme", write=False) as conn:
            assert await queries.sales_summary(conn, "acme", None, None) == [
                {"store_id": "s1", "orders": 90, "gross_cents": 9000}
            ]
            level = (await conn.execute(select(stock_levels.c.on_hand).where(
                stock_levels.c.tenant_id == "acme", stock_levels.c.sku == "SKU-P"))).scalar_one()
        assert level == -90
    finally:
        await side.stop()
        await relay.stop()


async def _has(cloud: CloudSide, n: int) -> bool:
    return len(await cloud.event_ids()) >= n


async def _pending_is(store, n: int) -> bool:
    return await store.pending() == n
