"""Money arithmetic: integer cents, explicit rounding, allocation that never loses a cent."""

import pytest

from edge.domain.errors import ValidationFailed
from edge.domain.money import Money, Rounding, allocate, apply_bps, format_cents, require_cents, round_div
from edge.domain.pricing import TaxCategory, tax_of


@pytest.mark.parametrize(("numerator", "denominator", "half_up", "half_even"), [
    (5, 2, 3, 2),      # 2.5
    (7, 2, 4, 4),      # 3.5
    (-5, 2, -3, -2),   # -2.5: symmetric about zero
    (-7, 2, -4, -4),
    (249, 100, 2, 2),
    (251, 100, 3, 3),
    (250, 100, 3, 2),
    (350, 100, 4, 4),
    (0, 7, 0, 0),
    (5, -2, -3, -2),
])
def test_half_up_and_half_even_differ_only_on_exact_halves(numerator, denominator, half_up, half_even):
    assert round_div(numerator, denominator, Rounding.HALF_UP) == half_up
    assert round_div(numerator, denominator, Rounding.HALF_EVEN) == half_even


def test_dividing_by_zero_is_an_error_not_a_silent_zero():
    with pytest.raises(ZeroDivisionError):
        round_div(1, 0)


def test_a_refund_rounds_exactly_like_the_sale_it_mirrors():
    assert apply_bps(-1250, 1900) == -apply_bps(1250, 1900)


def test_twenty_percent_tax_inside_a_price_can_land_on_half_a_cent_and_the_rounding_mode_decides():
    # 20 % added to whole cents is always a multiple of 0.2 cent, never a half; backing 20 % out
    # of an inclusive price is not: 10.59 holds 10.59 * 20/120 = 1.765 of tax.
    standard = TaxCategory("standard", 2000, inclusive=True)
    assert tax_of(1059, standard, Rounding.HALF_UP) == 177
    assert tax_of(1059, standard, Rounding.HALF_EVEN) == 176
    assert tax_of(1053, standard, Rounding.HALF_UP) == tax_of(1053, standard, Rounding.HALF_EVEN) == 176  # 1.755


def test_ten_percent_of_a_price_ending_in_five_cents_lands_on_half_a_cent_and_the_rounding_mode_decides():
    assert apply_bps(125, 1000, Rounding.HALF_UP) == 13  # 12.5 -> 13
    assert apply_bps(125, 1000, Rounding.HALF_EVEN) == 12  # 12.5 -> 12


def test_allocation_parts_always_sum_to_the_total():
    for total in (0, 1, 2, 99, 100, 101, 9_999):
        for weights in ([1], [1, 1, 1], [333, 333, 334], [5, 0, 7, 1], [1, 2, 3, 4, 5]):
            assert sum(allocate(total, weights)) == total


def test_allocation_gives_the_leftover_cent_to_the_largest_remainder_then_the_earlier_line():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [3, 3, 4]) == [3, 3, 4]
    assert allocate(5, [1, 2]) == [2, 3]  # 1.67 / 3.33: the first has the larger remainder
    assert allocate(1, [1, 1]) == [1, 0]


def test_allocation_is_proportional_and_gives_nothing_to_a_zero_weight():
    assert allocate(300, [100, 0, 200]) == [100, 0, 200]


def test_a_negative_amount_allocates_as_the_mirror_of_the_positive_one():
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]


def test_allocating_money_over_nothing_is_refused():
    with pytest.raises(ValueError, match="zero weights"):
        allocate(5, [0, 0])
    assert allocate(0, [0, 0]) == [0, 0]


def test_amounts_from_outside_must_be_real_integers_not_floats_or_bools():
    assert require_cents(0, "amount_cents") == 0
    for bad in (1.5, True, "100", None):
        with pytest.raises(ValidationFailed):
            require_cents(bad, "amount_cents")
    with pytest.raises(ValidationFailed):
        require_cents(-1, "amount_cents")
    assert require_cents(-1, "delta", allow_negative=True) == -1


def test_money_of_different_currencies_never_adds_up():
    assert Money(150, "EUR") + Money(250, "EUR") == Money(400, "EUR")
    assert Money(150, "EUR") - Money(250, "EUR") == Money(-100, "EUR")
    with pytest.raises(ValidationFailed) as caught:
        Money(1, "EUR") + Money(1, "USD")
    assert caught.value.code == "currency-mismatch"


def test_cents_format_with_the_currency_for_messages():
    assert format_cents(1234, "EUR") == "12.34 EUR"
    assert format_cents(-5, "USD") == "-0.05 USD"
    assert format_cents(500, "JPY", minor_digits=0) == "500 JPY"
    assert str(Money(7, "GBP")) == "0.07 GBP"
