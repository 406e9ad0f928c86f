"""Fault tests with real nats-server processes: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import contextlib

import nats
import nats.errors
from conftest import CloudSide, sale, wait_until

import cloud.ingest
from cloud import queries
from cloud.ingest import AGGREGATE_STREAM, INGEST_DURABLE, IngestConsumer, Ingestor
from edge.adapters.relay import Relay, RelayConfig
from edge.contracts.envelope import decode_envelope, stream_name
from tests.support import eventually


class CrashBeforeMarkSent(Relay):
    """A relay that dies after the PubAcks arrive but before it records them (kill -9 there)."""

    async def _mark_sent(self, seqs: list[int]) -> None:
        raise SystemExit("killed between PubAck and mark-sent")


def relay_config(store, url: str, **kw) -> RelayConfig:
    return RelayConfig(
        nats_url=url,
        tenant_id=store.tenant_id,
        store_id=store.store_id,
        reconnect_wait_s=0.2,
        ack_timeout_s=2.0,
        idle_poll_s=0.05,
        **kw,
    )


async def crash_once(store, url: str, **kw) -> None:
    crashing = CrashBeforeMarkSent(store.db, relay_config(store, url, **kw))
    await crashing._open()
    try:
        await crashing.publish_pending()
    except SystemExit:
        pass
    finally:
        await crashing._close()


async def stream_messages(url: str, stream: str) -> int:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.messages
    finally:
        await nc.close()


async def drain(store, url: str, **kw) -> None:
    relay = Relay(store.db, relay_config(store, url, **kw))
    await relay.start()
    try:
        await wait_until(lambda: _pending_is(store, 0), what="outbox drained")
    finally:
        await relay.stop()


async def test_relay_killed_between_publish_and_mark_sent_leaves_no_duplicates(nats_server, make_store, cloud_db):
    store = make_store("s1")
    ids = await store.emit([("order.completed", sale(250)) for _ in range(25)])
    await crash_once(store, nats_server.url)
    assert await store.pending() == 25  # nothing was marked: every row will be re-published
    await drain(store, nats_server.url)
    # Inside the duplicate window JetStream itself drops the re-publish.
    assert await stream_messages(nats_server.url, stream_name("acme", "s1")) == 25
    cloud = CloudSide(cloud_db, nats_server.url)
    await cloud.start()
    try:
        await wait_until(lambda: _consumed(cloud, 25), what="every stored message consumed")
        assert sorted(await cloud.event_ids()) == sorted(ids)
    finally:
        await cloud.stop()


async def test_replay_after_the_duplicate_window_is_still_applied_exactly_once(nats_server, make_store, cloud_db):
    store = make_store("s1")
    ids = await store.emit([("order.completed", sale(100, location="s1")) for _ in range(10)])
    await crash_once(store, nats_server.url, duplicate_window_s=1.0)
    # Both the store stream and the aggregate get a 1 s window, so that the replay below
    # really reaches the cloud DB (the aggregate also dedups sourced messages by Nats-Msg-Id).
    cloud = CloudSide(cloud_db, nats_server.url, aggregate_window_s=1.0)
    await cloud.start()
    try:
        await wait_until(lambda: _has(cloud, 10), what="first copies ingested")
        await asyncio.sleep(2.5)  # past both windows: JetStream stores the same ids again
        await drain(store, nats_server.url, duplicate_window_s=1.0)
        assert await stream_messages(nats_server.url, stream_name("acme", "s1")) == 20
        await wait_until(lambda: _consumed(cloud, 20), what="the replayed copies consumed")
        assert await stream_messages(nats_server.url, "NOVAPOS_AGG") == 20
        assert sorted(await cloud.event_ids()) == sorted(ids)
        async with cloud_db.tenant("acme", write=False) as conn:
            summary = await queries.sales_summary(conn, "acme", None, None)
            stock = await queries.stock(conn, "acme")
        assert summary == [{"store_id": "s1", "orders": 10, "gross_cents": 1000}]
        assert [(s["sku"], s["on_hand"]) for s in stock] == [("SKU-1", -10)]  # each movement once
    finally:
        await cloud.stop()


async def test_cloud_consumer_killed_mid_batch_loses_nothing(nats_server, make_store, cloud_db, monkeypatch):
    store = make_store("s1")
    ids = await store.emit([("order.completed", sale(100)) for _ in range(60)])
    await drain(store, nats_server.url)

    calls = {"n": 0, "crashed": 0}
    real_project = cloud.ingest.project_batch

    def crashing_project(conn, fresh, received_at):
        calls["n"] += 1
        if calls["n"] == 2:  # dies inside the 2nd batch's transaction: it rolls back, nothing acked
            calls["crashed"] += 1
            raise ConnectionError("consumer killed mid-batch")
        real_project(conn, fresh, received_at)

    monkeypatch.setattr(cloud.ingest, "project_batch", crashing_project)
    side = CloudSide(cloud_db, nats_server.url, batch=20, ack_wait_s=1.0)
    await side.start()
    try:
        await wait_until(lambda: _has(side, 60), what="every event after the crash")
        assert calls["crashed"] == 1 and "consumer killed mid-batch" in side.consumer.last_error
        assert sorted(await side.event_ids()) == sorted(ids)
        await wait_until(lambda: _consumed(side, 60), what="every message acked")
        async with cloud_db.tenant("acme", write=False) as conn:
            summary = await queries.sales_summary(conn, "acme", None, None)
        assert summary == [{"store_id": "s1", "orders": 60, "gross_cents": 6000}]  # the rolled-back batch once
    finally:
        await side.stop()


class RecordingConsumer(IngestConsumer):
    """The production consumer, noting how often the server had delivered each message it acks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deliveries: list[int] = []

    async def _commit_then_ack(self, msgs):
        self.deliveries += [m.metadata.num_delivered for m in msgs]
        await super()._commit_then_ack(msgs)


