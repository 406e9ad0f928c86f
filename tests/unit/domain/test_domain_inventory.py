"""Stock levels: what is available, when a product is low, and when its alert is raised or cleared."""

import pytest

from edge.domain.inventory import LowStockChange, available, is_low_stock, low_stock_change


def test_available_is_on_hand_less_what_reservations_hold():
    assert available(on_hand=10, reserved=3) == 7
    assert available(on_hand=2, reserved=5) == -3  # an offline sale can take stock below zero


@pytest.mark.parametrize(("stock", "threshold", "low"), [
    (6, 5, False), (5, 5, True), (4, 5, True), (-2, 5, True),
    (1, 1, True), (2, 1, False),
])
def test_low_stock_is_at_or_below_a_positive_threshold(stock, threshold, low):
    assert is_low_stock(stock, threshold) is low


@pytest.mark.parametrize("stock", [5, 1, 0, -3])
def test_a_threshold_of_zero_or_none_watches_nothing_even_when_sold_out(stock):
    assert not is_low_stock(stock, 0)
    assert not is_low_stock(stock, None)


def test_the_alert_is_raised_once_when_a_product_goes_low_and_not_again_while_it_stays_low():
    assert low_stock_change(5, 5, flagged=False) is LowStockChange.RAISED
    assert low_stock_change(4, 5, flagged=True) is None
    assert low_stock_change(9, 5, flagged=False) is None


def test_the_flag_clears_once_when_stock_recovers_or_the_threshold_is_switched_off():
    assert low_stock_change(6, 5, flagged=True) is LowStockChange.CLEARED
    assert low_stock_change(0, 0, flagged=True) is LowStockChange.CLEARED
    assert low_stock_change(0, 0, flagged=False) is None
