"""Stock ledger: on hand, reservations and TTL, counts, adjustments, low stock, offline sales."""

from datetime import UTC, datetime, timedelta

import pytest

from edge.domain import inventory as inv
from edge.domain.errors import IllegalTransition, InsufficientStock, ValidationFailed
from edge.domain.inventory import AdjustmentReason, MovementKind

T0 = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
WHERE = {"location_id": "store-1", "product_id": "p1"}


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def received(quantity=10):
    return [inv.receive(quantity, **WHERE, at=T0, ref="PO-1")]


def level(ledger, minutes=0, threshold=None):
    return inv.stock_level(ledger, **WHERE, now=at(minutes), threshold=threshold)


def test_on_hand_is_the_sum_of_on_hand_movements_and_reservations_do_not_move_stock():
    ledger = received(10)
    ledger.append(inv.sale(3, **WHERE, at=at(1), ref="o1"))
    ledger.append(inv.customer_return(1, **WHERE, at=at(2), ref="r1"))
    ledger.append(inv.write_off(1, **WHERE, at=at(3), ref="r1"))
    ledger.append(inv.reserve(2, **WHERE, at=at(4), ttl=timedelta(minutes=15), ref="o2"))
    stock = level(ledger, 5)
    assert (stock.on_hand, stock.reserved, stock.available) == (7, 2, 5)


def test_every_movement_kind_exists_and_only_reservation_and_release_leave_on_hand_alone():
    assert {k.value for k in MovementKind} == {"sale", "return", "adjustment", "count", "receive", "transfer_out",
                                               "transfer_in", "reservation", "release", "write_off"}
    assert MovementKind.RESERVATION not in inv.ON_HAND_KINDS and MovementKind.RELEASE not in inv.ON_HAND_KINDS
    assert len(inv.ON_HAND_KINDS) == 8


def test_a_movement_with_the_wrong_sign_is_refused():
    with pytest.raises(ValidationFailed):
        inv.StockMovement(id="m", **WHERE, kind=MovementKind.SALE, delta=2, at=T0)
    with pytest.raises(ValidationFailed):
        inv.StockMovement(id="m", **WHERE, kind=MovementKind.RECEIVE, delta=-2, at=T0)


def test_a_transfer_is_two_facts_out_of_one_store_and_into_the_other():
    out = inv.transfer_out(4, location_id="store-1", product_id="p1", at=T0, ref="TR-9")
    into = inv.transfer_in(4, location_id="store-2", product_id="p1", at=at(60), ref="TR-9")
    ledger = [*received(10), out, into]
    assert inv.stock_level(ledger, location_id="store-1", product_id="p1", now=at(61)).on_hand == 6
    assert inv.stock_level(ledger, location_id="store-2", product_id="p1", now=at(61)).on_hand == 4


def test_receiving_needs_a_reference():
    with pytest.raises(ValidationFailed) as caught:
        inv.receive(5, **WHERE, at=T0, ref=" ")
    assert caught.value.code == "reference-required"


# -- reservations --

def test_completion_turns_a_reservation_into_a_sale_and_the_hold_disappears():
    ledger = received(10)
    hold = inv.reserve(3, **WHERE, at=T0, ttl=timedelta(minutes=15), ref="o1")
    ledger.append(hold)
    ledger.append(inv.commit_reservation(ledger, hold.id, at=at(1), ref="o1"))
    stock = level(ledger, 2)
    assert (stock.on_hand, stock.reserved, stock.available) == (7, 0, 7)


def test_a_reservation_is_committed_exactly_once():
    ledger = received(10)
    hold = inv.reserve(3, **WHERE, at=T0, ttl=timedelta(minutes=15), ref="o1")
    ledger += [hold, inv.commit_reservation([*ledger, hold], hold.id, at=at(1), ref="o1")]
    with pytest.raises(IllegalTransition) as caught:
        inv.commit_reservation(ledger, hold.id, at=at(2), ref="o1")
    assert caught.value.code == "reservation-committed"
    assert level(ledger, 3).on_hand == 7


def test_a_released_reservation_frees_its_stock_and_cannot_be_committed():
    ledger = received(10)
    ledger.append(inv.reserve(3, **WHERE, at=T0, ttl=timedelta(minutes=15), ref="o1"))
    held = inv.reservations(ledger, at(1))[0]
    ledger.append(inv.release(held, at=at(1), reason="voided"))
    assert level(ledger, 2).available == 10
    with pytest.raises(IllegalTransition):
        inv.commit_reservation(ledger, held.id, at=at(2), ref="o1")


def test_an_abandoned_reservation_stops_holding_stock_when_its_ttl_runs_out():
    ledger = received(10)
    ledger.append(inv.reserve(4, **WHERE, at=T0, ttl=timedelta(minutes=15), ref="o1"))
    assert level(ledger, 14).available == 6
    assert level(ledger, 15).available == 10
    expired = inv.expired_reservations(ledger, at(15))
    assert [r.quantity for r in expired] == [4]
    ledger.append(inv.release(expired[0], at=at(15), reason="ttl"))
    assert inv.expired_reservations(ledger, at(16)) == []


