"""A customer's link to the store's sales: offline replays carry it, HQ's retention unlinks it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest
from litestar.testing import TestClient

from edge.adapters.inbox import Inbox, InboxConfig
from edge.adapters.replication import hq_handlers
from edge.contracts.events import Command
from tests.edge.customers.conftest import key, sell_to, sign_up, unique_person


@pytest.fixture
def lane1(client: TestClient) -> dict[str, str]:
    response = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def send(client: TestClient, type_: str, payload: dict) -> str:
    """Deliver an HQ command through the store's real inbox, as the NATS consumer would."""
    s = client.app.state.services
    cfg = s.settings.store
    inbox = Inbox(s.db, InboxConfig(nats_url="nats://unused", tenant_id=cfg.tenant_id, store_id=cfg.store_id),
                  handlers=hq_handlers(s.settings))
    command = Command(command_id=str(uuid.uuid4()), tenant_id=cfg.tenant_id, store_id=cfg.store_id,
                      type=type_, version=1, issued_at="2026-11-30T10:00:00Z", payload=payload)
    return s.db.write_sync(lambda conn: inbox.apply(conn, command))


def offline_sale(customer_id: str) -> dict:
    return {"idempotency_key": key(), "lane_id": "1", "customer_id": customer_id,
            "offline_created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "lines": [{"sku": "BAK-0005", "quantity": 1}], "tenders": [{"method": "cash", "amount_cents": 100_000}]}


def test_a_sale_queued_offline_keeps_its_customer_and_one_for_a_customer_gone_since_is_still_accepted(
        client: TestClient, cashier, lane1) -> None:
    p = unique_person()
    cid = sign_up(client, cashier, {"name": p["name"], "phone": p["phone"]}).json()["customer_id"]
    gone = "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
    results = client.post("/api/v1/offline/sales", json={"sales": [offline_sale(cid), offline_sale(gone)]},
                          headers=lane1).json()["results"]
    assert [r["verdict"] for r in results] == ["accepted", "accepted"]
    first, second = (client.get(f"/api/v1/orders/{r['order_id']}", headers=cashier).json() for r in results)
    assert first["customer_id"] == cid
    assert second["customer_id"] is None  # the sale happened; the link to an unknown customer does not stand
    history = client.get(f"/api/v1/customers/{cid}", headers=cashier).json()["recent_purchases"]
    assert [h["order_id"] for h in history] == [first["id"]]


def test_retention_unlinks_orders_and_keeps_the_customer_and_the_amounts(client: TestClient, cashier) -> None:
    p = unique_person()
    cid = sign_up(client, cashier, {"name": p["name"], "email": p["email"]}).json()["customer_id"]
    order = sell_to(client, cashier, cid).json()
    assert send(client, "customer.unlink", {"request_id": "r-1", "customer_ids": [cid]}) == "applied"
    after = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    assert after["customer_id"] is None and after["total_cents"] == order["total_cents"]
    view = client.get(f"/api/v1/customers/{cid}", headers=cashier)
    assert view.status_code == 200 and view.json()["recent_purchases"] == []
    assert client.get("/api/v1/customers", params={"q": p["email"]}, headers=cashier).json()["items"][0][
        "customer_id"] == cid


def test_an_erase_for_a_customer_this_store_never_held_is_still_confirmed(client: TestClient) -> None:
    assert send(client, "customer.erase", {"request_id": "r-2", "customer_id": "0190bbbb-cccc-7ddd-8eee-ffffffffffff"}) \
        == "absent"
    rows = client.app.state.services.db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT envelope FROM outbox WHERE type = 'customer.erased'").fetchall())
    assert len(rows) == 1 and '"request_id":"r-2"' in rows[0][0]


def test_a_malformed_erase_command_changes_nothing(client: TestClient) -> None:
    with pytest.raises(msgspec.ValidationError):  # the inbox records it "failed" after its retries
        send(client, "customer.erase", {"request_id": "r-3"})
    rows = client.app.state.services.db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT count(*) FROM outbox WHERE type = 'customer.erased'").scalar())
    assert rows == 0
