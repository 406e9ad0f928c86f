"""The dashboard's new reads and writes on both engines (Postgres with row-level security as
the application role): stock pages, the tenant's user list, TOTP set-up with its audit row, and
a conflict resolved with a note."""

from __future__ import annotations

import uuid

import pyotp
from sqlalchemy import select

from cloud import conflicts, mfa, stock_list, tenant_users
from cloud.auth import AuthService, TokenKeys
from cloud.clock import now_iso
from cloud.ingest import Ingestor
from cloud.schema import hq_audit, users
from edge.contracts.envelope import EventEnvelope


def moved(tenant: str, store: str, sku: str, delta: int, seq: int) -> EventEnvelope:
    return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=tenant, store_id=store, seq=seq, type="stock.moved",
                         occurred_at="2026-03-02T10:00:00.000Z", business_day="2026-03-02",
                         payload={"movement": {"id": str(uuid.uuid4()), "location_id": store, "sku": sku,
                                               "kind": "adjustment", "delta": delta}})


async def test_stock_pages_and_cases_stay_within_the_tenant(cloud_db):
    await Ingestor(cloud_db).ingest([moved("acme", "north", f"S-{n}", -1 if n == 0 else n, n + 1) for n in range(5)]
                                    + [moved("rival", "far", "S-9", 4, 1)])
    async with cloud_db.tenant("acme", write=False) as conn:
        first = await stock_list.page(conn, "acme", stock_list.StockFilter(), low_threshold=5, limit=3, cursor=None)
        rest = await stock_list.page(conn, "acme", stock_list.StockFilter(), low_threshold=5, limit=3,
                                     cursor=first["next_cursor"])
        low = await stock_list.page(conn, "acme", stock_list.StockFilter(q="s-", low_only=True), low_threshold=2,
                                    limit=10, cursor=None)
    assert first["total"] == 5 and [i["sku"] for i in first["items"] + rest["items"]] == [f"S-{n}" for n in range(5)]
    assert rest["next_cursor"] is None
    assert [i["sku"] for i in low["items"]] == ["S-0", "S-1", "S-2"]

    [case] = await cloud_db.write(lambda c: conflicts.list_cases(c, "acme"), tenant_id="acme")
    done = await cloud_db.write(conflicts.resolve, "acme", case["id"], "counted", "ada", now_iso(), "recounted",
                                tenant_id="acme")
    assert done["status"] == "resolved"
    async with cloud_db.tenant("acme", write=False) as conn:
        [listed] = await conn.run_sync(conflicts.list_cases, "acme")
    assert (listed["resolution_label"], listed["resolution_note"]) == ("Stock counted and corrected at the store",
                                                                        "recounted")


async def test_totp_set_up_and_the_user_list_on_both_engines(cloud_db):
    auth = AuthService(cloud_db, TokenKeys())
    user_id = await auth.create_user("ada", "admin-pass-1", ["tenant_admin"], "acme")
    await auth.create_user("rita", "rival-pass-1", ["hq_analyst"], "rival")
    assert [u["username"] for u in await tenant_users.hq_users(cloud_db, "acme")] == ["ada"]

    started = await mfa.start(auth, user_id, enrolment_only=True)
    await mfa.confirm(auth, user_id, pyotp.TOTP(started["secret"]).now(), enrolment_only=True)
    async with cloud_db.system(write=False) as conn:
        row = (await conn.execute(select(users).where(users.c.id == user_id))).one()
    assert row.totp_confirmed and row.totp_secret == started["secret"]
    async with cloud_db.tenant("acme", write=False) as conn:
        actions = (await conn.execute(select(hq_audit.c.action).where(hq_audit.c.entity_id == user_id))).scalars()
        assert list(actions) == ["mfa.enrolled"]
    if cloud_db.is_postgres:  # row-level security: another tenant's transaction sees none of it
        async with cloud_db.tenant("rival", write=False) as conn:
            assert (await conn.execute(select(hq_audit))).first() is None
