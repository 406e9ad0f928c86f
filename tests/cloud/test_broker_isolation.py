"""Tenant isolation enforced by the broker, and what ingest checks that the broker cannot.

A real nats-server in accounts mode (each tenant an account, each store its own nkey user),
the real cloud app with its runtime, real relays with the stores' own credentials.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import nats
import pytest
from conftest import free_port, sale, wait_until
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from cloud import commands, metrics
from cloud.app import create_app
from cloud.auth import AuthService
from cloud.clock import now_iso
from cloud.enrollment import register_store
from cloud.leafnode import LeafConfig, render_leaf_config
from cloud.nats_auth import hq_connect_options, new_user_key, render_accounts, replace_store_user
from cloud.runtime import CloudRuntime
from cloud.schema import events, hq_audit, store_owners
from edge.adapters.inbox import Inbox, InboxConfig
from edge.adapters.relay import Relay, RelayConfig
from edge.adapters.tables import inbox
from edge.contracts.envelope import EventEnvelope, encode_envelope, inbox_prefix, stream_name, subject_for_event

pytestmark = pytest.mark.slow


async def connect_as(url: str, seed: Path, tenant: str, store: str, errors: list[str]):
    """Connect with a store's seed once the hub's reload has admitted it."""

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    deadline = asyncio.get_running_loop().time() + 15
    while True:
        try:
            return await nats.connect(url, nkeys_seed=str(seed), inbox_prefix=inbox_prefix(tenant, store),
                                      error_cb=on_error, allow_reconnect=False, connect_timeout=2)
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


@pytest.fixture
async def hq(accounts_hub, tmp_path):
    """The cloud app against the accounts-mode hub, with tenants demo and acme, and their stores
    enrolled through the API (each with its own NATS user). The app runs on its own event loop
    (the test client's portal): the test reaches it only over HTTP and NATS."""
    for tenant in ("demo", "acme"):
        await accounts_hub.auth.ensure_tenant_account(accounts_hub.db, tenant)
    db_url = f"sqlite:///{tmp_path / 'cloud.db'}"
    app = create_app(accounts_hub.settings(db_url, demo=True))
    async with AsyncTestClient(app=app) as client:
        await AuthService(accounts_hub.db, app.state.token_keys).create_user(
            "acme-admin", "acme-pass-1", ["tenant_admin", "hq_analyst"], "acme"
        )
        client.tokens = {
            "demo": await _login(client, "hq", "novapos-demo"),
            "acme": await _login(client, "acme-admin", "acme-pass-1"),
        }
        seeds = {}
        for tenant, store in (("demo", "demo-001"), ("acme", "acme-001"), ("acme", "acme-002")):
            minted = await client.post(f"/api/v1/hq/stores/{store}/enrollment-tokens", headers=client.tokens[tenant])
            assert minted.status_code == 201, minted.text
            claimed = await client.post("/api/v1/enroll", json={"token": minted.json()["token"]})
            assert claimed.status_code == 200, claimed.text
            seeds[store] = tmp_path / f"{store}.nk"
            seeds[store].write_text(claimed.json()["nats"]["credentials"] + "\n")
        await wait_until(lambda: _linked(app.state.runtime, {"demo", "acme"}), what="HQ linked to both accounts")
        client.hub, client.seeds = accounts_hub, seeds
        client.hq_nc = {t: await nats.connect(accounts_hub.url, **hq_connect_options(accounts_hub.auth, t))
                        for t in ("demo", "acme")}
        yield client
        for nc in client.hq_nc.values():
            await nc.close()


async def _linked(runtime, tenants: set[str]) -> bool:
    return tenants <= set(runtime.links) and runtime.nats_up


async def _login(client, username: str, password: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def relay_for(make_store, hq, tenant: str, store_id: str):
    store = make_store(store_id, tenant)
    relay = Relay(store.db, RelayConfig(nats_url=hq.hub.url, tenant_id=tenant, store_id=store_id,
                                        manage_stream=False, credentials=str(hq.seeds[store_id]),
                                        reconnect_wait_s=0.2, idle_poll_s=0.05))
    return store, relay


async def sales_total(hq, tenant: str) -> int:
    r = await hq.get("/api/v1/hq/sales/summary", headers=hq.tokens[tenant])
    assert r.status_code == 200, r.text
    return sum(item.get("gross_cents", 0) for item in r.json()["items"])


async def stream_count(hq, tenant: str, store: str) -> int:
    info = await hq.hq_nc[tenant].jetstream().stream_info(stream_name(tenant, store))
    return info.state.messages


def test_each_store_user_may_publish_only_its_own_events_and_read_only_its_own_replies():
    text = render_accounts(
        [{"tenant_id": "acme", "store_id": "s1", "public_key": "UKEY1"},
         {"tenant_id": "acme", "store_id": None, "public_key": "UHQ"}],
        sentinel_key="ULOCKED",
    )
    assert '"tenant-acme"' in text and "jetstream: enabled" in text
    assert '"novapos.acme.s1.evt.>"' in text and '"_INBOX.acme.s1.>"' in text
    assert "novapos.acme.*" not in text and '"_INBOX.>"' not in text  # nothing wider than the store's own


async def test_store_b_cannot_publish_on_store_a_subjects_nor_acme_on_demo(hq, make_store):
    store, relay = relay_for(make_store, hq, "acme", "acme-001")
    await store.emit([("order.completed", sale(1000)) for _ in range(3)])
    await relay.start()
    try:
        await wait_until(lambda: _pending_is(store, 0), what="acme-001 published with its own user")
        assert await stream_count(hq, "acme", "acme-001") == 3

        errors: list[str] = []
        other = await connect_as(hq.hub.url, hq.seeds["acme-002"], "acme", "acme-002", errors)
        forged = EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="acme", store_id="acme-001", seq=99,
                               type="order.completed", occurred_at=now_iso(), business_day=now_iso()[:10],
                               payload=sale(99_999))
        with pytest.raises(Exception):  # noqa: B017 - the broker refuses; nats-py surfaces a timeout
            await other.jetstream().publish(subject_for_event("acme", "acme-001", "order.completed"),
                                            encode_envelope(forged), timeout=1)
        await other.publish(subject_for_event("demo", "demo-001", "order.completed"), encode_envelope(forged))
        await other.flush()
        await wait_until(lambda: _said(errors, "demo.demo-001"), what="the broker's refusal of demo's subject")
        assert any("permissions violation" in e.lower() and "acme.acme-001" in e for e in errors)
        await other.close()

        assert await stream_count(hq, "acme", "acme-001") == 3  # nothing forged got in
        assert await stream_count(hq, "demo", "demo-001") == 0
        await wait_until(lambda: _total_is(hq, "acme", 3000), what="acme's own sales ingested")
        assert await sales_total(hq, "demo") == 0
    finally:
        await relay.stop()


async def test_a_forged_envelope_on_the_stores_own_subject_is_quarantined_not_counted(hq, make_store):
    demo_store, demo_relay = relay_for(make_store, hq, "demo", "demo-001")
    await demo_store.emit([("order.completed", sale(700))])
    await demo_relay.start()
    before = metrics.INGEST_QUARANTINED.labels(reason="tenant_mismatch")._value.get()
    errors: list[str] = []
    acme = await connect_as(hq.hub.url, hq.seeds["acme-001"], "acme", "acme-001", errors)
    try:
        claims_demo = EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="demo", store_id="demo-001", seq=1,
                                    type="order.completed", occurred_at=now_iso(), business_day=now_iso()[:10],
                                    payload=sale(5000))
        claims_sibling = EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="acme", store_id="acme-002", seq=1,
                                       type="order.completed", occurred_at=now_iso(), business_day=now_iso()[:10],
                                       payload=sale(6000))
        js = acme.jetstream()
        own_subject = subject_for_event("acme", "acme-001", "order.completed")
        for env in (claims_demo, claims_sibling):  # the broker allows the subject: it is acme-001's own
            await js.publish(own_subject, encode_envelope(env), headers={"Nats-Msg-Id": env.event_id})

        await wait_until(lambda: _quarantined(hq, "acme", 2), what="both forged envelopes quarantined")
        r = await hq.get("/api/v1/hq/quarantine", headers=hq.tokens["acme"])
        items = {i["event_id"]: i for i in r.json()["items"]}
        assert items[claims_demo.event_id]["reason"] == "tenant_mismatch"
        assert items[claims_demo.event_id]["claimed_tenant_id"] == "demo"
        assert items[claims_sibling.event_id]["reason"] == "subject_mismatch"
        assert items[claims_demo.event_id]["subject"] == own_subject

        await wait_until(lambda: _total_is(hq, "demo", 700), what="demo's real sale ingested")
        assert await sales_total(hq, "demo") == 700  # the forged 5000 never counted
        assert await sales_total(hq, "acme") == 0  # nor the 6000 under the sibling store
        demo_q = await hq.get("/api/v1/hq/quarantine", headers=hq.tokens["demo"])
        assert demo_q.json()["items"] == []  # filed under the tenant it came from
        assert metrics.INGEST_QUARANTINED.labels(reason="tenant_mismatch")._value.get() == before + 1
        async with hq.hub.db.tenant("acme", write=False) as conn:
            actions = [r.action for r in await conn.execute(select(hq_audit).where(hq_audit.c.tenant_id == "acme"))]
        assert actions.count("event.quarantined") == 2
    finally:
        await acme.close()
        await demo_relay.stop()