def test_an_online_order_cannot_reserve_more_than_is_available():
    ledger = received(2)
    with pytest.raises(InsufficientStock) as caught:
        inv.check_reservable(level(ledger), 3)
    assert caught.value.status == 409
    inv.check_reservable(level(ledger), 2)


def test_a_reservation_needs_a_positive_ttl_and_quantity():
    with pytest.raises(ValidationFailed):
        inv.reserve(1, **WHERE, at=T0, ttl=timedelta(0), ref="o")
    with pytest.raises(ValidationFailed):
        inv.reserve(0, **WHERE, at=T0, ttl=timedelta(minutes=1), ref="o")


# -- counts --

def test_a_count_applies_counted_minus_expected_so_sales_during_the_count_still_apply():
    ledger = received(10)
    expected_at_count = level(ledger).on_hand  # the counter starts: 10 expected
    ledger.append(inv.sale(2, **WHERE, at=at(5), ref="o1"))  # sold while counting
    # the shelf was counted before those 2 left it, and one was missing: 9 counted
    ledger.append(inv.count(9, expected_at_count, **WHERE, at=at(10), ref="CNT-1"))
    assert ledger[-1].delta == -1
    assert level(ledger, 11).on_hand == 7  # not 9: the two sales during the count are kept


def test_a_count_records_counted_and_expected_and_must_agree_with_its_delta():
    movement = inv.count(12, 10, **WHERE, at=T0)
    assert (movement.counted, movement.expected_at_count, movement.delta) == (12, 10, 2)
    with pytest.raises(ValidationFailed):
        inv.StockMovement(id="m", **WHERE, kind=MovementKind.COUNT, delta=5, at=T0, counted=12, expected_at_count=10)
    with pytest.raises(ValidationFailed):
        inv.count(-1, 10, **WHERE, at=T0)


# -- adjustments --

def test_adjustments_carry_a_reason_code_from_the_fixed_list():
    assert {r.value for r in AdjustmentReason} == {"damaged", "theft", "expired", "found", "correction", "other"}
    movement = inv.adjustment(-2, "damaged", **WHERE, at=T0)
    assert movement.reason is AdjustmentReason.DAMAGED and movement.delta == -2
    with pytest.raises(ValidationFailed) as caught:
        inv.adjustment(-1, "lost-in-space", **WHERE, at=T0)
    assert caught.value.code == "invalid-reason"


@pytest.mark.parametrize(("delta", "reason"), [(2, "damaged"), (1, "theft"), (3, "expired"), (-1, "found"), (0, "correction")])
def test_an_adjustment_must_point_the_way_its_reason_says(delta, reason):
    with pytest.raises(ValidationFailed):
        inv.adjustment(delta, reason, **WHERE, at=T0)


def test_a_correction_goes_either_way_and_other_needs_a_note():
    assert inv.adjustment(3, "correction", **WHERE, at=T0).delta == 3
    assert inv.adjustment(-3, "correction", **WHERE, at=T0).delta == -3
    with pytest.raises(ValidationFailed) as caught:
        inv.adjustment(1, "other", **WHERE, at=T0)
    assert caught.value.code == "note-required"
    assert inv.adjustment(1, "other", **WHERE, at=T0, note="supplier bonus").note == "supplier bonus"


# -- low stock --

def test_low_stock_is_at_or_below_the_threshold_of_what_is_available():
    ledger = received(5)
    assert not level(ledger, threshold=4).low_stock
    assert level(ledger, threshold=5).low_stock
    ledger.append(inv.reserve(2, **WHERE, at=T0, ttl=timedelta(minutes=5), ref="o"))
    assert level(ledger, 1, threshold=3).low_stock
    assert not level(ledger, 1).low_stock  # no threshold, never low


def test_the_low_stock_alert_fires_only_on_the_movement_that_crosses_the_threshold():
    assert inv.crossed_low_stock(6, 5, 5)
    assert not inv.crossed_low_stock(5, 4, 5)
    assert not inv.crossed_low_stock(9, 8, 5)
    assert not inv.crossed_low_stock(9, 0, None)


# -- offline sales --

def test_an_offline_sale_is_never_refused_for_stock_and_raises_a_conflict_instead():
    ledger = received(2)
    movement, conflict = inv.offline_sale(level(ledger), 5, at=at(1), ref="o-off")
    ledger.append(movement)
    assert level(ledger, 2).on_hand == -3
    assert (conflict.quantity, conflict.available_before, conflict.shortfall) == (5, 2, 3)


def test_an_offline_sale_within_stock_raises_no_conflict():
    movement, conflict = inv.offline_sale(level(received(5)), 5, at=at(1), ref="o-off")
    assert conflict is None and movement.delta == -5


def test_every_movement_has_its_own_id_so_a_replay_cannot_double_count():
    ledger = received(10) + received(10)
    assert len({m.id for m in ledger}) == 2
    explicit = inv.sale(1, **WHERE, at=T0, ref="o", id="fixed-id")
    assert explicit.id == "fixed-id"
