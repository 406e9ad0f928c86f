"""The Order aggregate: its lines and totals, its status machine, and the events it records.

    OPEN ──► PENDING ──► COMPLETED ──► PARTIALLY_REFUNDED ──► REFUNDED
      │         │            │                 └──────────────────▲
      │         │            └──────────────────────────────────── │ (one return of everything)
      ├─────────┴──► VOIDED ◄── COMPLETED (same business day, nothing refunded yet)
      └─────────┴──► CANCELLED (left at the lane before any money was taken)

CANCELLED is not a void: nothing was sold and nothing was paid, so a cashier may do it without
a supervisor, and loss-prevention reports on voids are not drowned by abandoned baskets.

Cash completes straight from OPEN; card and crypto wait in PENDING for a confirmation. Any other
move raises `IllegalTransition` (409) naming the order, its status and what was attempted.
The aggregate never does I/O: handlers persist it and publish the events it recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime

import msgspec

from edge.domain.errors import (
    IllegalTransition,
    InsufficientTender,
    OverrideRequired,
    ReturnExceedsSold,
    ValidationFailed,
)
from edge.domain.money import BPS_PER_UNIT
from edge.domain.pricing import PricedLine, PricedOrder

SUPERVISOR_ROLES = frozenset({"supervisor", "store_manager", "tenant_admin"})


class OrderStatus(enum.StrEnum):
    OPEN = "OPEN"
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    VOIDED = "VOIDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


ALLOWED_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.OPEN: frozenset({OrderStatus.PENDING, OrderStatus.COMPLETED, OrderStatus.VOIDED,
                                 OrderStatus.CANCELLED}),
    OrderStatus.PENDING: frozenset({OrderStatus.COMPLETED, OrderStatus.VOIDED, OrderStatus.CANCELLED}),
    OrderStatus.COMPLETED: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED, OrderStatus.VOIDED}),
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    OrderStatus.REFUNDED: frozenset(),
    OrderStatus.VOIDED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def require_transition(current: OrderStatus | str, target: OrderStatus | str, *, action: str = "",
                       number: str = "") -> None:
    """Refuse a move the state machine does not allow: a 409 that names both states."""
    current, target = OrderStatus(current), OrderStatus(target)
    if target not in ALLOWED_TRANSITIONS[current]:
        what = f"cannot {action or 'move'} order {number}".replace("  ", " ").strip()
        raise IllegalTransition(
            f"{what}: it is {current.value}",
            errors=[{"field": "status", "message": f"{current.value} -> {target.value} is not allowed"}])


# -- overrides ------------------------------------------------------------------------------------


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """A supervisor's consent, after the service checked their PIN or token."""

    approver_id: str
    roles: frozenset[str]
    reason: str = ""

    @property
    def is_supervisor(self) -> bool:
        return bool(self.roles & SUPERVISOR_ROLES)


def require_supervisor(approval: Approval | None, action: str, *, code: str = "override-required") -> Approval:
    if approval is None or not approval.is_supervisor:
        raise OverrideRequired(f"{action} needs a supervisor override", code=code)
    return approval


class DiscountPolicy(msgspec.Struct, frozen=True):
    """Discounts above either threshold need a supervisor. None switches a threshold off."""

    override_over_bps: int | None = 2_000  # 20 % of the line's (or order's) price before discounts
    override_over_cents: int | None = None

    def needs_override(self, priced: PricedOrder) -> bool:
        candidates = [(line.extended_cents, line.discount_cents) for line in priced.lines]
        candidates.append((priced.extended_cents, priced.discount_cents))
        for extended, discount in candidates:
            if self.override_over_cents is not None and discount > self.override_over_cents:
                return True
            # discount / extended > bps / 10000, cross-multiplied to stay in integers
            if self.override_over_bps is not None and discount * BPS_PER_UNIT > self.override_over_bps * extended:
                return True
        return False


# -- order numbers --------------------------------------------------------------------------------