async def test_registering_another_tenants_store_is_refused_and_demo_keeps_replicating(hq, make_store):
    demo_store, demo_relay = relay_for(make_store, hq, "demo", "demo-001")
    await demo_store.emit([("order.completed", sale(700))])
    await demo_relay.start()
    try:
        await wait_until(lambda: _total_is(hq, "demo", 700), what="demo replicating")
        r = await hq.post("/api/v1/hq/stores", json={"store_id": "demo-001", "leaf_domain": "bogus"},
                          headers=hq.tokens["acme"])
        assert r.status_code == 409
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/store-owned-by-another-tenant")

        acme_stores = (await hq.get("/api/v1/hq/stores", headers=hq.tokens["acme"])).json()["items"]
        assert "demo-001" not in {s["store_id"] for s in acme_stores}
        demo_stores = (await hq.get("/api/v1/hq/stores", headers=hq.tokens["demo"])).json()["items"]
        assert [s.get("leaf_domain") for s in demo_stores if s["store_id"] == "demo-001"] == [None]
        async with hq.hub.db.system(write=False) as conn:
            owner = (await conn.execute(select(store_owners.c.tenant_id)
                                        .where(store_owners.c.store_id == "demo-001"))).scalar_one()
        assert owner == "demo"

        await demo_store.emit([("order.completed", sale(300))])
        await wait_until(lambda: _total_is(hq, "demo", 1000), what="demo's next sale still arrives")

        again = await hq.post("/api/v1/hq/stores", json={"store_id": "demo-001", "name": "Main street"},
                              headers=hq.tokens["demo"])
        assert again.status_code == 200
        async with hq.hub.db.tenant("demo", write=False) as conn:
            audit = (await conn.execute(select(hq_audit).where(hq_audit.c.action == "store.reregistered"))).one()
        assert audit.entity_id == "demo-001" and audit.after["name"] == "Main street"
    finally:
        await demo_relay.stop()


