"""Offline replay verdicts: accepted, price variance, stock conflict, duplicate."""

from edge.domain.offline import OfflineLine, OfflineVerdict, judge_offline_order

CATALOG = {"apple": 50, "bread": 250}
STOCK = {"apple": 100, "bread": 3}


def line(product_id, quantity, price):
    return OfflineLine(product_id=product_id, quantity=quantity, lane_unit_price_cents=price)


def judge(lines, already_recorded=False, catalog=CATALOG, stock=STOCK):
    return judge_offline_order(lines, catalog_prices=catalog, available=stock, already_recorded=already_recorded)


def test_an_offline_order_matching_todays_prices_and_stock_is_accepted():
    judgement = judge([line("apple", 4, 50), line("bread", 1, 250)])
    assert judgement.verdict is OfflineVerdict.ACCEPTED and not judgement.needs_review


def test_a_lane_price_that_differs_from_the_catalog_is_accepted_with_a_price_variance():
    judgement = judge([line("apple", 4, 45)])
    assert judgement.verdict is OfflineVerdict.ACCEPTED_WITH_PRICE_VARIANCE
    variance = judgement.price_variances[0]
    assert (variance.catalog_unit_price_cents, variance.lane_unit_price_cents, variance.variance_cents) == (50, 45, -20)


def test_a_product_gone_from_the_catalog_is_a_price_variance_not_a_refusal():
    judgement = judge([line("retired", 1, 300)], stock={"retired": 4})
    assert judgement.verdict is OfflineVerdict.ACCEPTED_WITH_PRICE_VARIANCE
    assert judgement.price_variances[0].catalog_unit_price_cents is None


def test_selling_more_than_available_offline_is_accepted_with_a_stock_conflict():
    judgement = judge([line("bread", 5, 250)])
    assert judgement.verdict is OfflineVerdict.ACCEPTED_WITH_STOCK_CONFLICT
    conflict = judgement.stock_conflicts[0]
    assert (conflict.quantity, conflict.available_before, conflict.shortfall) == (5, 3, 2)


def test_two_lines_of_one_product_share_its_stock():
    judgement = judge([line("bread", 2, 250), line("bread", 2, 250)])
    assert judgement.verdict is OfflineVerdict.ACCEPTED_WITH_STOCK_CONFLICT
    assert judgement.stock_conflicts[0].shortfall == 1


def test_a_stock_conflict_outranks_a_price_variance_but_both_are_listed_for_review():
    judgement = judge([line("bread", 9, 200)])
    assert judgement.verdict is OfflineVerdict.ACCEPTED_WITH_STOCK_CONFLICT
    assert len(judgement.price_variances) == 1 and len(judgement.stock_conflicts) == 1


def test_already_negative_stock_counts_the_whole_sale_as_shortfall():
    judgement = judge([line("bread", 2, 250)], stock={"bread": -4})
    assert judgement.stock_conflicts[0].shortfall == 2


def test_a_replay_of_an_already_recorded_key_is_a_duplicate_whatever_its_lines_say():
    judgement = judge([line("bread", 99, 1)], already_recorded=True)
    assert judgement.verdict is OfflineVerdict.DUPLICATE and not judgement.needs_review


def test_the_verdict_values_are_the_strings_the_lane_shows():
    assert [v.value for v in OfflineVerdict] == [
        "accepted", "accepted_with_price_variance", "accepted_with_stock_conflict", "duplicate"]


def test_a_weighed_line_is_judged_in_grams_of_stock_and_priced_per_kg():
    weighed = OfflineLine(product_id="cheese", quantity=1, weight_grams=1_250, lane_unit_price_cents=2_000)
    judgement = judge([weighed], catalog={"cheese": 1_800}, stock={"cheese": 1_000})
    assert judgement.verdict is OfflineVerdict.ACCEPTED_WITH_STOCK_CONFLICT
    assert judgement.stock_conflicts[0].quantity == 1_250 and judgement.stock_conflicts[0].shortfall == 250
    assert judgement.price_variances[0].variance_cents == 2_500 - 2_250
