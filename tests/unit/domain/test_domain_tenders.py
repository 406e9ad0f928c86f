"""Tenders: cash and change, split tender, the payment state machine, guidance, refunds, PCI."""

from datetime import UTC, datetime

import pytest

from edge.domain.errors import CardNumberRejected, IllegalTransition, InsufficientTender, ValidationFailed
from edge.domain.tenders import (
    PAYMENT_TRANSITIONS,
    CardDetails,
    Payment,
    PaymentKind,
    PaymentStatus,
    TenderMethod,
    TenderRecord,
    TenderRequest,
    allocate_refund,
    change_due,
    looks_like_card_number,
    luhn_valid,
    plan_tenders,
    reject_card_numbers,
)

NOW = datetime(2025, 5, 2, 10, 0, tzinfo=UTC)
CASH, CARD, CRYPTO = TenderMethod.CASH, TenderMethod.CARD, TenderMethod.CRYPTO
S = PaymentStatus


def card_payment(amount=1000, method=CARD):
    return Payment.create(id="pay1", order_id="o1", method=method, amount_cents=amount, idempotency_key="k1",
                          created_at=NOW)


def in_status(status, method=CARD):
    p = card_payment(method=method)
    steps = {
        S.CREATED: [],
        S.SENT: [lambda: p.send(at=NOW)],
        S.APPROVED: [lambda: p.send(at=NOW), lambda: p.approve(1000, at=NOW)],
        S.PARTIALLY_APPROVED: [lambda: p.send(at=NOW), lambda: p.approve(600, at=NOW)],
        S.DECLINED: [lambda: p.send(at=NOW), lambda: p.decline("insufficient funds", at=NOW)],
        S.TIMED_OUT: [lambda: p.send(at=NOW), lambda: p.time_out(at=NOW)],
        S.UNKNOWN: [lambda: p.send(at=NOW), lambda: p.mark_unknown(at=NOW)],
        S.RECOVERED: [lambda: p.send(at=NOW), lambda: p.time_out(at=NOW), lambda: p.recover(S.APPROVED, at=NOW)],
        S.REVERSED: [lambda: p.send(at=NOW), lambda: p.approve(1000, at=NOW), lambda: p.reverse(at=NOW)],
    }[status]
    for step in steps:
        step()
    return p


# -- planning tenders --

def test_cash_over_the_total_gives_change_and_keeps_only_the_total_in_the_drawer():
    plan = plan_tenders(1234, [TenderRequest(CASH, 2000)])
    assert plan.change_due_cents == 766 and plan.cash_kept_cents == 1234
    assert plan.tenders[0].amount_cents == 1234 and plan.tenders[0].tendered_cents == 2000
    assert plan.completes_immediately
    assert change_due(1234, 1234) == 0


def test_cash_short_of_the_total_is_refused_with_the_amount_missing():
    with pytest.raises(InsufficientTender) as caught:
        plan_tenders(1000, [TenderRequest(CASH, 900)])
    assert "100 cents short" in caught.value.detail


def test_split_tender_of_card_and_cash_takes_change_only_from_the_cash():
    plan = plan_tenders(5000, [TenderRequest(CARD, 3000), TenderRequest(CASH, 2500)])
    assert plan.change_due_cents == 500 and plan.cash_kept_cents == 2000
    assert [t.amount_cents for t in plan.tenders] == [3000, 2000]
    assert not plan.completes_immediately


def test_split_tender_over_three_methods_must_cover_exactly_what_is_due():
    plan = plan_tenders(9000, [TenderRequest(CARD, 4000), TenderRequest(CRYPTO, 3000), TenderRequest(CASH, 2000)])
    assert plan.change_due_cents == 0 and sum(t.amount_cents for t in plan.tenders) == 9000


def test_a_card_may_not_be_charged_more_than_is_due_since_a_card_gives_no_change():
    with pytest.raises(InsufficientTender) as caught:
        plan_tenders(1000, [TenderRequest(CARD, 1500)])
    assert caught.value.code == "tender-exceeds-due"


def test_tenders_after_a_partial_payment_cover_only_the_balance():
    plan = plan_tenders(1000, [TenderRequest(CASH, 500)], already_paid_cents=600)
    assert plan.change_due_cents == 100


