"""The edge server with NOVAPOS_NATS_URL set: its changes go up, HQ's commands come down."""

from __future__ import annotations

import asyncio
import concurrent.futures

import nats
import nats.js.errors
import pytest
from litestar.testing import TestClient

from edge.contracts.envelope import command_stream_name, decode_envelope, stream_name, subject_for_command
from edge.contracts.events import Command, encode_command
from edge.domain.ids import now_iso, uuid7
from tests.support import demo_settings, login, wait_until


def wait_for(predicate, what=""):
    return wait_until(predicate, timeout=20, interval=0.1, what=what)


@pytest.fixture
def synced_client(demo_dir, nats_server):
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir, NOVAPOS_NATS_URL=nats_server.url))) as client:
        yield client


def test_sync_status_is_disabled_without_a_nats_url(client, as_user):
    status = client.get("/api/v1/sync/status", headers=as_user("manager")).json()
    assert status["link"] == "disabled"
    assert status["outbox_pending"] > 0  # the demo seeding wrote events; they wait for a link


def _run(coro):
    # In a thread of its own: a browser test's sync Playwright session, earlier in the same
    # pytest process, can leave an event loop marked running on the main thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _stream_messages(url, stream):
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            out.append(((msg.headers or {}).get("Nats-Msg-Id"), decode_envelope(msg.data)))
        return out
    finally:
        await nc.close()


def test_edge_changes_reach_jetstream_once_and_hq_commands_are_applied(synced_client, nats_server):
    client = synced_client
    headers = login(client, "manager")
    created = client.post("/api/v1/products", headers=headers, json={
        "sku": "SYNC-1", "name": "Synced", "price_cents": 500, "tax_category": "standard"}).json()
    status = wait_for(lambda: (s := client.get("/api/v1/sync/status", headers=headers).json())["outbox_pending"] == 0
                      and s, what="the outbox to drain")
    assert status["link"] == "up" and status["last_ack_at"]
    messages = _run(_stream_messages(nats_server.url, stream_name("demo", "demo-001")))
    ids = [m[0] for m in messages]
    assert len(ids) == len(set(ids))  # each event once
    assert all(mid == env.event_id for mid, env in messages)
    seqs = [env.seq for _, env in messages]
    assert seqs == sorted(seqs)
    mine = [env for _, env in messages if env.type == "product.changed" and env.payload["sku"] == "SYNC-1"]
    assert len(mine) == 1 and mine[0].payload["product_id"] == created["id"]

    # A store price override that HQ must not clobber.
    product = client.get("/api/v1/products?sku=BAK-0005", headers=headers).json()["items"][0]
    client.post(f"/api/v1/products/{product['id']}/price-overrides", json={"price_cents": 42},
                headers=headers | {"Idempotency-Key": "store-override-1"})
    version = client.get("/api/v1/products?since=0&limit=500", headers=headers).json()["catalog_version"]

    async def send(commands):
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            for cmd in commands:
                # A fresh message id per copy: the broker stores both, so only the inbox's own
                # command_id check stands between a redelivered command and a second effect.
                await js.publish(subject_for_command("demo", "demo-001", cmd.type), encode_command(cmd),
                                 headers={"Nats-Msg-Id": uuid7()})
        finally:
            await nc.close()

    new_item = Command(command_id=uuid7(), tenant_id="demo", store_id="demo-001", type="catalog.upsert", version=1,
                       issued_at=now_iso(), payload={"sku": "HQ-NEW-1", "name": "From HQ", "price_cents": 999,
                                                     "tax_category": "standard", "barcodes": []})
    price = Command(command_id=uuid7(), tenant_id="demo", store_id=None, type="price.set", version=2,
                    issued_at=now_iso(), payload={"sku": "BAK-0005", "price_cents": 1500})
    inbox = wait_for(lambda: client.app.state.services.extras.get("inbox"), what="inbox")
    stream = command_stream_name("demo")
    wait_for(lambda: _run(_consumer(nats_server.url, stream, inbox.durable)), what="the inbox's consumer")
    _run(send([new_item, price, new_item, price]))
    wait_for(lambda: (info := _run(_consumer(nats_server.url, stream, inbox.durable)))
             and info.delivered.stream_seq == 4 and info.num_ack_pending == 0, what="all four copies handled")
    assert _run(_stream_count(nats_server.url, stream)) == 4  # the broker dropped none of the copies

    applied = client.app.state.services.db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT type, outcome FROM inbox ORDER BY received_at").all())
    assert sorted(applied) == [("catalog.upsert", "applied"), ("price.set", "applied")]
    assert inbox.applied == 2
    delta = client.get(f"/api/v1/products?since={version}", headers=headers).json()["items"]
    by_sku = {p["sku"]: p for p in delta}
    assert [p["sku"] for p in delta].count("HQ-NEW-1") == 1
    assert by_sku["HQ-NEW-1"]["price_cents"] == 999
    assert by_sku["BAK-0005"]["list_price_cents"] == 1500
    assert by_sku["BAK-0005"]["price_cents"] == 42  # the store's own override still wins
    history = client.get(f"/api/v1/products/{product['id']}/audit", headers=headers).json()["items"]
    from_hq = [h for h in history if h["actor"].startswith("hq:")]
    assert len(from_hq) == 1  # the second copy of the price changed nothing
    assert from_hq[0]["after"]["price_cents"] == 1500


async def _consumer(url, stream, durable):
    nc = await nats.connect(url)
    try:
        return await nc.jetstream().consumer_info(stream, durable)
    except nats.js.errors.NotFoundError:
        return None  # the inbox has not created its stream or consumer yet
    finally:
        await nc.close()


async def _stream_count(url, stream):
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.messages
    finally:
        await nc.close()