async def test_a_store_leaf_links_as_the_stores_own_user_and_hq_reaches_it_both_ways(
    accounts_hub, make_nats, make_store, tmp_path
):
    """Leaf topology: the leaf link authenticates as the store's user; the hub sources the store
    stream through the leaf's domain, and the store's inbox fetches its commands through it."""
    hub = accounts_hub
    runtime = CloudRuntime(hub.db, hub.settings(f"sqlite:///{tmp_path / 'cloud.db'}"))
    await runtime.provision_store("acme", "leaf1", leaf=True)  # the account, command stream, durable
    seed, public = new_user_key()
    await hub.db.write(replace_store_user, "acme", "leaf1", public, now_iso(), "leaf1", system=True)
    await hub.db.write(register_store, "acme", "leaf1", None, "leaf1", "test", now_iso(), system=True)
    await hub.auth.apply(hub.db)
    leaf_port = free_port()
    leaf = make_nats("leaf", port=leaf_port, config=render_leaf_config(LeafConfig(
        store_id="leaf1", tenant_id="acme", hub_url=f"nats-leaf://127.0.0.1:{hub.leaf_port}",
        store_dir=str(tmp_path / "leaf-js"), port=leaf_port, nkey_seed=seed)))
    store = make_store("leaf1", "acme")
    relay = Relay(store.db, RelayConfig(nats_url=leaf.url, tenant_id="acme", store_id="leaf1",
                                        reconnect_wait_s=0.2, idle_poll_s=0.05))
    box = Inbox(store.db, InboxConfig(nats_url=leaf.url, tenant_id="acme", store_id="leaf1", hub_domain="hub",
                                      manage_stream=False, retry_wait_s=0.3),
                handlers={"price.set": lambda conn, cmd: "applied"})
    await relay.start()
    await box.start()
    ids = await store.emit([("order.completed", sale(700)) for _ in range(5)])
    try:
        await wait_until(lambda: _pending_is(store, 0), what="relay drained into the leaf")
        await runtime.reconcile()  # links acme, sources the registered leaf stream, starts ingest
        await wait_until(lambda: _ingested(hub.db, "acme", len(ids)), limit=60, what="hub sourced the leaf stream")

        await hub.db.write(commands.issue, "acme", "leaf1", "price.set", {"sku": "SKU-1", "price_cents": 199},
                           actor="test", now=now_iso(), tenant_id="acme")
        await runtime.publish_commands()
        await wait_until(lambda: _applied(store, 1), limit=30, what="the command fetched through the leaf")
    finally:
        await box.stop()
        await relay.stop()
        await runtime.stop()


