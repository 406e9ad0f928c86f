"""BOPIS wire contracts: the commands HQ sends a store and the status events the store answers.

HQ allocates a web order to a store with `bopis.reserve` (and may withdraw it with
`bopis.cancel`); the store answers every change of the order's state with one `bopis.<status>`
event carrying `PickupStatusChanged`. HQ and the store decode with these same Structs; fields
are only ever appended, with defaults, so an older store or hub still decodes a newer message.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from edge.contracts.bounds import Quantity, SafeId, Sku, line

MAX_PICKUP_LINES = 100  # a web order's lines
Reason = line(200)

# The order's life at the store; each one is also the suffix of the event that announces it.
STATUSES = ("received", "accepted", "rejected", "picked", "ready", "completed", "cancelled", "expired")
STATUS_EVENTS = tuple(f"bopis.{s}" for s in STATUSES)


class PickupLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sku: Sku
    quantity: Quantity


class ReservePickup(msgspec.Struct, frozen=True, kw_only=True):
    """`bopis.reserve`: hold these lines for the customer. `prepaid`: paid online, so the store
    records the pickup as a sale tendered `prepaid`; otherwise the customer pays at pickup."""

    order_id: SafeId
    lines: Annotated[list[PickupLine], msgspec.Meta(min_length=1, max_length=MAX_PICKUP_LINES)]
    prepaid: bool = False
    hold_hours: Annotated[int, msgspec.Meta(ge=1, le=7 * 24)] = 72  # how long the store keeps it


class CancelPickup(msgspec.Struct, frozen=True, kw_only=True):
    """`bopis.cancel`: the customer or the web shop withdrew the order; the stock is released."""

    order_id: SafeId
    reason: Reason | None = None


class PickupStatusChanged(msgspec.Struct, frozen=True, kw_only=True):
    """The payload of every `bopis.<status>` event (schema 1)."""

    order_id: str
    status: str
    reason: str | None = None
    sale_order_id: str | None = None  # the store's sale, once picked up
    total_cents: int | None = None  # what that sale came to
    prepaid: bool = False



def reserve_payload(payload: dict[str, Any]) -> ReservePickup:
    """Decode a `bopis.reserve` command's payload; raises `msgspec.ValidationError` when invalid."""
    return msgspec.convert(payload, ReservePickup)


def cancel_payload(payload: dict[str, Any]) -> CancelPickup:
    return msgspec.convert(payload, CancelPickup)


def status_payload(payload: dict[str, Any]) -> PickupStatusChanged:
    return msgspec.convert(payload, PickupStatusChanged)
