"""Business day: store-local trading day from a UTC instant, with a day-start hour and DST."""

from datetime import UTC, date, datetime, timedelta

import pytest

from edge.domain.business_day import StoreCalendar, business_day, business_day_bounds
from edge.domain.errors import ValidationFailed


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def test_a_sale_just_after_local_midnight_belongs_to_the_new_day_with_a_midnight_start():
    # 23:30 UTC on 14 Jan is 00:30 in Berlin (UTC+1) on 15 Jan
    assert business_day(utc(2025, 1, 14, 23, 30), "Europe/Berlin") == date(2025, 1, 15)
    assert business_day(utc(2025, 1, 14, 22, 59), "Europe/Berlin") == date(2025, 1, 14)


def test_a_late_night_sale_stays_on_the_evening_when_the_day_starts_at_four():
    # 01:30 local on 15 Jan, day starts 04:00: still the 14th's trading day
    assert business_day(utc(2025, 1, 15, 0, 30), "Europe/Berlin", day_start_hour=4) == date(2025, 1, 14)
    assert business_day(utc(2025, 1, 15, 3, 0), "Europe/Berlin", day_start_hour=4) == date(2025, 1, 15)


def test_a_store_west_of_utc_is_still_on_yesterday_when_utc_has_rolled_over():
    assert business_day(utc(2025, 6, 2, 3, 0), "America/New_York") == date(2025, 6, 1)


def test_naive_datetimes_are_refused_because_their_zone_is_a_guess():
    with pytest.raises(ValueError):
        business_day(datetime(2025, 1, 1, 12), "UTC")


def test_an_unknown_time_zone_or_day_start_is_a_clear_configuration_error():
    with pytest.raises(ValidationFailed) as caught:
        StoreCalendar("Mars/Olympus")
    assert caught.value.code == "unknown-time-zone"
    with pytest.raises(ValidationFailed):
        StoreCalendar("UTC", day_start_hour=24)


def test_the_spring_forward_day_is_23_hours_long_and_its_bounds_are_exact():
    start, end = business_day_bounds(date(2025, 3, 30), "Europe/Berlin")
    assert start == utc(2025, 3, 29, 23) and end == utc(2025, 3, 30, 22)
    assert end - start == timedelta(hours=23)


def test_the_fall_back_day_is_25_hours_long_and_the_repeated_hour_counts_once():
    start, end = business_day_bounds(date(2025, 10, 26), "Europe/Berlin")
    assert end - start == timedelta(hours=25)
    # both 02:30s (00:30 UTC in CEST and 01:30 UTC in CET) belong to the 26th
    assert business_day(utc(2025, 10, 26, 0, 30), "Europe/Berlin") == date(2025, 10, 26)
    assert business_day(utc(2025, 10, 26, 1, 30), "Europe/Berlin") == date(2025, 10, 26)


def test_a_day_start_inside_the_skipped_hour_begins_at_the_first_real_instant_after_it():
    # Berlin skips 02:00-03:00 on 30 Mar 2025; a 02:00 day start resolves to 03:00 CEST = 01:00 UTC
    start, _ = business_day_bounds(date(2025, 3, 30), "Europe/Berlin", day_start_hour=2)
    assert start == utc(2025, 3, 30, 1)
    assert business_day(utc(2025, 3, 30, 0, 59), "Europe/Berlin", 2) == date(2025, 3, 29)
    assert business_day(utc(2025, 3, 30, 1, 0), "Europe/Berlin", 2) == date(2025, 3, 30)


def test_every_instant_falls_inside_the_bounds_of_its_own_business_day():
    calendar = StoreCalendar("America/New_York", day_start_hour=5)
    instant = utc(2025, 3, 8, 12)
    while instant < utc(2025, 3, 11):
        start, end = calendar.bounds(calendar.business_day(instant))
        assert start <= instant < end
        instant += timedelta(minutes=37)
