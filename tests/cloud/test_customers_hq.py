"""HQ's customer master on SQLite and Postgres: escrow and blind-index lookup over the rpc
channel, last-writer-wins profiles, GDPR export (everything of one customer, nothing of another)
and erasure (key and index gone, ledger anonymised, orders unlinked with totals kept, every store
told, each store's confirmation logged), retention, and tenant isolation."""

from __future__ import annotations

import json

import msgspec
import pytest
from sqlalchemy import func, select

from cloud import customers, gdpr
from cloud.customer_keys import CustomerKeys
from cloud.customer_rpc import CustomerRpc, Refused
from cloud.ingest import Ingestor
from cloud.schema import commands, conflicts, hq_audit, sales
from cloud.schema_customers import hq_customer_index, hq_customer_keys, hq_customers, hq_tenant_keys
from cloud.schema_loyalty import hq_loyalty_ledger
from edge.contracts import pii
from edge.contracts.customers import EscrowRequest, FetchKeysRequest, ViewRequest
from tests.cloud.customer_support import FakeStore

T = "acme"
NOW = "2026-03-02T11:00:00.000Z"


@pytest.fixture
def keys(tmp_path) -> CustomerKeys:
    pii.write_new_kek(tmp_path / "hq.kek")
    return CustomerKeys.from_file(tmp_path / "hq.kek")


@pytest.fixture
def rpc(cloud_db, keys) -> CustomerRpc:
    return CustomerRpc(cloud_db, keys)


async def read(db, fn, *args, **kw):
    async with db.tenant(T, write=False) as conn:
        return await conn.run_sync(lambda c: fn(c, *args, **kw))


async def rows(db, table, *where):
    async with db.tenant(T, write=False) as conn:
        return (await conn.execute(select(table).where(table.c.tenant_id == T, *where))).all()


async def test_a_store_escrows_a_customer_and_another_store_finds_them_by_blind_index(cloud_db, rpc):
    north, south = FakeStore(rpc, T, "north"), FakeStore(rpc, T, "south")
    cid, data_key, profile, up = await north.create("Ada Lovelace", "Ada@Example.org", "+1 415 555 2671")
    await Ingestor(cloud_db).ingest([up])
    assert (await south.tenant_keys()).index_key == (await north.tenant_keys()).index_key  # one key per tenant
    for kind, raw in (("email", " ada@example.ORG "), ("phone", "(415) 555-2671"), ("card", profile.card_code)):
        found = (await south.lookup(kind, raw)).customers
        assert [c.customer_id for c in found] == [cid], kind
        opened = pii.open_profile(pii.decode_key(found[0].data_key), T, cid, found[0].profile)
        assert opened == profile
    assert (await south.lookup("email", "someone@example.org")).customers == []
    fetched = await south.call("keys.fetch", FetchKeysRequest(customer_ids=[cid]))
    assert pii.decode_key(fetched.keys[cid]) == data_key
    assert (await south.call("customers.view", ViewRequest(customer_id=cid))).found is True
    # What HQ keeps: the tenant key wrapped, the data key wrapped, HMAC digests, the profile sealed.
    stored = json.dumps([[str(v) for v in r] for t in (hq_tenant_keys, hq_customer_keys, hq_customer_index,
                                                       hq_customers) for r in await rows(cloud_db, t)])
    for secret in ("ada@example.org", "+14155552671", "Lovelace", profile.card_code, pii.encode_key(data_key)):
        assert secret not in stored
    assert sorted(await read(cloud_db, customers.stores_holding, T, cid)) == ["north", "south"]


async def test_a_store_of_another_tenant_is_refused_and_a_tenant_key_is_only_its_tenants(cloud_db, rpc):
    await rpc._authorise(None, T, "north")  # claimed for acme on first contact
    with pytest.raises(Refused):
        await rpc._authorise(None, "rival", "north")
    with pytest.raises(Refused):
        await rpc._authorise("acme", "rival", "r1")  # accounts mode: the subject must name the link's tenant
    rival = await FakeStore(rpc, "rival", "r1").tenant_keys()
    assert rival.index_key != (await FakeStore(rpc, T, "north").tenant_keys()).index_key


