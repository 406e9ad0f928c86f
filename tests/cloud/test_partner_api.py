"""The partner API against a real hub: catalog writes through HQ's commands with idempotency,
pickup-order injection allocated to a store with stock, inventory availability, order and
refund reads from the projections, the audit trail of partner writes, and per-app health."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.cloud.partner_support import PartnerHub, admin_headers, bearer, client_token, register_app
from tests.support import wait_until

ALL = ["catalog:read", "catalog:write", "inventory:read", "orders:read", "orders:write", "reports:read",
       "webhooks:manage"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    # The module's one app makes its calls back to back: the default burst (20 a second) would
    # turn a fast run into 429s. The limits have their own tests (test_partner_rate_policies.py).
    server = PartnerHub(tmp_path_factory.mktemp("partner-api"), {
        "NOVAPOS_CLOUD_PARTNER_ALLOW_PRIVATE_WEBHOOKS": "1", "NOVAPOS_CLOUD_PARTNER_USAGE_FLUSH_S": "0.2",
        "NOVAPOS_CLOUD_PARTNER_APP_BURST_PER_S": "1000", "NOVAPOS_CLOUD_PARTNER_TENANT_BURST_PER_S": "1000"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin(hub: PartnerHub) -> dict[str, str]:
    return admin_headers(hub.url)


@pytest.fixture(scope="module")
def app(hub: PartnerHub, admin: dict[str, str]) -> dict[str, Any]:
    made = register_app(hub.url, admin, ALL)
    made["token"] = client_token(hub.url, made).json()["access_token"]
    return made


def store_events(hub: PartnerHub, events: list[tuple[str, dict[str, Any]]], store: str = "store-1") -> None:
    """Events from a store, ingested into the hub's database as NATS ingest would."""
    from cloud.db import CloudDB
    from cloud.ingest import Ingestor
    from edge.contracts.envelope import EventEnvelope

    now = datetime.now(UTC)
    envs = [EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="demo", store_id=store, seq=i + 1, type=type_,
                          occurred_at=now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), business_day=now.strftime("%Y-%m-%d"),
                          payload=payload) for i, (type_, payload) in enumerate(events)]

    async def ingest() -> None:
        db = CloudDB(hub.db_url)
        try:
            await Ingestor(db).ingest(envs)
        finally:
            await db.close()

    asyncio.run(ingest())


def receive(sku: str, qty: int, store: str = "store-1") -> tuple[str, dict[str, Any]]:
    return ("stock.moved", {"movement": {"id": str(uuid.uuid4()), "location_id": store, "sku": sku,
                                         "kind": "receipt", "delta": qty}})


def call(hub: PartnerHub, app: dict[str, Any], method: str, path: str, key: str | None = None,
         **kw: Any) -> httpx.Response:
    headers = {**bearer(app["token"]), **({"Idempotency-Key": key} if key else {})}
    return httpx.request(method, f"{hub.url}/api/v1/partner{path}", headers=headers, timeout=30, **kw)


def test_a_catalog_write_is_queued_as_an_hq_command_once_per_idempotency_key(hub, app, admin):
    product = {"sku": "MUG-1", "name": "Mug", "price_cents": 1299}
    first = call(hub, app, "POST", "/catalog/products", "cat-1", json=product)
    assert first.status_code == 202, first.text
    again = call(hub, app, "POST", "/catalog/products", "cat-1", json=product)
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = call(hub, app, "POST", "/catalog/products", "cat-1", json={**product, "price_cents": 1})
    assert other.status_code == 422 and other.headers["content-type"].startswith("application/problem+json")
    assert call(hub, app, "POST", "/catalog/products", json=product).status_code == 400  # no key

    items = call(hub, app, "GET", "/catalog").json()["items"]
    assert [(i["sku"], i["price_cents"]) for i in items] == [("MUG-1", 1299)]
    commands = httpx.get(f"{hub.url}/api/v1/hq/bopis", headers=admin)  # HQ still answers its own routes
    assert commands.status_code == 200
    trail = httpx.get(f"{hub.url}/api/v1/partner-admin/audit", headers=admin).json()["items"]
    writes = [t for t in trail if t["action"] == "partner.catalog_upsert"]
    assert len(writes) == 1 and writes[0]["actor"] == f"partner:{app['app_id']}"


def test_bad_catalog_input_is_a_problem_and_changes_nothing(hub, app):
    before = call(hub, app, "GET", "/catalog").json()
    for body in ({"sku": "X-1", "name": "X", "price_cents": -5}, {"sku": "bad sku!", "name": "X", "price_cents": 1},
                 {"sku": "X-1", "name": "X", "price_cents": 1, "surprise": True}, {"sku": "X-1"}):
        r = call(hub, app, "POST", "/catalog/products", f"bad-{uuid.uuid4()}", json=body)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json") and "Traceback" not in r.text
    assert call(hub, app, "GET", "/catalog").json() == before


