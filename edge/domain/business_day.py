"""The store's business day: which trading day an instant belongs to.

Time is stored in UTC; the unit of work stamps every order and event with its store-local
business day, and reports group by it. A day starts at `day_start_hour` local wall-clock time,
so a bar that trades until 03:00 with a 04:00 start keeps its late sales on the evening's day.
Local time comes from zoneinfo, so DST days are 23 or 25 hours long and nothing is counted
twice or lost.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.domain.errors import ValidationFailed


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationFailed(f"unknown time zone {tz!r}; use an IANA name such as 'Europe/Berlin'",
                               code="unknown-time-zone") from err


def _check_hour(day_start_hour: int) -> None:
    if not 0 <= day_start_hour <= 23:
        raise ValidationFailed(f"day_start_hour must be 0-23, got {day_start_hour}", code="bad-day-start-hour")


def business_day(instant: datetime, tz: str | ZoneInfo, day_start_hour: int = 0) -> date:
    """The business day of an aware instant (naive datetimes are refused: their zone is a guess)."""
    if instant.tzinfo is None:
        raise ValueError("business_day needs an aware datetime (UTC)")
    _check_hour(day_start_hour)
    local = instant.astimezone(_zone(tz))
    # Wall-clock arithmetic on purpose: "before 04:00 local" is a wall-clock rule, DST or not.
    return (local.replace(tzinfo=None) - timedelta(hours=day_start_hour)).date()


def business_day_bounds(day: date, tz: str | ZoneInfo, day_start_hour: int = 0) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of a business day: from its start hour, local wall clock, to
    the next day's (23 or 25 hours apart across DST), as `business_day` assigns them."""
    _check_hour(day_start_hour)
    zone = _zone(tz)
    start = datetime.combine(day, datetime.min.time()).replace(hour=day_start_hour, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time()).replace(hour=day_start_hour, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))
