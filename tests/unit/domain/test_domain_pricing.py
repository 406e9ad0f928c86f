"""Pricing: extended prices, weighed items, discounts, tax per line, and totals that add up."""

import pytest

from edge.domain.errors import ValidationFailed
from edge.domain.money import Rounding
from edge.domain.pricing import MAX_LINE_QUANTITY, LineItem, OrderDiscount, PricingRules, TaxCategory, price_order

VAT20_INCL = TaxCategory("std", 2000, inclusive=True)
VAT7_INCL = TaxCategory("food", 700, inclusive=True)
SALES_TAX_EXCL = TaxCategory("us", 825)
ZERO = TaxCategory("zero", 0)


def rules(*categories, rounding=Rounding.HALF_UP):
    return PricingRules({c.code: c for c in categories}, rounding)


def item(line_id="1", price=100, tax="std", quantity=1, **extra):
    return LineItem(line_id=line_id, product_id=f"p{line_id}", sku=f"SKU{line_id}", unit_price_cents=price,
                    tax_category=tax, quantity=quantity, **extra)


def test_exclusive_tax_is_added_on_top_of_the_price():
    order = price_order([item(price=1000, tax="us")], rules(SALES_TAX_EXCL))
    line = order.lines[0]
    assert (line.net_cents, line.tax_cents, line.total_cents) == (1000, 83, 1083)  # 82.5 -> 83


def test_exclusive_tax_on_an_exact_half_cent_follows_the_configured_rounding():
    # 10 % of 125 = 12.5 cents
    ten = TaxCategory("ten", 1000)
    assert price_order([item(price=125, tax="ten")], rules(ten)).tax_cents == 13
    assert price_order([item(price=125, tax="ten")], rules(ten, rounding=Rounding.HALF_EVEN)).tax_cents == 12
    assert price_order([item(price=135, tax="ten")], rules(ten, rounding=Rounding.HALF_EVEN)).tax_cents == 14


def test_inclusive_tax_is_backed_out_of_the_shelf_price_and_the_customer_pays_the_shelf_price():
    line = price_order([item(price=1000)], rules(VAT20_INCL)).lines[0]
    # 1000 * 2000 / 12000 = 166.67 -> 167
    assert (line.total_cents, line.tax_cents, line.net_cents) == (1000, 167, 833)


def test_inclusive_back_out_on_an_exact_half_cent_follows_the_rounding_mode():
    # 1050 * 2000 / 12000 = 175.0 exact; 1053 * 2000/12000 = 175.5
    half = [item(price=1053)]
    assert price_order(half, rules(VAT20_INCL)).tax_cents == 176
    assert price_order(half, rules(VAT20_INCL, rounding=Rounding.HALF_EVEN)).tax_cents == 176  # 175.5 -> 176 (even)
    half_odd = [item(price=1047)]  # 174.5
    assert price_order(half_odd, rules(VAT20_INCL)).tax_cents == 175
    assert price_order(half_odd, rules(VAT20_INCL, rounding=Rounding.HALF_EVEN)).tax_cents == 174


def test_tax_is_rounded_per_line_so_the_lines_sum_exactly_to_the_order_totals():
    items = [item(str(i), price=333, tax="us", quantity=1) for i in range(3)]
    order = price_order(items, rules(SALES_TAX_EXCL))
    # each line: 333 * 8.25 % = 27.47 -> 27; a single-total computation would give 82.4 -> 82
    assert [line.tax_cents for line in order.lines] == [27, 27, 27]
    assert order.tax_cents == 81
    assert order.subtotal_cents + order.tax_cents == order.total_cents == sum(li.total_cents for li in order.lines)


def test_mixed_inclusive_and_exclusive_categories_keep_subtotal_plus_tax_equal_to_total():
    order = price_order([item("1", 999, "std"), item("2", 1999, "us", quantity=2), item("3", 50, "zero")],
                        rules(VAT20_INCL, SALES_TAX_EXCL, ZERO))
    for line in order.lines:
        assert line.net_cents + line.tax_cents == line.total_cents
    assert order.subtotal_cents + order.tax_cents == order.total_cents
    assert order.tax_by_rate() == {("std", 2000): 167, ("us", 825): 330, ("zero", 0): 0}


def test_a_weighed_item_is_price_per_kg_times_grams_rounded_explicitly():
    # 12.99/kg x 457 g = 593.643 -> 594
    weighed = item(price=1299, tax="food", weight_grams=457)
    line = price_order([weighed], rules(VAT7_INCL)).lines[0]
    assert line.extended_cents == 594
    assert line.weight_grams == 457 and line.quantity == 1
    # 10.00/kg x 125 g... 1000 * 125 / 1000 = 125 exactly; 1 cent/kg x 500 g = 0.5 -> half rules apply
    half = item(price=1, tax="food", weight_grams=500)
    assert price_order([half], rules(VAT7_INCL)).lines[0].extended_cents == 1
    assert price_order([half], rules(VAT7_INCL, rounding=Rounding.HALF_EVEN)).lines[0].extended_cents == 0