async def test_profiles_are_last_writer_wins(cloud_db, rpc, keys):
    north, south = FakeStore(rpc, T, "north"), FakeStore(rpc, T, "south")
    cid, data_key, profile, first = await north.create("Ada", "ada@example.org", "+14155552671")
    renamed = msgspec.structs.replace(profile, name="Ada King")
    newer = south.upserted(cid, data_key, renamed, updated_at="2026-03-02T10:30:00.000Z", version=2)
    older = north.upserted(cid, data_key, msgspec.structs.replace(profile, name="Stale"),
                           updated_at="2026-03-02T10:00:00.000Z", version=2)
    await Ingestor(cloud_db).ingest([first])
    await Ingestor(cloud_db).ingest([newer])
    await Ingestor(cloud_db).ingest([older])  # arrives last, written earlier: ignored
    view = await cloud_db.write(customers.hq_view, keys, T, cid, NOW, reveal=True, tenant_id=T)
    assert view["name"] == "Ada King" and view["email"] == "ada@example.org"


async def _two_customers_with_history(cloud_db, rpc):
    north, south = FakeStore(rpc, T, "north"), FakeStore(rpc, T, "south")
    ada, _, ada_profile, up1 = await north.create("Ada Lovelace", "ada@example.org", "+14155552671", marketing=True)
    bob, _, bob_profile, up2 = await north.create("Bob Other", "bob@example.org", "+442071838750")
    await Ingestor(cloud_db).ingest([
        up1, up2,
        north.sale("n-1", 1250, ada), north.points("n-1:earn", ada, 12, "n-1"),
        south.sale("s-1", 800, ada, at="2026-03-02T10:05:00.000Z"), south.points("s-1:earn", ada, 8, "s-1"),
        north.sale("n-2", 999, bob), north.points("n-2:earn", bob, 9, "n-2"),
        north.sale("n-3", 500, None),
    ])
    await south.lookup("email", "ada@example.org")  # south holds Ada too
    return north, south, (ada, ada_profile), (bob, bob_profile)


async def test_export_holds_everything_about_one_customer_and_nothing_of_another(cloud_db, rpc, keys):
    _, _, (ada, ada_profile), (bob, bob_profile) = await _two_customers_with_history(cloud_db, rpc)
    doc = await cloud_db.write(gdpr.export, keys, T, ada, actor="dpo-ada", now=NOW, tenant_id=T)
    assert doc["profile"] == msgspec.to_builtins(ada_profile)
    assert doc["consents"]["marketing"] is True and doc["consents"]["e_receipts"] is True
    assert [(o["order_id"], o["store_id"], o["total_cents"]) for o in doc["orders"]] == [
        ("n-1", "north", 1250), ("s-1", "south", 800)]
    assert [(e["entry_id"], e["points"]) for e in doc["loyalty"]["ledger"]] == [("n-1:earn", 12), ("s-1:earn", 8)]
    assert doc["loyalty"]["balance_points"] == 20 and doc["stores"] == ["north", "south"]
    text = json.dumps(doc)
    for other in (bob, bob_profile.email, bob_profile.phone, bob_profile.name, bob_profile.card_code, "n-2", "n-3"):
        assert other not in text
    [logged] = await read(cloud_db, gdpr.requests, T)
    assert (logged["kind"], logged["customer_id"], logged["requested_by"]) == ("export", ada, "dpo-ada")
    audit = await rows(cloud_db, hq_audit, hq_audit.c.action == "customer.exported")
    assert [(a.entity_id, a.actor) for a in audit] == [(ada, "dpo-ada")]
    assert ada_profile.email not in json.dumps([str(v) for a in audit for v in a])