def test_a_zero_or_negative_tender_is_refused():
    with pytest.raises(InsufficientTender) as caught:
        plan_tenders(1000, [TenderRequest(CASH, 0), TenderRequest(CARD, -5)])
    assert len(caught.value.errors) == 2


# -- the payment state machine --

def test_a_payment_starts_created_so_it_can_be_persisted_before_any_call():
    p = card_payment()
    assert p.status is S.CREATED and p.in_doubt
    assert p.events[0].status is S.CREATED and p.events[0].previous is None


def test_a_full_approval_captures_the_amount():
    p = in_status(S.APPROVED)
    assert p.captured_cents == 1000 and not p.in_doubt


def test_a_partial_approval_captures_only_what_was_approved():
    p = in_status(S.PARTIALLY_APPROVED)
    assert p.status is S.PARTIALLY_APPROVED and p.captured_cents == 600


def test_a_payment_is_sent_only_once_so_a_lost_reply_cannot_charge_twice():
    p = in_status(S.TIMED_OUT)
    with pytest.raises(IllegalTransition) as caught:
        p.send(at=NOW)
    assert "query it instead" in caught.value.detail


@pytest.mark.parametrize("found", [S.APPROVED, S.PARTIALLY_APPROVED, S.DECLINED])
@pytest.mark.parametrize("lost", [S.TIMED_OUT, S.UNKNOWN])
def test_a_timed_out_or_unknown_payment_is_recovered_by_what_the_query_finds(lost, found):
    p = in_status(lost)
    p.recover(found, 400 if found is S.PARTIALLY_APPROVED else None, at=NOW)
    assert p.status is S.RECOVERED and p.outcome is found
    assert p.captured_cents == {S.APPROVED: 1000, S.PARTIALLY_APPROVED: 400, S.DECLINED: 0}[found]


def test_a_crash_right_after_persisting_leaves_a_payment_in_doubt_to_query_on_restart():
    p = card_payment()
    p.mark_unknown(at=NOW)
    p.recover(S.DECLINED, at=NOW)
    assert p.captured_cents == 0


def test_an_approval_for_less_found_on_recovery_counts_as_partial():
    p = in_status(S.UNKNOWN)
    p.recover(S.APPROVED, 700, at=NOW)
    assert p.outcome is S.PARTIALLY_APPROVED


def test_an_approved_payment_can_be_reversed_and_then_takes_nothing():
    p = in_status(S.REVERSED)
    assert p.captured_cents == 0


def test_a_payment_recovered_as_declined_has_nothing_to_reverse():
    p = in_status(S.TIMED_OUT)
    p.recover(S.DECLINED, at=NOW)
    with pytest.raises(IllegalTransition):
        p.reverse(at=NOW)


def test_a_device_cannot_approve_more_than_was_asked():
    p = in_status(S.SENT)
    with pytest.raises(ValidationFailed):
        p.approve(1001, at=NOW)
    assert p.status is S.SENT and p.approved_cents == 0


def test_recovery_cannot_report_a_status_a_query_cannot_find():
    with pytest.raises(ValidationFailed):
        in_status(S.UNKNOWN).recover(S.REVERSED, at=NOW)


TRIGGERS = {
    S.SENT: lambda p: p.send(at=NOW),
    S.APPROVED: lambda p: p.approve(1000, at=NOW),
    S.PARTIALLY_APPROVED: lambda p: p.approve(500, at=NOW),
    S.DECLINED: lambda p: p.decline(at=NOW),
    S.TIMED_OUT: lambda p: p.time_out(at=NOW),
    S.UNKNOWN: lambda p: p.mark_unknown(at=NOW),
    S.RECOVERED: lambda p: p.recover(S.APPROVED, at=NOW),
    S.REVERSED: lambda p: p.reverse(at=NOW),
}
ILLEGAL = [(a, b) for a in S for b in TRIGGERS if b not in PAYMENT_TRANSITIONS[a]]


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_an_illegal_payment_transition_is_refused_and_changes_nothing(source, target):
    p = in_status(source)
    before = (p.status, p.approved_cents, len(p.events))
    with pytest.raises(IllegalTransition):
        TRIGGERS[target](p)
    assert (p.status, p.approved_cents, len(p.events)) == before


