"""The HQ routes behind the dashboard, through a production-mode hub (admins need TOTP): chart
date ranges refused with problem+json, conflict cases closed only with what their kind allows
and assigned only to the tenant's users, stock pages that neither repeat nor skip, and an admin
setting up two-step sign-in without an operator."""

from __future__ import annotations

import time
import uuid

import pyotp
import pytest
from conftest import sale
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from cloud.app import create_app
from cloud.auth import AuthService
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.schema import conflict_audit, conflicts, hq_audit, users
from cloud.settings import CloudSettings
from edge.contracts.envelope import EventEnvelope

PROBLEM = "application/problem+json"


def env(store: str, seq: int, type_: str, payload: dict, tenant: str = "acme") -> EventEnvelope:
    return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=tenant, store_id=store, seq=seq, type=type_,
                         occurred_at="2026-03-02T14:05:00.000Z", business_day="2026-03-02", payload=payload)


@pytest.fixture
async def client(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    app = create_app(CloudSettings(db_url=url, demo=False))
    async with AsyncTestClient(app=app) as c:
        db = CloudDB(url)
        auth = AuthService(db, app.state.token_keys)
        c.secret = pyotp.random_base32()
        await auth.create_user("ana", "analyst-pass-1", ["hq_analyst"], "acme")
        await auth.create_user("ada", "admin-pass-1", ["tenant_admin"], "acme", totp_secret=c.secret)
        await auth.create_user("newadmin", "admin-pass-2", ["tenant_admin"], "acme")
        await auth.create_user("rita", "rival-pass-1", ["hq_analyst"], "rival")
        c.db = db
        yield c
        await db.close()


async def bearer(client, username: str, password: str, secret: str | None = None) -> dict[str, str]:
    body = {"username": username, "password": password}
    if secret:
        body["totp"] = pyotp.TOTP(secret).now()
    r = await client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# -- chart date ranges -----------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "field", "words"), [
    ("from=2026-03-10&to=2026-03-01", "from", "after it ends"),
    ("from=2025-01-01&to=2026-03-01", "to", "at most 366"),
    ("from=2026-02-30&to=2026-03-01", "from", "not a calendar date"),
    ("to=2026-13-01", "to", "not a calendar date"),
])
async def test_a_bad_chart_range_is_a_problem_naming_the_field(client, query, field, words):
    h = await bearer(client, "ana", "analyst-pass-1")
    for chart in ("sales", "stores", "tenders", "heatmap", "stock-cover"):
        r = await client.get(f"/api/v1/hq/analytics/{chart}?{query}", headers=h)
        assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM), (chart, r.text)
        assert words in r.json()["detail"] and any(e.get("key") == field for e in r.json()["errors"])


async def test_charts_default_to_four_weeks_and_refuse_an_unknown_time_zone(client):
    h = await bearer(client, "ana", "analyst-pass-1")
    r = await client.get("/api/v1/hq/analytics/sales", headers=h)
    assert r.status_code == 200 and r.json()["days"] == 28 and r.json()["items"] == []
    r = await client.get("/api/v1/hq/analytics/sales?from=2026-03-01", headers=h)
    assert (r.json()["from"], r.json()["to"]) == ("2026-03-01", "2026-03-28")
    r = await client.get("/api/v1/hq/analytics/heatmap?tz=Mars/Olympus", headers=h)
    assert r.status_code == 400 and "not a known time zone" in r.json()["detail"]
    assert (await client.get("/api/v1/hq/analytics/sales")).status_code == 401


