"""Returns and exchanges: what may come back, for how much, and who must agree.

A line's returnable quantity is what was sold minus what was already returned. A line's refund
is its share of what the customer actually paid for it (after discounts, with tax), computed
cumulatively: returning units r+1..r+q refunds paid*(r+q)//sold - paid*r//sold, so returning
everything, in any number of returns, refunds exactly what was paid, never a cent more.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from edge.domain.errors import ReturnExceedsSold, ValidationFailed
from edge.domain.money import Rounding, apply_bps
from edge.domain.orders import Approval, Order, require_supervisor
from edge.domain.pricing import PricedLine


class Disposition(enum.StrEnum):
    RESTOCK = "restock"  # back on the shelf: a `return` stock movement
    WRITE_OFF = "write_off"  # damaged or unsellable: a return then a `write_off` movement


class ReturnPolicy(msgspec.Struct, frozen=True, kw_only=True):
    window_days: int = 30
    restock_by_default: bool = True
    restocking_fee_bps: int = 0  # of the restocked refund, e.g. 1500 = 15 %
    restocking_fee_cents: int = 0  # or a flat fee per return (one or the other)
    fee_on_write_off: bool = False  # a faulty item is not the customer's fault
    override_after_window: bool = True  # False: outside the window is refused outright
    override_over_cents: int | None = None  # refunds above this need a manager
    override_for_write_off: bool = False
    # A return given one of these reasons is written off whatever the cashier ticked: a damaged
    # item must not go back on the shelf.
    write_off_reasons: tuple[str, ...] = ("damaged", "defective", "expired")

    def __post_init__(self) -> None:
        if self.window_days < 0 or self.restocking_fee_cents < 0 or not 0 <= self.restocking_fee_bps <= 10_000:
            raise ValidationFailed("return policy: window and fees must be 0 or more, fee bps at most 10000",
                                   code="invalid-return-policy")
        if self.restocking_fee_bps and self.restocking_fee_cents:
            raise ValidationFailed("return policy: a restocking fee in basis points or in cents, not both",
                                   code="invalid-return-policy")


class ReturnRequest(msgspec.Struct, frozen=True, kw_only=True):
    line_id: str
    quantity: int
    restock: bool | None = None  # None: the policy's default


class ReturnLine(msgspec.Struct, frozen=True, kw_only=True):
    line_id: str
    product_id: str
    sku: str
    quantity: int
    refund_cents: int  # with tax
    tax_cents: int  # the tax inside refund_cents, for the tax report
    disposition: Disposition


class ReturnPlan(msgspec.Struct, frozen=True, kw_only=True):
    return_id: str
    order_id: str
    lines: tuple[ReturnLine, ...]
    gross_refund_cents: int
    fee_cents: int
    refund_cents: int  # what goes back to the customer: gross - fee
    override_reasons: tuple[str, ...]  # why a manager had to approve (empty if not needed)
    approved_by: str | None = None

    @property
    def quantities(self) -> dict[str, int]:
        return {line.line_id: line.quantity for line in self.lines}


def cumulative_share(amount_cents: int, sold: int, already_returned: int, quantity: int) -> int:
    """The part of amount_cents for units already_returned+1 .. already_returned+quantity."""
    return amount_cents * (already_returned + quantity) // sold - amount_cents * already_returned // sold


def line_refund(line: PricedLine, already_returned: int, quantity: int) -> tuple[int, int]:
    """(refund, tax in it) for returning quantity more units of a line."""
    return (cumulative_share(line.total_cents, line.quantity, already_returned, quantity),
            cumulative_share(line.tax_cents, line.quantity, already_returned, quantity))


def plan_return(order: Order, requests: Sequence[ReturnRequest], policy: ReturnPolicy, *, return_id: str,
                now: datetime, approval: Approval | None = None,
                rounding: Rounding = Rounding.HALF_UP, reason: str = "") -> ReturnPlan:
    """Check a return against the order and the policy and price it. Changes nothing."""
    write_off_all = reason.strip().lower() in policy.write_off_reasons
    problems = []
    merged: dict[str, int] = {}
    for i, request in enumerate(requests):
        if request.quantity <= 0:
            problems.append({"field": f"lines[{i}].quantity", "message": "1 or more"})
        merged[request.line_id] = merged.get(request.line_id, 0) + request.quantity
    for line_id, quantity in merged.items():
        returnable = order.returnable_quantity(line_id)
        if quantity > returnable:
            problems.append({"field": f"lines[{line_id}].quantity",
                             "message": f"{quantity} asked, only {returnable} returnable"})
    if not requests:
        problems.append({"field": "lines", "message": "nothing to return"})
    if problems:
        raise ReturnExceedsSold(f"cannot return more than was sold minus already returned on order {order.number}",
                                errors=problems)

    lines = []
    returned_so_far = dict(order.returned_quantities)
    for request in requests:
        line = order.line(request.line_id)
        already = returned_so_far.get(request.line_id, 0)
        refund, tax = line_refund(line, already, request.quantity)
        returned_so_far[request.line_id] = already + request.quantity
        restock = policy.restock_by_default if request.restock is None else request.restock
        restock = restock and not write_off_all
        lines.append(ReturnLine(line_id=line.line_id, product_id=line.product_id, sku=line.sku,
                                quantity=request.quantity, refund_cents=refund, tax_cents=tax,
                                disposition=Disposition.RESTOCK if restock else Disposition.WRITE_OFF))

    gross = sum(line.refund_cents for line in lines)
    fee_base = sum(line.refund_cents for line in lines
                   if line.disposition is Disposition.RESTOCK or policy.fee_on_write_off)
    fee = 0
    if fee_base:
        wanted = apply_bps(fee_base, policy.restocking_fee_bps, rounding) if policy.restocking_fee_bps \
            else policy.restocking_fee_cents
        fee = min(wanted, fee_base)  # a fee never turns a refund into a charge

    reasons = []
    age = now - order.created_at
    if age > timedelta(days=policy.window_days):
        if not policy.override_after_window:
            raise ValidationFailed(f"order {order.number} is past the {policy.window_days}-day return window",
                                   code="return-window-closed")
        reasons.append(f"past the {policy.window_days}-day return window")
    if policy.override_over_cents is not None and gross - fee > policy.override_over_cents:
        reasons.append(f"refund over {policy.override_over_cents} cents")
    if policy.override_for_write_off and any(line.disposition is Disposition.WRITE_OFF for line in lines):
        reasons.append("items written off")
    approved_by = None
    if reasons:
        approved_by = require_supervisor(approval, "this return (" + "; ".join(reasons) + ")",
                                         code="return-override-required").approver_id
    return ReturnPlan(return_id=return_id, order_id=order.id, lines=tuple(lines), gross_refund_cents=gross,
                      fee_cents=fee, refund_cents=gross - fee, override_reasons=tuple(reasons),
                      approved_by=approved_by)


def apply_return(order: Order, plan: ReturnPlan, *, at: datetime) -> None:
    """Record a planned return on its order (PARTIALLY_REFUNDED or REFUNDED)."""
    if plan.order_id != order.id:
        raise ValidationFailed("this return was planned for another order", code="return-order-mismatch")
    order.record_return(return_id=plan.return_id, quantities=plan.quantities, refund_cents=plan.refund_cents, at=at)


class ExchangeBalance(msgspec.Struct, frozen=True, kw_only=True):
    """An exchange is a return and a new sale linked in one transaction; this is what is owed."""

    return_refund_cents: int
    new_sale_total_cents: int

    @property
    def customer_pays_cents(self) -> int:
        return max(self.new_sale_total_cents - self.return_refund_cents, 0)

    @property
    def refund_due_cents(self) -> int:
        return max(self.return_refund_cents - self.new_sale_total_cents, 0)


def exchange_balance(plan: ReturnPlan, new_sale_total_cents: int) -> ExchangeBalance:
    return ExchangeBalance(return_refund_cents=plan.refund_cents, new_sale_total_cents=new_sale_total_cents)