async def test_erase_shreds_the_key_and_index_anonymises_points_unlinks_orders_and_tells_every_store(cloud_db, rpc,
                                                                                                     keys):
    north, south, (ada, ada_profile), (bob, _) = await _two_customers_with_history(cloud_db, rpc)
    await Ingestor(cloud_db).ingest([south.points("s-2:redeem", ada, -50, "s-2")])  # overdrawn: a loyalty case
    total_before = sum(r.gross_cents for r in await rows(cloud_db, sales))
    points_before = sum(r.points for r in await rows(cloud_db, hq_loyalty_ledger))
    done = await cloud_db.write(gdpr.erase, keys, T, ada, actor="dpo-ada", now=NOW, tenant_id=T)
    request_id = done["request_id"]
    assert done["stores"] == ["north", "south"]

    assert await rows(cloud_db, hq_customer_keys, hq_customer_keys.c.customer_id == ada) == []
    assert await rows(cloud_db, hq_customer_index, hq_customer_index.c.customer_id == ada) == []
    [tomb] = await rows(cloud_db, hq_customers, hq_customers.c.customer_id == ada)
    assert tomb.profile is None and tomb.erased_at == NOW
    assert await rows(cloud_db, hq_loyalty_ledger, hq_loyalty_ledger.c.customer_id == ada) == []
    assert sum(r.points for r in await rows(cloud_db, hq_loyalty_ledger)) == points_before  # anonymised, not lost
    [case] = await rows(cloud_db, conflicts, conflicts.c.kind == "loyalty_overdraft")
    pseudonym = case.detail["customer_id"]
    assert ada not in f"{case.dedup_key} {case.summary} {json.dumps(case.detail)}"
    assert sum(r.points for r in await rows(cloud_db, hq_loyalty_ledger,
                                            hq_loyalty_ledger.c.customer_id == pseudonym)) == -30
    assert await rows(cloud_db, sales, sales.c.customer_id == ada) == []
    assert sum(r.gross_cents for r in await rows(cloud_db, sales)) == total_before
    assert [r.order_id for r in await rows(cloud_db, sales, sales.c.customer_id == bob)] == ["n-2"]  # untouched
    with pytest.raises(customers.CustomerNotFound):
        await cloud_db.write(customers.hq_view, keys, T, ada, NOW, reveal=True, tenant_id=T)
    assert (await south.lookup("email", ada_profile.email)).customers == []
    assert (await north.call("customers.view", ViewRequest(customer_id=ada))).erased is True
    assert (await north.call("keys.fetch", FetchKeysRequest(customer_ids=[ada]))).erased == [ada]
    again = await north.call("keys.escrow", EscrowRequest(customer_id=ada, data_key=pii.encode_key(pii.new_key()),
                                                          index=[]))
    assert again.erased is True and not again.ok  # a store that has not heard yet is told at once
    [cmd] = await rows(cloud_db, commands, commands.c.type == "customer.erase")
    assert cmd.store_id is None and cmd.payload == {"request_id": request_id, "customer_id": ada}

    # An offline store's late sale to her keeps its money and loses the link; a late profile
    # write does not bring her back.
    await Ingestor(cloud_db).ingest([south.sale("s-late", 300, ada, at="2026-03-02T11:30:00.000Z"),
                                     south.upserted(ada, pii.new_key(), ada_profile, version=9,
                                                    updated_at="2026-03-02T11:31:00.000Z")])
    assert await rows(cloud_db, sales, sales.c.customer_id == ada) == []
    assert [r.gross_cents for r in await rows(cloud_db, sales, sales.c.order_id == "s-late")] == [300]
    [tomb] = await rows(cloud_db, hq_customers, hq_customers.c.customer_id == ada)
    assert tomb.profile is None

    [req] = await read(cloud_db, gdpr.requests, T)
    assert (req["requested_by"], req["requested_at"], req["done"], req["confirmations"]) == ("dpo-ada", NOW, False,
                                                                                             [])
    await Ingestor(cloud_db).ingest([north.erased(request_id, ada)])
    [req] = await read(cloud_db, gdpr.requests, T)
    assert [c["store_id"] for c in req["confirmations"]] == ["north"] and req["done"] is False
    await Ingestor(cloud_db).ingest([south.erased(request_id, ada), north.erased(request_id, ada)])  # a replay too
    [req] = await read(cloud_db, gdpr.requests, T)
    assert [c["store_id"] for c in req["confirmations"]] == ["north", "south"] and req["done"] is True
    with pytest.raises(customers.CustomerNotFound):  # nothing left to erase or export
        await cloud_db.write(gdpr.export, keys, T, ada, actor="dpo-ada", now=NOW, tenant_id=T)


async def test_retention_unlinks_inactive_customers_orders_at_hq_and_the_stores(cloud_db, rpc):
    _, _, (ada, _), (bob, _) = await _two_customers_with_history(cloud_db, rpc)
    north = FakeStore(rpc, T, "north")
    await Ingestor(cloud_db).ingest([north.sale("n-9", 100, bob, at="2026-06-01T10:00:00.000Z")])
    unlinked = await cloud_db.write(gdpr.retention_sweep, T, cutoff="2026-05-01T00:00:00.000Z", now=NOW,
                                    tenant_id=T)
    assert unlinked == [ada]  # Bob bought since the cutoff
    assert await rows(cloud_db, sales, sales.c.customer_id == ada) == []
    assert len(await rows(cloud_db, sales, sales.c.customer_id == bob)) == 2
    [cmd] = await rows(cloud_db, commands, commands.c.type == "customer.unlink")
    assert cmd.payload["customer_ids"] == [ada] and cmd.store_id is None
    assert await cloud_db.write(gdpr.retention_sweep, T, cutoff="2026-05-01T00:00:00.000Z", now=NOW,
                                tenant_id=T) == []  # once


