"""HQ chart data (`/api/v1/hq/analytics`): what the dashboard's charts draw, one route per chart.

Each route reads one tenant's projections in one read transaction (RLS on Postgres) over a
range of business days that `day_range` has checked: real calendar dates, `from` not after
`to`, at most `MAX_RANGE_DAYS`. Without dates a chart covers the last `DEFAULT_RANGE_DAYS` up to
today; with only one end, the other is that many days away. Each answer repeats the range it
covers, so the page can say which days an empty chart is about.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta, tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Request, Router, get
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from cloud import analytics
from cloud.analytics import DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS, DayRange
from cloud.api.guards import READ, allow
from cloud.clock import utc_now
from edge.contracts.bounds import ID_PATTERN, MAX_ID_LENGTH

# Loose on purpose: a well-formed but impossible date (2026-02-30) gets its own message below.
DAY = r"^\d{4}-\d{2}-\d{2}$"
From = Annotated[str | None, QueryParameter(query="from", pattern=DAY, max_length=10, required=False)]
To = Annotated[str | None, QueryParameter(query="to", pattern=DAY, max_length=10, required=False)]
StoreFilter = Annotated[str | None, QueryParameter(pattern=ID_PATTERN, max_length=MAX_ID_LENGTH, required=False)]
TimeZone = Annotated[str, QueryParameter(pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$", max_length=64)]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]


def _bad(field: str, message: str) -> ValidationException:
    return ValidationException(f"{field}: {message}", extra=[{"key": field, "message": message}])


def _day(field: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(field, f"{value} is not a calendar date (example: 2026-03-02)") from None


def day_range(day_from: str | None, day_to: str | None, *, today: date) -> DayRange:
    first, last = _day("from", day_from), _day("to", day_to)
    span = timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first is None and last is None:
        last = today
    if first is None:
        assert last is not None
        first = last - span
    if last is None:
        last = first + span
    if first > last:
        raise _bad("from", f"the range starts ({first}) after it ends ({last})")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise _bad("to", f"the range is {(last - first).days + 1} days; at most {MAX_RANGE_DAYS} are charted at once")
    return DayRange(first, last)


def _zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC  # the default needs no time-zone database
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad("tz", f"{name} is not a known time zone (example: Europe/Paris)") from None


def _scope(request: Request, day_from: str | None, day_to: str | None) -> tuple[Any, str, DayRange]:
    days = day_range(day_from, day_to, today=utc_now().date())
    return request.app.state.db, request.state.tenant_id, days


@get("/sales", guards=[allow(*READ)], operation_id="hqChartSales")
async def sales_over_time(
    request: Request, day_from: From = None, day_to: To = None, store_id: StoreFilter = None
) -> dict[str, Any]:
    db, tenant, days = _scope(request, day_from, day_to)
    async with db.tenant(tenant, write=False) as conn:
        items = await analytics.sales_over_time(conn, tenant, days, store_id)
    return {**days.as_dict(), "items": items}


@get("/stores", guards=[allow(*READ)], operation_id="hqChartStores")
async def store_comparison(request: Request, day_from: From = None, day_to: To = None) -> dict[str, Any]:
    db, tenant, days = _scope(request, day_from, day_to)
    async with db.tenant(tenant, write=False) as conn:
        items = await analytics.store_comparison(conn, tenant, days)
    return {**days.as_dict(), "items": items}


@get("/tenders", guards=[allow(*READ)], operation_id="hqChartTenders")
async def tender_mix(
    request: Request, day_from: From = None, day_to: To = None, store_id: StoreFilter = None
) -> dict[str, Any]:
    db, tenant, days = _scope(request, day_from, day_to)
    async with db.tenant(tenant, write=False) as conn:
        items = await analytics.tender_mix(conn, tenant, days, store_id)
    return {**days.as_dict(), "items": items}


@get("/heatmap", guards=[allow(*READ)], operation_id="hqChartHeatmap")
async def heatmap(
    request: Request, day_from: From = None, day_to: To = None, store_id: StoreFilter = None, tz: TimeZone = "UTC"
) -> dict[str, Any]:
    zone = _zone(tz)
    db, tenant, days = _scope(request, day_from, day_to)
    async with db.tenant(tenant, write=False) as conn:
        items = await analytics.weekday_hours(conn, tenant, days, zone, store_id)
    return {**days.as_dict(), "tz": tz, "weekdays": list(analytics.WEEKDAYS), "items": items}


@get("/stock-cover", guards=[allow(*READ)], operation_id="hqChartStockCover")
async def stock_cover(
    request: Request, day_from: From = None, day_to: To = None, store_id: StoreFilter = None, limit: Limit = 15
) -> dict[str, Any]:
    db, tenant, days = _scope(request, day_from, day_to)
    async with db.tenant(tenant, write=False) as conn:
        cover = await analytics.stock_cover(conn, tenant, days, store_id=store_id, limit=limit)
    return {**days.as_dict(), **cover}


analytics_router = Router(
    path="/api/v1/hq/analytics",
    route_handlers=[sales_over_time, store_comparison, tender_mix, heatmap, stock_cover],
)
