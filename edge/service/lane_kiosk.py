"""What a lane records about itself as a kiosk: unlocks, supervisor approvals, removed lines.

None of these moves money or stock, but each is what loss prevention asks about afterwards:
who unlocked a lane left alone with a sale on it, who let an item the lane believed out of
stock be sold, and which scanned items were taken off a sale before payment, and why.
"""

from __future__ import annotations

import msgspec

from edge.domain.errors import ValidationFailed
from edge.service.ports import UnitOfWork


class Unlocked(msgspec.Struct, frozen=True, kw_only=True):
    lane_id: str
    unlocked_by: str
    role: str = msgspec.field(name="as")  # cashier (their own PIN) or supervisor
    at: str


class Approved(msgspec.Struct, frozen=True, kw_only=True):
    """A supervisor's approval of what the lane would otherwise refuse (an out-of-stock sale)."""

    lane_id: str
    action: str
    product_id: str
    sku: str | None
    name: str | None
    quantity: int
    approved_by: str
    cashier: str
    at: str


class LineRemoved(msgspec.Struct, frozen=True, kw_only=True):
    lane_id: str
    product_id: str
    sku: str
    name: str
    quantity: int
    reason: str
    cashier: str
    at: str


def record_unlock(uow: UnitOfWork, lane_id: str, *, by: str, role: str) -> Unlocked:
    uow.audit("lane.unlocked", "lane", lane_id, None, {"by": by, "as": role, "cashier": uow.actor.username})
    return Unlocked(lane_id=lane_id, unlocked_by=by, role=role, at=uow.now)


def record_approval(uow: UnitOfWork, lane_id: str, *, action: str, product_id: str, quantity: int,
                    approved_by: str) -> Approved:
    product = uow.catalog.get(product_id) if product_id else None
    if product_id and product is None:
        raise ValidationFailed("no such product", errors=[{"field": "product_id", "message": "unknown product"}])
    after = {"action": action, "product_id": product_id, "sku": product.sku if product else None,
             "name": product.name if product else None, "quantity": quantity, "approved_by": approved_by,
             "cashier": uow.actor.username}
    uow.audit("lane.approved", "lane", lane_id, None, after)
    return Approved(lane_id=lane_id, **after, at=uow.now)


def record_line_removal(uow: UnitOfWork, lane_id: str, *, product_id: str, quantity: int, reason: str,
                        reason_required: bool) -> LineRemoved:
    reason = reason.strip()
    if reason_required and not reason:
        raise ValidationFailed("say why the item comes off the sale", code="reason-required",
                               errors=[{"field": "reason", "message": "required by the store's policy"}])
    product = uow.catalog.get(product_id)
    if product is None:
        raise ValidationFailed("no such product", errors=[{"field": "product_id", "message": "unknown product"}])
    removed = {"product_id": product_id, "sku": product.sku, "name": product.name, "quantity": quantity,
               "reason": reason, "cashier": uow.actor.username}
    uow.audit("lane.line_removed", "lane", lane_id, removed, None)
    return LineRemoved(lane_id=lane_id, **removed, at=uow.now)
