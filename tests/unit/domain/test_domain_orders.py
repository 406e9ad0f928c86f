"""The Order aggregate: its number, its status machine, voids and discount overrides."""

from datetime import UTC, date, datetime

import pytest

from edge.domain.errors import IllegalTransition, InsufficientTender, OverrideRequired, ValidationFailed
from edge.domain.orders import (
    ALLOWED_TRANSITIONS,
    Approval,
    DiscountPolicy,
    Order,
    OrderCompleted,
    OrderStatus,
    OrderVoided,
    order_number,
    require_supervisor,
)
from edge.domain.pricing import LineItem, OrderDiscount, PricingRules, TaxCategory, price_order

NOW = datetime(2025, 5, 2, 10, 0, tzinfo=UTC)
TODAY = date(2025, 5, 2)
RULES = PricingRules({"std": TaxCategory("std", 2000, inclusive=True)})
SUPERVISOR = Approval(approver_id="sup-1", roles=frozenset({"supervisor"}))
CASHIER_ONLY = Approval(approver_id="cash-2", roles=frozenset({"cashier"}))


def item(line_id="1", price=1000, quantity=1, **extra):
    return LineItem(line_id=line_id, product_id=f"p{line_id}", sku=f"SKU{line_id}", unit_price_cents=price,
                    tax_category="std", quantity=quantity, **extra)


def new_order(*items, order_discount=None):
    return Order(id="o1", number="2-000001", store_id="s1", lane_id="2", cashier_id="c1", created_at=NOW,
                 business_day=TODAY, priced=price_order(items or (item(),), RULES, order_discount))


def needs_override(*items, order_discount=None, policy=None):
    return (policy or DiscountPolicy()).needs_override(price_order(items, RULES, order_discount))


def paid(order):
    order.record_payment(order.total_cents)
    return order


def completed(*items):
    order = paid(new_order(*items))
    order.complete(NOW)
    return order


def in_status(status):
    order = new_order()
    if status is OrderStatus.OPEN:
        return order
    if status is OrderStatus.PENDING:
        order.await_payment(NOW)
        return order
    if status is OrderStatus.VOIDED:
        order.void(reason="customer left", approval=SUPERVISOR, at=NOW, today=TODAY)
        return order
    if status is OrderStatus.CANCELLED:
        order.cancel(reason="left at the lane", at=NOW)
        return order
    paid(order).complete(NOW)
    if status is OrderStatus.PARTIALLY_REFUNDED:
        two = completed(item(quantity=2))
        two.record_return(return_id="r1", quantities={"1": 1}, refund_cents=500, at=NOW)
        return two
    if status is OrderStatus.REFUNDED:
        order.record_return(return_id="r1", quantities={"1": 1}, refund_cents=1000, at=NOW)
    return order


# -- numbers --

def test_an_order_number_is_its_lane_and_a_six_digit_sequence_read_aloud_at_the_counter():
    assert order_number("2", 123) == "2-000123"
    assert order_number("10", 1_234_567) == "10-1234567"


# -- discount overrides --

def test_a_discount_over_the_threshold_needs_a_supervisor_override():
    assert needs_override(item(price=1000, discount_cents=300))
    with pytest.raises(OverrideRequired) as caught:
        require_supervisor(CASHIER_ONLY, "a discount over the threshold", code="discount-override-required")
    assert caught.value.code == "discount-override-required"
    assert require_supervisor(SUPERVISOR, "a discount over the threshold") is SUPERVISOR


def test_a_discount_at_the_threshold_exactly_needs_no_override():
    assert not needs_override(item(price=1000, discount_bps=2000))


def test_an_order_discount_over_the_threshold_also_needs_an_override():
    assert needs_override(item("1", 1000), item("2", 1000), order_discount=OrderDiscount(cents=401))
    assert not needs_override(item("1", 1000), item("2", 1000), order_discount=OrderDiscount(cents=400))


def test_the_discount_threshold_is_configurable_in_basis_points_or_cents():
    generous = DiscountPolicy(override_over_bps=5000)
    assert not needs_override(item(price=1000, discount_bps=5000), policy=generous)
    capped = DiscountPolicy(override_over_bps=None, override_over_cents=100)
    assert needs_override(item(price=100_000, discount_cents=101), policy=capped)


# -- completing --

def test_cash_completes_an_open_order_at_once():
    order = completed()
    assert order.status is OrderStatus.COMPLETED
    assert isinstance(order.events[-1], OrderCompleted)


def test_a_card_order_waits_in_pending_then_completes_when_paid():
    order = new_order()
    order.await_payment(NOW)
    assert order.status is OrderStatus.PENDING
    paid(order).complete(NOW)
    assert order.status is OrderStatus.COMPLETED


def test_an_unpaid_order_cannot_complete_and_stays_as_it_was():
    order = new_order()
    order.record_payment(400)
    with pytest.raises(InsufficientTender) as caught:
        order.complete(NOW)
    assert "600 cents still due" in caught.value.detail
    assert order.status is OrderStatus.OPEN and order.balance_due_cents == 600


