"""Pricing: extended prices, discounts, tax per line, and totals.

The order of operations is fixed, because every step rounds and the order changes cents:

1. extended price: unit price x quantity, or price per kg x grams / 1000 rounded;
2. line discount (cents, or basis points of the extended price rounded), capped at the price;
3. order discount allocated over lines in proportion to what is left of each line
   (`money.allocate`: the remainder cent goes deterministically to the largest remainders);
4. tax per line on what remains, rounded per line, so that the lines always sum to the totals
   printed on the receipt. Exclusive tax is added on top; inclusive tax is backed out of the
   shelf price as price x rate / (10000 + rate).

So for every line `net_cents + tax_cents == total_cents`, and for the order
`subtotal_cents + tax_cents == total_cents` with each figure the sum over its lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from edge.domain.errors import ValidationFailed
from edge.domain.money import BPS_PER_UNIT, GRAMS_PER_KG, Rounding, allocate, apply_bps, round_div

# Units on one line. Far beyond any counter sale, so it only ever catches a slip: a barcode
# scanned into the quantity field, a key held down. Request schemas cap quantities with it too.
MAX_LINE_QUANTITY = 10_000
MAX_WEIGHT_GRAMS = 1_000_000  # one tonne: a stuck scale or a typo, not a sale


class TaxCategory(msgspec.Struct, frozen=True):
    """A tax category as configured per store: a rate in basis points, inclusive or not."""

    code: str
    rate_bps: int
    inclusive: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.rate_bps <= BPS_PER_UNIT:
            raise ValidationFailed(f"tax rate for {self.code} must be 0-10000 bp, got {self.rate_bps}",
                                   code="bad-tax-rate")


class PricingRules(msgspec.Struct, frozen=True):
    """Store pricing configuration. Rounding applies to tax, weights and percentage discounts."""

    tax_categories: Mapping[str, TaxCategory]
    rounding: Rounding = Rounding.HALF_UP


class LineItem(msgspec.Struct, frozen=True, kw_only=True):
    """One line to price. A weighed line has weight_grams and a price per kg as unit_price_cents."""

    line_id: str
    product_id: str
    sku: str
    name: str = ""
    unit_price_cents: int
    tax_category: str
    quantity: int = 1
    weight_grams: int | None = None
    discount_cents: int = 0
    discount_bps: int = 0

    @property
    def weighed(self) -> bool:
        return self.weight_grams is not None


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    line_id: str
    product_id: str
    sku: str
    name: str
    quantity: int
    weight_grams: int | None
    unit_price_cents: int  # per unit, or per kg for a weighed line
    tax_category: str
    tax_rate_bps: int
    tax_inclusive: bool
    extended_cents: int  # before any discount, at shelf price
    line_discount_cents: int
    order_discount_cents: int
    net_cents: int  # excluding tax, after discounts
    tax_cents: int
    total_cents: int  # what the customer pays for the line

    @property
    def discount_cents(self) -> int:
        return self.line_discount_cents + self.order_discount_cents


class PricedOrder(msgspec.Struct, frozen=True, kw_only=True):
    lines: tuple[PricedLine, ...]
    extended_cents: int
    discount_cents: int
    subtotal_cents: int
    tax_cents: int
    total_cents: int

    def tax_by_rate(self) -> dict[tuple[str, int], int]:
        """Tax per (category, rate) for the receipt's tax summary."""
        summary: dict[tuple[str, int], int] = {}
        for line in self.lines:
            key = (line.tax_category, line.tax_rate_bps)
            summary[key] = summary.get(key, 0) + line.tax_cents
        return summary


class OrderDiscount(msgspec.Struct, frozen=True):
    """A discount on the whole order: fixed cents or basis points of the discounted lines."""

    cents: int = 0
    bps: int = 0


def extended_price(item: LineItem, rounding: Rounding) -> int:
    if item.weight_grams is not None:
        # Price per kg x grams: the one place a weight becomes money, rounded explicitly.
        return round_div(item.unit_price_cents * item.weight_grams, GRAMS_PER_KG, rounding)
    return item.unit_price_cents * item.quantity


