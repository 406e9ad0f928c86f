"""BOPIS pickups at the store: HQ's `bopis.reserve` becomes an order the store works through.

Each use case runs in one unit of work: it checks the transition (`edge.domain.pickups`),
changes the pickup row, audits, and emits `bopis.<status>` (a `PickupStatusChanged`), which the
relay carries to HQ. Stock is held by an ordinary BOPIS reservation from acceptance until the
pickup is completed (the hold becomes a sale) or cancelled/expired (the hold is released).

How a pickup is recorded as a sale: completing it rings up a normal sale on the lane, priced by
the store's own pricing path, so the stock movements, the till and HQ's sales figures all see
it like any other. A web order paid online is tendered `prepaid` (an approved payment of the
whole total, like an exchange credit, with no drawer cash and nothing for a terminal); one not
paid online is paid at pickup in cash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import structlog

from edge.contracts.bopis import PickupLine, PickupStatusChanged, cancel_payload, reserve_payload
from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.domain.pickups import PickupStatus, check_transition, holds_stock
from edge.service import orders as order_cases
from edge.service import reservations
from edge.service.commands import Held, Hold, TenderIn
from edge.service.orders import POLICY, SalesPolicy
from edge.service.pickup_ports import PickupRow
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import ReservationRow

log = structlog.get_logger()

PREPAID = "prepaid"  # the tender a web order paid online is recorded with


class _Line(msgspec.Struct, frozen=True, kw_only=True):
    """A pickup line as the sale's pricing path reads it (a `SaleLine`)."""

    sku: str
    quantity: int
    barcode: str | None = None
    product_id: str | None = None
    weight_grams: int | None = None
    discount_cents: int = 0
    unit_price_cents: int | None = None


class _Sale(msgspec.Struct, frozen=True, kw_only=True):
    """The sale a pickup becomes (a `NewSale`)."""

    lines: list[_Line]
    lane_id: str | None
    tenders: Sequence[TenderIn] = ()
    discount_cents: int = 0
    offline_created_at: str | None = None
    customer_id: str | None = None


def _get(uow: UnitOfWork, order_id: str) -> PickupRow:
    p = uow.pickups.get(order_id)
    if p is None:
        raise NotFound("no such pickup order", code="pickup-not-found")
    return p


def _move(uow: UnitOfWork, p: PickupRow, status: PickupStatus, *, total_cents: int | None = None,
          **changes: Any) -> PickupRow:
    """Store the new status, audit it, and tell HQ: one event per transition."""
    values = {"status": status.value, "updated_at": uow.now, **changes}
    uow.pickups.update(p.order_id, values)
    after = msgspec.structs.replace(p, **values)
    uow.audit(f"pickup.{status.value}", "pickup", p.order_id, {"status": p.status},
              {"status": status.value, **changes})
    uow.emit(f"bopis.{status.value}", msgspec.structs.asdict(PickupStatusChanged(
        order_id=p.order_id, status=status.value, reason=after.reason, sale_order_id=after.sale_order_id,
        total_cents=total_cents, prepaid=p.prepaid)))
    log.info("pickup.status", order_id=p.order_id, status=status.value)
    return after


# -- from HQ ----------------------------------------------------------------------------------------
def receive(uow: UnitOfWork, command_id: str, payload: dict[str, Any]) -> str:
    """`bopis.reserve`: record the order as received; refuse it at once (so HQ routes it on) when a
    product is unknown here or not available in the quantity asked."""
    try:
        order = reserve_payload(payload)
    except msgspec.ValidationError as exc:
        log.warning("pickup.invalid_command", command_id=command_id, error=str(exc))
        return "invalid"
    if uow.pickups.get(order.order_id) is not None:
        return "stale"  # already here (HQ never asks a store twice for one order)
    pickup = PickupRow(order_id=order.order_id, status=PickupStatus.RECEIVED.value, lines=list(order.lines),
                       prepaid=order.prepaid, hold_hours=order.hold_hours, reservation_id=None,
                       sale_order_id=None, reason=None, command_id=command_id, received_at=uow.now,
                       updated_at=uow.now)
    uow.pickups.insert(pickup)
    uow.audit("pickup.received", "pickup", order.order_id, None, {"status": "received", "lines": order.lines})
    uow.emit("bopis.received", msgspec.structs.asdict(PickupStatusChanged(
        order_id=order.order_id, status="received", prepaid=order.prepaid)))
    short = _shortages(uow, order.lines)
    if short:
        _move(uow, pickup, PickupStatus.REJECTED, reason="out of stock: " + ", ".join(short))
        return "rejected"
    return "applied"


def cancel_from_hq(uow: UnitOfWork, payload: dict[str, Any]) -> str:
    """`bopis.cancel`: the web shop withdrew the order; a final pickup stays as it is."""
    try:
        cmd = cancel_payload(payload)
    except msgspec.ValidationError:
        return "invalid"
    p = uow.pickups.get(cmd.order_id)
    if p is None or PickupStatus(p.status) not in (PickupStatus.RECEIVED, PickupStatus.ACCEPTED,
                                                   PickupStatus.PICKED, PickupStatus.READY):
        return "stale"
    cancel(uow, cmd.order_id, cmd.reason or "cancelled by the web shop")
    return "applied"


