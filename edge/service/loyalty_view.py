"""The `loyalty` block of the customer 360 view: balance, tier and the way to the next tier.

A minimal version: the tier is read from the program's thresholds against the points earned in
the tier window (0 until a ledger provides them); the loyalty feature replaces this module with
the ledger-backed one, same signature.
"""

from __future__ import annotations

from typing import Any

from edge.contracts.loyalty import LoyaltyProgram


def loyalty_block(program: LoyaltyProgram, balance_points: int, earned_in_window: int, offline: bool) -> dict[str, Any]:
    tiers = program.tiers
    current = tiers[0]
    following = None
    for i, tier in enumerate(tiers):
        if earned_in_window >= tier.threshold_points:
            current = tier
            following = tiers[i + 1] if i + 1 < len(tiers) else None
    redeemable = balance_points if balance_points >= program.min_redeem_points else 0
    if offline:
        redeemable = min(redeemable, program.offline_cap_points)
    return {"balance_points": balance_points, "tier": current.name,
            "next_tier": following.name if following else None,
            "points_to_next_tier": max(following.threshold_points - earned_in_window, 0) if following else 0,
            "redeemable_points": max(redeemable, 0), "point_value_cents": program.point_value_cents,
            "offline": offline}