def test_every_transition_records_an_event_with_its_guidance():
    p = in_status(S.RECOVERED)
    assert [e.status for e in p.events] == [S.CREATED, S.SENT, S.TIMED_OUT, S.RECOVERED]
    assert all(e.guidance for e in p.events)


# -- cashier guidance --

def guidance(status, method=CARD):
    return in_status(status, method).guidance


def test_every_outcome_has_its_own_cashier_guidance():
    messages = {status: guidance(status) for status in S}
    assert len(set(messages.values())) == len(S)


def test_a_declined_card_tells_the_cashier_to_ask_for_another_payment_method():
    assert guidance(S.DECLINED) == "Card declined: ask for another payment method"


def test_a_partial_approval_tells_the_cashier_how_much_is_left_to_collect():
    assert guidance(S.PARTIALLY_APPROVED) == (
        "Card approved for part of the amount: 6.00 EUR taken, collect the remaining 4.00 EUR "
        "with another payment method")


def test_a_timeout_and_an_unknown_outcome_both_say_do_not_charge_again():
    assert "do not charge again" in guidance(S.TIMED_OUT)
    assert "do not charge again" in guidance(S.UNKNOWN)


def test_the_guidance_names_what_the_cashier_sees():
    assert guidance(S.SENT) == "Ask the customer to follow the prompts on the payment terminal"
    assert "scan the QR code" in guidance(S.SENT, CRYPTO)
    assert guidance(S.APPROVED) == "Card approved: hand over the receipt"
    assert guidance(S.REVERSED) == "Payment reversed: the customer was not charged for it"
    assert guidance(S.RECOVERED) == "Card payment confirmed after a delay: the sale can be completed"


def test_recovered_guidance_follows_what_the_query_found():
    declined = in_status(S.UNKNOWN)
    declined.recover(S.DECLINED, at=NOW)
    assert declined.guidance == "Card payment was not taken after all: ask for another payment method"
    partial = in_status(S.UNKNOWN, CRYPTO)
    partial.recover(S.PARTIALLY_APPROVED, 250, at=NOW)
    assert "collect the remaining 7.50 EUR" in partial.guidance


def test_cash_is_approved_when_recorded_with_no_device_round_trip():
    p = Payment.cash(id="c1", order_id="o1", amount_cents=500, idempotency_key="k", created_at=NOW)
    assert p.status is S.APPROVED and p.captured_cents == 500
    assert p.guidance == "Cash received: give any change and the receipt"


# -- refunds go back to the original tender --

def test_a_refund_goes_back_to_the_card_first_then_cash():
    tenders = [TenderRecord(payment_id="cash", method=CASH, captured_cents=1000),
               TenderRecord(payment_id="card", method=CARD, captured_cents=3000)]
    allocations = allocate_refund(3500, tenders)
    assert [(a.payment_id, a.amount_cents) for a in allocations] == [("card", 3000), ("cash", 500)]


def test_a_refund_skips_what_was_already_refunded_on_a_tender():
    tenders = [TenderRecord(payment_id="card", method=CARD, captured_cents=3000, refunded_cents=2500),
               TenderRecord(payment_id="crypto", method=CRYPTO, captured_cents=1000)]
    allocations = allocate_refund(1000, tenders)
    assert [(a.payment_id, a.amount_cents) for a in allocations] == [("card", 500), ("crypto", 500)]


def test_refunding_more_than_was_paid_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        allocate_refund(1001, [TenderRecord(payment_id="card", method=CARD, captured_cents=1000)])
    assert caught.value.code == "refund-exceeds-paid"


def test_a_refund_payment_must_name_its_original_payment():
    with pytest.raises(ValidationFailed):
        Payment.create(id="r1", order_id="o1", method=CARD, amount_cents=100, idempotency_key="k",
                       created_at=NOW, kind=PaymentKind.REFUND)
    refund = Payment.create(id="r1", order_id="o1", method=CARD, amount_cents=100, idempotency_key="k",
                            created_at=NOW, kind=PaymentKind.REFUND, original_payment_id="pay1")
    assert refund.status is S.CREATED


# -- PCI: no card number ever gets in --

VISA_TEST = "4111111111111111"


def test_luhn_accepts_real_test_card_numbers_and_rejects_a_changed_digit():
    assert luhn_valid(VISA_TEST) and luhn_valid("378282246310005") and luhn_valid("6011111111111117")
    assert not luhn_valid("4111111111111112") and not luhn_valid("41111a")