def test_payment_cannot_be_taken_on_a_finished_order():
    with pytest.raises(IllegalTransition):
        completed().record_payment(100)


# -- every illegal transition --

ACTIONS = {
    OrderStatus.PENDING: lambda o: o.await_payment(NOW),
    OrderStatus.COMPLETED: lambda o: paid(o).complete(NOW) if o.status in (OrderStatus.OPEN,
                                                                             OrderStatus.PENDING) else o.complete(NOW),
    OrderStatus.VOIDED: lambda o: o.void(reason="test", approval=SUPERVISOR, at=NOW, today=TODAY),
    OrderStatus.REFUNDED: lambda o: o.record_return(return_id="rx", quantities={"1": 1}, refund_cents=1, at=NOW),
}
ILLEGAL = [(source, target) for source in OrderStatus for target in ACTIONS
           if target not in ALLOWED_TRANSITIONS[source]
           and not (target is OrderStatus.REFUNDED and OrderStatus.PARTIALLY_REFUNDED in ALLOWED_TRANSITIONS[source])]


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{s}->{t}" for s, t in ILLEGAL])
def test_an_illegal_transition_is_a_conflict_with_a_reason_and_changes_nothing(source, target):
    order = in_status(source)
    events_before = len(order.events)
    with pytest.raises(IllegalTransition) as caught:
        ACTIONS[target](order)
    assert caught.value.status == 409
    assert source.value in caught.value.detail and order.number in caught.value.detail
    assert order.status is source and len(order.events) == events_before


def test_the_illegal_transition_table_covers_the_terminal_states():
    assert ALLOWED_TRANSITIONS[OrderStatus.VOIDED] == frozenset()
    assert ALLOWED_TRANSITIONS[OrderStatus.REFUNDED] == frozenset()
    assert {s for s in OrderStatus if s not in ALLOWED_TRANSITIONS} == set()


# -- voids --

def test_a_void_needs_a_supervisor_and_a_reason():
    order = new_order()
    with pytest.raises(OverrideRequired):
        order.void(reason="customer left", approval=None, at=NOW, today=TODAY)
    with pytest.raises(ValidationFailed):
        order.void(reason="  ", approval=SUPERVISOR, at=NOW, today=TODAY)
    assert order.status is OrderStatus.OPEN


def test_voiding_an_order_in_progress_records_that_reservations_must_be_released():
    order = in_status(OrderStatus.PENDING)
    order.void(reason="card refused", approval=SUPERVISOR, at=NOW, today=TODAY)
    voided = order.events[-1]
    assert isinstance(voided, OrderVoided)
    assert (voided.previous_status, voided.approved_by) == (OrderStatus.PENDING, "sup-1")


def test_a_completed_order_can_be_voided_the_same_business_day_only():
    order = completed()
    with pytest.raises(IllegalTransition) as caught:
        order.void(reason="wrong items", approval=SUPERVISOR, at=NOW, today=date(2025, 5, 3))
    assert caught.value.code == "void-not-same-day" and order.status is OrderStatus.COMPLETED
    order.void(reason="wrong items", approval=SUPERVISOR, at=NOW, today=TODAY)
    assert order.status is OrderStatus.VOIDED
    assert order.events[-1].previous_status is OrderStatus.COMPLETED


# -- returns on the aggregate --

def test_returning_some_units_makes_the_order_partially_refunded_then_refunded():
    order = completed(item("1", 500, quantity=3))
    order.record_return(return_id="r1", quantities={"1": 1}, refund_cents=500, at=NOW)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED and order.returnable_quantity("1") == 2
    order.record_return(return_id="r2", quantities={"1": 2}, refund_cents=1000, at=NOW)
    assert order.status is OrderStatus.REFUNDED and order.refunded_cents == 1500


def test_returning_more_than_sold_on_the_aggregate_is_rejected_and_changes_nothing():
    order = completed(item("1", 500, quantity=2))
    with pytest.raises(ValidationFailed) as caught:
        order.record_return(return_id="r1", quantities={"1": 3}, refund_cents=1500, at=NOW)
    assert caught.value.code == "return-exceeds-sold"
    assert order.status is OrderStatus.COMPLETED and order.returned_quantities == {}


def test_a_weighed_line_takes_its_grams_off_the_shelf():
    from edge.domain.orders import stock_units
    assert stock_units(3, None) == 3
    assert stock_units(1, 1_250) == 1_250


def test_require_transition_names_both_states_in_a_409():
    from edge.domain.orders import require_transition
    require_transition("COMPLETED", OrderStatus.PARTIALLY_REFUNDED)
    with pytest.raises(IllegalTransition) as caught:
        require_transition("REFUNDED", "PARTIALLY_REFUNDED", action="return items of", number="1-000001")
    assert caught.value.status == 409 and "REFUNDED -> PARTIALLY_REFUNDED" in caught.value.errors[0]["message"]
    assert "order 1-000001" in caught.value.detail