async def test_another_tenants_scope_sees_none_of_the_customer_tables(cloud_db, rpc):
    await _two_customers_with_history(cloud_db, rpc)
    async with cloud_db.tenant("rival", write=False) as conn:
        counts = [(await conn.execute(select(func.count()).select_from(t).where(t.c.tenant_id == T))).scalar_one()
                  for t in (hq_customers, hq_customer_keys, hq_customer_index, hq_tenant_keys)]
    if cloud_db.is_postgres:  # row-level security: the filter above is not what hides them
        async with cloud_db.tenant("rival", write=False) as conn:
            counts += [(await conn.execute(select(func.count()).select_from(t))).scalar_one()
                       for t in (hq_customers, hq_customer_keys, hq_customer_index, hq_tenant_keys)]
        assert counts == [0] * 8
    else:
        assert counts == [2, 2, 6, 1]  # SQLite has no RLS; the routes filter by the token's tenant


async def test_partners_subscribed_to_customer_events_hear_joins_changes_and_erasures_without_pii(cloud_db, rpc,
                                                                                                keys):
    from cloud.schema_partners import webhook_deliveries, webhook_endpoints

    async with cloud_db.tenant(T) as conn:
        await conn.execute(webhook_endpoints.insert().values(
            endpoint_id="ep-1", tenant_id=T, app_id="app-1", url="https://shop.example/hooks",
            event_types=["customer.*"], secret_enc="x", active=True, created_at=NOW))
    north = FakeStore(rpc, T, "north")
    cid, data_key, profile, up = await north.create("Ada Lovelace", "ada@example.org", "+14155552671")
    changed = north.upserted(cid, data_key, msgspec.structs.replace(profile, name="Ada King"), version=2,
                             updated_at="2026-03-02T10:00:00.000Z")
    await Ingestor(cloud_db).ingest([up])
    await Ingestor(cloud_db).ingest([changed, changed])  # the same event twice: queued once
    done = await cloud_db.write(gdpr.erase, keys, T, cid, actor="dpo", now=NOW, tenant_id=T)
    sent = {r.event_type: r for r in await rows(cloud_db, webhook_deliveries)}
    assert len(await rows(cloud_db, webhook_deliveries)) == 3
    assert sorted(sent) == ["customer.created", "customer.erased", "customer.updated"]
    assert sent["customer.updated"].payload["version"] == 2 and sent["customer.updated"].payload["consents"]
    assert sent["customer.erased"].payload == {"customer_id": cid, "request_id": done["request_id"], "at": NOW}
    text = json.dumps([r.payload for r in sent.values()])
    for secret in ("ada@example.org", "+14155552671", "Lovelace", "King", profile.card_code):
        assert secret not in text


async def test_the_runtime_sweep_applies_retention_once_an_hour(cloud_db, rpc, tmp_path):
    from cloud.runtime import CloudRuntime
    from cloud.settings import CloudSettings

    _, _, (ada, _), (bob, _) = await _two_customers_with_history(cloud_db, rpc)  # all of it in March 2026
    runtime = CloudRuntime(cloud_db, CloudSettings(db_url="sqlite://", data_dir=str(tmp_path),
                                                   customers_retention_days=30))
    await runtime.sweep()
    [cmd] = await rows(cloud_db, commands, commands.c.type == "customer.unlink")
    assert sorted(cmd.payload["customer_ids"]) == sorted([ada, bob])
    assert await rows(cloud_db, sales, sales.c.customer_id.is_not(None)) == []
    north = FakeStore(rpc, T, "north")
    cid, _, _, up = await north.create("Cy Late", "cy@example.org", "+14155550123")
    await Ingestor(cloud_db).ingest([up, north.sale("n-7", 700, cid)])
    await runtime.sweep()  # within the hour: retention waits, though Cy is as inactive
    assert len(await rows(cloud_db, commands, commands.c.type == "customer.unlink")) == 1
    assert [r.order_id for r in await rows(cloud_db, sales, sales.c.customer_id == cid)] == ["n-7"]
