"""The HQ API through Litestar's test client: login contract, RBAC, tenant scoping, figures, conflicts."""

from __future__ import annotations

import uuid

import pytest
from conftest import sale
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.auth import AuthService
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.settings import CloudSettings
from edge.contracts.envelope import EventEnvelope


def env(store: str, seq: int, type_: str, payload: dict, tenant: str = "demo") -> EventEnvelope:
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        tenant_id=tenant,
        store_id=store,
        seq=seq,
        type=type_,
        occurred_at="2026-03-02T14:05:00.000Z",
        business_day="2026-03-02",
        payload=payload,
    )


class Side:
    """The test's own handle on the app's database: the app runs on the client's event loop."""

    def __init__(self, url: str, keys):
        self.db = CloudDB(url)
        self.ingestor = Ingestor(self.db)
        self.auth = AuthService(self.db, keys)


@pytest.fixture
async def client(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    app = create_app(CloudSettings(db_url=url, demo=True))
    async with AsyncTestClient(app=app) as c:
        c.side = Side(url, app.state.token_keys)
        yield c
        await c.side.db.close()


async def login(client, username="hq", password="novapos-demo") -> dict:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


async def test_demo_hq_user_logs_in_with_the_edge_contract(client):
    body = await login(client)
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["refresh_token"]
    assert body["user"]["username"] == "hq" and body["user"]["tenant_id"] == "demo"
    assert set(body["user"]) == {"id", "username", "roles", "tenant_id", "store_id"}
    bad = await client.post("/api/v1/auth/login", json={"username": "hq", "password": "nope"})
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("application/problem+json")


async def test_hq_figures_come_from_ingested_events(client):
    ingestor = client.side.ingestor
    await ingestor.ingest(
        [
            env("north", 1, "order.completed", sale(1000, sku="A", location="north", method="card")),
            env("north", 2, "order.completed", sale(500, sku="B", location="north")),
            env("south", 1, "order.completed", sale(300, sku="A", location="south")),
            env("south", 3, "mystery.thing", {"x": 1}),  # unknown type: stored, projects nothing; seq 2 missing
        ]
    )
    token = (await login(client))["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    r = await client.get("/api/v1/hq/sales/summary?from=2026-03-01&to=2026-03-31", headers=h)
    assert r.json() == {
        "items": [
            {"store_id": "north", "orders": 2, "gross_cents": 1500},
            {"store_id": "south", "orders": 1, "gross_cents": 300},
        ]
    }
    stores = {s["store_id"]: s for s in (await client.get("/api/v1/hq/stores", headers=h)).json()["items"]}
    assert stores["south"]["events_received"] == 2 and stores["south"]["missing_seqs"] == 1
    assert {"store_id", "last_seen_at", "lag_s", "events_received", "pending_conflicts"} <= set(stores["north"])
    gaps = (await client.get("/api/v1/hq/stores/south/gaps", headers=h)).json()["items"]
    assert gaps == [{"from": 2, "to": 2}]
    tenders = {
        t["method"]: t["amount_cents"]
        for t in (await client.get("/api/v1/hq/sales/tenders", headers=h)).json()["items"]
    }
    assert tenders == {"card": 1000, "cash": 800}
    top = (await client.get("/api/v1/hq/sales/top-products", headers=h)).json()["items"]
    assert [(p["sku"], p["gross_cents"]) for p in top] == [("A", 1300), ("B", 500)]
    assert (await client.get("/api/v1/hq/sales/by-hour", headers=h)).json()["items"][0]["hour"] == 14
    low = (await client.get("/api/v1/hq/stock?low_stock=true", headers=h)).json()["items"]
    assert {(s["location_id"], s["sku"], s["on_hand"]) for s in low} == {
        ("north", "A", -1),
        ("north", "B", -1),
        ("south", "A", -1),
    }


async def test_conflict_queue_lists_assigns_and_resolves_with_an_audit_trail(client):
    ingestor = client.side.ingestor
    payload = sale(900, sku="C", location="north")
    payload["lines"][0]["price_variance_cents"] = -100
    await ingestor.ingest([env("north", 1, "order.completed", payload)])
    h = {"Authorization": f"Bearer {(await login(client))['access_token']}"}
    cases = (await client.get("/api/v1/hq/conflicts?status=open", headers=h)).json()["items"]
    assert {c["kind"] for c in cases} == {"negative_stock", "price_variance"}
    case_id = next(c["id"] for c in cases if c["kind"] == "price_variance")
    # The assignee is a user of the tenant (a made-up name is refused: test_hq_dashboard_api.py).
    r = await client.post(f"/api/v1/hq/conflicts/{case_id}/assign", json={"assignee": "hq"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    r = await client.post(f"/api/v1/hq/conflicts/{case_id}/resolve", json={"resolution": "accepted"}, headers=h)
    assert [a["action"] for a in r.json()["audit"]] == ["raised", "assigned", "resolved"]
    again = await client.post(f"/api/v1/hq/conflicts/{case_id}/resolve", json={"resolution": "x"}, headers=h)
    assert again.status_code == 409


async def test_bopis_rejection_reroutes_to_another_store_then_cancels(client):
    ingestor = client.side.ingestor
    stock = [
        env(
            s,
            1,
            "stock.moved",
            {"movement": {"id": str(uuid.uuid4()), "location_id": s, "sku": "D", "kind": "receive", "delta": q}},
        )
        for s, q in (("a", 5), ("b", 3))
    ]
    await ingestor.ingest(stock)
    h = {"Authorization": f"Bearer {(await login(client))['access_token']}"}
    order = (
        await client.post(
            "/api/v1/hq/bopis", json={"order_id": "web-1", "lines": [{"sku": "D", "quantity": 2}]}, headers=h
        )
    ).json()
    assert order["store_id"] == "a" and order["status"] == "reserved"
    await ingestor.ingest([env("a", 2, "bopis.rejected", {"order_id": "web-1", "reason": "damaged"})])
    bopis = (await client.get("/api/v1/hq/bopis", headers=h)).json()["items"][0]
    assert bopis["store_id"] == "b" and bopis["tried"] == ["a"]
    await ingestor.ingest([env("b", 2, "bopis.rejected", {"order_id": "web-1"})])
    bopis = (await client.get("/api/v1/hq/bopis", headers=h)).json()["items"][0]
    assert bopis["status"] == "cancelled"
    kinds = [c["kind"] for c in (await client.get("/api/v1/hq/conflicts", headers=h)).json()["items"]]
    assert "bopis" in kinds


async def test_tenant_header_cannot_switch_tenants_for_a_non_super_admin(client):
    h = {"Authorization": f"Bearer {(await login(client))['access_token']}", "X-Tenant-ID": "other"}
    r = await client.get("/api/v1/hq/stores", headers=h)
    assert r.status_code == 403
    assert (await client.get("/api/v1/hq/stores")).status_code == 401
    await client.side.auth.create_user("root", "pw-long-enough", ["super_admin"], "demo")
    h = {
        "Authorization": f"Bearer {(await login(client, 'root', 'pw-long-enough'))['access_token']}",
        "X-Tenant-ID": "other",
    }
    assert (await client.get("/api/v1/hq/stores", headers=h)).json() == {"items": []}


async def test_analyst_may_read_but_not_issue_commands(client):
    await client.side.auth.create_user("ana", "pw-long-enough", ["hq_analyst"], "demo")
    h = {"Authorization": f"Bearer {(await login(client, 'ana', 'pw-long-enough'))['access_token']}"}
    assert (await client.get("/api/v1/hq/conflicts", headers=h)).status_code == 200
    r = await client.post("/api/v1/hq/commands", json={"type": "price.set", "payload": {}}, headers=h)
    assert r.status_code == 403


async def test_health_and_dashboard_are_served(client):
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).json()["nats"] == "disabled"
    page = await client.get("/hq/")
    assert page.status_code == 200 and "NovaPOS HQ" in page.text