async def test_chart_amounts_carry_their_currency(client):
    await Ingestor(client.db).ingest([env("north", 1, "order.completed", sale(1250, method="card"))])
    h = await bearer(client, "ana", "analyst-pass-1")
    r = await client.get("/api/v1/hq/analytics/tenders?from=2026-03-01&to=2026-03-07", headers=h)
    assert r.json()["items"] == [{"method": "card", "currency": "USD", "count": 1, "amount_cents": 1250}]
    other = await client.get("/api/v1/hq/analytics/tenders?from=2026-03-01&to=2026-03-07&store_id=south", headers=h)
    assert other.json()["items"] == []  # one store's tenders only
    bad = await client.get("/api/v1/hq/analytics/tenders?store_id=no%20such", headers=h)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(PROBLEM)


# -- conflicts ---------------------------------------------------------------------------------------
async def negative_stock_case(client) -> dict:
    await Ingestor(client.db).ingest([env("north", 1, "order.completed", sale(500, sku="CUP", location="north"))])
    async with client.db.tenant("acme", write=False) as conn:
        row = (await conn.execute(select(conflicts).where(conflicts.c.kind == "negative_stock"))).one()
    return dict(row._mapping)


async def test_a_resolution_its_kind_does_not_allow_is_refused_and_changes_nothing(client):
    case = await negative_stock_case(client)
    h = await bearer(client, "ada", "admin-pass-1", client.secret)
    listed = (await client.get("/api/v1/hq/conflicts", headers=h)).json()["items"]
    assert "counted" in [r["code"] for r in listed[0]["resolutions"]]
    r = await client.post(f"/api/v1/hq/conflicts/{case['id']}/resolve", headers=h,
                          json={"resolution": "whatever_i_type"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert "counted" in r.json()["detail"] and r.json()["errors"][0]["field"] == "resolution"
    r = await client.post(f"/api/v1/hq/conflicts/{case['id']}/resolve", headers=h,
                          json={"resolution": "whatever-i-type"})
    assert r.status_code == 400  # not even a resolution code
    after = (await client.get(f"/api/v1/hq/conflicts/{case['id']}", headers=h)).json()
    assert after["status"] == "open" and after["resolution"] is None

    r = await client.post(f"/api/v1/hq/conflicts/{case['id']}/resolve", headers=h,
                          json={"resolution": "counted", "note": "back room recount: 12"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert r.json()["resolution_label"].startswith("Stock counted")
    assert r.json()["audit"][-1]["detail"] == {"resolution": "counted", "note": "back room recount: 12"}


async def test_a_case_is_assigned_only_to_a_user_of_the_tenant(client):
    case = await negative_stock_case(client)
    h = await bearer(client, "ada", "admin-pass-1", client.secret)
    people = (await client.get("/api/v1/hq/users", headers=h)).json()["items"]
    assert [p["username"] for p in people] == ["ada", "ana", "newadmin"]  # never the rival tenant's rita
    for stranger in ("rita", "nobody"):
        r = await client.post(f"/api/v1/hq/conflicts/{case['id']}/assign", headers=h, json={"assignee": stranger})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assignee", r.text
    async with client.db.tenant("acme", write=False) as conn:
        trail = (await conn.execute(select(conflict_audit.c.action))).scalars().all()
    assert trail == ["raised"]

    r = await client.post(f"/api/v1/hq/conflicts/{case['id']}/assign", headers=h,
                          json={"assignee": "ana", "note": "please count the back room"})
    assert r.status_code == 200 and (r.json()["status"], r.json()["assignee"]) == ("assigned", "ana")
    analyst = await bearer(client, "ana", "analyst-pass-1")
    assert (await client.get("/api/v1/hq/users", headers=analyst)).status_code == 403


# -- stock across locations -------------------------------------------------------------------------
async def test_stock_pages_cover_every_level_once_and_filter(client):
    moves = [{"id": str(uuid.uuid4()), "location_id": f"store-{n % 3}", "sku": f"SKU-{n // 3:03d}",
              "kind": "receive", "delta": n % 7, "ref": "po"} for n in range(120)]
    await Ingestor(client.db).ingest([env("north", 1, "stock.counted", {"movements": moves})])
    h = await bearer(client, "ana", "analyst-pass-1")
    seen, cursor, pages = [], None, 0
    while True:
        q = "/api/v1/hq/stock/levels?limit=50" + (f"&cursor={cursor}" if cursor else "")
        body = (await client.get(q, headers=h)).json()
        assert body["total"] == 120
        seen += [(i["sku"], i["location_id"]) for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 120 and seen == sorted(seen)

    one = (await client.get("/api/v1/hq/stock/levels?q=sku-007", headers=h)).json()
    assert one["total"] == 3 and {i["sku"] for i in one["items"]} == {"SKU-007"}
    low = (await client.get("/api/v1/hq/stock/levels?low_stock=true&location_id=store-0", headers=h)).json()
    assert low["items"] and all(i["low"] and i["location_id"] == "store-0" for i in low["items"])
    bad = await client.get("/api/v1/hq/stock/levels?cursor=not-ours", headers=h)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(PROBLEM)


# -- TOTP set-up -------------------------------------------------------------------------------------
async def test_an_admin_without_totp_sets_it_up_with_the_sign_in_answer_and_then_signs_in(client):
    refused = await client.post("/api/v1/auth/login", json={"username": "newadmin", "password": "admin-pass-2"})
    assert refused.status_code == 403 and refused.json()["type"].endswith("mfa-enrollment-required")
    enrol = {"Authorization": f"Bearer {refused.json()['enrollment_token']}"}
    # The enrolment token opens nothing else.
    assert (await client.get("/api/v1/hq/stores", headers=enrol)).status_code == 401
    wrong = await client.post("/api/v1/auth/login", json={"username": "newadmin", "password": "nope"})
    assert "enrollment_token" not in wrong.json()

    started = await client.post("/api/v1/auth/mfa/enroll", headers=enrol)
    assert started.status_code == 200 and started.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert started.json()["qr_svg"].startswith("data:image/svg+xml;base64,")
    totp = pyotp.TOTP(started.json()["secret"])
    bad = await client.post("/api/v1/auth/mfa/confirm", headers=enrol, json={"code": "000000"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"
    ok = await client.post("/api/v1/auth/mfa/confirm", headers=enrol, json={"code": totp.now()})
    assert ok.status_code == 204, ok.text

    # The confirming code's step is spent; the next one signs in.
    signed_in = await client.post("/api/v1/auth/login", json={
        "username": "newadmin", "password": "admin-pass-2", "totp": totp.at(time.time() + 30)})
    assert signed_in.status_code == 200, signed_in.text
    # Once enrolled, the enrolment token cannot replace the authenticator.
    again = await client.post("/api/v1/auth/mfa/enroll", headers=enrol)
    assert again.status_code == 409
    async with client.db.system(write=False) as conn:
        row = (await conn.execute(select(users).where(users.c.username == "newadmin"))).one()
        audited = (await conn.execute(select(hq_audit.c.action).where(hq_audit.c.entity_id == row.id))).scalars()
        assert row.totp_confirmed and list(audited) == ["mfa.enrolled"]


async def test_a_signed_in_admin_replaces_the_authenticator_only_once_the_new_code_is_confirmed(client):
    h = await bearer(client, "ada", "admin-pass-1", client.secret)
    started = (await client.post("/api/v1/auth/mfa/enroll", headers=h)).json()
    # Not confirmed yet: the old authenticator stays the one that signs in.
    async with client.db.system(write=False) as conn:
        assert (await conn.execute(select(users.c.totp_secret).where(users.c.username == "ada"))).scalar_one() \
            == client.secret
    ok = await client.post("/api/v1/auth/mfa/confirm", headers=h, json={"code": pyotp.TOTP(started["secret"]).now()})
    assert ok.status_code == 204
    async with client.db.system(write=False) as conn:
        assert (await conn.execute(select(users.c.totp_secret).where(users.c.username == "ada"))).scalar_one() \
            == started["secret"]
