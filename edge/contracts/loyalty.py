"""The loyalty program a tenant edits at HQ; it reaches stores inside the policy document.

Points are whole numbers. Money is integer minor units. Every number is bounded.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Bps = Annotated[int, msgspec.Meta(ge=0, le=100_000)]  # 10_000 is 1x; tier multipliers go up to 10x


class Tier(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    # Reached when the points earned over the rolling window are at least this.
    threshold_points: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
    earn_multiplier_bps: Bps = 10_000


class LoyaltyProgram(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = False
    # Earning: points per major currency unit of the eligible net amount (after discounts, before tax).
    points_per_unit: Annotated[int, msgspec.Meta(ge=0, le=1_000)] = 1
    rounding: Literal["floor", "half_up"] = "floor"
    excluded_tax_categories: Annotated[tuple[str, ...], msgspec.Meta(max_length=50)] = ()
    excluded_skus: Annotated[tuple[str, ...], msgspec.Meta(max_length=1_000)] = ()
    # Tiers, by threshold over a rolling window of earned points; the first tier has threshold 0.
    tier_window_days: Annotated[int, msgspec.Meta(ge=1, le=1_095)] = 365
    tiers: Annotated[tuple[Tier, ...], msgspec.Meta(max_length=10)] = (Tier(name="Member", threshold_points=0),)
    # Redeeming: one point is worth this many minor units; at least this many points at a time.
    point_value_cents: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    min_redeem_points: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100
    # Points expire this long after they were earned (0: never).
    expiry_days: Annotated[int, msgspec.Meta(ge=0, le=3_650)] = 0
    # While the store cannot reach HQ a customer may redeem at most this many points (and at most
    # the balance the store last saw).
    offline_cap_points: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 500

    def __post_init__(self) -> None:
        thresholds = [t.threshold_points for t in self.tiers]
        if not thresholds or thresholds[0] != 0 or thresholds != sorted(set(thresholds)):
            raise ValueError("tiers need rising thresholds, the first at 0")


# The ledger kinds that count towards a tier (earnings net of what voids and returns took back):
# the stores and HQ both sum these over the program's tier window.
TIER_KINDS = ("earn", "void", "clawback")
