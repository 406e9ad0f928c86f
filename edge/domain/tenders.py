"""Tenders: planning cash, card, crypto and split payments, and the payment state machine.

A payment row (with its idempotency key) is persisted in CREATED *before* any call to a terminal
or provider. From then on the outcome is only ever learned, never produced twice:

    CREATED ─► SENT ─┬─► APPROVED ───────────┬─► REVERSED
       │             ├─► PARTIALLY_APPROVED ─┤
       │             ├─► DECLINED            │
       │             ├─► TIMED_OUT ─┬────────┤
       │             │              ├─► RECOVERED ─► REVERSED (if money was taken)
       └─────────────┴─► UNKNOWN ◄──┘        │
                           └─► RECOVERED ────┘

TIMED_OUT and UNKNOWN are settled by *querying* the terminal or provider (`recover`), never by
charging again: `send` is allowed exactly once. Every status has its own cashier guidance.

No card number ever reaches NovaPOS (PCI): `reject_card_numbers` refuses any payment or customer
field holding a Luhn-valid 13-19 digit string. We keep last 4, brand, entry mode and auth code.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime

import msgspec

# The one card-number detector, shared with the API, the logs and the cloud (re-exported here).
from edge.contracts.pan import card_number_fields, looks_like_card_number, luhn_valid  # noqa: F401
from edge.domain.errors import CardNumberRejected, IllegalTransition, InsufficientTender, ValidationFailed
from edge.domain.money import MAX_AMOUNT_CENTS, format_cents


class TenderMethod(enum.StrEnum):
    CASH = "cash"
    CARD = "card"
    CRYPTO = "crypto"
    POINTS = "points"  # loyalty points at the program's point value (edge.domain.loyalty)


# -- planning a checkout's tenders ----------------------------------------------------------------


class TenderRequest(msgspec.Struct, frozen=True):
    method: TenderMethod
    amount_cents: int  # for cash: what the customer hands over


class PlannedTender(msgspec.Struct, frozen=True, kw_only=True):
    method: TenderMethod
    amount_cents: int  # applied to the order
    tendered_cents: int  # handed over (differs from amount_cents only for cash with change)


class TenderPlan(msgspec.Struct, frozen=True, kw_only=True):
    tenders: tuple[PlannedTender, ...]
    change_due_cents: int
    cash_kept_cents: int  # what stays in the drawer: cash tendered minus change

    @property
    def cash_tendered_cents(self) -> int:
        return sum(t.tendered_cents for t in self.tenders if t.method is TenderMethod.CASH)

    @property
    def electronic(self) -> tuple[PlannedTender, ...]:
        """Card and crypto tenders: each one still has to be confirmed by its terminal or provider."""
        return tuple(t for t in self.tenders if t.method not in (TenderMethod.CASH, TenderMethod.POINTS))

    @property
    def points(self) -> tuple[PlannedTender, ...]:
        """Points tenders: checked against the balance before the plan, taken at once like cash."""
        return tuple(t for t in self.tenders if t.method is TenderMethod.POINTS)

    @property
    def completes_immediately(self) -> bool:
        """Cash and points only: nothing to wait for, the order completes at once."""
        return all(t.method in (TenderMethod.CASH, TenderMethod.POINTS) for t in self.tenders)


def tender_requests(raw: Sequence[Mapping[str, object]]) -> list[TenderRequest]:
    """Tenders as they arrive on the wire, checked field by field: a known method and a positive
    whole number of cents (not a bool, not a float)."""
    problems = []
    requests = []
    for i, tender in enumerate(raw):
        method, amount = tender.get("method"), tender.get("amount_cents")
        if method not in TenderMethod.__members__.values():
            problems.append({"field": f"tenders[{i}].method", "message": "cash, card or crypto"})
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            problems.append({"field": f"tenders[{i}].amount_cents", "message": "a positive whole number of cents"})
        elif amount > MAX_AMOUNT_CENTS:
            problems.append({"field": f"tenders[{i}].amount_cents", "message": f"at most {MAX_AMOUNT_CENTS}"})
        if not problems:
            requests.append(TenderRequest(TenderMethod(method), amount))  # type: ignore[arg-type]
    if not problems and sum(r.amount_cents for r in requests) > MAX_AMOUNT_CENTS:
        problems.append({"field": "tenders", "message": f"at most {MAX_AMOUNT_CENTS} in total"})
    if problems:
        raise ValidationFailed("the tenders are not valid", code="invalid-tender", errors=problems)
    return requests


def plan_tenders(total_cents: int, requests: Sequence[TenderRequest], already_paid_cents: int = 0) -> TenderPlan:
    """Check that the tenders cover what is due and work out the change.

    Card and crypto are charged for exactly what they say and may not exceed the balance (no
    change is given from a card). Only cash overpays, and the change comes out of the cash.
    """
    due = total_cents - already_paid_cents
    problems = []
    for i, request in enumerate(requests):
        if request.amount_cents <= 0:
            problems.append({"field": f"tenders[{i}].amount_cents", "message": "more than 0"})
    if problems:
        raise InsufficientTender("every tender must be more than zero", code="invalid-tender", errors=problems)
    electronic = sum(r.amount_cents for r in requests if r.method is not TenderMethod.CASH)
    cash = sum(r.amount_cents for r in requests if r.method is TenderMethod.CASH)
    if electronic > due:
        raise InsufficientTender(
            f"card, crypto and points tenders ({electronic} cents) exceed the {due} cents due; "
            "only cash can be given change", code="tender-exceeds-due",
            errors=[{"field": "tenders", "message": f"non-cash tenders may total at most {due} cents"}])
    if electronic + cash < due:
        short = due - electronic - cash
        raise InsufficientTender(f"the tenders are {short} cents short of the {due} cents due",
                                 code="tender-insufficient", errors=[{"field": "tenders", "message": f"{short} cents short"}])
    change = electronic + cash - due
    planned = []
    change_left = change
    for request in requests:
        applied = request.amount_cents
        if request.method is TenderMethod.CASH and change_left:
            taken = min(change_left, applied)
            applied -= taken
            change_left -= taken
        planned.append(PlannedTender(method=request.method, amount_cents=applied,
                                     tendered_cents=request.amount_cents))
    return TenderPlan(tenders=tuple(planned), change_due_cents=change, cash_kept_cents=cash - change)


def change_due(total_cents: int, cash_tendered_cents: int) -> int:
    return plan_tenders(total_cents, [TenderRequest(TenderMethod.CASH, cash_tendered_cents)]).change_due_cents


# -- the payment state machine --------------------------------------------------------------------


class PaymentStatus(enum.StrEnum):
    CREATED = "created"
    SENT = "sent"
    APPROVED = "approved"
    DECLINED = "declined"
    PARTIALLY_APPROVED = "partially_approved"
    TIMED_OUT = "timed_out"
    REVERSED = "reversed"
    UNKNOWN = "unknown"
    RECOVERED = "recovered"


class PaymentKind(enum.StrEnum):
    SALE = "sale"
    REFUND = "refund"


PAYMENT_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    # UNKNOWN straight from CREATED: we crashed after persisting and cannot tell if the call went out.
    PaymentStatus.CREATED: frozenset({PaymentStatus.SENT, PaymentStatus.UNKNOWN}),
    PaymentStatus.SENT: frozenset({PaymentStatus.APPROVED, PaymentStatus.DECLINED, PaymentStatus.PARTIALLY_APPROVED,
                                   PaymentStatus.TIMED_OUT, PaymentStatus.UNKNOWN}),
    PaymentStatus.TIMED_OUT: frozenset({PaymentStatus.RECOVERED, PaymentStatus.UNKNOWN, PaymentStatus.REVERSED}),
    PaymentStatus.UNKNOWN: frozenset({PaymentStatus.RECOVERED, PaymentStatus.REVERSED}),
    PaymentStatus.APPROVED: frozenset({PaymentStatus.REVERSED}),
    PaymentStatus.PARTIALLY_APPROVED: frozenset({PaymentStatus.REVERSED}),
    PaymentStatus.RECOVERED: frozenset({PaymentStatus.REVERSED}),
    PaymentStatus.DECLINED: frozenset(),
    PaymentStatus.REVERSED: frozenset(),
}

# What a query can find out about a payment whose reply was lost.
RECOVERABLE_OUTCOMES = frozenset({PaymentStatus.APPROVED, PaymentStatus.PARTIALLY_APPROVED, PaymentStatus.DECLINED})
# Statuses a restart must query again before the order can move on.
IN_DOUBT = frozenset({PaymentStatus.CREATED, PaymentStatus.SENT, PaymentStatus.TIMED_OUT, PaymentStatus.UNKNOWN})


class CardDetails(msgspec.Struct, frozen=True, kw_only=True):
    """Everything we may keep about a card. There is deliberately no field for the number."""

    last4: str = ""
    brand: str = ""
    entry_mode: str = ""  # chip, contactless, swipe, manual
    auth_code: str = ""

    def __post_init__(self) -> None:
        if self.last4 and not (len(self.last4) == 4 and self.last4.isdigit()):
            raise ValidationFailed("last4 must be exactly four digits", code="invalid-card-details")
        reject_card_numbers({"brand": self.brand, "entry_mode": self.entry_mode, "auth_code": self.auth_code})


class PaymentChanged(msgspec.Struct, frozen=True, kw_only=True, tag="payment.changed"):
    payment_id: str
    order_id: str
    at: datetime
    previous: PaymentStatus | None
    status: PaymentStatus
    captured_cents: int
    guidance: str


class Payment:
    def __init__(self, *, id: str, order_id: str, method: TenderMethod, amount_cents: int, idempotency_key: str,
                 created_at: datetime, currency: str = "EUR", kind: PaymentKind = PaymentKind.SALE,
                 original_payment_id: str | None = None, status: PaymentStatus = PaymentStatus.CREATED,
                 approved_cents: int = 0, recovered_outcome: PaymentStatus | None = None,
                 card: CardDetails | None = None, processor_ref: str = "", decline_reason: str = "",
                 refunded_cents: int = 0):
        if amount_cents <= 0:
            raise ValidationFailed("a payment must be more than zero", code="invalid-tender")
        if kind is PaymentKind.REFUND and not original_payment_id:
            raise ValidationFailed("a refund goes back to an original payment", code="refund-needs-original")
        self.id = id
        self.order_id = order_id
        self.method = method
        self.amount_cents = amount_cents
        self.idempotency_key = idempotency_key
        self.created_at = created_at
        self.currency = currency
        self.kind = kind
        self.original_payment_id = original_payment_id
        self.status = status
        self.approved_cents = approved_cents
        self.recovered_outcome = recovered_outcome
        self.card = card
        self.processor_ref = processor_ref
        self.decline_reason = decline_reason
        self.refunded_cents = refunded_cents
        self.events: list[PaymentChanged] = []

    @classmethod
    def create(cls, **fields: object) -> Payment:
        """A new payment in CREATED: persist it (with its key) before calling anything."""
        payment = cls(**fields)  # type: ignore[arg-type]
        payment._record(None, payment.created_at)
        return payment

    @classmethod
    def cash(cls, *, id: str, order_id: str, amount_cents: int, idempotency_key: str, created_at: datetime,
             currency: str = "EUR", kind: PaymentKind = PaymentKind.SALE,
             original_payment_id: str | None = None) -> Payment:
        """Cash is settled in hand: no device, so it is approved when recorded."""
        payment = cls(id=id, order_id=order_id, method=TenderMethod.CASH, amount_cents=amount_cents,
                      idempotency_key=idempotency_key, created_at=created_at, currency=currency, kind=kind,
                      original_payment_id=original_payment_id, status=PaymentStatus.APPROVED,
                      approved_cents=amount_cents)
        payment._record(None, created_at)
        return payment

    # -- read side --

    @property
    def captured_cents(self) -> int:
        """Money actually moved by this payment (net of nothing: refunds are their own rows)."""
        if self.status in (PaymentStatus.APPROVED, PaymentStatus.PARTIALLY_APPROVED):
            return self.approved_cents
        if self.status is PaymentStatus.RECOVERED and self.recovered_outcome is not PaymentStatus.DECLINED:
            return self.approved_cents
        return 0

    @property
    def in_doubt(self) -> bool:
        return self.status in IN_DOUBT

    @property
    def outcome(self) -> PaymentStatus:
        """The effective outcome: a recovered payment behaves as what the query found."""
        if self.status is PaymentStatus.RECOVERED and self.recovered_outcome is not None:
            return self.recovered_outcome
        return self.status

    @property
    def guidance(self) -> str:
        return guidance_for(self)

    # -- transitions --

    def _check(self, target: PaymentStatus) -> None:
        if target not in PAYMENT_TRANSITIONS[self.status]:
            hint = " (query it instead of sending again)" if target is PaymentStatus.SENT else ""
            raise IllegalTransition(f"payment {self.id} cannot go from {self.status.value} to {target.value}{hint}",
                                    code="illegal-payment-transition")

    def _move(self, target: PaymentStatus, at: datetime) -> None:
        self._check(target)
        previous, self.status = self.status, target
        self._record(previous, at)

    def _record(self, previous: PaymentStatus | None, at: datetime) -> None:
        self.events.append(PaymentChanged(payment_id=self.id, order_id=self.order_id, at=at,
                                          previous=previous, status=self.status,
                                          captured_cents=self.captured_cents, guidance=self.guidance))

    def send(self, *, at: datetime) -> None:
        """Mark the one and only call to the terminal or provider. Never called twice."""
        self._move(PaymentStatus.SENT, at)

    def approve(self, approved_cents: int, *, at: datetime, processor_ref: str = "",
                card: CardDetails | None = None) -> None:
        """The device approved: in full, or for less (a partial approval, e.g. a gift card)."""
        target = PaymentStatus.APPROVED if approved_cents == self.amount_cents else PaymentStatus.PARTIALLY_APPROVED
        self._check(target)
        self._set_result(approved_cents, processor_ref, card)
        self._move(target, at)

    def decline(self, reason: str = "", *, at: datetime) -> None:
        self._check(PaymentStatus.DECLINED)
        self.decline_reason = reason
        self._move(PaymentStatus.DECLINED, at)

    def time_out(self, *, at: datetime) -> None:
        self._move(PaymentStatus.TIMED_OUT, at)

    def mark_unknown(self, *, at: datetime) -> None:
        self._move(PaymentStatus.UNKNOWN, at)

    def recover(self, outcome: PaymentStatus, approved_cents: int | None = None, *, at: datetime,
                processor_ref: str = "", card: CardDetails | None = None) -> None:
        """Settle a timed-out or unknown payment with what a query of the terminal or provider found."""
        if PaymentStatus.RECOVERED not in PAYMENT_TRANSITIONS[self.status]:
            raise IllegalTransition(f"payment {self.id} is {self.status.value}; only a timed-out or unknown "
                                    "payment is recovered", code="illegal-payment-transition")
        if outcome not in RECOVERABLE_OUTCOMES:
            raise ValidationFailed(f"a query finds approved, partially approved or declined, not {outcome}",
                                   code="invalid-recovery")
        if outcome is not PaymentStatus.DECLINED:
            approved = self.amount_cents if approved_cents is None else approved_cents
            self._set_result(approved, processor_ref, card)
            if approved < self.amount_cents:
                outcome = PaymentStatus.PARTIALLY_APPROVED
        self.recovered_outcome = outcome
        self._move(PaymentStatus.RECOVERED, at)

    def reverse(self, *, at: datetime) -> None:
        """Undo a payment through its port (a void or a same-day refund). Nothing to undo after a
        decline, so that is an illegal transition rather than a silent no-op."""
        if self.status is PaymentStatus.RECOVERED and self.recovered_outcome is PaymentStatus.DECLINED:
            raise IllegalTransition(f"payment {self.id} took no money; there is nothing to reverse",
                                    code="illegal-payment-transition")
        self._move(PaymentStatus.REVERSED, at)

    def _set_result(self, approved_cents: int, processor_ref: str, card: CardDetails | None) -> None:
        if not 0 < approved_cents <= self.amount_cents:
            raise ValidationFailed(f"approved amount {approved_cents} must be 1-{self.amount_cents} cents",
                                   code="invalid-approval")
        reject_card_numbers({"processor_ref": processor_ref})
        self.approved_cents = approved_cents
        self.processor_ref = processor_ref or self.processor_ref
        self.card = card or self.card


# -- cashier guidance ------------------------------------------------------------------------------


class SettlementStatus(enum.StrEnum):
    """Where a stored payment row ends up besides the device outcomes above: a hosted charge
    waiting for the customer (`awaiting`) or lapsing (`expired`), a payment that never reached
    the device (`failed`), and a refund row that was paid out (`refunded`).

    A hosted charge confirmed for another amount than asked is `underpaid` (what arrived counts,
    the rest is still due, the sale does not complete on it) or `overpaid` (the sale is paid;
    the surplus is owed back). A failed refund row is closed as `retried` (a new refund row
    replaces it) or `settled_in_cash` (a supervisor paid it out of the drawer)."""

    AWAITING = "awaiting"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    RETRIED = "retried"
    SETTLED_IN_CASH = "settled_in_cash"


# Sale rows whose `approved_cents` is money actually taken, and so counts towards the order.
CAPTURED_STATUSES = frozenset({PaymentStatus.APPROVED, PaymentStatus.PARTIALLY_APPROVED,
                               SettlementStatus.UNDERPAID, SettlementStatus.OVERPAID})


class HostedSettlement(msgspec.Struct, frozen=True, kw_only=True):
    """How a confirmed hosted charge settles its payment row: what counts towards the order
    (`approved_cents`) and what the customer actually sent (`received_cents`)."""

    status: str
    approved_cents: int
    received_cents: int


def settle_hosted_charge(asked_cents: int, received_cents: int) -> HostedSettlement:
    """A signed confirmation says what arrived; it is believed for that amount only. Less than
    asked is an underpayment (never an approval), more is an overpayment, nothing is a failure."""
    if received_cents <= 0:
        return HostedSettlement(status=SettlementStatus.FAILED, approved_cents=0, received_cents=0)
    if received_cents < asked_cents:
        return HostedSettlement(status=SettlementStatus.UNDERPAID, approved_cents=received_cents,
                                received_cents=received_cents)
    if received_cents > asked_cents:
        return HostedSettlement(status=SettlementStatus.OVERPAID, approved_cents=asked_cents,
                                received_cents=received_cents)
    return HostedSettlement(status=PaymentStatus.APPROVED, approved_cents=asked_cents, received_cents=received_cents)


def guidance_for(payment: Payment) -> str:
    """What the cashier should do next, in one sentence on the lane."""
    return cashier_guidance(payment.status, payment.method, amount_cents=payment.amount_cents,
                            approved_cents=payment.approved_cents, currency=payment.currency,
                            recovered_outcome=payment.recovered_outcome)


def cashier_guidance(status: str, method: str, *, amount_cents: int = 0, approved_cents: int = 0,
                     currency: str = "EUR", recovered_outcome: str | None = None, received_cents: int = 0,
                     kind: str = "sale") -> str:
    """The one table of cashier guidance, for a `PaymentStatus` or a `SettlementStatus`."""
    label = "Card" if method == TenderMethod.CARD else str(method).replace("_", " ").capitalize()
    device = "the payment terminal" if method == TenderMethod.CARD else "the payment provider"
    remaining = _remaining(amount_cents, approved_cents, currency)
    if kind == "refund" or status in (SettlementStatus.RETRIED, SettlementStatus.SETTLED_IN_CASH):
        return refund_guidance(status, label, amount_cents, currency)
    if status == SettlementStatus.UNDERPAID:
        return (f"{label} payment underpaid: {format_cents(approved_cents, currency)} received of "
                f"{format_cents(amount_cents, currency)}; collect the remaining "
                f"{format_cents(amount_cents - approved_cents, currency)} with another payment method, "
                "or void the sale to refund what was received")
    if status == SettlementStatus.OVERPAID:
        surplus = format_cents(received_cents - amount_cents, currency)
        return (f"{label} payment overpaid: {format_cents(received_cents, currency)} received for "
                f"{format_cents(amount_cents, currency)}; the sale is paid, and the {surplus} surplus is owed "
                "back to the customer (a manager settles it from the review list)")
    if status == PaymentStatus.RECOVERED:
        if recovered_outcome == PaymentStatus.DECLINED:
            return f"{label} payment was not taken after all: ask for another payment method"
        if recovered_outcome == PaymentStatus.PARTIALLY_APPROVED:
            return "Payment confirmed late for part of the amount: " + remaining
        return f"{label} payment confirmed after a delay: the sale can be completed"
    if status == PaymentStatus.CREATED:
        return "Starting the payment: please wait"
    if status == PaymentStatus.SENT or status == SettlementStatus.AWAITING:
        if method == TenderMethod.CRYPTO:
            return "Ask the customer to scan the QR code and pay; the sale completes when the payment confirms"
        return "Ask the customer to follow the prompts on the payment terminal"
    if status == PaymentStatus.APPROVED:
        if method == TenderMethod.CASH:
            return "Cash received: give any change and the receipt"
        return f"{label} approved: hand over the receipt"
    if status == PaymentStatus.DECLINED:
        return f"{label} declined: ask for another payment method"
    if status == PaymentStatus.PARTIALLY_APPROVED:
        return f"{label} approved for part of the amount: " + remaining
    if status == PaymentStatus.TIMED_OUT:
        return f"No answer from {device}: do not charge again; checking whether the payment went through"
    if status == PaymentStatus.UNKNOWN:
        return (f"Payment status unknown: do not charge again; the sale stays pending until {device} "
                "confirms it (a supervisor can re-check)")
    if status == SettlementStatus.FAILED:
        return f"The {label.lower()} payment did not go through and nothing was charged: take another payment method"
    if status == SettlementStatus.EXPIRED:
        return "The payment request expired unpaid: take another payment method"
    if status == SettlementStatus.REFUNDED:
        return f"Refunded to the original {label.lower()} tender"
    return "Payment reversed: the customer was not charged for it"


def refund_guidance(status: str, label: str, amount_cents: int, currency: str) -> str:
    """A refund row's own guidance: a refund is money going back, so its words differ from a sale's."""
    amount = format_cents(amount_cents, currency)
    if status == SettlementStatus.REFUNDED:
        return f"{amount} refunded to the original {label.lower()} tender"
    if status in (SettlementStatus.FAILED, PaymentStatus.DECLINED):
        return refund_state_guidance(amount_cents, 0, currency)
    if status == SettlementStatus.RETRIED:
        return "This refund failed and was sent again (see the newer refund)"
    if status == SettlementStatus.SETTLED_IN_CASH:
        return f"This refund failed; a manager paid the customer {amount} in cash instead"
    if status == PaymentStatus.TIMED_OUT:
        return f"No answer yet about the {amount} refund: do not pay out again; checking with the processor"
    return f"Refund of {amount} in progress: please wait"


def refund_state_guidance(owed_cents: int, pending_cents: int, currency: str) -> str:
    """An order's refund standing in one sentence: refused refunds first, they need a person."""
    if owed_cents:
        owed = format_cents(owed_cents, currency)
        return (f"Refund not processed: the customer has not been paid back {owed}. Retry the refund, "
                f"or give the customer {owed} in cash with a manager")
    return f"Refund of {format_cents(pending_cents, currency)} in progress: do not pay out again"


