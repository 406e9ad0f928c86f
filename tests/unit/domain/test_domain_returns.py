"""Returns: per-line limits, refunds that never exceed what was paid, policy and overrides."""

from datetime import UTC, date, datetime, timedelta

import pytest

from edge.domain.errors import IllegalTransition, OverrideRequired, ValidationFailed
from edge.domain.orders import Approval, Order, OrderStatus
from edge.domain.pricing import LineItem, OrderDiscount, PricingRules, TaxCategory, price_order
from edge.domain.returns import (
    Disposition,
    ReturnPolicy,
    ReturnRequest,
    apply_return,
    exchange_balance,
    plan_return,
)

SOLD_AT = datetime(2025, 5, 2, 10, 0, tzinfo=UTC)
RULES = PricingRules({"std": TaxCategory("std", 2000, inclusive=True)})
MANAGER = Approval(approver_id="mgr", roles=frozenset({"store_manager"}))
POLICY = ReturnPolicy()


def sold_order(*lines, order_discount=None):
    items = lines or (LineItem(line_id="1", product_id="p1", sku="A", unit_price_cents=1000, tax_category="std",
                               quantity=3),)
    order = Order(id="o1", number="1-000007", store_id="s", lane_id="1", cashier_id="c", created_at=SOLD_AT,
                  business_day=date(2025, 5, 2), priced=price_order(items, RULES, order_discount))
    order.record_payment(order.total_cents)
    order.complete(SOLD_AT)
    return order


def plan(order, *requests, policy=POLICY, now=SOLD_AT + timedelta(days=1), approval=None, return_id="r1"):
    return plan_return(order, list(requests), policy, return_id=return_id, now=now, approval=approval)


def ask(line_id="1", quantity=1, restock=None):
    return ReturnRequest(line_id=line_id, quantity=quantity, restock=restock)


def test_the_returnable_quantity_is_sold_minus_already_returned():
    order = sold_order()
    apply_return(order, plan(order, ask(quantity=2)), at=SOLD_AT)
    assert order.returnable_quantity("1") == 1
    assert order.status is OrderStatus.PARTIALLY_REFUNDED


def test_refund_more_than_sold_is_rejected_and_changes_nothing():
    order = sold_order()
    with pytest.raises(ValidationFailed) as caught:
        plan(order, ask(quantity=4))
    assert caught.value.code == "return-exceeds-sold"
    assert caught.value.errors == [{"field": "lines[1].quantity", "message": "4 asked, only 3 returnable"}]
    assert order.status is OrderStatus.COMPLETED and order.returned_quantities == {}


def test_returning_again_what_was_already_returned_is_rejected():
    order = sold_order()
    apply_return(order, plan(order, ask(quantity=3)), at=SOLD_AT)
    assert order.status is OrderStatus.REFUNDED
    with pytest.raises(ValidationFailed):
        plan(order, ask(quantity=1), return_id="r2")


def test_two_requests_for_the_same_line_are_checked_together():
    with pytest.raises(ValidationFailed):
        plan(sold_order(), ask(quantity=2), ask(quantity=2))


def test_an_unknown_line_or_a_zero_quantity_is_rejected():
    order = sold_order()
    with pytest.raises(ValidationFailed):
        plan(order, ask(line_id="nope"))
    with pytest.raises(ValidationFailed):
        plan(order, ask(quantity=0))


def test_returning_every_unit_one_at_a_time_refunds_exactly_what_was_paid():
    # 3 units after a 1.00 order discount: the line total is 2900, not divisible by 3
    order = sold_order(order_discount=OrderDiscount(cents=100))
    assert order.total_cents == 2900
    refunds = []
    for n in range(3):
        p = plan(order, ask(quantity=1), return_id=f"r{n}")
        apply_return(order, p, at=SOLD_AT)
        refunds.append(p.refund_cents)
    assert refunds == [966, 967, 967] and sum(refunds) == 2900
    assert order.refunded_cents == 2900 and order.status is OrderStatus.REFUNDED


def test_the_refund_carries_its_share_of_the_tax_for_the_tax_report():
    p = plan(sold_order(), ask(quantity=3))
    assert p.lines[0].refund_cents == 3000 and p.lines[0].tax_cents == 500


