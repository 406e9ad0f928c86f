"""A sale carries the store-local business day, by the store's time zone and day-start hour: a
bar in Berlin whose day starts at 04:00 books a 01:30 sale on the evening before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.support import FakeClock, login


def test_a_sale_after_midnight_belongs_to_the_evening_when_the_day_starts_at_four(client):
    factory = client.app.state.services.uow
    factory.timezone, factory.day_start_hour = "Europe/Berlin", 4
    factory.clock = FakeClock(datetime(2026, 1, 15, 0, 30, tzinfo=UTC))  # 01:30 in Berlin
    cashier = login(client, "cashier")
    sku = next(p for p in client.get("/api/v1/products?limit=20", headers=cashier).json()["items"]
               if not p["sold_by_weight"])["sku"]
    body = {"lane_id": "1", "lines": [{"sku": sku}], "tenders": [{"method": "cash", "amount_cents": 100_000}]}
    sale = client.post("/api/v1/orders", json=body, headers={**cashier, "Idempotency-Key": uuid.uuid4().hex})
    assert sale.status_code == 201, sale.text
    stored = client.get(f"/api/v1/orders/{sale.json()['id']}", headers=cashier).json()
    assert stored["business_day"] == "2026-01-14"

    factory.clock.advance(3 * 3600)  # 04:30 in Berlin: the new day has begun
    later = client.post("/api/v1/orders", json=body, headers={**cashier, "Idempotency-Key": uuid.uuid4().hex})
    assert client.get(f"/api/v1/orders/{later.json()['id']}", headers=cashier).json()["business_day"] == "2026-01-15"