def _remaining(amount_cents: int, approved_cents: int, currency: str) -> str:
    taken = format_cents(approved_cents, currency)
    rest = format_cents(amount_cents - approved_cents, currency)
    return f"{taken} taken, collect the remaining {rest} with another payment method"


# -- refunds go back to the original tender ---------------------------------------------------------


class TenderRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A sale tender as it was settled: captured cents (cash net of change) and refunds so far."""

    payment_id: str
    method: TenderMethod
    captured_cents: int
    refunded_cents: int = 0

    @property
    def refundable_cents(self) -> int:
        return self.captured_cents - self.refunded_cents


class RefundAllocation(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: str
    method: TenderMethod
    amount_cents: int


def allocate_refund(refund_cents: int, tenders: Sequence[TenderRecord]) -> tuple[RefundAllocation, ...]:
    """Send a refund back to the tenders that paid, card and crypto first, cash last.

    Card and crypto first because their money goes back to the customer's own account through
    the port; cash is last so the drawer pays out only what the electronic tenders cannot. Within
    a kind, tenders are refunded in the order they were taken: deterministic, so a retry agrees.
    """
    if refund_cents <= 0:
        raise ValidationFailed("a refund must be more than zero", code="invalid-refund")
    available = sum(t.refundable_cents for t in tenders)
    if refund_cents > available:
        raise ValidationFailed(f"refund of {refund_cents} cents is more than the {available} cents still "
                               "refundable on this order's tenders", code="refund-exceeds-paid")
    ordered = [t for t in tenders if t.method is not TenderMethod.CASH]
    ordered += [t for t in tenders if t.method is TenderMethod.CASH]
    allocations = []
    left = refund_cents
    for tender in ordered:
        take = min(left, tender.refundable_cents)
        if take > 0:
            allocations.append(RefundAllocation(payment_id=tender.payment_id, method=tender.method, amount_cents=take))
            left -= take
    return tuple(allocations)


# -- PCI: no card number ever gets in ----------------------------------------------------------------

def reject_card_numbers(fields: Mapping[str, object]) -> None:
    """Refuse payment or customer data holding a card number. The value is never echoed back."""
    paths = card_number_fields(fields)
    if paths:
        raise CardNumberRejected(
            "a field looks like a card number; NovaPOS never accepts card numbers, use the payment terminal",
            errors=[{"field": p, "message": "looks like a card number"} for p in paths])
