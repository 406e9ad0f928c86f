"""Stock levels: what can still be sold, and when a product runs low.

The ledger itself is the store's `stock_movements` table (each movement a fact with its own
id), with a per-(location, product) level cache moved in the same transaction. These are the
rules every reader and writer of that ledger applies. That an offline sale is never refused
for stock is the offline verdict's rule (`edge.domain.offline`).
"""

from __future__ import annotations

import enum


def available(on_hand: int, reserved: int) -> int:
    """What can still be sold or promised: on hand less what active reservations hold."""
    return on_hand - reserved


def is_low_stock(available: int, threshold: int | None) -> bool:
    """At or below a positive threshold.

    A threshold of 0 (the catalog's default) or none means the product is not watched, as in
    most retail systems: a product nobody set a reorder point for would otherwise show up as
    low the moment it sells out, and a store with thousands of such products would drown its
    manager in alerts nobody asked for. To be told at zero, set the threshold to 1.
    """
    return threshold is not None and threshold > 0 and available <= threshold


class LowStockChange(enum.StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


def low_stock_change(available: int, threshold: int | None, *, flagged: bool) -> LowStockChange | None:
    """How a product's low-stock flag moves after a change of stock, if at all.

    The flag latches: it is raised once when the product goes low and cleared once when it
    recovers, so a manager hears one alert per dip rather than one per sale while it stays low.
    """
    low = is_low_stock(available, threshold)
    if low and not flagged:
        return LowStockChange.RAISED
    if flagged and not low:
        return LowStockChange.CLEARED
    return None