def _shortages(uow: UnitOfWork, lines: Sequence[PickupLine]) -> list[str]:
    """SKUs this store cannot supply now: unknown here, or less available than asked."""
    skus = [ln.sku for ln in lines]
    found = uow.sale_products.resolve(ids=[], skus=skus, barcodes=[])
    products = {sku: found.get(("sku", sku)) for sku in skus}
    known = [p.id for p in products.values() if p]
    levels = uow.stock.levels(uow.actor.store_id or "", known) if known else {}
    short = []
    for ln in lines:
        product = products[ln.sku]
        level = levels.get(product.id) if product else None
        if level is None or level.on_hand - level.reserved < ln.quantity:
            short.append(ln.sku)
    return short


# -- at the store -----------------------------------------------------------------------------------
def accept(uow: UnitOfWork, order_id: str) -> PickupRow:
    """Accept: hold the stock for the customer until the order's hold time runs out."""
    p = _get(uow, order_id)
    check_transition(p.status, PickupStatus.ACCEPTED)
    hold = reservations.create_hold(uow, Hold(
        kind="bopis", ref=order_id, ttl_s=min(p.hold_hours * 3600, reservations.MAX_TTL_S),
        items=[Held(sku=ln.sku, quantity=ln.quantity) for ln in p.lines]))
    return _move(uow, p, PickupStatus.ACCEPTED, reservation_id=hold.id)


def reject(uow: UnitOfWork, order_id: str, reason: str) -> PickupRow:
    p = _get(uow, order_id)
    check_transition(p.status, PickupStatus.REJECTED, reason=reason)
    return _move(uow, p, PickupStatus.REJECTED, reason=reason.strip())


def mark_picked(uow: UnitOfWork, order_id: str) -> PickupRow:
    p = _get(uow, order_id)
    check_transition(p.status, PickupStatus.PICKED)
    return _move(uow, p, PickupStatus.PICKED)


def mark_ready(uow: UnitOfWork, order_id: str) -> PickupRow:
    p = _get(uow, order_id)
    check_transition(p.status, PickupStatus.READY)
    return _move(uow, p, PickupStatus.READY)


def cancel(uow: UnitOfWork, order_id: str, reason: str | None) -> PickupRow:
    p = _get(uow, order_id)
    check_transition(p.status, PickupStatus.CANCELLED)
    _release(uow, p, "released")
    return _move(uow, p, PickupStatus.CANCELLED, reason=(reason or "").strip() or None)


def complete(uow: UnitOfWork, order_id: str, *, lane_id: str | None, tenders: Sequence[TenderIn],
             policy: SalesPolicy = POLICY) -> dict[str, Any]:
    """The customer collected the order: the hold becomes a sale, tendered `prepaid` for a web
    order paid online, or with the cash taken at the counter."""
    p = _get(uow, order_id)
    check_transition(p.status, PickupStatus.COMPLETED)
    if p.prepaid and tenders:
        raise ValidationFailed("this order was paid online: take no payment at pickup", code="pickup-prepaid",
                               errors=[{"field": "tenders", "message": "leave out for a prepaid order"}])
    if not p.prepaid and not tenders:
        raise ValidationFailed("this order is paid at pickup: take the payment", code="pickup-payment-required",
                               errors=[{"field": "tenders", "message": "required"}])
    _release(uow, p, "committed")  # the sale below takes the stock the hold kept for it
    sale = _Sale(lines=[_Line(sku=ln.sku, quantity=ln.quantity) for ln in p.lines], lane_id=lane_id,
                 tenders=list(tenders))
    if p.prepaid:
        total = order_cases.quote_order(uow, sale, policy=policy)["total_cents"]
        order = order_cases.create_order(uow, sale, policy=policy, credit_cents=total, credit_method=PREPAID)
    else:
        order = order_cases.create_order(uow, sale, policy=policy)
    if order["status"] != "COMPLETED":
        raise Conflict("the pickup's payment did not complete; take cash or a prepaid order only",
                       code="pickup-payment-incomplete")
    result = _move(uow, p, PickupStatus.COMPLETED, sale_order_id=order["id"], total_cents=order["total_cents"])
    return msgspec.structs.asdict(result) | {"sale": order}


def on_hold_expired(uow: UnitOfWork, hold: ReservationRow) -> None:
    """The reservation sweeper expired a BOPIS hold: the customer never came."""
    p = uow.pickups.by_reservation(hold.id)
    if p is None or not holds_stock(p.status):
        return
    _move(uow, p, PickupStatus.EXPIRED, reason="not collected in time")


def _release(uow: UnitOfWork, p: PickupRow, status: str) -> None:
    if p.reservation_id is None:
        return
    hold = uow.reservations.get(p.reservation_id)
    if hold is not None and hold.status == "active":
        order_cases.release_reservations_by_id(uow, hold, status)


def get_pickup(uow: UnitOfWork, order_id: str) -> PickupRow:
    return _get(uow, order_id)


def list_pickups(uow: UnitOfWork, statuses: list[str] | None, limit: int) -> list[PickupRow]:
    return uow.pickups.search(statuses=statuses, limit=limit)