def order_number(lane_id: str, sequence: int) -> str:
    """'2-000123': the lane, then its own sequence; short enough to read aloud at the counter.

    The sequence is per (store, lane) and allocated by the store's single writer, so lanes never
    coordinate to number their sales.
    """
    return f"{lane_id}-{sequence:06d}"


# -- events ---------------------------------------------------------------------------------------


class OrderEvent(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    order_id: str
    at: datetime


class OrderAwaitingPayment(OrderEvent, frozen=True, kw_only=True, tag="order.pending"):
    pass


class OrderCompleted(OrderEvent, frozen=True, kw_only=True, tag="order.completed"):
    number: str
    total_cents: int
    paid_cents: int


class OrderVoided(OrderEvent, frozen=True, kw_only=True, tag="order.voided"):
    previous_status: OrderStatus  # COMPLETED means stock comes back; OPEN/PENDING release holds
    reason: str
    approved_by: str


class OrderCancelled(OrderEvent, frozen=True, kw_only=True, tag="order.cancelled"):
    previous_status: OrderStatus  # OPEN or PENDING: the holds are released, nothing was sold
    reason: str


class OrderReturned(OrderEvent, frozen=True, kw_only=True, tag="order.returned"):
    return_id: str
    quantities: tuple[tuple[str, int], ...]
    refund_cents: int
    status: OrderStatus


# -- the aggregate --------------------------------------------------------------------------------


class Order:
    def __init__(self, *, id: str, number: str, store_id: str, lane_id: str, cashier_id: str,
                 created_at: datetime, business_day: date, priced: PricedOrder, currency: str = "EUR",
                 status: OrderStatus = OrderStatus.OPEN, paid_cents: int = 0, refunded_cents: int = 0,
                 returned_quantities: Mapping[str, int] | None = None):
        self.id = id
        self.number = number
        self.store_id = store_id
        self.lane_id = lane_id
        self.cashier_id = cashier_id
        self.created_at = created_at
        self.business_day = business_day
        self.priced = priced
        self.currency = currency
        self.status = status
        self.paid_cents = paid_cents
        self.refunded_cents = refunded_cents
        self.returned_quantities: dict[str, int] = dict(returned_quantities or {})
        self.events: list[OrderEvent] = []

    # -- read side --

    @property
    def lines(self) -> tuple[PricedLine, ...]:
        return self.priced.lines

    @property
    def total_cents(self) -> int:
        return self.priced.total_cents

    @property
    def balance_due_cents(self) -> int:
        return max(self.total_cents - self.paid_cents, 0)

    def line(self, line_id: str) -> PricedLine:
        for line in self.priced.lines:
            if line.line_id == line_id:
                return line
        raise ReturnExceedsSold(f"order {self.number} has no line {line_id}", code="unknown-line",
                                errors=[{"field": "line_id", "message": f"{line_id} is not on this order"}])

    def returnable_quantity(self, line_id: str) -> int:
        """Sold minus already returned."""
        return self.line(line_id).quantity - self.returned_quantities.get(line_id, 0)

    @property
    def fully_returned(self) -> bool:
        return all(self.returnable_quantity(line.line_id) == 0 for line in self.lines)

    # -- transitions --

    def _check(self, target: OrderStatus, action: str) -> None:
        require_transition(self.status, target, action=action, number=self.number)

    def _move(self, target: OrderStatus, action: str) -> OrderStatus:
        self._check(target, action)
        previous, self.status = self.status, target
        return previous

    def await_payment(self, at: datetime) -> None:
        """A card or crypto tender was started: hold the order until it is confirmed."""
        self._move(OrderStatus.PENDING, "hold for payment")
        self.events.append(OrderAwaitingPayment(order_id=self.id, at=at))

    def record_payment(self, amount_cents: int) -> None:
        """Money that was actually taken (cash kept, or an approved card/crypto amount)."""
        if self.status not in (OrderStatus.OPEN, OrderStatus.PENDING):
            raise IllegalTransition(f"cannot take payment on order {self.number}: it is {self.status.value}")
        if amount_cents <= 0:
            raise InsufficientTender("a payment must be more than zero")
        self.paid_cents += amount_cents

    def complete(self, at: datetime) -> None:
        if self.status in (OrderStatus.OPEN, OrderStatus.PENDING) and self.paid_cents < self.total_cents:
            raise InsufficientTender(
                f"order {self.number} is not paid: {self.balance_due_cents} cents still due",
                errors=[{"field": "tenders", "message": f"{self.balance_due_cents} cents still due"}])
        self._move(OrderStatus.COMPLETED, "complete")
        self.events.append(OrderCompleted(order_id=self.id, at=at, number=self.number,
                                          total_cents=self.total_cents, paid_cents=self.paid_cents))

    def void(self, *, reason: str, approval: Approval | None, at: datetime, today: date) -> None:
        """Cancel an order in progress, or a completed one on its own business day."""
        self._check(OrderStatus.VOIDED, "void")
        if self.status is OrderStatus.COMPLETED and self.business_day != today:
            raise IllegalTransition(
                f"cannot void order {self.number}: it was completed on {self.business_day.isoformat()}, "
                "not today; take a return instead", code="void-not-same-day")
        if not reason.strip():
            raise ValidationFailed("a void needs a reason", code="reason-required",
                                   errors=[{"field": "reason", "message": "required"}])
        approver = require_supervisor(approval, "a void", code="void-override-required")
        previous = self._move(OrderStatus.VOIDED, "void")
        self.events.append(OrderVoided(order_id=self.id, at=at, previous_status=previous, reason=reason,
                                       approved_by=approver.approver_id))

    def cancel(self, *, reason: str, at: datetime) -> None:
        """Leave an order before any money was taken (the lane's Back button). No supervisor:
        nothing was sold or paid, so there is nothing to give back."""
        self._check(OrderStatus.CANCELLED, "cancel")
        if self.paid_cents > 0:
            raise IllegalTransition(f"order {self.number} has a payment taken; a supervisor voids it so the money "
                                    "goes back", code="order-has-payment")
        previous = self._move(OrderStatus.CANCELLED, "cancel")
        self.events.append(OrderCancelled(order_id=self.id, at=at, previous_status=previous, reason=reason))

    def record_return(self, *, return_id: str, quantities: Mapping[str, int], refund_cents: int,
                      at: datetime) -> None:
        """Apply a return that `returns.plan_return` priced; checked again so the aggregate is
        never left over-returned, whoever calls it."""
        if self.status not in (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED):
            raise IllegalTransition(f"cannot return items of order {self.number}: it is {self.status.value}")
        problems = []
        for line_id, quantity in quantities.items():
            returnable = self.returnable_quantity(line_id)
            if not 0 < quantity <= returnable:
                problems.append({"field": f"lines[{line_id}].quantity",
                                 "message": f"{quantity} asked, {returnable} returnable"})
        if problems or not quantities:
            raise ReturnExceedsSold(f"the return does not fit order {self.number}: "
                                    "a line is asked for more than sold minus already returned",
                                    errors=problems or [{"field": "lines", "message": "nothing to return"}])
        after = dict(self.returned_quantities)
        for line_id, quantity in quantities.items():
            after[line_id] = after.get(line_id, 0) + quantity
        done = all(after.get(line.line_id, 0) >= line.quantity for line in self.lines)
        self._move(OrderStatus.REFUNDED if done else OrderStatus.PARTIALLY_REFUNDED, "return items of")
        self.returned_quantities = after
        self.refunded_cents += refund_cents
        self.events.append(OrderReturned(order_id=self.id, at=at, return_id=return_id,
                                         quantities=tuple(sorted(quantities.items())),
                                         refund_cents=refund_cents, status=self.status))


def stock_units(quantity: int, weight_grams: int | None) -> int:
    """Weighed goods are stocked in grams (a 1.25 kg cut takes 1250 off the shelf); the rest in units."""
    return weight_grams if weight_grams is not None else quantity
