"""The figures behind the HQ charts, on SQLite and on Postgres with row-level security: sales
per day and currency with quiet days as zeros, store shares, tender mix, the hour-by-weekday
grid in a chosen time zone, and days of stock cover; each read only from its own tenant."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from cloud import analytics
from cloud.analytics import DayRange
from cloud.ingest import Ingestor
from edge.contracts.envelope import EventEnvelope

MARCH = DayRange(date(2026, 3, 2), date(2026, 3, 8))  # Monday to Sunday


def event(store: str, seq: int, type_: str, payload: dict, *, at: str, tenant: str = "acme") -> EventEnvelope:
    return EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=tenant, store_id=store, seq=seq, type=type_,
                         occurred_at=at, business_day=at[:10], payload=payload)


def sold(total_cents: int, *, currency: str, sku: str = "MUG", quantity: int = 1, method: str = "cash",
         store: str = "north", order_id: str | None = None) -> dict:
    order_id = order_id or str(uuid.uuid4())
    return {"order_id": order_id, "currency": currency, "total_cents": total_cents,
            "lines": [{"sku": sku, "name": f"{sku} name", "quantity": quantity, "total_cents": total_cents}],
            "tenders": [{"method": method, "amount_cents": total_cents}],
            "movements": [{"id": str(uuid.uuid4()), "location_id": store, "sku": sku, "kind": "sale",
                           "delta": -quantity, "ref": order_id}]}


def received(store: str, sku: str, quantity: int) -> dict:
    return {"movement": {"id": str(uuid.uuid4()), "location_id": store, "sku": sku, "kind": "receive",
                         "delta": quantity, "ref": "po-1"}}


async def seed(db) -> None:
    voided = str(uuid.uuid4())
    await Ingestor(db).ingest([
        event("north", 1, "stock.moved", received("north", "MUG", 40), at="2026-03-01T08:00:00.000Z"),
        event("north", 2, "order.completed", sold(1000, currency="USD", quantity=2, method="card"),
              at="2026-03-02T14:05:00.000Z"),
        event("north", 3, "order.completed", sold(500, currency="USD", order_id=voided),
              at="2026-03-04T15:10:00.000Z"),
        event("north", 4, "order.voided", {"order_id": voided}, at="2026-03-04T15:20:00.000Z"),
        event("north", 5, "order.completed", sold(3000, currency="USD", quantity=5), at="2026-03-04T16:00:00.000Z"),
        event("paris", 1, "order.completed", sold(2000, currency="EUR", store="paris"),
              at="2026-03-03T09:30:00.000Z"),
        event("other", 1, "order.completed", sold(99900, currency="USD", store="other"),
              at="2026-03-02T14:05:00.000Z", tenant="rival"),
    ])


async def test_sales_over_time_are_per_currency_with_quiet_days_as_zero(cloud_db):
    await seed(cloud_db)
    async with cloud_db.tenant("acme", write=False) as conn:
        items = await analytics.sales_over_time(conn, "acme", MARCH)
    usd = {i["day"]: (i["orders"], i["gross_cents"]) for i in items if i["currency"] == "USD"}
    eur = {i["day"]: (i["orders"], i["gross_cents"]) for i in items if i["currency"] == "EUR"}
    assert len(usd) == len(eur) == 7
    # The void takes back exactly its sale: one order and 30.00 remain on Wednesday.
    assert usd["2026-03-02"] == (1, 1000) and usd["2026-03-04"] == (1, 3000) and usd["2026-03-05"] == (0, 0)
    assert eur["2026-03-03"] == (1, 2000) and sum(g for _, g in eur.values()) == 2000


async def test_store_comparison_shares_are_within_each_currency(cloud_db):
    await seed(cloud_db)
    async with cloud_db.tenant("acme", write=False) as conn:
        items = await analytics.store_comparison(conn, "acme", MARCH)
    by_store = {i["store_id"]: i for i in items}
    assert set(by_store) == {"north", "paris"}  # never the rival tenant's store
    assert (by_store["north"]["currency"], by_store["north"]["gross_cents"], by_store["north"]["orders"]) == \
        ("USD", 4000, 2)
    assert by_store["north"]["avg_ticket_cents"] == 2000
    assert by_store["north"]["share_bp"] == by_store["paris"]["share_bp"] == 10000


async def test_tender_mix_nets_voids_and_names_the_currency(cloud_db):
    await seed(cloud_db)
    async with cloud_db.tenant("acme", write=False) as conn:
        items = await analytics.tender_mix(conn, "acme", MARCH)
    mix = {(i["currency"], i["method"]): (i["count"], i["amount_cents"]) for i in items}
    assert mix == {("USD", "card"): (1, 1000), ("USD", "cash"): (1, 3000), ("EUR", "cash"): (1, 2000)}


async def test_the_heatmap_places_orders_in_the_chosen_time_zone(cloud_db):
    await seed(cloud_db)
    async with cloud_db.tenant("acme", write=False) as conn:
        utc = await analytics.weekday_hours(conn, "acme", MARCH, ZoneInfo("UTC"))
        new_york = await analytics.weekday_hours(conn, "acme", MARCH, ZoneInfo("America/New_York"))
    cells = {(c["weekday"], c["hour"], c["currency"]): c["orders"] for c in utc}
    assert cells[(0, 14, "USD")] == 1 and cells[(2, 16, "USD")] == 1 and cells[(1, 9, "EUR")] == 1
    assert sum(c["orders"] for c in utc) == 3  # the void's hour nets its sale's hour to zero
    # 14:05 UTC on Monday 2 March is 09:05 in New York (EST, UTC-5).
    assert {(c["weekday"], c["hour"]) for c in new_york if c["orders"]} >= {(0, 9), (2, 11)}


async def test_stock_cover_is_on_hand_over_daily_sales(cloud_db):
    await seed(cloud_db)
    async with cloud_db.tenant("acme", write=False) as conn:
        cover = await analytics.stock_cover(conn, "acme", MARCH)
    # Paris sold a mug it never received: out of stock, no cover, first in the list.
    paris, north = cover["items"]
    assert (paris["store_id"], paris["on_hand"], paris["cover_days"]) == ("paris", -1, 0.0)
    assert cover["out_of_stock"] == 1
    # North: 40 received, 2 + 1 + 5 sold (the void sent no movement back): 32 on hand; the void
    # takes its unit out of the sales, so 7 net units in 7 days, one a day.
    assert (north["store_id"], north["sku"], north["on_hand"], north["units_sold"]) == ("north", "MUG", 32, 7)
    assert north["cover_days"] == 32.0
    async with cloud_db.tenant("rival", write=False) as conn:
        rival = await analytics.stock_cover(conn, "rival", MARCH)
    assert {i["store_id"] for i in rival["items"]} == {"other"}  # each tenant sees its own stores only
