"""The verdict on an order a lane sold while offline and replays now.

The sale already happened: the customer paid the lane's price and left with the goods. So it is
never refused. It is recorded at the lane's prices and judged against today's catalog and stock:

- `duplicate`: its idempotency key was already recorded; the stored result is replayed;
- `accepted_with_stock_conflict`: it takes a product below zero available (takes precedence,
  because stock needs someone to look at the shelf);
- `accepted_with_price_variance`: a lane price differs from today's catalog price;
- `accepted`: nothing to review.

The judgement lists every variance and conflict, whatever the verdict, for the review queue.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

import msgspec

from edge.domain.money import GRAMS_PER_KG, Rounding, round_div
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
