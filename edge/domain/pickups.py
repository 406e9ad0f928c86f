"""A BOPIS pickup's life at the store, as a store manager sees it.

    received ─► accepted (stock held) ─► picked ─► ready ─► completed (a sale)
        │            │                      │         │
        └► rejected  └──────── cancelled or expired (stock released) ◄┘

A rejection needs a reason (HQ routes the order to the next store and shows why). Completed,
rejected, cancelled and expired are final: a late command or a second click changes nothing.
"""

from __future__ import annotations

import enum

from edge.domain.errors import Conflict, ValidationFailed


class PickupStatus(enum.StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PICKED = "picked"
    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


_NEXT: dict[PickupStatus, frozenset[PickupStatus]] = {
    PickupStatus.RECEIVED: frozenset({PickupStatus.ACCEPTED, PickupStatus.REJECTED, PickupStatus.CANCELLED}),
    PickupStatus.ACCEPTED: frozenset({PickupStatus.PICKED, PickupStatus.CANCELLED, PickupStatus.EXPIRED}),
    PickupStatus.PICKED: frozenset({PickupStatus.READY, PickupStatus.CANCELLED, PickupStatus.EXPIRED}),
    PickupStatus.READY: frozenset({PickupStatus.COMPLETED, PickupStatus.CANCELLED, PickupStatus.EXPIRED}),
}
HOLDING_STOCK = frozenset({PickupStatus.ACCEPTED, PickupStatus.PICKED, PickupStatus.READY})
FINAL = frozenset(set(PickupStatus) - set(_NEXT))


def check_transition(current: str, target: PickupStatus, *, reason: str | None = None) -> None:
    """Raise unless a pickup in `current` may move to `target`."""
    if target is PickupStatus.REJECTED and not (reason or "").strip():
        raise ValidationFailed("a rejection needs a reason", code="reason-required",
                               errors=[{"field": "reason", "message": "say why, e.g. out of stock or damaged"}])
    if target not in _NEXT.get(PickupStatus(current), frozenset()):
        raise Conflict(f"a pickup that is {current} cannot become {target}", code="illegal-transition")


def holds_stock(status: str) -> bool:
    return PickupStatus(status) in HOLDING_STOCK
