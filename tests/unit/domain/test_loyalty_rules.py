"""The loyalty program's pure rules: earning, tiers, returns, expiry and the offline allowance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.contracts.loyalty import LoyaltyProgram, Tier
from edge.domain.errors import ValidationFailed
from edge.domain.loyalty import (
    EarnLine,
    LedgerLine,
    allowance,
    check_redemption,
    clawback_points,
    eligible_cents,
    expiring,
    next_tier,
    points_earned,
    tier_for,
)

PROGRAM = LoyaltyProgram(
    enabled=True, points_per_unit=2, excluded_tax_categories=("tobacco",), excluded_skus=("GIFT-CARD",),
    tiers=(Tier(name="Member", threshold_points=0), Tier(name="Gold", threshold_points=1_000, earn_multiplier_bps=15_000)),
)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_excluded_products_and_tax_categories_earn_nothing():
    lines = [EarnLine(sku="MILK", tax_category="food", net_cents=1_050),
             EarnLine(sku="CIGS", tax_category="tobacco", net_cents=900),
             EarnLine(sku="GIFT-CARD", tax_category="none", net_cents=5_000)]
    eligible = eligible_cents(PROGRAM, lines, total_cents=7_200)
    assert eligible == 1_050
    assert points_earned(PROGRAM, eligible, earned_in_window=0) == 21  # 10.50 x 2


def test_rounding_floor_and_half_up():
    assert points_earned(PROGRAM, 1_075, earned_in_window=0) == 21  # 21.5 floored
    half_up = LoyaltyProgram(enabled=True, points_per_unit=2, rounding="half_up")
    assert points_earned(half_up, 1_075, earned_in_window=0) == 22
    assert points_earned(half_up, 1_074, earned_in_window=0) == 21  # 21.48


def test_the_part_paid_with_points_does_not_earn():
    lines = [EarnLine(sku="SHOES", tax_category="std", net_cents=10_000)]
    assert eligible_cents(PROGRAM, lines, total_cents=12_000, points_paid_cents=3_000) == 7_500


def test_a_tier_upgrade_changes_the_multiplier():
    assert tier_for(PROGRAM, 999).name == "Member"
    assert points_earned(PROGRAM, 10_000, earned_in_window=999) == 200
    assert tier_for(PROGRAM, 1_000).name == "Gold"
    assert points_earned(PROGRAM, 10_000, earned_in_window=1_000) == 300
    assert next_tier(PROGRAM, 400).name == "Gold"
    assert next_tier(PROGRAM, 1_000) is None


def test_a_disabled_program_earns_nothing():
    assert points_earned(LoyaltyProgram(enabled=False), 10_000, earned_in_window=0) == 0


def test_returns_claw_back_pro_rata_and_in_steps_exactly_what_was_earned():
    first = clawback_points(101, eligible_sold_cents=3_000, eligible_returned_cents=1_000, already_clawed=0)
    assert first == 34  # 33.67 rounded
    second = clawback_points(101, eligible_sold_cents=3_000, eligible_returned_cents=2_000, already_clawed=first)
    third = clawback_points(101, eligible_sold_cents=3_000, eligible_returned_cents=3_000,
                            already_clawed=first + second)
    assert first + second + third == 101
    assert clawback_points(0, eligible_sold_cents=3_000, eligible_returned_cents=3_000, already_clawed=0) == 0


def _line(entry_id: str, kind: str, points: int, days_ago: int) -> LedgerLine:
    return LedgerLine(entry_id=entry_id, kind=kind, points=points, at=NOW - timedelta(days=days_ago))


def test_expiry_takes_the_oldest_points_first():
    program = LoyaltyProgram(enabled=True, expiry_days=365)
    ledger = [_line("a", "earn", 100, 400), _line("b", "earn", 50, 380), _line("c", "earn", 70, 10),
              _line("r", "redeem", -120, 5)]
    # The redemption used a (100) and 20 of b, so 30 of b lapse; c is recent and stays.
    assert [(e.lot_entry_id, e.points) for e in expiring(program, ledger, now=NOW)] == [("b", 30)]
    ledger.append(_line("b:expire", "expire", -30, 0))
    assert expiring(program, ledger, now=NOW) == []


def test_no_expiry_when_the_program_has_none():
    assert expiring(LoyaltyProgram(enabled=True), [_line("a", "earn", 100, 4_000)], now=NOW) == []


def test_offline_redemption_is_capped_by_the_cached_balance_and_the_cap():
    program = LoyaltyProgram(enabled=True, offline_cap_points=500, min_redeem_points=100)
    assert allowance(program, balance=2_000, offline=False).points == 2_000
    assert allowance(program, balance=2_000, offline=True).points == 500
    assert allowance(program, balance=300, offline=True).points == 300
    assert allowance(program, balance=2_000, offline=True, offline_redeemed=400).points == 100
    with pytest.raises(ValidationFailed) as refused:
        check_redemption(program, 600, allowance(program, balance=2_000, offline=True))
    assert refused.value.code == "loyalty-insufficient-points"
    assert "cannot reach head office" in refused.value.detail


def test_overdraft_and_below_minimum_are_refused_in_the_cashiers_words():
    program = LoyaltyProgram(enabled=True, min_redeem_points=100)
    with pytest.raises(ValidationFailed) as refused:
        check_redemption(program, 250, allowance(program, balance=200, offline=False))
    assert refused.value.detail == "the customer has only 200 points; 250 were asked for"
    with pytest.raises(ValidationFailed) as small:
        check_redemption(program, 50, allowance(program, balance=200, offline=False))
    assert small.value.code == "loyalty-below-minimum"
    check_redemption(program, 200, allowance(program, balance=200, offline=False))