def test_a_pickup_order_is_allocated_to_a_store_with_stock_and_reserves_it(hub, app, admin):
    store_events(hub, [receive("LAMP-1", 10, store="store-7")], store="store-7")
    order = {"order_id": "web-1001", "lines": [{"sku": "LAMP-1", "quantity": 2}]}
    r = call(hub, app, "POST", "/orders", "order-1001", json=order)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "reserved" and r.json()["store_id"] == "store-7"
    replay = call(hub, app, "POST", "/orders", "order-1001", json=order)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    dup = call(hub, app, "POST", "/orders", "order-1001-b", json=order)
    assert dup.status_code == 409  # the same web order under another key is not placed twice

    got = call(hub, app, "GET", "/orders/web-1001").json()
    assert got["kind"] == "pickup" and got["status"] == "reserved" and got["store_id"] == "store-7"
    stock = call(hub, app, "GET", "/inventory", params={"sku": "LAMP-1"}).json()["items"]
    assert stock == [{"sku": "LAMP-1", "location_id": "store-7", "store_id": "store-7", "on_hand": 10,
                      "reserved": 2, "available": 8, "updated_at": stock[0]["updated_at"]}]
    hq = httpx.get(f"{hub.url}/api/v1/hq/bopis", headers=admin).json()["items"]
    assert any(o["order_id"] == "web-1001" and o["store_id"] == "store-7" for o in hq)


def test_an_order_nobody_can_fill_is_cancelled_not_lost(hub, app):
    r = call(hub, app, "POST", "/orders", "order-none", json={"order_id": "web-none",
                                                              "lines": [{"sku": "GHOST-1", "quantity": 1}]})
    assert r.status_code == 201 and r.json()["status"] == "cancelled"


def test_store_orders_and_refunds_are_readable(hub, app):
    sale = {"order_id": "pos-77", "total_cents": 2500, "currency": "EUR",
            "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "total_cents": 2500}],
            "tenders": [{"method": "card", "amount_cents": 2500}]}
    refund = {"order_id": "pos-77", "refund_cents": 1250, "lines": [{"sku": "MUG-1", "quantity": 1,
                                                                    "total_cents": 1250}],
              "refunds": [{"method": "card", "amount_cents": 1250}]}
    store_events(hub, [("order.completed", sale), ("return.created", refund)])
    got = call(hub, app, "GET", "/orders/pos-77").json()
    assert got["kind"] == "store" and got["total_cents"] == 2500 and got["status"] == "completed"
    assert got["lines"][0]["sku"] == "MUG-1" and got["refunds"] == [
        {"kind": "return", "amount_cents": 1250, "occurred_at": got["refunds"][0]["occurred_at"]}]
    refunds = call(hub, app, "GET", "/refunds").json()["items"]
    assert any(r["order_id"] == "pos-77" and r["amount_cents"] == 1250 for r in refunds)
    assert call(hub, app, "GET", "/orders/nope-1").status_code == 404


def test_stock_falling_below_its_threshold_queues_a_low_stock_webhook(hub, app):
    r = call(hub, app, "POST", "/webhooks", json={"url": "http://127.0.0.1:9/hooks",
                                                  "event_types": ["inventory.low_stock"]})
    assert r.status_code == 201, r.text
    endpoint_id = r.json()["endpoint_id"]
    store_events(hub, [receive("CUP-1", 8, store="store-9")], store="store-9")
    store_events(hub, [("stock.moved", {"movement": {"id": str(uuid.uuid4()), "location_id": "store-9",
                                                     "sku": "CUP-1", "kind": "sale", "delta": -4}})], store="store-9")
    store_events(hub, [("stock.moved", {"movement": {"id": str(uuid.uuid4()), "location_id": "store-9",
                                                     "sku": "CUP-1", "kind": "sale", "delta": -1}})], store="store-9")
    admin = admin_headers(hub.url)
    items = httpx.get(f"{hub.url}/api/v1/partner-admin/deliveries", params={"endpoint_id": endpoint_id},
                      headers=admin).json()["items"]
    assert [i["event_type"] for i in items] == ["inventory.low_stock"]  # once, at the crossing (8 → 4)


def test_health_shows_each_apps_requests_and_errors(hub, app, admin):
    call(hub, app, "GET", "/catalog")
    call(hub, app, "GET", "/orders/does-not-exist")

    def figures() -> dict[str, Any] | None:
        items = httpx.get(f"{hub.url}/api/v1/partner-admin/health", headers=admin).json()["items"]
        mine = next(i for i in items if i["app_id"] == app["app_id"])
        return mine if mine["requests"] >= 2 else None

    mine = wait_until(figures, timeout=15, what="usage flushed")
    assert mine["avg_latency_ms"] > 0 and mine["throttled"] == 0 and mine["errors"] == 0


def test_prometheus_counts_each_apps_requests_by_outcome(hub, app):
    from edge.contracts.metrics_tokens import FILENAME, MetricsTokens
    from tests.support import metric_value

    _, scrape = MetricsTokens(hub.keys_dir / FILENAME).mint("test")

    def sample(name: str, **labels: str) -> float:
        text = httpx.get(f"{hub.url}/metrics", headers=bearer(scrape)).text
        return metric_value(text, name, app_id=app["app_id"], **labels)

    ok, refused = sample("novapos_cloud_partner_requests_total", outcome="ok"), \
        sample("novapos_cloud_partner_requests_total", outcome="client_error")
    call(hub, app, "GET", "/catalog")
    call(hub, app, "GET", "/orders/missing-order")
    assert sample("novapos_cloud_partner_requests_total", outcome="ok") == ok + 1
    assert sample("novapos_cloud_partner_requests_total", outcome="client_error") == refused + 1
    assert sample("novapos_cloud_partner_request_seconds_count") >= 2
