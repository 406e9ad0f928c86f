"""Pure sales rules used by the sales use cases: pricing and tax, order states, tenders,
payment outcomes with cashier guidance, returns policy, till arithmetic and offline verdicts.

Money is integer minor units everywhere. Rounding is explicit: `round_div` divides with the
configured mode (half-up by default), so no float ever touches a price.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edge.domain.errors import Conflict, ValidationFailed

# -- rounding -----------------------------------------------------------------------------------


def round_div(numerator: int, denominator: int, mode: str = "half_up") -> int:
    """numerator / denominator rounded to an integer; half_up rounds halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    n = abs(numerator)
    q, r = divmod(n, denominator)
    twice = 2 * r
    if twice > denominator or (twice == denominator and (mode == "half_up" or q % 2 == 1)):
        q += 1
    return sign * q


# -- pricing ------------------------------------------------------------------------------------


class PricedLine(msgspec.Struct, kw_only=True):
    gross_cents: int  # price x quantity (or x weight), before discounts
    discount_cents: int
    net_cents: int  # gross - discount: the shelf amount, tax included when inclusive
    tax_cents: int
    total_cents: int  # what the customer pays for the line


def line_gross(unit_price_cents: int, quantity: int, weight_grams: int | None, mode: str = "half_up") -> int:
    if weight_grams is not None:
        return round_div(unit_price_cents * weight_grams, 1000, mode)  # price is per kg
    return unit_price_cents * quantity


