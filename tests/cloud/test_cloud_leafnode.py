"""Leaf-node mode with two real nats-server processes: a store leaf (domain = store id) and the hub."""

from __future__ import annotations

import uuid

from conftest import CloudSide, free_port, sale, wait_until
from sqlalchemy import select

from cloud import commands
from cloud.clock import now_iso
from cloud.commands import CommandPublisher
from cloud.leafnode import LeafConfig, render_hub_config, render_leaf_config
from edge.adapters.inbox import Inbox, InboxConfig
from edge.adapters.relay import Relay, RelayConfig
from edge.adapters.tables import inbox, sync_state
from edge.contracts.envelope import stream_name


def test_leaf_config_has_domain_fsync_and_deny_rules():
    text = render_leaf_config(
        LeafConfig(store_id="s7", tenant_id="acme", hub_url="nats-leaf://hub:7422", store_dir="/var/lib/novapos/js")
    )
    assert 'domain: "s7"' in text
    assert "sync_interval: always" in text
    assert 'deny_exports: ["novapos.acme.s7.evt.>"]' in text
    assert 'deny_imports: ["novapos.acme.s7.evt.>"]' in text


async def test_store_events_reach_the_hub_through_the_leaf_and_commands_come_back(
    make_nats, make_store, cloud_db, tmp_path
):
    hub_port, leaf_link = free_port(), free_port()
    hub = make_nats(
        "hub",
        config=render_hub_config(store_dir=str(tmp_path / "hub-js"), port=hub_port, leaf_port=leaf_link),
        port=hub_port,
    )
    leaf_port = free_port()
    leaf = make_nats(
        "leaf",
        port=leaf_port,
        config=render_leaf_config(
            LeafConfig(
                store_id="leaf1",
                tenant_id="acme",
                hub_url=f"nats-leaf://127.0.0.1:{leaf_link}",
                store_dir=str(tmp_path / "leaf-js"),
                port=leaf_port,
            )
        ),
    )

    store = make_store("leaf1")
    relay = Relay(
        store.db,
        RelayConfig(nats_url=leaf.url, tenant_id="acme", store_id="leaf1", reconnect_wait_s=0.2, idle_poll_s=0.05),
    )
    await relay.start()
    ids = await store.emit([("order.completed", sale(700)) for _ in range(15)])
    cloud = CloudSide(cloud_db, hub.url)

    def applied(conn, cmd):
        conn.execute(sync_state.insert().values(name=f"cmd:{cmd.command_id}", value=cmd.payload, updated_at="x"))
        return "applied"

    box = Inbox(
        store.db,
        InboxConfig(nats_url=leaf.url, tenant_id="acme", store_id="leaf1", hub_domain="hub", retry_wait_s=0.3),
        handlers={"price.set": applied},
    )
    try:
        await wait_until(lambda: _pending_is(store, 0), what="relay drained into the leaf")
        await cloud.start(leaf_stores={stream_name("acme", "leaf1"): "leaf1"})
        await wait_until(lambda: _has(cloud, 15), limit=60, what="hub sourced the leaf stream")
        assert sorted(await cloud.event_ids()) == sorted(ids)

        await cloud_db.write(
            commands.issue,
            "acme",
            "leaf1",
            "price.set",
            {"sku": "SKU-1", "price_cents": 199},
            actor="test",
            now=now_iso(),
            tenant_id="acme",
        )
        assert await CommandPublisher(cloud_db, cloud.nc.jetstream()).publish_pending(["acme"]) == 1
        await box.start()
        await wait_until(lambda: _inbox_count(store, 1), limit=30, what="command applied at the store")
    finally:
        await box.stop()
        await relay.stop()
        await cloud.stop()


async def test_inbox_applies_each_command_once_even_when_redelivered(nats_server, make_store):
    import nats as nats_client

    from edge.contracts.events import Command, encode_command

    store = make_store("s1")
    seen: list[str] = []

    def handler(conn, cmd):
        seen.append(cmd.command_id)
        conn.execute(sync_state.insert().values(name=f"cmd:{cmd.command_id}", value=cmd.payload, updated_at="x"))
        return "applied"

    box = Inbox(
        store.db,
        InboxConfig(nats_url=nats_server.url, tenant_id="acme", store_id="s1", retry_wait_s=0.3),
        handlers={"catalog.upsert": handler},
    )
    await box.start()
    nc = await nats_client.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await wait_until(lambda: _stream_exists(js), what="command stream")
        cmd = Command(
            command_id=str(uuid.uuid4()),
            tenant_id="acme",
            store_id=None,
            type="catalog.upsert",
            version=1,
            issued_at=now_iso(),
            payload={"sku": "A"},
        )
        other = Command(
            command_id=str(uuid.uuid4()),
            tenant_id="acme",
            store_id="s2",
            type="catalog.upsert",
            version=2,
            issued_at=now_iso(),
            payload={"sku": "B"},
        )
        for c in (cmd, cmd, other):  # the same id twice, without the dedup header: a real redelivery
            await js.publish(f"novapos.acme.{c.store_id or 'all'}.cmd.catalog.upsert", encode_command(c))
        await wait_until(lambda: _inbox_count(store, 1), what="command applied")
        await wait_until(lambda: _handled_both_copies(js, box.durable), what="the second copy handled")
        assert seen == [cmd.command_id]  # applied once; the s2 command is not this store's
    finally:
        await nc.close()
        await box.stop()


async def _stream_exists(js) -> bool:
    try:
        await js.stream_info("NOVAPOS_CMD_ACME")
        return True
    except Exception:
        return False


async def _handled_both_copies(js, durable: str) -> bool:
    # Both copies of the store's command delivered and acked (the s2 command is filtered out).
    info = await js.consumer_info("NOVAPOS_CMD_ACME", durable)
    return info.delivered.consumer_seq >= 2 and info.num_pending == 0 and info.num_ack_pending == 0


async def _inbox_count(store, n: int) -> bool:
    rows = await store.db.read(lambda c: list(c.execute(select(inbox.c.command_id))))
    return len(rows) >= n


async def _pending_is(store, n: int) -> bool:
    return await store.pending() == n


async def _has(cloud: CloudSide, n: int) -> bool:
    return len(await cloud.event_ids()) >= n