async def test_consumer_killed_after_commit_before_ack_redelivers_without_duplicates(nats_server, make_store, cloud_db):
    store = make_store("s1")
    ids = await store.emit([("order.completed", sale(100)) for _ in range(30)])
    await drain(store, nats_server.url)
    # The first consumer creates the durable with a 1 s ack wait, then stands aside for a step
    # that commits a batch and dies before acking it.
    first = CloudSide(cloud_db, nats_server.url, batch=30, ack_wait_s=1.0)
    await first.start()
    await first.consumer.stop()
    crashed = IngestConsumer(first.ingestor, first.nc.jetstream(), batch=30, ack_wait_s=1.0, durable=INGEST_DURABLE)
    await crashed._bind()
    # The aggregate sources the store stream in the background: collect until all 30 are in.
    msgs: list = []
    deadline = asyncio.get_running_loop().time() + 30
    while len(msgs) < 30 and asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(nats.errors.TimeoutError):
            msgs += await crashed._sub.fetch(30 - len(msgs), timeout=1)
    assert len(msgs) == 30 and {m.metadata.num_delivered for m in msgs} == {1}
    await first.ingestor.ingest([decode_envelope(m.data) for m in msgs])  # committed, never acked
    await first.stop()

    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        second = RecordingConsumer(Ingestor(cloud_db), js, batch=30, fetch_timeout_s=0.5, ack_wait_s=1.0)
        await second.start()
        try:
            await eventually(lambda: len(second.deliveries) >= 30, within=30, what="the unacked messages redelivered")
            await wait_until(lambda: _acked(js, 30), what="the redelivered messages acked")
        finally:
            await second.stop()
        assert len(second.deliveries) == 30 and min(second.deliveries) >= 2  # each one a redelivery
        assert second.ingestor.total_new == 0  # the committed events were recognised, not stored again
        assert sorted(await CloudSide(cloud_db, nats_server.url).event_ids()) == sorted(ids)  # reads the DB only
        async with cloud_db.tenant("acme", write=False) as conn:
            assert await queries.sales_summary(conn, "acme", None, None) == [
                {"store_id": "s1", "orders": 30, "gross_cents": 3000}
            ]
    finally:
        await nc.close()


async def test_two_stores_selling_concurrently_give_exact_aggregates(nats_server, make_store, cloud_db):
    a, b = make_store("north"), make_store("south")
    relays = [Relay(s.db, relay_config(s, nats_server.url)) for s in (a, b)]
    for r in relays:
        await r.start()

    async def sell(store, n: int, cents: int) -> None:
        for i in range(n):
            await store.emit([("order.completed", sale(cents + i, location=store.store_id))])

    await asyncio.gather(sell(a, 40, 100), sell(b, 55, 300))
    cloud = CloudSide(cloud_db, nats_server.url)
    await wait_until(lambda: _pending_is(a, 0), what="north drained")
    await wait_until(lambda: _pending_is(b, 0), what="south drained")
    await cloud.start()
    try:
        await wait_until(lambda: _has(cloud, 95), what="both stores ingested")
        async with cloud_db.tenant("acme", write=False) as conn:
            summary = await queries.sales_summary(conn, "acme", None, None)
            stores = await queries.store_list(conn, "acme")
        assert summary == [
            {"store_id": "north", "orders": 40, "gross_cents": sum(100 + i for i in range(40))},
            {"store_id": "south", "orders": 55, "gross_cents": sum(300 + i for i in range(55))},
        ]
        assert {s["store_id"]: (s["events_received"], s["missing_seqs"]) for s in stores} == {
            "north": (40, 0),
            "south": (55, 0),
        }
    finally:
        for r in relays:
            await r.stop()
        await cloud.stop()


async def _pending_is(store, n: int) -> bool:
    return await store.pending() == n


async def _has(cloud: CloudSide, n: int) -> bool:
    return len(await cloud.event_ids()) >= n


async def _consumed(cloud: CloudSide, n: int) -> bool:
    return await _acked(cloud.nc.jetstream(), n)


async def _acked(js, n: int) -> bool:
    try:
        info = await js.consumer_info(AGGREGATE_STREAM, INGEST_DURABLE)
    except nats.js.errors.NotFoundError:
        return False  # not bound yet
    return info.ack_floor.stream_seq >= n and info.num_ack_pending == 0