def test_a_restocking_fee_in_basis_points_comes_off_restocked_items_only():
    policy = ReturnPolicy(restocking_fee_bps=1500)
    p = plan(sold_order(), ask(quantity=1, restock=True), ask(quantity=1, restock=False), policy=policy)
    assert p.gross_refund_cents == 2000 and p.fee_cents == 150 and p.refund_cents == 1850
    assert [line.disposition for line in p.lines] == [Disposition.RESTOCK, Disposition.WRITE_OFF]


def test_a_flat_restocking_fee_never_exceeds_the_refund():
    p = plan(sold_order(), ask(quantity=1), policy=ReturnPolicy(restocking_fee_cents=5000))
    assert p.fee_cents == 1000 and p.refund_cents == 0


def test_a_policy_cannot_charge_a_fee_in_both_basis_points_and_cents():
    with pytest.raises(ValidationFailed):
        ReturnPolicy(restocking_fee_bps=100, restocking_fee_cents=100)


def test_the_default_disposition_comes_from_the_policy():
    p = plan(sold_order(), ask(), policy=ReturnPolicy(restock_by_default=False))
    assert p.lines[0].disposition is Disposition.WRITE_OFF


def test_a_return_past_the_window_needs_a_manager_override():
    late = SOLD_AT + timedelta(days=31)
    with pytest.raises(OverrideRequired) as caught:
        plan(sold_order(), ask(), now=late)
    assert caught.value.code == "return-override-required" and "30-day" in caught.value.detail
    p = plan(sold_order(), ask(), now=late, approval=MANAGER)
    assert p.approved_by == "mgr" and p.override_reasons == ("past the 30-day return window",)


def test_a_return_on_the_last_day_of_the_window_needs_no_override():
    assert plan(sold_order(), ask(), now=SOLD_AT + timedelta(days=30)).approved_by is None


def test_a_strict_policy_refuses_a_late_return_even_with_a_manager():
    with pytest.raises(ValidationFailed) as caught:
        plan(sold_order(), ask(), now=SOLD_AT + timedelta(days=40), approval=MANAGER,
             policy=ReturnPolicy(override_after_window=False))
    assert caught.value.code == "return-window-closed"


def test_a_large_refund_or_a_write_off_needs_a_manager_when_the_policy_says_so():
    with pytest.raises(OverrideRequired):
        plan(sold_order(), ask(quantity=2), policy=ReturnPolicy(override_over_cents=1500))
    with pytest.raises(OverrideRequired):
        plan(sold_order(), ask(restock=False), policy=ReturnPolicy(override_for_write_off=True))


def test_a_cashier_cannot_approve_their_own_override():
    cashier = Approval(approver_id="c", roles=frozenset({"cashier"}))
    with pytest.raises(OverrideRequired):
        plan(sold_order(), ask(), now=SOLD_AT + timedelta(days=60), approval=cashier)


def test_a_voided_or_open_order_cannot_take_a_return():
    order = sold_order()
    order.void(reason="mistake", approval=MANAGER, at=SOLD_AT, today=date(2025, 5, 2))
    p = plan(sold_order(), ask())
    with pytest.raises(IllegalTransition, match="VOIDED"):
        apply_return(order, p, at=SOLD_AT)


def test_an_exchange_is_a_return_plus_a_sale_and_only_the_difference_changes_hands():
    p = plan(sold_order(), ask(quantity=1))
    dearer = exchange_balance(p, 1500)
    assert (dearer.customer_pays_cents, dearer.refund_due_cents) == (500, 0)
    cheaper = exchange_balance(p, 400)
    assert (cheaper.customer_pays_cents, cheaper.refund_due_cents) == (0, 600)


def test_a_return_for_a_write_off_reason_never_goes_back_on_the_shelf():
    p = plan_return(sold_order(), [ask(restock=True)], POLICY, return_id="r1", now=SOLD_AT, reason="Damaged")
    assert [line.disposition for line in p.lines] == [Disposition.WRITE_OFF]
    p = plan_return(sold_order(), [ask(restock=True)], POLICY, return_id="r1", now=SOLD_AT, reason="wrong size")
    assert [line.disposition for line in p.lines] == [Disposition.RESTOCK]
