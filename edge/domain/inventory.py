"""Stock as an append-only movement ledger per (location, product).

On hand is the sum of the deltas of on-hand movements. Reservations and releases do not move
stock; they only hold it: available = on hand - active reservations. A reservation stops being
active when it is released, committed by its sale (exactly once), or its TTL runs out.

Deltas carry their sign: a sale, transfer out or write-off is negative; a return, receipt or
transfer in is positive; an adjustment or count is either. A count stores `counted` and
`expected_at_count` and applies counted - expected_at_count, so that sales rung up while the
shelf was being counted still apply on top of the count.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import msgspec

from edge.domain.errors import IllegalTransition, InsufficientStock, ValidationFailed
from edge.domain.ids import uuid7


class MovementKind(enum.StrEnum):
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    RECEIVE = "receive"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RESERVATION = "reservation"
    RELEASE = "release"
    WRITE_OFF = "write_off"


ON_HAND_KINDS = frozenset(MovementKind) - {MovementKind.RESERVATION, MovementKind.RELEASE}
_NEGATIVE = frozenset({MovementKind.SALE, MovementKind.TRANSFER_OUT, MovementKind.WRITE_OFF})
_POSITIVE = frozenset({MovementKind.RETURN, MovementKind.RECEIVE, MovementKind.TRANSFER_IN,
                       MovementKind.RESERVATION, MovementKind.RELEASE})


class AdjustmentReason(enum.StrEnum):
    DAMAGED = "damaged"
    THEFT = "theft"
    EXPIRED = "expired"
    FOUND = "found"
    CORRECTION = "correction"
    OTHER = "other"


_LOSS_REASONS = frozenset({AdjustmentReason.DAMAGED, AdjustmentReason.THEFT, AdjustmentReason.EXPIRED})


class StockMovement(msgspec.Struct, frozen=True, kw_only=True):
    """One fact with its own id, so a replay can never apply it twice."""

    id: str
    location_id: str
    product_id: str
    kind: MovementKind
    delta: int  # units; for a reservation or release, the quantity held or let go
    at: datetime
    ref: str = ""  # order, return, receipt, transfer or count id
    reason: AdjustmentReason | None = None
    note: str = ""
    counted: int | None = None
    expected_at_count: int | None = None
    reservation_id: str | None = None  # on a reservation (its own id), a release, or the sale that commits it
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind in _NEGATIVE and self.delta >= 0:
            raise ValidationFailed(f"a {self.kind.value} movement takes stock out: its delta must be negative",
                                   code="invalid-movement")
        if self.kind in _POSITIVE and self.delta <= 0:
            raise ValidationFailed(f"a {self.kind.value} movement must have a positive quantity",
                                   code="invalid-movement")
        if self.kind is MovementKind.ADJUSTMENT and (self.delta == 0 or self.reason is None):
            raise ValidationFailed("an adjustment needs a non-zero delta and a reason code", code="invalid-movement")
        if self.kind is MovementKind.COUNT and (
                self.counted is None or self.expected_at_count is None
                or self.delta != self.counted - self.expected_at_count):
            raise ValidationFailed("a count records counted and expected_at_count, and applies their difference",
                                   code="invalid-movement")


def _movement(kind: MovementKind, delta: int, *, location_id: str, product_id: str, at: datetime,
              id: str | None = None, **extra: object) -> StockMovement:
    return StockMovement(id=id or uuid7(), location_id=location_id, product_id=product_id, kind=kind,
                         delta=delta, at=at, **extra)  # type: ignore[arg-type]


def _positive(quantity: int) -> int:
    if quantity <= 0:
        raise ValidationFailed("a quantity must be 1 or more", code="invalid-quantity",
                               errors=[{"field": "quantity", "message": "1 or more"}])
    return quantity


# -- factories: one per business fact ---------------------------------------------------------------


def sale(quantity: int, *, location_id: str, product_id: str, at: datetime, ref: str,
         reservation_id: str | None = None, id: str | None = None) -> StockMovement:
    return _movement(MovementKind.SALE, -_positive(quantity), location_id=location_id, product_id=product_id,
                     at=at, ref=ref, reservation_id=reservation_id, id=id)


def customer_return(quantity: int, *, location_id: str, product_id: str, at: datetime, ref: str,
                    id: str | None = None) -> StockMovement:
    return _movement(MovementKind.RETURN, _positive(quantity), location_id=location_id, product_id=product_id,
                     at=at, ref=ref, id=id)


def write_off(quantity: int, *, location_id: str, product_id: str, at: datetime, ref: str, note: str = "",
              id: str | None = None) -> StockMovement:
    return _movement(MovementKind.WRITE_OFF, -_positive(quantity), location_id=location_id, product_id=product_id,
                     at=at, ref=ref, note=note, id=id)


def receive(quantity: int, *, location_id: str, product_id: str, at: datetime, ref: str,
            id: str | None = None) -> StockMovement:
    if not ref.strip():
        raise ValidationFailed("receiving needs a reference (delivery note or PO)", code="reference-required",
                               errors=[{"field": "ref", "message": "required"}])
    return _movement(MovementKind.RECEIVE, _positive(quantity), location_id=location_id, product_id=product_id,
                     at=at, ref=ref, id=id)


def transfer_out(quantity: int, *, location_id: str, product_id: str, at: datetime, ref: str,
                 id: str | None = None) -> StockMovement:
    """The sending half of a transfer; the receiver records `transfer_in` with the same ref."""
    return _movement(MovementKind.TRANSFER_OUT, -_positive(quantity), location_id=location_id,
                     product_id=product_id, at=at, ref=ref, id=id)


def transfer_in(quantity: int, *, location_id: str, product_id: str, at: datetime, ref: str,
                id: str | None = None) -> StockMovement:
    return _movement(MovementKind.TRANSFER_IN, _positive(quantity), location_id=location_id,
                     product_id=product_id, at=at, ref=ref, id=id)


def adjustment(delta: int, reason: AdjustmentReason | str, *, location_id: str, product_id: str, at: datetime,
               note: str = "", ref: str = "", id: str | None = None) -> StockMovement:
    try:
        code = AdjustmentReason(reason)
    except ValueError as err:
        raise ValidationFailed(f"unknown adjustment reason {reason!r}", code="invalid-reason", errors=[
            {"field": "reason", "message": "one of " + ", ".join(r.value for r in AdjustmentReason)}]) from err
    if delta == 0:
        raise ValidationFailed("an adjustment of 0 changes nothing", code="invalid-quantity",
                               errors=[{"field": "delta", "message": "not 0"}])
    if code in _LOSS_REASONS and delta > 0:
        raise ValidationFailed(f"{code.value} can only reduce stock", code="invalid-reason",
                               errors=[{"field": "delta", "message": "negative for a loss"}])
    if code is AdjustmentReason.FOUND and delta < 0:
        raise ValidationFailed("found stock can only increase stock", code="invalid-reason",
                               errors=[{"field": "delta", "message": "positive for found stock"}])
    if code is AdjustmentReason.OTHER and not note.strip():
        raise ValidationFailed("reason 'other' needs a note saying what happened", code="note-required",
                               errors=[{"field": "note", "message": "required for reason other"}])
    return _movement(MovementKind.ADJUSTMENT, delta, location_id=location_id, product_id=product_id, at=at,
                     reason=code, note=note, ref=ref, id=id)


def count(counted: int, expected_at_count: int, *, location_id: str, product_id: str, at: datetime, ref: str = "",
          id: str | None = None) -> StockMovement:
    """A physical count. expected_at_count is the on hand when the count *started*."""
    if counted < 0:
        raise ValidationFailed("a counted quantity cannot be negative", code="invalid-quantity",
                               errors=[{"field": "counted", "message": "0 or more"}])
    return _movement(MovementKind.COUNT, counted - expected_at_count, location_id=location_id,
                     product_id=product_id, at=at, ref=ref, counted=counted,
                     expected_at_count=expected_at_count, id=id)


def reserve(quantity: int, *, location_id: str, product_id: str, at: datetime, ttl: timedelta, ref: str,
            id: str | None = None) -> StockMovement:
    """Hold stock for an order or a BOPIS pickup until at + ttl."""
    if ttl <= timedelta(0):
        raise ValidationFailed("a reservation needs a positive TTL", code="invalid-ttl")
    reservation_id = id or uuid7()
    return _movement(MovementKind.RESERVATION, _positive(quantity), location_id=location_id, product_id=product_id,
                     at=at, ref=ref, reservation_id=reservation_id, expires_at=at + ttl, id=reservation_id)


# -- reading the ledger -----------------------------------------------------------------------------


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    location_id: str
    product_id: str
    quantity: int  # still held
    expires_at: datetime
    ref: str


def reservations(movements: Iterable[StockMovement], now: datetime, *, include_expired: bool = False
                 ) -> list[Reservation]:
    """Reservations still holding stock: not released, not committed by a sale, not expired."""
    opened: dict[str, StockMovement] = {}
    held: dict[str, int] = {}
    for m in movements:
        if m.kind is MovementKind.RESERVATION:
            opened[m.id] = m
            held[m.id] = held.get(m.id, 0) + m.delta
        elif m.reservation_id and m.kind is MovementKind.RELEASE:
            held[m.reservation_id] = held.get(m.reservation_id, 0) - m.delta
        elif m.reservation_id and m.kind is MovementKind.SALE:
            held[m.reservation_id] = held.get(m.reservation_id, 0) + m.delta  # sale delta is negative
    active = []
    for rid, r in opened.items():
        quantity = held[rid]
        expired = r.expires_at is not None and r.expires_at <= now
        if quantity > 0 and (include_expired or not expired):
            active.append(Reservation(id=rid, location_id=r.location_id, product_id=r.product_id,
                                      quantity=quantity, expires_at=r.expires_at or now, ref=r.ref))
    return active


def expired_reservations(movements: Sequence[StockMovement], now: datetime) -> list[Reservation]:
    """Reservations whose TTL ran out while still holding stock: release them (a sweeper job)."""
    return [r for r in reservations(movements, now, include_expired=True) if r.expires_at <= now]


def release(reservation: Reservation, *, at: datetime, reason: str = "", id: str | None = None) -> StockMovement:
    return _movement(MovementKind.RELEASE, reservation.quantity, location_id=reservation.location_id,
                     product_id=reservation.product_id, at=at, ref=reservation.ref, note=reason,
                     reservation_id=reservation.id, id=id)


def commit_reservation(movements: Sequence[StockMovement], reservation_id: str, *, at: datetime, ref: str,
                       id: str | None = None) -> StockMovement:
    """Turn a held reservation into its sale movement, exactly once.

    Completing an order twice (a retry, a crash between steps) finds the sale already in the
    ledger and is refused, so stock is never decremented twice. An expired hold is still committed:
    the customer paid for goods in their hands, so the sale stands.
    """
    for m in movements:
        if m.kind is MovementKind.SALE and m.reservation_id == reservation_id:
            raise IllegalTransition(f"reservation {reservation_id} was already turned into sale {m.id}",
                                    code="reservation-committed")
    held = {r.id: r for r in reservations(movements, at, include_expired=True)}
    if reservation_id not in held:
        raise IllegalTransition(f"reservation {reservation_id} is released or unknown", code="reservation-released")
    r = held[reservation_id]
    return sale(r.quantity, location_id=r.location_id, product_id=r.product_id, at=at, ref=ref,
                reservation_id=reservation_id, id=id)


class StockLevel(msgspec.Struct, frozen=True, kw_only=True):
    location_id: str
    product_id: str
    on_hand: int
    reserved: int
    available: int
    threshold: int | None = None

    @property
    def low_stock(self) -> bool:
        return is_low_stock(self.available, self.threshold)


def on_hand(movements: Iterable[StockMovement]) -> int:
    return sum(m.delta for m in movements if m.kind in ON_HAND_KINDS)


def stock_level(movements: Sequence[StockMovement], *, location_id: str, product_id: str, now: datetime,
                threshold: int | None = None) -> StockLevel:
    mine = [m for m in movements if m.location_id == location_id and m.product_id == product_id]
    held = sum(r.quantity for r in reservations(mine, now))
    stock = on_hand(mine)
    return StockLevel(location_id=location_id, product_id=product_id, on_hand=stock, reserved=held,
                      available=stock - held, threshold=threshold)


def is_low_stock(available: int, threshold: int | None) -> bool:
    """At or below the threshold. No threshold: never low."""
    return threshold is not None and available <= threshold


def crossed_low_stock(before: int, after: int, threshold: int | None) -> bool:
    """True only on the movement that takes stock to the threshold, so an alert fires once."""
    return not is_low_stock(before, threshold) and is_low_stock(after, threshold)


def check_reservable(level: StockLevel, quantity: int) -> None:
    """An online order may not hold more than is available (this is what stops oversells)."""
    if quantity > level.available:
        raise InsufficientStock(
            f"only {level.available} of {level.product_id} available, {quantity} asked",
            errors=[{"field": "quantity", "message": f"{level.available} available"}])


class StockConflict(msgspec.Struct, frozen=True, kw_only=True):
    """An offline sale that took stock below zero: recorded, then reviewed by a manager."""

    location_id: str
    product_id: str
    ref: str
    quantity: int
    available_before: int
    shortfall: int


def offline_sale(level: StockLevel, quantity: int, *, at: datetime, ref: str, id: str | None = None
                 ) -> tuple[StockMovement, StockConflict | None]:
    """An offline sale is never refused for stock: it already happened at the till."""
    movement = sale(quantity, location_id=level.location_id, product_id=level.product_id, at=at, ref=ref, id=id)
    if quantity <= level.available:
        return movement, None
    return movement, StockConflict(location_id=level.location_id, product_id=level.product_id, ref=ref,
                                   quantity=quantity, available_before=level.available,
                                   shortfall=quantity - max(level.available, 0))
