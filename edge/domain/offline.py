"""The verdict on an order a lane sold while offline and replays now.

The sale already happened: the customer paid the lane's price and left with the goods. So it is
never refused. It is recorded at the lane's prices and judged against today's catalog and stock:

- `duplicate`: its idempotency key was already recorded; the stored result is replayed;
- `accepted_with_stock_conflict`: it takes a product below zero available (takes precedence,
  because stock needs someone to look at the shelf);
- `accepted_with_price_variance`: a lane price differs from today's catalog price;
- `accepted`: nothing to review.

The judgement lists every variance and conflict, whatever the verdict, for the review queue.

Lane prices are what make offline replay worth defrauding: an online cashier could claim any
sale was "offline" and name their own price. So a claim is honoured only when it is plausible
(`check_offline_time`: not in the future beyond clock skew, not older than the longest outage
the store accepts), and a lane price far below today's (`undercharged`) needs a supervisor's
approval before the sale is recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import msgspec

from edge.domain.errors import ValidationFailed
from edge.domain.money import BPS_PER_UNIT, GRAMS_PER_KG, Rounding, round_div
from edge.domain.orders import stock_units


class OfflineVerdict(enum.StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_PRICE_VARIANCE = "accepted_with_price_variance"
    ACCEPTED_WITH_STOCK_CONFLICT = "accepted_with_stock_conflict"
    DUPLICATE = "duplicate"


class OfflineLine(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    quantity: int
    lane_unit_price_cents: int  # what the lane's cached catalog charged (per kg for a weighed line)
    weight_grams: int | None = None

    @property
    def stock_units(self) -> int:
        return stock_units(self.quantity, self.weight_grams)

    def amount_at(self, unit_price_cents: int, rounding: Rounding = Rounding.HALF_UP) -> int:
        if self.weight_grams is not None:
            return round_div(unit_price_cents * self.weight_grams, GRAMS_PER_KG, rounding)
        return unit_price_cents * self.quantity


class PriceVariance(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    quantity: int
    lane_unit_price_cents: int
    catalog_unit_price_cents: int | None  # None: the product is no longer in the catalog
    variance_cents: int  # lane amount - catalog amount: negative means the customer paid less


class OfflineStockConflict(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    quantity: int
    available_before: int
    shortfall: int


class OfflineJudgement(msgspec.Struct, frozen=True, kw_only=True):
    verdict: OfflineVerdict
    price_variances: tuple[PriceVariance, ...] = ()
    stock_conflicts: tuple[OfflineStockConflict, ...] = ()

    @property
    def needs_review(self) -> bool:
        return bool(self.price_variances or self.stock_conflicts)


def judge_offline_order(lines: Sequence[OfflineLine], *, catalog_prices: Mapping[str, int],
                        available: Mapping[str, int], already_recorded: bool) -> OfflineJudgement:
    """catalog_prices and available are keyed by product id, as they stand now (before this sale)."""
    if already_recorded:
        return OfflineJudgement(verdict=OfflineVerdict.DUPLICATE)

    variances = []
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.stock_units
        catalog = catalog_prices.get(line.product_id)
        if catalog != line.lane_unit_price_cents:
            difference = line.amount_at(line.lane_unit_price_cents) - line.amount_at(catalog or 0)
            variances.append(PriceVariance(product_id=line.product_id, quantity=line.quantity,
                                           lane_unit_price_cents=line.lane_unit_price_cents,
                                           catalog_unit_price_cents=catalog,
                                           variance_cents=difference))
    conflicts = []
    for product_id, quantity in wanted.items():  # summed: two lines of one product share its stock
        before = available.get(product_id, 0)
        if quantity > before:
            conflicts.append(OfflineStockConflict(product_id=product_id, quantity=quantity, available_before=before,
                                                  shortfall=quantity - max(before, 0)))
    if conflicts:
        verdict = OfflineVerdict.ACCEPTED_WITH_STOCK_CONFLICT
    elif variances:
        verdict = OfflineVerdict.ACCEPTED_WITH_PRICE_VARIANCE
    else:
        verdict = OfflineVerdict.ACCEPTED
    return OfflineJudgement(verdict=verdict, price_variances=tuple(variances), stock_conflicts=tuple(conflicts))


def check_offline_time(created_at: str, *, now: datetime, max_age_s: int, clock_skew_s: int) -> datetime:
    """When a replayed sale says it was rung up: an aware timestamp, no later than now plus the
    allowed clock skew, and no older than `max_age_s`. Raises ValidationFailed otherwise."""
    field = [{"field": "offline_created_at", "message": "an ISO 8601 time with its UTC offset"}]
    try:
        at = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ValidationFailed("offline_created_at is not a timestamp", code="offline-time-invalid",
                               errors=field) from None
    if at.tzinfo is None:
        raise ValidationFailed("offline_created_at needs its UTC offset", code="offline-time-invalid", errors=field)
    if at > now + timedelta(seconds=clock_skew_s):
        raise ValidationFailed(
            "offline_created_at is in the future: check the lane's clock", code="offline-time-in-future",
            errors=[{"field": "offline_created_at", "message": f"later than now plus {clock_skew_s} s"}])
    if at < now - timedelta(seconds=max_age_s):
        hours = max_age_s // 3600
        raise ValidationFailed(
            f"this sale was made offline more than {hours} h ago, too long to replay at the lane's prices; "
            "a manager records it by hand", code="offline-sale-too-old",
            errors=[{"field": "offline_created_at", "message": f"older than {hours} h"}])
    return at


def undercharged(lines: Sequence[OfflineLine], *, catalog_prices: Mapping[str, int],
                 threshold_bps: int) -> tuple[PriceVariance, ...]:
    """Lines sold below today's catalog amount by more than `threshold_bps` of it.

    Per line, not per order: one line at a cent hidden in a large basket is still found. A lane
    that charged more than today's price is not here (that is a price-variance case to review,
    not money lost at the till)."""
    found = []
    for line in lines:
        catalog = catalog_prices.get(line.product_id)
        if catalog is None:
            continue
        catalog_amount = line.amount_at(catalog)
        shortfall = catalog_amount - line.amount_at(line.lane_unit_price_cents)
        if shortfall > 0 and shortfall * BPS_PER_UNIT > threshold_bps * catalog_amount:
            found.append(PriceVariance(product_id=line.product_id, quantity=line.quantity,
                                       lane_unit_price_cents=line.lane_unit_price_cents,
                                       catalog_unit_price_cents=catalog, variance_cents=-shortfall))
    return tuple(found)