@pytest.mark.parametrize("text", [VISA_TEST, "4111 1111 1111 1111", "4111-1111-1111-1111",
                                  "card: 378282246310005 thanks", "4222222222222"])
def test_a_luhn_valid_13_to_19_digit_string_looks_like_a_card_number(text):
    assert looks_like_card_number(text)


@pytest.mark.parametrize("text", ["4111111111111112", "411111111111", "12345678901234567890123",
                                  "order 2-000123", "ref 0190b2c4-7e1a-7cc2-b7d2-000000000000"])
def test_ordinary_references_and_non_luhn_numbers_are_not_card_numbers(text):
    assert not looks_like_card_number(text)


def test_a_card_number_anywhere_in_a_payment_is_rejected_without_echoing_it():
    body = {"method": "card", "amount_cents": 100,
            "customer": {"note": f"pan {VISA_TEST}"}, "refs": ["x", int(VISA_TEST)]}
    with pytest.raises(CardNumberRejected) as caught:
        reject_card_numbers(body)
    assert [e["field"] for e in caught.value.errors] == ["customer.note", "refs[1]"]
    assert VISA_TEST not in caught.value.detail and VISA_TEST not in str(caught.value.errors)
    assert caught.value.code == "card-number-rejected"


def test_card_details_keep_only_the_last_four_digits():
    assert CardDetails(last4="1111", brand="VISA").last4 == "1111"
    with pytest.raises(ValidationFailed):
        CardDetails(last4=VISA_TEST)
    with pytest.raises(CardNumberRejected):
        CardDetails(last4="1111", auth_code=VISA_TEST)


def test_a_processor_reference_holding_a_card_number_is_refused():
    p = in_status(S.SENT)
    with pytest.raises(CardNumberRejected):
        p.approve(1000, at=NOW, processor_ref=VISA_TEST)
    assert p.status is S.SENT


# -- tenders from the wire and guidance for stored payment rows --

def test_wire_tenders_become_requests_and_bad_fields_are_named():
    from edge.domain.tenders import tender_requests
    assert tender_requests([{"method": "cash", "amount_cents": 500}]) == [TenderRequest(CASH, 500)]
    with pytest.raises(ValidationFailed) as caught:
        tender_requests([{"method": "cheque", "amount_cents": 5}, {"method": "card", "amount_cents": True},
                         {"method": "cash", "amount_cents": 2.5}])
    assert [e["field"] for e in caught.value.errors] == [
        "tenders[0].method", "tenders[1].amount_cents", "tenders[2].amount_cents"]


def test_a_short_tender_has_its_own_problem_type():
    with pytest.raises(InsufficientTender) as caught:
        plan_tenders(1000, [TenderRequest(CASH, 999)])
    assert caught.value.code == "tender-insufficient"


def test_a_plan_lists_its_electronic_tenders_and_the_cash_handed_over():
    plan = plan_tenders(3000, [TenderRequest(CASH, 2000), TenderRequest(CARD, 1500)])
    assert [t.method for t in plan.electronic] == [CARD]
    assert plan.cash_tendered_cents == 2000 and plan.cash_kept_cents == 1500 and plan.change_due_cents == 500
    assert not plan.completes_immediately


def test_stored_rows_get_guidance_from_the_same_table_as_the_payment_aggregate():
    from edge.domain.tenders import SettlementStatus, cashier_guidance
    for status in S:
        p = in_status(status)
        assert cashier_guidance(p.status, p.method, amount_cents=p.amount_cents, approved_cents=p.approved_cents,
                                recovered_outcome=p.recovered_outcome) == p.guidance
    # A hosted charge that awaits the customer reads like a sent payment; the other endings are distinct.
    assert cashier_guidance(SettlementStatus.AWAITING, CRYPTO) == guidance(S.SENT, CRYPTO)
    endings = {cashier_guidance(s, CARD) for s in SettlementStatus if s is not SettlementStatus.AWAITING}
    assert len(endings | {guidance(s) for s in S}) == len(S) + len(SettlementStatus) - 1
    assert cashier_guidance("partially_approved", "card", amount_cents=1000, approved_cents=600) == guidance(
        S.PARTIALLY_APPROVED)