def line_tax(net_cents: int, rate_bp: int, inclusive: bool, mode: str = "half_up") -> tuple[int, int]:
    """(tax, total) for one line; inclusive prices already contain their tax."""
    if inclusive:
        pre_tax = round_div(net_cents * 10_000, 10_000 + rate_bp, mode)
        return net_cents - pre_tax, net_cents
    tax = round_div(net_cents * rate_bp, 10_000, mode)
    return tax, net_cents + tax


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split `amount` over `weights` proportionally; largest remainders take the spare cents."""
    total = sum(weights)
    if amount == 0 or total <= 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in remainders[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def price_lines(lines: list[dict[str, Any]], order_discount_cents: int = 0, mode: str = "half_up"
                ) -> list[PricedLine]:
    """Each line: unit_price_cents, quantity, weight_grams, discount_cents, rate_bp, inclusive."""
    gross = [line_gross(ln["unit_price_cents"], ln["quantity"], ln.get("weight_grams"), mode) for ln in lines]
    line_discounts = [min(ln.get("discount_cents", 0), g) for ln, g in zip(lines, gross, strict=True)]
    after_line = [g - d for g, d in zip(gross, line_discounts, strict=True)]
    order_share = allocate(min(order_discount_cents, sum(after_line)), after_line)
    priced = []
    for ln, g, d, share in zip(lines, gross, line_discounts, order_share, strict=True):
        net = g - d - share
        tax, total = line_tax(net, ln["rate_bp"], ln["inclusive"], mode)
        priced.append(PricedLine(gross_cents=g, discount_cents=d + share, net_cents=net, tax_cents=tax,
                                 total_cents=total))
    return priced


def discount_needs_override(gross_cents: int, discount_cents: int, threshold_bp: int) -> bool:
    """A discount worth more than `threshold_bp` of the gross needs a supervisor."""
    return discount_cents > 0 and discount_cents * 10_000 > gross_cents * threshold_bp


# -- order states -------------------------------------------------------------------------------

OPEN, PENDING, COMPLETED, VOIDED = "OPEN", "PENDING", "COMPLETED", "VOIDED"
PARTIALLY_REFUNDED, REFUNDED = "PARTIALLY_REFUNDED", "REFUNDED"

TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({PENDING, COMPLETED, VOIDED}),
    PENDING: frozenset({PENDING, COMPLETED, VOIDED}),
    COMPLETED: frozenset({PARTIALLY_REFUNDED, REFUNDED, VOIDED}),
    PARTIALLY_REFUNDED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    REFUNDED: frozenset(),
    VOIDED: frozenset(),
}


def require_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"an order that is {current} cannot become {target}", code="illegal-transition",
                       errors=[{"field": "status", "message": f"{current} -> {target} is not allowed"}])


# -- tenders ------------------------------------------------------------------------------------

METHODS = ("cash", "card", "crypto")


class TenderPlan(msgspec.Struct, kw_only=True):
    cash_cents: int  # cash kept in the drawer (tendered - change)
    cash_tendered_cents: int
    change_due_cents: int
    electronic: list[dict[str, Any]]  # card / crypto tenders still to be confirmed


def plan_tenders(total_cents: int, already_paid_cents: int, tenders: list[dict[str, Any]]) -> TenderPlan:
    """Check a set of tenders against what is still due. Electronic tenders may not exceed what
    is due (no change on a card); cash may, and the excess is change."""
    errors = []
    for i, tender in enumerate(tenders):
        if tender.get("method") not in METHODS:
            errors.append({"field": f"tenders[{i}].method", "message": "cash, card or crypto"})
        amount = tender.get("amount_cents")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            errors.append({"field": f"tenders[{i}].amount_cents", "message": "a positive whole number of cents"})
    if errors:
        raise ValidationFailed("the tenders are not valid", errors=errors)
    due = total_cents - already_paid_cents
    electronic = [t for t in tenders if t["method"] != "cash"]
    electronic_sum = sum(t["amount_cents"] for t in electronic)
    if electronic_sum > due:
        raise ValidationFailed("card and crypto tenders exceed the amount due; there is no change on a card",
                               code="tender-exceeds-due",
                               errors=[{"field": "tenders", "message": f"due {due}, electronic {electronic_sum}"}])
    cash_tendered = sum(t["amount_cents"] for t in tenders if t["method"] == "cash")
    if cash_tendered + electronic_sum < due:
        raise ValidationFailed(f"the tenders cover {cash_tendered + electronic_sum} of {due} cents due",
                               code="tender-insufficient",
                               errors=[{"field": "tenders", "message": f"{due - cash_tendered - electronic_sum} "
                                        "cents short"}])
    cash_kept = min(cash_tendered, due - electronic_sum)
    return TenderPlan(cash_cents=cash_kept, cash_tendered_cents=cash_tendered,
                      change_due_cents=cash_tendered - cash_kept, electronic=electronic)


# -- payment outcomes ---------------------------------------------------------------------------

# created: persisted, maybe sent. awaiting: a hosted charge waits for its confirmation.
# timed_out: no answer; recovery asks the terminal. The rest are final.
FINAL_PAYMENT_STATES = frozenset({"approved", "partially_approved", "declined", "reversed", "failed", "expired",
                                  "refunded"})

GUIDANCE = {
    "created": "Waiting for the terminal. Do not start the payment again.",
    "awaiting": "Show the customer the payment QR code; the sale completes when the payment is confirmed.",
    "approved": "Payment approved. Hand the customer the receipt.",
    "partially_approved": "Only part was approved (the card's limit). Ask for another tender for the rest.",
    "declined": "Declined. Ask for another card or another tender; do not retry the same card repeatedly.",
    "timed_out": "No answer from the terminal. Do NOT charge again: NovaPOS is asking the terminal what happened.",
    "reversed": "The payment was reversed; the customer was not charged. Take another tender.",
    "failed": "The payment did not go through; nothing was charged. Take another tender.",
    "expired": "The payment request expired unpaid. Take another tender.",
    "refunded": "Refunded to the original tender.",
}


def guidance(status: str) -> str:
    return GUIDANCE.get(status, "Check the payment with a supervisor.")


# -- returns ------------------------------------------------------------------------------------


class ReturnPolicy(msgspec.Struct, kw_only=True, frozen=True):
    window_days: int = 30
    restocking_fee_bp: int = 0  # a fee on restocked goods, in basis points of the refund
    override_over_cents: int = 20_000  # refunds larger than this need a manager
    override_after_window: bool = True  # outside the window a manager may still accept
    write_off_reasons: tuple[str, ...] = ("damaged", "defective", "expired")


def check_return_quantities(order_lines: dict[str, dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
    """Per line: what was sold minus what was already returned. Nothing is returned twice."""
    errors = []
    seen: dict[str, int] = {}
    for i, item in enumerate(wanted):
        line = order_lines.get(item["line_id"])
        if line is None:
            errors.append({"field": f"lines[{i}].line_id", "message": "not a line of this order"})
            continue
        qty = item["quantity"]
        seen[item["line_id"]] = seen.get(item["line_id"], 0) + qty
        returnable = line["quantity"] - line["returned_quantity"]
        if qty <= 0:
            errors.append({"field": f"lines[{i}].quantity", "message": "must be positive"})
        elif seen[item["line_id"]] > returnable:
            errors.append({"field": f"lines[{i}].quantity",
                           "message": f"only {returnable} of {line['quantity']} can still be returned"})
    if errors:
        raise ValidationFailed("the return does not match what was sold", code="return-exceeds-sold", errors=errors)


def line_refund(line: dict[str, Any], quantity: int) -> int:
    """The refund for `quantity` units of a line: its paid total, prorated with exact remainders
    (the last unit returned takes whatever cents the earlier ones left)."""
    already = line["returned_quantity"]
    paid = line["total_cents"]
    units = line["quantity"]
    return paid * (already + quantity) // units - paid * already // units


def restocking_fee(refund_cents: int, policy: ReturnPolicy, mode: str = "half_up") -> int:
    return round_div(refund_cents * policy.restocking_fee_bp, 10_000, mode)


# -- tills --------------------------------------------------------------------------------------


def expected_cash(movements: list[dict[str, Any]]) -> int:
    """Float + pay-ins - pay-outs + cash kept from sales - cash refunds: signed amounts add up."""
    return sum(m["amount_cents"] for m in movements)


def till_summary(movements: list[dict[str, Any]]) -> dict[str, int]:
    by_kind: dict[str, int] = {}
    for m in movements:
        by_kind[m["kind"]] = by_kind.get(m["kind"], 0) + m["amount_cents"]
    return by_kind


# -- offline replay -----------------------------------------------------------------------------

ACCEPTED = "accepted"
PRICE_VARIANCE = "accepted_with_price_variance"
STOCK_CONFLICT = "accepted_with_stock_conflict"
DUPLICATE = "duplicate"


def offline_verdict(price_variance: bool, stock_conflict: bool) -> str:
    # A stock conflict outranks a price variance: it needs a person to look at the shelf.
    if stock_conflict:
        return STOCK_CONFLICT
    if price_variance:
        return PRICE_VARIANCE
    return ACCEPTED
