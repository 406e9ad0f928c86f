"""Which completed sales the lane's devices react to, and which open the cash drawer."""

from datetime import UTC, datetime, timedelta

import pytest

from edge.domain.lane_devices import CompletedSale, NoReaction, opens_drawer, why_devices_stay_idle

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)


def sale(**fields):
    return CompletedSale(**{"order_id": "o1", "lane_id": "1", "tender_methods": frozenset({"cash"}),
                            "completed_at": NOW - timedelta(seconds=2), **fields})


def idle(s):
    return why_devices_stay_idle(s, now=NOW, stale_after=FIVE_MINUTES)


def test_a_sale_just_completed_at_a_lane_prints_and_shows():
    assert idle(sale()) is None


def test_a_sale_replayed_from_the_offline_queue_leaves_the_devices_alone():
    assert idle(sale(offline_created_at="2026-03-01T10:00:00Z")) is NoReaction.OFFLINE_REPLAY


def test_a_sale_older_than_the_stale_limit_leaves_the_devices_alone_because_the_customer_has_gone():
    assert idle(sale(completed_at=NOW - FIVE_MINUTES)) is None
    assert idle(sale(completed_at=NOW - FIVE_MINUTES - timedelta(seconds=1))) is NoReaction.STALE


def test_a_sale_of_unknown_age_is_not_judged_stale():
    assert idle(sale(completed_at=None)) is None


def test_a_sale_without_a_lane_has_no_devices_to_drive():
    assert idle(sale(lane_id=None)) is NoReaction.NO_LANE
    assert idle(sale(lane_id="")) is NoReaction.NO_LANE


@pytest.mark.parametrize(("methods", "opens"), [
    ({"cash"}, True), ({"card", "cash"}, True), ({"card"}, False), ({"crypto"}, False),
    ({"exchange_credit"}, False), (set(), False),
])
def test_only_a_sale_with_a_cash_tender_opens_the_drawer(methods, opens):
    assert opens_drawer(sale(tender_methods=frozenset(methods))) is opens