def test_a_weighed_line_cannot_also_have_a_quantity_or_a_zero_weight():
    with pytest.raises(ValidationFailed) as caught:
        price_order([item(price=1299, quantity=2, weight_grams=100), item("2", weight_grams=0)], rules(VAT20_INCL))
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"lines[0].quantity", "lines[1].weight_grams"}


def test_a_line_discount_in_cents_or_basis_points_comes_off_before_tax():
    order = price_order([item("1", 1000, "us", discount_cents=100), item("2", 1000, "us", discount_bps=1550)],
                        rules(SALES_TAX_EXCL))
    first, second = order.lines
    assert (first.line_discount_cents, first.net_cents, first.tax_cents) == (100, 900, 74)  # 74.25
    assert (second.line_discount_cents, second.net_cents) == (155, 845)
    assert order.discount_cents == 255


def test_a_line_discount_never_makes_a_line_negative():
    line = price_order([item(price=500, discount_cents=900)], rules(VAT20_INCL)).lines[0]
    assert line.line_discount_cents == 500 and line.total_cents == 0


def test_an_order_discount_is_spread_over_lines_in_proportion_and_the_cents_add_up():
    order = price_order([item("1", 100, "zero"), item("2", 100, "zero"), item("3", 100, "zero")],
                        rules(ZERO), OrderDiscount(cents=100))
    assert [line.order_discount_cents for line in order.lines] == [34, 33, 33]
    assert order.total_cents == 200


def test_the_order_discount_remainder_cent_goes_to_the_same_line_every_time():
    items = [item("1", 333, "std"), item("2", 667, "std"), item("3", 1, "std")]
    first = price_order(items, rules(VAT20_INCL), OrderDiscount(cents=10))
    again = price_order(items, rules(VAT20_INCL), OrderDiscount(cents=10))
    assert first == again
    assert sum(line.order_discount_cents for line in first.lines) == 10


def test_a_percentage_order_discount_applies_after_line_discounts():
    order = price_order([item("1", 1000, "zero", discount_cents=200), item("2", 1000, "zero")],
                        rules(ZERO), OrderDiscount(bps=1000))
    # base after line discounts: 800 + 1000 = 1800; 10 % = 180 split 80 / 100
    assert [line.order_discount_cents for line in order.lines] == [80, 100]
    assert order.total_cents == 1620 and order.discount_cents == 380


def test_an_order_discount_larger_than_the_order_makes_it_free_not_negative():
    order = price_order([item(price=100, tax="zero")], rules(ZERO), OrderDiscount(cents=5000))
    assert order.total_cents == 0


def test_tax_is_computed_on_the_discounted_amount():
    order = price_order([item(price=1200)], rules(VAT20_INCL), OrderDiscount(cents=200))
    assert order.total_cents == 1000 and order.tax_cents == 167


def test_bad_lines_are_reported_field_by_field_not_as_a_crash():
    with pytest.raises(ValidationFailed) as caught:
        price_order([item(quantity=0), item("2", price=-1), item("3", tax="nope"),
                     item("4", discount_cents=10, discount_bps=10)], rules(VAT20_INCL))
    assert caught.value.code == "invalid-lines"
    assert {e["field"] for e in caught.value.errors} == {
        "lines[0].quantity", "lines[1].unit_price_cents", "lines[2].tax_category", "lines[3].discount_cents"}


def test_a_line_holds_at_most_ten_thousand_units_so_a_barcode_typed_into_the_quantity_is_caught():
    assert MAX_LINE_QUANTITY == 10_000
    assert price_order([item(quantity=MAX_LINE_QUANTITY)], rules(VAT20_INCL)).lines[0].quantity == 10_000
    with pytest.raises(ValidationFailed) as caught:
        price_order([item(quantity=MAX_LINE_QUANTITY + 1)], rules(VAT20_INCL))
    assert caught.value.errors == [{"field": "lines[0].quantity", "message": "1 to 10000"}]


def test_an_order_needs_at_least_one_line():
    with pytest.raises(ValidationFailed):
        price_order([], rules(VAT20_INCL))


def test_a_tax_rate_above_one_hundred_percent_is_a_configuration_error():
    with pytest.raises(ValidationFailed):
        TaxCategory("bad", 10_001)
