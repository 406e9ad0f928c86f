"""The `loyalty` block of the customer 360 view: balance, tier, progress, what can be redeemed now."""

from __future__ import annotations

from typing import Any

from edge.contracts.loyalty import LoyaltyProgram
from edge.domain.loyalty import allowance, next_tier, tier_for


def loyalty_block(program: LoyaltyProgram, balance_points: int, earned_in_window: int, offline: bool,
                  offline_redeemed: int = 0) -> dict[str, Any]:
    """What the lane shows: `redeemable_points` is what a points tender may take right now (while
    HQ is out of reach, at most the offline cap), rounded down to nothing below the minimum."""
    tier, upcoming = tier_for(program, earned_in_window), next_tier(program, earned_in_window)
    room = allowance(program, balance=balance_points, offline=offline, offline_redeemed=offline_redeemed).points
    return {"enabled": program.enabled, "balance_points": balance_points, "tier": tier.name,
            "next_tier": upcoming.name if upcoming else None,
            "points_to_next_tier": upcoming.threshold_points - earned_in_window if upcoming else 0,
            "earned_in_window": earned_in_window, "tier_window_days": program.tier_window_days,
            "redeemable_points": room if program.enabled and room >= program.min_redeem_points else 0,
            "min_redeem_points": program.min_redeem_points, "point_value_cents": program.point_value_cents,
            "offline": offline}
