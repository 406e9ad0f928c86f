"""The store's business day: which trading day an instant belongs to.

Time is stored in UTC; reports group by the store-local business day. A day starts at
`day_start_hour` local wall-clock time, so a bar that trades until 03:00 with a 04:00 start keeps
its late sales on the evening's day. Local time comes from zoneinfo, so DST days are 23 or 25
hours long and nothing is counted twice or lost.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

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
    """[start, end) of a business day in UTC, for report queries over UTC timestamps."""
    _check_hour(day_start_hour)
    zone = _zone(tz)

    def start_of(d: date) -> datetime:
        # A start inside a spring-forward gap (e.g. 02:30 that never happened) resolves to the
        # first real instant after it, which zoneinfo gives for fold=0 of the skipped wall time.
        return datetime.combine(d, time(day_start_hour), tzinfo=zone).astimezone(UTC)

    return start_of(day), start_of(day + timedelta(days=1))


class StoreCalendar(msgspec.Struct, frozen=True):
    """A store's time zone and day-start hour, as configured."""

    time_zone: str = "UTC"
    day_start_hour: int = 0

    def __post_init__(self) -> None:
        _zone(self.time_zone)
        _check_hour(self.day_start_hour)

    def business_day(self, instant: datetime) -> date:
        return business_day(instant, self.time_zone, self.day_start_hour)

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        return business_day_bounds(day, self.time_zone, self.day_start_hour)
