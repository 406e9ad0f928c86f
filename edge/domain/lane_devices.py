"""What a lane's devices do for a completed sale: the receipt, the cash drawer, the display.

Devices react after the sale has committed, so these rules never decide whether a sale stands,
only whether a reaction still helps the person at the counter.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import msgspec

from edge.domain.tenders import TenderMethod


class CompletedSale(msgspec.Struct, frozen=True, kw_only=True):
    """What the device rules need to know about a completed sale."""

    order_id: str
    lane_id: str | None = None
    tender_methods: frozenset[str] = frozenset()
    offline_created_at: str | None = None  # set when a lane rang it up offline and replayed it later
    completed_at: datetime | None = None  # None when unknown: then it is never judged stale


class NoReaction(enum.StrEnum):
    NO_LANE = "no lane"  # sold through the API without a lane: there is no counter to serve
    OFFLINE_REPLAY = "offline replay"
    STALE = "stale"


def why_devices_stay_idle(sale: CompletedSale, *, now: datetime, stale_after: timedelta) -> NoReaction | None:
    """Why the lane prints no receipt, opens no drawer and shows nothing for this sale, if so.

    A sale replayed from a lane's offline queue, or one that completed longer ago than
    `stale_after` (the box was down), happened while the customer stood at the counter; the
    customer has long gone, and a drawer springing open now only invites theft.
    """
    if not sale.lane_id:
        return NoReaction.NO_LANE
    if sale.offline_created_at:
        return NoReaction.OFFLINE_REPLAY
    if sale.completed_at is not None and now - sale.completed_at > stale_after:
        return NoReaction.STALE
    return None


def opens_drawer(sale: CompletedSale) -> bool:
    """Only a sale with a cash tender opens the drawer: card, crypto and exchange credit put
    nothing in it, and an open drawer with no reason is a cash-control finding."""
    return TenderMethod.CASH in sale.tender_methods
