"""HQ chart figures: sales over time, store comparison, tender mix, the hour-by-weekday heatmap
and stock cover, over a validated range of business days.

Amounts always travel with their currency. Sale facts of a void or a return may carry none (the
store sends it with the sale), so each store's currency is read once from its sales and applied
to every fact of that store; a store that never sent one is reported as `XXX`, ISO 4217's "no
currency". Queries group by store in SQL and fold stores into currencies here, so a tenant with
stores in two currencies gets two series, never one sum of dollars and euros.

Every query filters on the tenant explicitly as well as through RLS (see `cloud.queries`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud.schema import sale_lines, sale_tenders, sales, stock_levels

NO_CURRENCY = "XXX"
MAX_RANGE_DAYS = 366  # a year, leap day included: the longest range one chart draws day by day
DEFAULT_RANGE_DAYS = 28  # four whole weeks, so every weekday counts the same in the heatmap
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class DayRange:
    """An inclusive range of store business days."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each(self) -> list[str]:
        return [(self.first + timedelta(days=i)).isoformat() for i in range(self.days)]

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "days": self.days}


async def store_currencies(conn: AsyncConnection, tenant: str) -> dict[str, str]:
    rows = await conn.execute(
        select(sales.c.store_id, func.max(sales.c.currency))
        .where(sales.c.tenant_id == tenant, sales.c.currency.is_not(None))
        .group_by(sales.c.store_id)
    )
    return {store: currency for store, currency in rows}


def _in(q: Any, col: Any, days: DayRange) -> Any:
    return q.where(col >= days.first.isoformat(), col <= days.last.isoformat())


async def sales_over_time(
    conn: AsyncConnection, tenant: str, days: DayRange, store_id: str | None = None
) -> list[dict[str, Any]]:
    """Net sales and orders per business day and currency; days without sales are zeros, so a
    line never skips a quiet Sunday. A currency appears only when it had any fact in range."""
    currency_of = await store_currencies(conn, tenant)
    q = select(sales.c.business_day, sales.c.store_id, func.sum(sales.c.orders), func.sum(sales.c.gross_cents))
    q = _in(q.where(sales.c.tenant_id == tenant), sales.c.business_day, days)
    if store_id:
        q = q.where(sales.c.store_id == store_id)
    totals: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for day, store, orders, gross in await conn.execute(q.group_by(sales.c.business_day, sales.c.store_id)):
        cell = totals[currency_of.get(store, NO_CURRENCY)][day]
        cell[0] += int(orders or 0)
        cell[1] += int(gross or 0)
    return [
        {"day": day, "currency": currency, "orders": by_day[day][0] if day in by_day else 0,
         "gross_cents": by_day[day][1] if day in by_day else 0}
        for currency, by_day in sorted(totals.items())
        for day in days.each()
    ]


async def store_comparison(conn: AsyncConnection, tenant: str, days: DayRange) -> list[dict[str, Any]]:
    """Each store's net sales, orders and average ticket, best first; `share_bp` is the store's
    share of its own currency's total, in basis points (no float for a share of money)."""
    currency_of = await store_currencies(conn, tenant)
    q = select(sales.c.store_id, func.sum(sales.c.orders), func.sum(sales.c.gross_cents))
    q = _in(q.where(sales.c.tenant_id == tenant), sales.c.business_day, days).group_by(sales.c.store_id)
    items = [
        {"store_id": store, "currency": currency_of.get(store, NO_CURRENCY), "orders": int(orders or 0),
         "gross_cents": int(gross or 0)}
        for store, orders, gross in await conn.execute(q)
    ]
    per_currency: dict[str, int] = defaultdict(int)
    for item in items:
        per_currency[item["currency"]] += item["gross_cents"]
    for item in items:
        item["avg_ticket_cents"] = item["gross_cents"] // item["orders"] if item["orders"] > 0 else 0
        total = per_currency[item["currency"]]
        item["share_bp"] = item["gross_cents"] * 10000 // total if total > 0 else 0
    return sorted(items, key=lambda i: (i["currency"], -i["gross_cents"], i["store_id"]))


