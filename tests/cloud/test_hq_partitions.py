"""Partitioned ingest (cloud.partitions) against a real nats-server and a real SQLite cloud DB:
each store lands in one partition, an instance that dies holding a partition's messages hands
the partition over through the pin TTL, and the new holder projects them in store order."""

from __future__ import annotations

import asyncio

import nats
import pytest
from hq_scale_support import SimStore
from sqlalchemy import func, select

from cloud.db import CloudDB
from cloud.ingest import AGGREGATE_STREAM, Ingestor
from cloud.partitions import PartitionConsumer, Share, partition_filter, with_scale_from_env
from cloud.schema import create_schema, sales
from cloud.settings import CloudSettings
from cloud.streams import store_stream_config, sync_aggregate
from tests.support import eventually


@pytest.fixture
async def sqlite_db(tmp_path):
    db = CloudDB(f"sqlite:///{tmp_path / 'cloud.db'}")
    await create_schema(db)
    yield db
    await db.close()


class DiesMidBatch(Ingestor):
    """An instance that fetched a batch and then hung (or was killed) before committing it."""

    def __init__(self, db):
        super().__init__(db)
        self.holding = asyncio.Event()

    async def ingest(self, envelopes, suspects=None):
        self.holding.set()
        await asyncio.Event().wait()


async def test_each_store_lands_in_exactly_one_partition(nats_server):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    sims = [SimStore("acme", f"s{i}") for i in range(12)]
    for sim in sims:
        await js.add_stream(store_stream_config(sim.tenant_id, sim.store_id))
    await sync_aggregate(js, partitions=3)
    for sim in sims:
        for _ in range(3):
            await sim.publish(js, sim.sale(100))
    seen: dict[str, set[str]] = {}
    sub = await js.subscribe("p.>", stream=AGGREGATE_STREAM, ordered_consumer=True)
    for _ in range(36):
        msg = await sub.next_msg(timeout=10)
        partition, store = msg.subject.split(".")[1], msg.subject.split(".")[4]
        seen.setdefault(store, set()).add(partition)
    await nc.close()
    assert sorted(seen) == sorted(sim.store_id for sim in sims)
    assert all(len(parts) == 1 for parts in seen.values())
    assert len(set().union(*seen.values())) > 1  # stores are spread, not all on one partition


async def test_a_partition_taken_over_from_a_dead_instance_projects_voids_after_their_sales(nats_server, sqlite_db):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    sim = SimStore("acme", "s1")
    await js.add_stream(store_stream_config(sim.tenant_id, sim.store_id))
    await sync_aggregate(js, partitions=2)
    orders = [sim.sale(1_000 * (i + 1)) for i in range(5)]
    for sale in orders:
        await sim.publish(js, sale)
    partition = await eventually(lambda: _partition_holding(js, 5), within=20, what="the sales sourced")

    partition -= 1
    dying = DiesMidBatch(sqlite_db)
    first = PartitionConsumer(dying, js, partition=partition, pin_ttl_s=1.0, ack_wait_s=5.0, fetch_timeout_s=0.5)
    await first.start()
    await asyncio.wait_for(dying.holding.wait(), 20)  # it holds the five sales, uncommitted
    for sale in orders[:3]:
        await sim.publish(js, sim.void(sale))  # the voids arrive while the sales are in limbo

    survivor = PartitionConsumer(Ingestor(sqlite_db), js, partition=partition, pin_ttl_s=1.0, ack_wait_s=5.0,
                                 fetch_timeout_s=0.5)
    await survivor.start()
    try:
        async def net() -> tuple[int, int]:
            async with sqlite_db.tenant("acme", write=False) as conn:
                row = (await conn.execute(select(func.count(), func.sum(sales.c.gross_cents)))).one()
                return int(row[0]), int(row[1] or 0)

        await eventually(lambda: _is(net, 8), within=30, what="five sales and three voids projected")
        assert await net() == (8, 4_000 + 5_000)  # the three voided sales net out, in store order
    finally:
        await survivor.stop()
        await first.stop()
        await nc.close()


async def _is(count, n: int) -> bool:
    return (await count())[0] == n


async def _partition_holding(js, n: int) -> int | None:
    """The partition whose filter holds `n` messages (returned +1, so partition 0 is truthy)."""
    for k in range(2):
        info = await js.stream_info(AGGREGATE_STREAM, subjects_filter=partition_filter(k))
        if sum((info.state.subjects or {}).values()) == n:
            return k + 1
    return None


@pytest.mark.parametrize(("key", "value"), [("NOVAPOS_CLOUD_INGEST_PARTITIONS", "0"),
                                            ("NOVAPOS_CLOUD_STREAM_REPLICAS", "three"),
                                            ("NOVAPOS_CLOUD_INGEST_PIN_TTL_S", "0.1")])
def test_a_bad_scale_setting_names_its_key_and_a_good_example(key, value):
    with pytest.raises(ValueError, match=f"{key}=.*example: {key}="):
        with_scale_from_env(CloudSettings(), {key: value})


def test_scale_settings_default_to_a_single_machine():
    settings = with_scale_from_env(CloudSettings(), {})
    assert (settings.ingest_partitions, settings.stream_replicas) == (1, 1)


async def test_a_second_instance_gets_its_fair_share_of_partitions_from_the_first(nats_server, sqlite_db):
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    sims = [SimStore("acme", f"s{i}") for i in range(8)]
    for sim in sims:
        await js.add_stream(store_stream_config(sim.tenant_id, sim.store_id))
    await sync_aggregate(js, partitions=4)

    def instance() -> tuple[Share, list[PartitionConsumer]]:
        share = Share(4)
        return share, [PartitionConsumer(Ingestor(sqlite_db), js, partition=k, pin_ttl_s=1.0, share=share,
                                         fetch_timeout_s=0.5) for k in range(4)]

    (first, first_consumers), (second, second_consumers) = instance(), instance()
    sent, balanced = 0, asyncio.Event()

    async def trickle() -> None:  # a partition's holder is known by the messages it gets
        nonlocal sent
        while not balanced.is_set():
            for sim in sims:
                await sim.publish(js, sim.sale(100))
                sent += 1
            await asyncio.sleep(0.2)

    trading = asyncio.create_task(trickle())
    try:
        for consumer in first_consumers:
            await consumer.start()
        await eventually(lambda: len(first.held) == 4, within=20, what="the only instance holding every partition")
        for consumer in second_consumers:
            await consumer.start()
        await eventually(lambda: len(first.held) == len(second.held) == 2, within=40, what="two partitions each")
        balanced.set()
        await trading  # stopped between publishes: every sale sent is counted

        async def ingested() -> int:
            async with sqlite_db.tenant("acme", write=False) as conn:
                return int((await conn.execute(select(func.count()).select_from(sales))).scalar_one())

        await eventually(lambda: _equals(ingested, sent), within=30, what="every sale once")
    finally:
        trading.cancel()
        for consumer in first_consumers + second_consumers:
            await consumer.stop()
        await nc.close()


async def _equals(count, n: int) -> bool:
    return await count() == n
