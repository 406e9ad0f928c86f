"""Business day: store-local trading day from a UTC instant, with a day-start hour and DST."""

from datetime import UTC, date, datetime

import pytest

from edge.domain.business_day import business_day
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
        business_day(utc(2025, 1, 1, 12), "Mars/Olympus")
    assert caught.value.code == "unknown-time-zone"
    with pytest.raises(ValidationFailed) as caught:
        business_day(utc(2025, 1, 1, 12), "UTC", day_start_hour=24)
    assert caught.value.code == "bad-day-start-hour"


def test_on_the_fall_back_night_both_of_the_repeated_hours_belong_to_the_same_day():
    # both 02:30s (00:30 UTC in CEST and 01:30 UTC in CET) belong to the 26th
    assert business_day(utc(2025, 10, 26, 0, 30), "Europe/Berlin") == date(2025, 10, 26)
    assert business_day(utc(2025, 10, 26, 1, 30), "Europe/Berlin") == date(2025, 10, 26)
    assert business_day(utc(2025, 10, 25, 21, 59), "Europe/Berlin") == date(2025, 10, 25)


def test_a_day_start_inside_the_skipped_hour_begins_at_the_first_real_instant_after_it():
    # Berlin skips 02:00-03:00 on 30 Mar 2025; a 02:00 day start falls at 03:00 CEST = 01:00 UTC
    assert business_day(utc(2025, 3, 30, 0, 59), "Europe/Berlin", 2) == date(2025, 3, 29)
    assert business_day(utc(2025, 3, 30, 1, 0), "Europe/Berlin", 2) == date(2025, 3, 30)
