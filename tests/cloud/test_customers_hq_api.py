"""HQ's customer routes: masked search and 360 for analysts, export and erase for tenant admins,
the request log, the partner's masked read, bad input as problem+json, another tenant's 404."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from cloud.app import create_app
from cloud.auth import AuthService, TokenKeys
from cloud.customer_keys import CustomerKeys
from cloud.customer_rpc import CustomerRpc
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.schema import hq_audit
from cloud.settings import CloudSettings
from tests.cloud.customer_support import FakeStore

T = "demo"


@pytest.fixture
async def client(tmp_path):
    settings = CloudSettings(db_url=f"sqlite:///{tmp_path / 'hq.db'}", demo=True)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as c:  # the app runs on its own loop: the test opens its own DB handle
        c.db = CloudDB(settings.db_url)
        c.keys = CustomerKeys.from_settings(settings)  # the same KEK file the app uses
        auth = AuthService(c.db, TokenKeys())
        await auth.create_user("ana", "analyst-pass-1", ["hq_analyst"], T)
        await auth.create_user("rival", "rival-pass-1", ["tenant_admin"], "rival")
        yield c
        await c.db.close()


async def login(client, user: str, password: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def seed(client) -> tuple[str, object]:
    store = FakeStore(CustomerRpc(client.db, client.keys), T, "north")
    cid, _, profile, up = await store.create("Grace Hopper", "grace@example.org", "+14155552671")
    await Ingestor(client.db).ingest([up, store.sale("n-1", 4200, cid), store.points("n-1:earn", cid, 42, "n-1")])
    return cid, profile


async def test_search_and_360_masked_for_analysts_full_for_admins(client):
    cid, profile = await seed(client)
    admin, analyst = await login(client, "hq", "novapos-demo"), await login(client, "ana", "analyst-pass-1")
    found = (await client.get("/api/v1/hq/customers", params={"q": "GRACE@example.org"}, headers=analyst)).json()
    assert found["items"] == [{"customer_id": cid, "name": "Grace H.", "email_masked": "g***@e***",
                               "phone_masked": "•••2671", "card_code": profile.card_code, "home_store_id": "north",
                               "balance_points": 42}]
    assert (await client.get("/api/v1/hq/customers", params={"q": "(415) 555-2671"}, headers=admin)).json()["items"]
    assert (await client.get("/api/v1/hq/customers", params={"q": "nobody@example.org"},
                             headers=admin)).json() == {"items": []}
    masked = (await client.get(f"/api/v1/hq/customers/{cid}", headers=analyst)).json()
    assert (masked["name"], masked["email"], masked["phone"]) == ("Grace H.", "g***@e***", "•••2671")
    full = (await client.get(f"/api/v1/hq/customers/{cid}", headers=admin)).json()
    assert (full["name"], full["email"], full["phone"]) == ("Grace Hopper", "grace@example.org", "+14155552671")
    assert full["loyalty"]["balance_points"] == 42 and full["stores"] == ["north"]
    async with client.db.tenant(T, write=False) as conn:
        seen = (await conn.execute(select(hq_audit).where(hq_audit.c.action == "customer.viewed"))).all()
    assert [(a.actor, a.entity_id) for a in seen] == [("hq", cid)]  # the admin's full view, not the analyst's
    assert [(p["order_id"], p["total_cents"], p["points_earned"]) for p in full["recent_purchases"]] == [
        ("n-1", 4200, 42)]
    assert (await client.post(f"/api/v1/hq/customers/{cid}/export", headers=analyst)).status_code == 403
    assert (await client.post(f"/api/v1/hq/customers/{cid}/erase", headers=analyst)).status_code == 403


async def test_export_erase_and_the_request_log_through_the_api(client):
    cid, profile = await seed(client)
    admin = await login(client, "hq", "novapos-demo")
    doc = (await client.post(f"/api/v1/hq/customers/{cid}/export", headers=admin)).json()
    assert doc["profile"]["email"] == "grace@example.org" and doc["orders"][0]["order_id"] == "n-1"
    erased = await client.post(f"/api/v1/hq/customers/{cid}/erase", headers=admin)
    assert erased.status_code == 202 and erased.json()["stores"] == ["north"]
    gone = await client.get(f"/api/v1/hq/customers/{cid}", headers=admin)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")
    assert (await client.post(f"/api/v1/hq/customers/{cid}/erase", headers=admin)).status_code == 404
    assert (await client.get("/api/v1/hq/customers", params={"q": profile.card_code}, headers=admin)).json() == {
        "items": []}
    log = (await client.get("/api/v1/hq/gdpr/requests", headers=admin)).json()["items"]
    assert [(r["kind"], r["customer_id"], r["requested_by"]) for r in log] == [("erase", cid, "hq"),
                                                                              ("export", cid, "hq")]
    assert log[0]["stores"] == ["north"] and log[0]["confirmations"] == []


async def test_another_tenants_admin_gets_404_and_bad_input_is_refused(client):
    cid, _ = await seed(client)
    rival = await login(client, "rival", "rival-pass-1")
    for method, path in (("get", f"/api/v1/hq/customers/{cid}"), ("post", f"/api/v1/hq/customers/{cid}/export"),
                         ("post", f"/api/v1/hq/customers/{cid}/erase")):
        r = await getattr(client, method)(path, headers=rival)
        assert r.status_code == 404, (path, r.text)
    assert (await client.get("/api/v1/hq/customers", params={"q": "grace@example.org"},
                             headers=rival)).json() == {"items": []}
    admin = await login(client, "hq", "novapos-demo")
    for bad in ("/api/v1/hq/customers/x", "/api/v1/hq/customers/bad%20id%20here", "/api/v1/hq/customers?q=a"):
        r = await client.get(bad, headers=admin)
        assert r.status_code in (400, 404) and r.headers["content-type"].startswith("application/problem+json"), bad
    assert (await client.get(f"/api/v1/hq/customers/{cid}")).status_code == 401
    # And the customer is still whole after all that.
    assert (await client.get(f"/api/v1/hq/customers/{cid}", headers=admin)).status_code == 200


async def test_the_360_shows_the_tier_from_the_tenants_program_over_hqs_ledger(client):
    cid, _ = await seed(client)
    admin = await login(client, "hq", "novapos-demo")
    program = {"enabled": True, "tiers": [{"name": "Member", "threshold_points": 0, "earn_multiplier_bps": 10000},
                                          {"name": "Silver", "threshold_points": 40, "earn_multiplier_bps": 12500},
                                          {"name": "Gold", "threshold_points": 100, "earn_multiplier_bps": 15000}]}
    saved = await client.patch("/api/v1/hq/policies", json={"loyalty": program}, headers=admin)
    assert saved.status_code == 200, saved.text
    loyalty = (await client.get(f"/api/v1/hq/customers/{cid}", headers=admin)).json()["loyalty"]
    assert (loyalty["balance_points"], loyalty["tier"], loyalty["next_tier"], loyalty["points_to_next_tier"]) == (
        42, "Silver", "Gold", 58)