async def tender_mix(
    conn: AsyncConnection, tenant: str, days: DayRange, store_id: str | None = None
) -> list[dict[str, Any]]:
    """Money by tender and currency, net of voids and refunds (the same rule as
    `cloud.queries.tender_mix`, per currency)."""
    currency_of = await store_currencies(conn, tenant)
    count = func.sum(case((sales.c.kind == "sale", 1), (sales.c.kind == "void", -1), else_=0))
    q = (
        select(sale_tenders.c.method, sale_tenders.c.store_id, count, func.sum(sale_tenders.c.amount_cents))
        .select_from(sale_tenders.join(sales, sales.c.event_id == sale_tenders.c.event_id))
        .where(sale_tenders.c.tenant_id == tenant)
    )
    if store_id:
        q = q.where(sale_tenders.c.store_id == store_id)
    q = _in(q, sale_tenders.c.business_day, days).group_by(sale_tenders.c.method, sale_tenders.c.store_id)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for method, store, n, amount in await conn.execute(q):
        cell = totals[(currency_of.get(store, NO_CURRENCY), method)]
        cell[0] += int(n or 0)
        cell[1] += int(amount or 0)
    return [
        {"method": method, "currency": currency, "count": n, "amount_cents": amount}
        for (currency, method), (n, amount) in sorted(totals.items(), key=lambda kv: (kv[0][0], -kv[1][1], kv[0][1]))
    ]


async def weekday_hours(
    conn: AsyncConnection, tenant: str, days: DayRange, zone: tzinfo, store_id: str | None = None
) -> list[dict[str, Any]]:
    """Orders and net sales by weekday (0 = Monday) and hour in `zone`.

    SQL groups by the UTC hour (`occurred_at` is ISO text, so its first 13 characters are the
    hour): at most 24 rows a day per store reach Python, whatever the volume, and each is moved
    into the time zone here, which gets daylight-saving days right where a fixed offset would not.
    """
    currency_of = await store_currencies(conn, tenant)
    utc_hour = func.substr(sales.c.occurred_at, 1, 13)
    q = select(utc_hour, sales.c.store_id, func.sum(sales.c.orders), func.sum(sales.c.gross_cents))
    q = _in(q.where(sales.c.tenant_id == tenant), sales.c.business_day, days)
    if store_id:
        q = q.where(sales.c.store_id == store_id)
    cells: dict[tuple[str, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for hour_text, store, orders, gross in await conn.execute(q.group_by(utc_hour, sales.c.store_id)):
        try:
            at = datetime.strptime(hour_text, "%Y-%m-%dT%H").replace(tzinfo=UTC).astimezone(zone)
        except (TypeError, ValueError):
            continue  # a malformed timestamp from an old store: left out of the grid, not a 500
        cell = cells[(currency_of.get(store, NO_CURRENCY), at.weekday(), at.hour)]
        cell[0] += int(orders or 0)
        cell[1] += int(gross or 0)
    return [
        {"weekday": weekday, "hour": hour, "currency": currency, "orders": orders, "gross_cents": gross}
        for (currency, weekday, hour), (orders, gross) in sorted(cells.items())
    ]


async def stock_cover(
    conn: AsyncConnection, tenant: str, days: DayRange, *, store_id: str | None = None, limit: int = 15
) -> dict[str, Any]:
    """Days of cover per store and SKU: on hand (all the store's locations) divided by the net
    units it sold per day over the range. The `limit` shortest covers come first, the ones an
    analyst reorders; SKUs in stock that sold nothing are counted, not listed (their cover is
    unbounded)."""
    held = select(stock_levels.c.store_id, stock_levels.c.sku, func.sum(stock_levels.c.on_hand))
    held = held.where(stock_levels.c.tenant_id == tenant)
    sold = select(sale_lines.c.store_id, sale_lines.c.sku, func.sum(sale_lines.c.quantity), func.max(sale_lines.c.name))
    sold = _in(sold.where(sale_lines.c.tenant_id == tenant), sale_lines.c.business_day, days)
    if store_id:
        held = held.where(stock_levels.c.store_id == store_id)
        sold = sold.where(sale_lines.c.store_id == store_id)
    on_hand = {(s, sku): int(n or 0) for s, sku, n in await conn.execute(
        held.group_by(stock_levels.c.store_id, stock_levels.c.sku))}
    units = {(s, sku): (int(n or 0), name) for s, sku, n, name in await conn.execute(
        sold.group_by(sale_lines.c.store_id, sale_lines.c.sku))}
    items = []
    for key, (sold_units, name) in units.items():
        if sold_units <= 0 or key not in on_hand:
            continue
        have = on_hand[key]
        # Tenths of a day in integers: cover = on_hand * days / units, rounded down.
        cover_tenths = max(have, 0) * days.days * 10 // sold_units
        items.append({"store_id": key[0], "sku": key[1], "name": name, "on_hand": have, "units_sold": sold_units,
                      "cover_days": cover_tenths / 10})
    items.sort(key=lambda i: (i["cover_days"], i["store_id"], i["sku"]))
    not_selling = sum(1 for key, n in on_hand.items() if n > 0 and units.get(key, (0, None))[0] <= 0)
    return {"items": items[:limit], "selling": len(items), "not_selling": not_selling,
            "out_of_stock": sum(1 for i in items if i["on_hand"] <= 0)}
