"""Reservations: holds on stock with a TTL. Orders reserve their lines while they wait for a
card or crypto payment; BOPIS holds keep goods for a customer until pickup or release.

A reservation changes availability, never on hand: committing one (pickup, a completed
order) releases the hold and appends the sale movements in the same transaction.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.service import orders as order_cases
from edge.service.commands import NewHold
from edge.service.inventory import StockMove, append_movements, location
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import ReservationRow, SaleProduct

MAX_TTL_S = 7 * 24 * 3600


def expire_due(uow: UnitOfWork) -> dict[str, Any]:
    """Expire every reservation past its TTL. An order whose hold expired is voided (it was
    abandoned); any part already paid is refunded by the payment processor afterwards."""
    from edge.service import bopis, returns  # voids live with returns; pickups use these holds

    repo = uow.reservations
    expired, voided, with_refunds = 0, [], []
    for r in repo.expired(uow.now):
        if r.kind == "order" and r.ref:
            order = uow.orders.get(r.ref)
            in_flight = order and any(p.status in ("created", "timed_out")
                                      for p in uow.payments.of_order(r.ref))
            if order and order.status in ("OPEN", "PENDING") and not in_flight:
                result = returns.void_order(uow, r.ref, "reservation expired", system=True)
                voided.append(r.ref)
                if result["refunds"]:
                    with_refunds.append(r.ref)
                continue
        order_cases.release_reservations_by_id(uow, r, "expired")
        uow.audit("reservation.expired", "reservation", r.id, {"status": "active"}, {"status": "expired"})
        uow.emit("reservation.expired", {"reservation_id": r.id, "kind": r.kind, "ref": r.ref})
        if r.kind == "bopis":
            bopis.on_hold_expired(uow, r)  # the pickup order expires with its hold
        expired += 1
    return {"expired": expired, "orders_voided": voided, "orders_with_refunds": with_refunds}


def create_hold(uow: UnitOfWork, cmd: NewHold) -> order_cases.HoldView:
    """A BOPIS (or manual) hold on items given by SKU or product id. Refused when the stock is
    not available: a hold is a promise to a customer."""
    loc = location(uow)
    if not 1 <= cmd.ttl_s <= MAX_TTL_S:
        raise ValidationFailed("ttl_s must be between 1 second and 7 days", errors=[{"field": "ttl_s",
                                                                                   "message": "1..604800"}])
    items = cmd.items
    if not items:
        raise ValidationFailed("a hold needs items", errors=[{"field": "items", "message": "empty"}])
    catalog = uow.sale_products
    found = catalog.resolve(ids=[i.product_id for i in items if i.product_id],
                            skus=[i.sku for i in items if i.sku], barcodes=[])
    needs: dict[str, int] = {}
    products: dict[str, SaleProduct] = {}
    for i, item in enumerate(items):
        key = ("product_id", item.product_id) if item.product_id else ("sku", item.sku or "")
        product = found.get(key)
        if product is None or item.quantity <= 0:
            raise ValidationFailed("an item is not valid", errors=[{"field": f"items[{i}]",
                                                                     "message": "unknown product or bad quantity"}])
        products[product.id] = product
        needs[product.id] = needs.get(product.id, 0) + item.quantity
    levels = uow.stock.levels(loc, list(needs))
    short = [f"{products[p].name} ({products[p].sku})" for p, q in needs.items()
             if levels[p].on_hand - levels[p].reserved < q]
    if short:
        raise Conflict("not enough available stock for " + ", ".join(short), code="insufficient-stock")
    hold = order_cases.reserve(uow, loc, cmd.kind or "bopis", cmd.ref or "", needs, products, levels,
                               ttl_s=cmd.ttl_s, customer=cmd.customer)
    uow.audit("reservation.created", "reservation", hold.id, None, hold)
    uow.emit("reservation.created", msgspec.to_builtins(hold))
    return hold


def _get(uow: UnitOfWork, reservation_id: str) -> ReservationRow:
    r = uow.reservations.get(reservation_id)
    if r is None:
        raise NotFound("no such reservation", code="reservation-not-found")
    return r


def release_hold(uow: UnitOfWork, reservation_id: str, reason: str | None) -> order_cases.HoldView:
    r = _get(uow, reservation_id)
    if r.kind == "order":
        raise Conflict("an order's reservation is released by voiding the order", code="reservation-owned-by-order")
    if r.status != "active":
        raise Conflict(f"the reservation is already {r.status}", code="illegal-transition")
    order_cases.release_reservations_by_id(uow, r, "released")
    after = _get(uow, reservation_id)
    uow.audit("reservation.released", "reservation", reservation_id, {"status": "active"},
              {"status": "released", "reason": reason})
    uow.emit("reservation.released", {"reservation_id": reservation_id, "ref": r.ref, "reason": reason})
    return order_cases.hold_view(after, uow.reservations.items(reservation_id))


def pick_up(uow: UnitOfWork, reservation_id: str) -> order_cases.HoldView:
    """The customer collected a BOPIS hold: the hold becomes sale movements exactly once."""
    r = _get(uow, reservation_id)
    if r.kind == "order":
        raise Conflict("an order's reservation is committed by completing the order",
                       code="reservation-owned-by-order")
    if r.status != "active":
        raise Conflict(f"the reservation is already {r.status}", code="illegal-transition")
    items = order_cases.release_reservations_by_id(uow, r, "committed")
    if items is None:
        raise Conflict("the reservation changed while it was being picked up", code="illegal-transition")
    movements = append_movements(uow, r.location_id, [
        StockMove(product_id=i.product_id, sku=i.sku, kind="sale", delta=-i.quantity,
                  ref=r.ref or reservation_id, reason="bopis_pickup") for i in items])
    uow.audit("reservation.picked_up", "reservation", reservation_id, {"status": "active"}, {"status": "committed"})
    uow.emit("reservation.picked_up", {"reservation_id": reservation_id, "ref": r.ref, "movements": movements})
    return msgspec.structs.replace(order_cases.hold_view(_get(uow, reservation_id), items), movements=movements)


def get_hold(uow: UnitOfWork, reservation_id: str) -> order_cases.HoldView:
    return order_cases.hold_view(_get(uow, reservation_id), uow.reservations.items(reservation_id))


def list_holds(uow: UnitOfWork, status: str | None, kind: str | None, after: str | None, limit: int
               ) -> list[order_cases.HoldView]:
    repo = uow.reservations
    return [order_cases.hold_view(r, repo.items(r.id))
            for r in repo.search(status=status, kind=kind, after=after, limit=limit)]