def tax_of(amount_cents: int, category: TaxCategory, rounding: Rounding) -> int:
    """The tax contained in (inclusive) or due on top of (exclusive) an amount."""
    if category.inclusive:
        return round_div(amount_cents * category.rate_bps, BPS_PER_UNIT + category.rate_bps, rounding)
    return apply_bps(amount_cents, category.rate_bps, rounding)


def _line_problems(index: int, item: LineItem, rules: PricingRules) -> list[dict[str, str]]:
    problems = []

    def bad(field: str, message: str) -> None:
        problems.append({"field": f"lines[{index}].{field}", "message": message})

    if item.unit_price_cents < 0:
        bad("unit_price_cents", "0 or more")
    if item.weight_grams is not None:
        if item.quantity != 1:
            bad("quantity", "a weighed line has quantity 1 and a weight")
        if not 0 < item.weight_grams <= MAX_WEIGHT_GRAMS:
            bad("weight_grams", f"1 to {MAX_WEIGHT_GRAMS} grams")
    elif not 0 < item.quantity <= MAX_LINE_QUANTITY:
        bad("quantity", f"1 to {MAX_LINE_QUANTITY}")
    if item.discount_cents < 0:
        bad("discount_cents", "0 or more")
    if not 0 <= item.discount_bps <= BPS_PER_UNIT:
        bad("discount_bps", "0 to 10000")
    if item.discount_cents and item.discount_bps:
        bad("discount_cents", "give a discount in cents or in basis points, not both")
    if item.tax_category not in rules.tax_categories:
        bad("tax_category", f"unknown tax category {item.tax_category!r}")
    return problems


def price_order(items: Sequence[LineItem], rules: PricingRules,
                order_discount: OrderDiscount | None = None) -> PricedOrder:
    """Price lines and an optional order discount. Pure and deterministic."""
    order_discount = order_discount or OrderDiscount()
    problems = [p for i, item in enumerate(items) for p in _line_problems(i, item, rules)]
    if order_discount.cents < 0 or not 0 <= order_discount.bps <= BPS_PER_UNIT:
        problems.append({"field": "order_discount", "message": "0 or more cents, or 0-10000 bp"})
    if order_discount.cents and order_discount.bps:
        problems.append({"field": "order_discount", "message": "cents or basis points, not both"})
    if not items:
        problems.append({"field": "lines", "message": "an order needs at least one line"})
    if problems:
        raise ValidationFailed("the order cannot be priced", code="invalid-lines", errors=problems)

    rounding = rules.rounding
    extended = [extended_price(item, rounding) for item in items]
    line_discounts = []
    for item, price in zip(items, extended, strict=True):
        wanted = item.discount_cents or apply_bps(price, item.discount_bps, rounding)
        line_discounts.append(min(wanted, price))
    after_line = [price - disc for price, disc in zip(extended, line_discounts, strict=True)]

    base = sum(after_line)
    wanted_order = order_discount.cents or apply_bps(base, order_discount.bps, rounding)
    order_total_discount = min(wanted_order, base)
    shares = allocate(order_total_discount, after_line) if base else [0] * len(items)

    lines = []
    for item, price, line_disc, order_disc, remaining in zip(
            items, extended, line_discounts, shares, after_line, strict=True):
        category = rules.tax_categories[item.tax_category]
        charged = remaining - order_disc  # at shelf-price basis: incl. tax if inclusive
        tax = tax_of(charged, category, rounding)
        net, total = (charged - tax, charged) if category.inclusive else (charged, charged + tax)
        lines.append(PricedLine(
            line_id=item.line_id, product_id=item.product_id, sku=item.sku, name=item.name,
            quantity=item.quantity, weight_grams=item.weight_grams, unit_price_cents=item.unit_price_cents,
            tax_category=category.code, tax_rate_bps=category.rate_bps, tax_inclusive=category.inclusive,
            extended_cents=price, line_discount_cents=line_disc, order_discount_cents=order_disc,
            net_cents=net, tax_cents=tax, total_cents=total,
        ))
    return PricedOrder(
        lines=tuple(lines),
        extended_cents=sum(extended),
        discount_cents=sum(line.discount_cents for line in lines),
        subtotal_cents=sum(line.net_cents for line in lines),
        tax_cents=sum(line.tax_cents for line in lines),
        total_cents=sum(line.total_cents for line in lines),
    )