async def _pending_is(store, n: int) -> bool:
    return await store.pending() == n


async def _has(cloud, n: int) -> bool:
    return len(await cloud.event_ids("acme")) >= n


async def _said(errors: list[str], fragment: str) -> bool:
    return any(fragment in e for e in errors)


async def _total_is(hq, tenant: str, cents: int) -> bool:
    return await sales_total(hq, tenant) == cents


async def _quarantined(hq, tenant: str, n: int) -> bool:
    r = await hq.get("/api/v1/hq/quarantine", headers=hq.tokens[tenant])
    return r.status_code == 200 and len(r.json()["items"]) >= n


async def _ingested(db, tenant: str, n: int) -> bool:
    async with db.tenant(tenant, write=False) as conn:
        return len(list(await conn.execute(select(events.c.event_id)))) >= n


async def _applied(store, n: int) -> bool:
    rows = await store.db.read(lambda c: list(c.execute(select(inbox.c.command_id))))
    return len(rows) >= n


async def test_creating_a_tenant_account_is_idempotent_and_admits_only_its_hq_user(accounts_hub, tmp_path):
    from cloud.nats_auth import create_tenant_account
    from cloud.settings import CloudSettings

    hub = accounts_hub
    settings = hub.settings(f"sqlite:///{tmp_path / 'cloud.db'}")
    first = await create_tenant_account(hub.db, settings, "acme")
    assert first and await create_tenant_account(hub.db, settings, "acme") == first
    assert await create_tenant_account(hub.db, CloudSettings(), "acme") is None  # no-auth dev mode
    assert mode_of(hub.auth.hq_seed_path("acme")) == 0o600
    nc = await connect_hq_when_admitted(hub.url, hq_connect_options(hub.auth, "acme"))
    await nc.close()
    with pytest.raises(Exception, match="Authorization"):
        await nats.connect(hub.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def connect_hq_when_admitted(url: str, options: dict):
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        try:
            return await nats.connect(url, allow_reconnect=False, connect_timeout=2, **options)
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
