"""Store outbox → relay → JetStream → cloud DB, with real nats-server processes."""

from __future__ import annotations

from conftest import CloudSide, sale, wait_until

from edge.adapters.relay import Relay, RelayConfig
from edge.adapters.sync_status import sync_status
from tests.support import eventually


def relay_for(store, url: str, **overrides) -> Relay:
    config = RelayConfig(
        nats_url=url,
        tenant_id=store.tenant_id,
        store_id=store.store_id,
        reconnect_wait_s=0.2,
        ack_timeout_s=2.0,
        idle_poll_s=0.05,
        **overrides,
    )
    return Relay(store.db, config)


async def test_every_outbox_event_reaches_the_cloud_once_and_is_marked_sent(nats_server, make_store, cloud_db):
    store = make_store("s1")
    emitted = [eid for _ in range(20) for eid in await store.emit([("order.completed", sale(500))])]
    relay = relay_for(store, nats_server.url)
    await relay.start()
    # The store stream must exist before the aggregate can source it.
    await wait_until(lambda: _pending_is(store, 0), what="outbox drained")
    cloud = CloudSide(cloud_db, nats_server.url)
    await cloud.start()
    try:
        await wait_until(lambda: _has(cloud, len(emitted)), what="cloud has every event")
        assert sorted(await cloud.event_ids()) == sorted(emitted)
        status = await sync_status(store.db, relay)
        assert status.outbox_pending == 0 and status.link == "up" and status.last_ack_at is not None
    finally:
        await relay.stop()
        await cloud.stop()


async def test_sync_status_reports_pending_and_a_disabled_link_without_a_relay(make_store):
    store = make_store("s1")
    await store.emit([("order.completed", sale(100)), ("order.completed", sale(200))])
    status = await sync_status(store.db, None)
    assert status.outbox_pending == 2
    assert status.link == "disabled"
    assert status.oldest_pending_age_s is not None and status.oldest_pending_age_s >= 0


async def test_hub_down_while_the_store_keeps_selling_then_all_events_arrive_exactly_once(
    nats_server, make_store, tmp_path
):
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    cloud_db = CloudDB(f"sqlite:///{tmp_path / 'cloud.db'}")
    await create_schema(cloud_db)
    store = make_store("s1")
    relay = relay_for(store, nats_server.url)
    await relay.start()
    ids = await store.emit([("order.completed", sale(100)) for _ in range(10)])
    await wait_until(lambda: _pending_is(store, 0), what="first events sent")
    cloud = CloudSide(cloud_db, nats_server.url)
    await cloud.start()

    nats_server.kill9()  # WAN partition: the hub is gone; the store keeps selling
    for _ in range(30):
        ids += await store.emit([("order.completed", sale(100))])  # one sale per transaction, as at a lane

    async def link_down():
        status = await sync_status(store.db, relay)
        return status if status.link == "down" else None

    status = await eventually(link_down, within=30, what="the relay to report the link down")
    assert status.outbox_pending > 0
    nats_server.start()  # same port and store directory

    try:
        await wait_until(lambda: _pending_is(store, 0), limit=60, what="outbox drained after restart")
        await wait_until(lambda: _has(cloud, len(ids)), limit=60, what="cloud caught up")
        assert sorted(await cloud.event_ids()) == sorted(ids)
    finally:
        await relay.stop()
        await cloud.stop()
        await cloud_db.close()


async def _pending_is(store, n: int) -> bool:
    return await store.pending() == n


async def _has(cloud: CloudSide, n: int) -> bool:
    return len(await cloud.event_ids()) >= n
