"""Tills: float, pay-ins and pay-outs, cash sales and refunds, X and Z reports with variance."""

from datetime import UTC, datetime

import pytest

from edge.domain.errors import IllegalTransition, UnsyncedSales, ValidationFailed
from edge.domain.tills import DrawerClosed, DrawerSession, ReportKind

NOW = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2025, 5, 2, 21, 0, tzinfo=UTC)


def drawer(float_cents=10_000):
    return DrawerSession.open(id="t1", drawer_id="lane-1", store_id="s", float_cents=float_cents, by="c1", at=NOW)


def busy_drawer():
    d = drawer()
    d.record_cash_sale(2_345, order_id="o1", by="c1", at=NOW)
    d.record_cash_sale(1_000, order_id="o2", by="c1", at=NOW)
    d.pay_in(5_000, reason="change from bank", by="m1", at=NOW)
    d.pay_out(1_200, reason="window cleaner", by="m1", at=NOW)
    d.record_cash_refund(500, return_id="r1", by="c1", at=NOW)
    return d


def test_expected_cash_is_float_plus_pay_ins_minus_pay_outs_plus_sales_minus_refunds():
    assert busy_drawer().expected_cash_cents == 10_000 + 5_000 - 1_200 + 2_345 + 1_000 - 500


def test_an_x_report_reads_the_drawer_and_leaves_it_open():
    d = busy_drawer()
    report = d.x_report(at=NOW)
    assert report.kind is ReportKind.X and d.is_open
    assert (report.cash_sales_cents, report.sales_count, report.cash_refunds_cents) == (3_345, 2, 500)
    assert report.counted_cash_cents is None and report.variance_cents is None


def test_a_short_drawer_shows_a_negative_variance():
    report = busy_drawer().close(counted_cash_cents=16_545, at=LATER, unsynced_by_lane={})
    assert report.expected_cash_cents == 16_645
    assert report.variance_cents == -100


def test_an_over_drawer_shows_a_positive_variance_and_an_exact_one_zero():
    assert busy_drawer().close(counted_cash_cents=16_700, at=LATER, unsynced_by_lane={}).variance_cents == 55
    assert busy_drawer().x_report(at=NOW, counted_cash_cents=16_645).variance_cents == 0


def test_the_z_report_closes_the_session_and_records_it():
    d = busy_drawer()
    report = d.close(counted_cash_cents=16_645, at=LATER, unsynced_by_lane={"1": 0, "2": 0})
    assert report.kind is ReportKind.Z and not d.is_open and d.z_report == report
    assert isinstance(d.events[-1], DrawerClosed)


def test_a_z_report_refuses_to_close_while_lanes_hold_unsynced_sales_and_changes_nothing():
    d = busy_drawer()
    with pytest.raises(UnsyncedSales) as caught:
        d.close(counted_cash_cents=16_645, at=LATER, unsynced_by_lane={"1": 0, "3": 2, "2": 5})
    assert caught.value.status == 409
    assert "lane 2: 5, lane 3: 2" in caught.value.detail
    assert d.is_open and d.z_report is None


def test_a_closed_drawer_takes_no_more_cash_and_no_second_z():
    d = drawer()
    d.close(counted_cash_cents=10_000, at=LATER, unsynced_by_lane={})
    with pytest.raises(IllegalTransition):
        d.record_cash_sale(100, order_id="o", by="c", at=LATER)
    with pytest.raises(IllegalTransition):
        d.close(counted_cash_cents=10_000, at=LATER, unsynced_by_lane={})
    with pytest.raises(IllegalTransition):
        d.x_report(at=LATER)


def test_a_pay_out_cannot_take_more_than_the_drawer_should_hold():
    d = drawer(1_000)
    with pytest.raises(ValidationFailed) as caught:
        d.pay_out(1_001, reason="supplier", by="m", at=NOW)
    assert caught.value.code == "not-enough-cash" and d.expected_cash_cents == 1_000


def test_pay_ins_and_pay_outs_need_a_reason_and_a_positive_amount():
    d = drawer()
    with pytest.raises(ValidationFailed):
        d.pay_in(100, reason=" ", by="m", at=NOW)
    with pytest.raises(ValidationFailed):
        d.pay_out(0, reason="x", by="m", at=NOW)
    with pytest.raises(ValidationFailed):
        drawer(-1)
    with pytest.raises(ValidationFailed):
        d.close(counted_cash_cents=-5, at=LATER, unsynced_by_lane={})


def test_totals_by_kind_are_signed_so_they_add_up_to_the_expected_cash():
    d = busy_drawer()
    totals = d.totals_by_kind()
    assert totals == {"float": 10_000, "cash_sale": 3_345, "pay_in": 5_000, "pay_out": -1_200, "cash_refund": -500}
    assert sum(totals.values()) == d.expected_cash_cents


def test_the_unsynced_lanes_refusal_has_a_stable_problem_type():
    with pytest.raises(UnsyncedSales) as caught:
        drawer().close(counted_cash_cents=10_000, at=LATER, unsynced_by_lane={"2": 1})
    assert caught.value.code == "unsynced-lane-queues"
