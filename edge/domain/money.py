"""Money arithmetic in integer minor units, with rounding that is always explicit.

There are no floats: an amount is an `int` of cents (minor units) and a rate is an `int` of
basis points (1 bp = 0.01 %, so 20 % VAT is 2000). Every division names its rounding mode, and
splitting an amount over parts never loses or invents a cent (`allocate`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import msgspec

from edge.domain.errors import ValidationFailed

BPS_PER_UNIT = 10_000  # basis points in 100 %
GRAMS_PER_KG = 1_000
# The most any one amount may be: a tender, an order, a float, a pay-in or a count. 10,000,000.00
# in minor units is beyond any till; above it a figure is a typo or an attack (2^62 cents once
# completed a sale and printed a 17-digit change), and it keeps every sum far inside 64 bits.
MAX_AMOUNT_CENTS = 1_000_000_000


class Rounding(enum.StrEnum):
    HALF_UP = "half_up"  # 0.5 goes away from zero: what shoppers and most tax offices expect
    HALF_EVEN = "half_even"  # banker's rounding: required by some jurisdictions, unbiased in bulk


def round_div(numerator: int, denominator: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """numerator / denominator rounded to an integer. Symmetric about zero, so a refund
    rounds exactly like the sale it mirrors."""
    if denominator == 0:
        raise ZeroDivisionError("round_div by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    twice = 2 * remainder
    if twice > denominator or (
        twice == denominator and (rounding is Rounding.HALF_UP or quotient % 2 == 1)
    ):
        quotient += 1
    return sign * quotient


def apply_bps(amount_cents: int, rate_bps: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """amount x rate, e.g. the tax on a tax-exclusive price or a percentage discount."""
    return round_div(amount_cents * rate_bps, BPS_PER_UNIT, rounding)


def allocate(total_cents: int, weights: Sequence[int]) -> list[int]:
    """Split total_cents over weights proportionally; the parts always sum to total_cents.

    Largest remainder method: every part gets its floor share, then the cents left over go one
    each to the parts with the largest remainders, ties to the earlier part. The result only
    depends on the inputs, so a replay (or the cloud) allocates to the same cent.
    """
    if any(w < 0 for w in weights):
        raise ValueError("allocation weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total_cents == 0:
            return [0] * len(weights)
        raise ValueError("cannot allocate a non-zero amount over zero weights")
    sign = -1 if total_cents < 0 else 1
    magnitude = abs(total_cents)
    shares = [divmod(magnitude * w, weight_sum) for w in weights]
    parts = [floor for floor, _ in shares]
    leftover = magnitude - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]


def require_cents(value: object, field: str, *, allow_negative: bool = False) -> int:
    """An amount from the outside world: a real int (not a bool, not a float)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(f"{field} must be an integer number of minor units",
                               errors=[{"field": field, "message": "an integer number of cents"}])
    if value < 0 and not allow_negative:
        raise ValidationFailed(f"{field} must not be negative",
                               errors=[{"field": field, "message": "0 or more"}])
    if abs(value) > MAX_AMOUNT_CENTS:
        raise ValidationFailed(f"{field} must be at most {MAX_AMOUNT_CENTS} minor units",
                               errors=[{"field": field, "message": f"at most {MAX_AMOUNT_CENTS}"}])
    return value


class Money(msgspec.Struct, frozen=True):
    """An amount with its ISO 4217 currency, for the places where currencies could meet."""

    amount_cents: int
    currency: str = "EUR"

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_cents + other.amount_cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_cents - other.amount_cents, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationFailed(f"cannot mix {self.currency} and {other.currency}", code="currency-mismatch")

    def __str__(self) -> str:
        return format_cents(self.amount_cents, self.currency)


def format_cents(amount_cents: int, currency: str = "EUR", minor_digits: int = 2) -> str:
    """'12.34 EUR' for messages and logs; receipts format with the store's locale."""
    sign = "-" if amount_cents < 0 else ""
    major, minor = divmod(abs(amount_cents), 10**minor_digits)
    if minor_digits == 0:
        return f"{sign}{major} {currency}"
    return f"{sign}{major}.{minor:0{minor_digits}d} {currency}"
