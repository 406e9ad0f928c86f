"""HQ's points ledger: entries from the stores project once, the balance is their sum, two stores
spending the same points open exactly one overdraft case, and closing it claws back or writes off."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from cloud import conflicts, loyalty
from cloud.app import create_app
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.schema import hq_audit
from cloud.settings import CloudSettings
from edge.contracts.envelope import EventEnvelope

CUSTOMER = "cust-0001-abcd"


def entry(store: str, seq: int, entry_id: str, kind: str, points: int, *, customer: str = CUSTOMER,
          offline: bool = False, tenant: str = "demo") -> EventEnvelope:
    return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=tenant, store_id=store, seq=seq, type="loyalty.entry",
                         occurred_at=f"2026-03-02T10:{seq:02d}:00.000Z", business_day="2026-03-02",
                         payload={"entry_id": entry_id, "customer_id": customer, "store_id": store, "kind": kind,
                                  "points": points, "order_id": f"o-{entry_id}", "at": f"2026-03-02T10:{seq:02d}:00Z",
                                  "offline": offline})


async def balance(db, customer: str = CUSTOMER) -> int:
    async with db.tenant("demo", write=False) as conn:
        return await conn.run_sync(loyalty.balance, "demo", customer)


async def cases(db) -> list[dict]:
    async with db.tenant("demo", write=False) as conn:
        return await conn.run_sync(lambda c: conflicts.list_cases(c, "demo", kind="loyalty_overdraft"))


async def test_entries_project_once_and_the_balance_is_their_sum(cloud_db):
    ingest = Ingestor(cloud_db).ingest
    earn = entry("north", 1, "o1:earn", "earn", 600)
    await ingest([earn, entry("north", 2, "o2:redeem", "redeem", -200)])
    # The same entry again (a redelivery under a new event id, as after the dedup window): no change.
    replay = EventEnvelope(**{**{f: getattr(earn, f) for f in earn.__struct_fields__}, "event_id": str(uuid.uuid4()),
                              "seq": 3})
    await ingest([replay, earn])
    assert await balance(cloud_db) == 400
    assert await cases(cloud_db) == []


async def test_two_stores_spending_the_same_points_open_one_case_and_write_off_zeroes_it(cloud_db):
    ingest = Ingestor(cloud_db).ingest
    await ingest([entry("north", 1, "o1:earn", "earn", 600)])
    await ingest([entry("north", 2, "pa:redeem", "redeem", -500, offline=True),
                  entry("south", 1, "pb:redeem", "redeem", -500, offline=True)])
    await ingest([entry("south", 2, "pc:redeem", "redeem", -100, offline=True)])  # later still: same case
    [case] = await cases(cloud_db)
    assert case["status"] == "open" and case["detail"]["balance_points"] == -500
    assert case["detail"]["stores"] == ["north", "south"]
    assert [r["code"] for r in case["resolutions"]] == ["claw_back", "write_off"]
    await cloud_db.write(conflicts.assign, "demo", case["id"], "hq", "hq", "2026-03-02T11:00:00Z", tenant_id="demo")
    await cloud_db.write(conflicts.resolve, "demo", case["id"], "write_off", "hq", "2026-03-02T11:05:00Z",
                         tenant_id="demo")
    assert await balance(cloud_db) == 0
    async with cloud_db.tenant("demo", write=False) as conn:
        lines = await conn.run_sync(loyalty.ledger, "demo", CUSTOMER)
    assert [(ln["kind"], ln["points"], ln["store_id"]) for ln in lines][-1] == ("write_off", 500, "hq")
    # Resolved, so a new overdraft later opens a new case rather than reopening this one.
    await ingest([entry("north", 3, "pd:redeem", "redeem", -10)])
    assert [c["status"] for c in await cases(cloud_db)] == ["open", "resolved"]


async def test_claw_back_leaves_the_debt_for_future_earnings(cloud_db):
    ingest = Ingestor(cloud_db).ingest
    await ingest([entry("north", 1, "o1:earn", "earn", 100), entry("north", 2, "pa:redeem", "redeem", -300)])
    [case] = await cases(cloud_db)
    await cloud_db.write(conflicts.resolve, "demo", case["id"], "claw_back", "hq", "2026-03-02T11:05:00Z",
                         tenant_id="demo")
    assert await balance(cloud_db) == -200
    await ingest([entry("north", 3, "o3:earn", "earn", 250)])
    assert await balance(cloud_db) == 50
    assert [c["status"] for c in await cases(cloud_db)] == ["resolved"]


@pytest.fixture
async def client(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    app = create_app(CloudSettings(db_url=url, demo=True))
    async with AsyncTestClient(app=app) as c:
        c.db = CloudDB(url)
        yield c
        await c.db.close()


async def test_an_hq_adjustment_is_audited_with_the_customer_id_and_bad_ones_change_nothing(client):
    r = await client.post("/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"})
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    url = f"/api/v1/hq/customers/{CUSTOMER}/loyalty"
    made = await client.post(f"{url}/adjustments", json={"points": 250, "reason": "goodwill: late delivery"},
                             headers=h)
    assert made.status_code == 201, made.text
    assert made.json()["balance_points"] == 250 and made.json()["kind"] == "adjust"
    for bad in ({"points": 0, "reason": "x"}, {"points": 5, "reason": "  "}, {"points": 10**9, "reason": "x"},
                {"points": 5}):
        refused = await client.post(f"{url}/adjustments", json=bad, headers=h)
        assert refused.status_code in (400, 422), bad
        assert refused.headers["content-type"].startswith("application/problem+json")
    ledger = (await client.get(f"{url}/ledger", headers=h)).json()
    assert ledger["balance_points"] == 250 and len(ledger["items"]) == 1
    async with client.db.tenant("demo", write=False) as conn:
        rows = (await conn.execute(select(hq_audit).where(hq_audit.c.action == "loyalty.adjust"))).all()
    assert [(row.entity, row.entity_id, row.after["points"]) for row in rows] == [("customer", CUSTOMER, 250)]
    assert (await client.post(f"{url}/adjustments", json={"points": 5, "reason": "x"})).status_code == 401


async def test_an_entry_arriving_after_hqs_erasure_lands_under_a_pseudonym(cloud_db):
    from cloud.schema_customers import hq_customers

    await cloud_db.write(lambda c: c.execute(hq_customers.insert().values(
        tenant_id="demo", customer_id=CUSTOMER, version=1, received_at="2026-03-02T09:00:00Z",
        erased_at="2026-03-02T09:30:00Z")), tenant_id="demo")
    await Ingestor(cloud_db).ingest([entry("north", 1, "late:earn", "earn", 40)])
    assert await balance(cloud_db) == 0  # nothing under the erased id
    async with cloud_db.tenant("demo", write=False) as conn:
        [row] = await conn.run_sync(lambda c: c.execute(select(loyalty.hq_loyalty_ledger)).all())
    assert row.customer_id.startswith("erased-") and row.points == 40
