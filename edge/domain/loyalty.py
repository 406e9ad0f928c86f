"""Loyalty rules, pure: what a sale earns, which tier a customer is in, what a return claws back,
what expires, and how many points may be redeemed now.

The balance is a ledger (like stock): signed entries, each with an id derived from the order,
return or payment it came from plus its kind, so replaying anything never counts twice.

Redemption is a *tender* (`{"method": "points", "points": N}`), not a discount: the sale's prices,
tax and totals stay what they are, the points pay part of the total like a gift card, a refund
sends the points back where they came from (a `restore` entry), and HQ books points as a tender
(a liability being settled), never as a reduced price. The part of a sale paid with points earns
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import msgspec

from edge.domain.errors import ValidationFailed


class Tier(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def threshold_points(self) -> int: ...
    @property
    def earn_multiplier_bps(self) -> int: ...


class LoyaltyProgram(Protocol):
    """The program's rules as these functions read them (`edge.contracts.loyalty.LoyaltyProgram`,
    which HQ edits and the policy document carries, is one)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def points_per_unit(self) -> int: ...
    @property
    def rounding(self) -> str: ...
    @property
    def excluded_tax_categories(self) -> Sequence[str]: ...
    @property
    def excluded_skus(self) -> Sequence[str]: ...
    @property
    def tiers(self) -> Sequence[Tier]: ...
    @property
    def min_redeem_points(self) -> int: ...
    @property
    def expiry_days(self) -> int: ...
    @property
    def offline_cap_points(self) -> int: ...

BPS = 10_000
MINOR_PER_MAJOR = 100  # points are per major currency unit; amounts are in minor units

# Entry kinds that add points (each one a "lot" that later negative entries consume, oldest first).
CREDIT_KINDS = frozenset({"earn", "restore", "adjust", "write_off"})


class EarnLine(msgspec.Struct, frozen=True, kw_only=True):
    """A sold line as earning sees it: its net (after discounts, before tax) and what excludes it."""

    sku: str
    tax_category: str
    net_cents: int


class LedgerLine(msgspec.Struct, frozen=True, kw_only=True):
    entry_id: str
    kind: str
    points: int  # signed
    at: datetime


class Expiry(msgspec.Struct, frozen=True, kw_only=True):
    lot_entry_id: str  # the credit entry whose points lapse; the expire entry's id derives from it
    points: int  # how many lapse (positive)


def _round(numerator: int, denominator: int, rounding: str) -> int:
    if numerator <= 0:
        return 0
    if rounding == "half_up":
        return (2 * numerator + denominator) // (2 * denominator)
    return numerator // denominator


def eligible_cents(program: LoyaltyProgram, lines: Sequence[EarnLine], *, total_cents: int,
                   points_paid_cents: int = 0) -> int:
    """The net amount that earns: excluded SKUs and tax categories out, and the share of the sale
    paid with points out (points do not earn points)."""
    skus, categories = set(program.excluded_skus), set(program.excluded_tax_categories)
    net = sum(max(ln.net_cents, 0) for ln in lines if ln.sku not in skus and ln.tax_category not in categories)
    if points_paid_cents <= 0 or total_cents <= 0:
        return net
    paid_in_money = max(total_cents - points_paid_cents, 0)
    return net * paid_in_money // total_cents


def tier_for(program: LoyaltyProgram, earned_in_window: int) -> Tier:
    """The highest tier whose threshold the points earned over the rolling window reach."""
    current = program.tiers[0]
    for tier in program.tiers:
        if earned_in_window >= tier.threshold_points:
            current = tier
    return current


def next_tier(program: LoyaltyProgram, earned_in_window: int) -> Tier | None:
    return next((t for t in program.tiers if t.threshold_points > earned_in_window), None)


def points_earned(program: LoyaltyProgram, eligible: int, *, earned_in_window: int) -> int:
    """Points for an eligible net amount at the customer's tier (the tier they are in before this sale)."""
    if not program.enabled or eligible <= 0:
        return 0
    multiplier = tier_for(program, earned_in_window).earn_multiplier_bps
    return _round(eligible * program.points_per_unit * multiplier, MINOR_PER_MAJOR * BPS, program.rounding)


def clawback_points(earned: int, *, eligible_sold_cents: int, eligible_returned_cents: int,
                    already_clawed: int) -> int:
    """Points a return takes back, pro rata to the eligible amount returned so far.

    Worked out cumulatively (what all returns so far should have taken, minus what earlier returns
    took), so returning everything in several steps takes back exactly what the sale earned."""
    if earned <= 0 or eligible_sold_cents <= 0:
        return 0
    returned = min(eligible_returned_cents, eligible_sold_cents)
    target = (2 * earned * returned + eligible_sold_cents) // (2 * eligible_sold_cents)
    return max(min(target, earned) - already_clawed, 0)


def expiring(program: LoyaltyProgram, ledger: Sequence[LedgerLine], *, now: datetime) -> list[Expiry]:
    """The lots that lapse now. Negative entries (redeem, void, clawback, expire) consume the
    oldest lots first (FIFO by date), so what expires is whatever is left of lots older than the
    expiry period. A lot already expired has been consumed by its own expire entry."""
    if program.expiry_days <= 0:
        return []
    lots: list[list] = []  # [entry_id, at, remaining]
    debt = 0
    for line in sorted(ledger, key=lambda ln: (ln.at, ln.entry_id)):
        if line.points > 0:
            take = min(debt, line.points)
            debt -= take
            lots.append([line.entry_id, line.at, line.points - take])
            continue
        owed = -line.points
        for lot in lots:
            if owed == 0:
                break
            take = min(lot[2], owed)
            lot[2] -= take
            owed -= take
        debt += owed  # more spent than held: later credits repay it first
    cutoff = now - timedelta(days=program.expiry_days)
    return [Expiry(lot_entry_id=entry_id, points=left) for entry_id, at, left in lots if left > 0 and at <= cutoff]


class Allowance(msgspec.Struct, frozen=True, kw_only=True):
    """How many points may be redeemed right now, and why that many."""

    points: int
    offline: bool


def allowance(program: LoyaltyProgram, *, balance: int, offline: bool, offline_redeemed: int = 0) -> Allowance:
    """Online: the balance. Offline (the store cannot reach HQ, so another store may be spending the
    same points): at most the balance the store last saw and at most the tenant's offline cap,
    less what this customer already redeemed offline here since the store last heard from HQ."""
    if not offline:
        return Allowance(points=max(balance, 0), offline=False)
    return Allowance(points=max(min(balance, program.offline_cap_points - offline_redeemed), 0), offline=True)


def check_redemption(program: LoyaltyProgram, points: int, room: Allowance, *, field: str = "tenders") -> None:
    """Refuse a redemption the cashier cannot accept, in words they can read to the customer."""
    if not program.enabled:
        raise ValidationFailed("this store's loyalty program is not active, so points cannot pay",
                               code="loyalty-disabled", errors=[{"field": field, "message": "loyalty is off"}])
    if points < program.min_redeem_points:
        raise ValidationFailed(f"at least {program.min_redeem_points} points must be redeemed at a time",
                               code="loyalty-below-minimum",
                               errors=[{"field": field, "message": f"at least {program.min_redeem_points} points"}])
    if points > room.points:
        if room.offline:
            detail = (f"the store cannot reach head office, so at most {room.points} points can be redeemed "
                      f"now; the customer asked for {points}")
        else:
            detail = f"the customer has only {room.points} points; {points} were asked for"
        raise ValidationFailed(detail, code="loyalty-insufficient-points",
                               errors=[{"field": field, "message": f"at most {room.points} points"}])
