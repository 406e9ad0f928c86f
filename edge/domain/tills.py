"""Tills: a cash drawer session from its opening float to its Z report.

Expected cash = float + pay-ins - pay-outs + cash kept from sales - cash refunds. Variance =
counted - expected: positive is over, negative is short. An X report is a mid-day reading that
leaves the session open; the Z report closes it, and refuses while any lane still holds queued
offline sales, because their cash is in the drawer but not yet in the expected figure.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import msgspec

from edge.domain.errors import IllegalTransition, UnsyncedSales, ValidationFailed


class CashMovementKind(enum.StrEnum):
    FLOAT = "float"
    PAY_IN = "pay_in"
    PAY_OUT = "pay_out"
    CASH_SALE = "cash_sale"
    CASH_REFUND = "cash_refund"


# The sign each kind carries into the expected cash.
_SIGN = {CashMovementKind.FLOAT: 1, CashMovementKind.PAY_IN: 1, CashMovementKind.PAY_OUT: -1,
         CashMovementKind.CASH_SALE: 1, CashMovementKind.CASH_REFUND: -1}


class CashMovement(msgspec.Struct, frozen=True, kw_only=True):
    kind: CashMovementKind
    amount_cents: int  # always positive; the kind gives the direction
    at: datetime
    by: str
    reason: str = ""
    ref: str = ""  # order or return id for sales and refunds

    @property
    def signed_cents(self) -> int:
        return _SIGN[self.kind] * self.amount_cents


class ReportKind(enum.StrEnum):
    X = "X"
    Z = "Z"


class TillReport(msgspec.Struct, frozen=True, kw_only=True):
    kind: ReportKind
    session_id: str
    drawer_id: str
    at: datetime
    float_cents: int
    pay_ins_cents: int
    pay_outs_cents: int
    cash_sales_cents: int
    cash_refunds_cents: int
    sales_count: int
    refunds_count: int
    expected_cash_cents: int
    counted_cash_cents: int | None
    variance_cents: int | None  # counted - expected: + over, - short


class DrawerEvent(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    session_id: str
    at: datetime


class DrawerOpened(DrawerEvent, frozen=True, kw_only=True, tag="till.opened"):
    float_cents: int
    by: str


class CashMoved(DrawerEvent, frozen=True, kw_only=True, tag="till.cash_moved"):
    movement: CashMovement


class DrawerClosed(DrawerEvent, frozen=True, kw_only=True, tag="till.closed"):
    report: TillReport


class DrawerSession:
    def __init__(self, *, id: str, drawer_id: str, store_id: str, opened_by: str, opened_at: datetime,
                 movements: list[CashMovement] | None = None, closed_at: datetime | None = None,
                 z_report: TillReport | None = None):
        self.id = id
        self.drawer_id = drawer_id
        self.store_id = store_id
        self.opened_by = opened_by
        self.opened_at = opened_at
        self.movements: list[CashMovement] = list(movements or [])
        self.closed_at = closed_at
        self.z_report = z_report
        self.events: list[DrawerEvent] = []

    @classmethod
    def open(cls, *, id: str, drawer_id: str, store_id: str, float_cents: int, by: str, at: datetime) -> DrawerSession:
        if float_cents < 0:
            raise ValidationFailed("the opening float cannot be negative", code="invalid-float",
                                   errors=[{"field": "float_cents", "message": "0 or more"}])
        session = cls(id=id, drawer_id=drawer_id, store_id=store_id, opened_by=by, opened_at=at,
                      movements=[CashMovement(kind=CashMovementKind.FLOAT, amount_cents=float_cents, at=at, by=by)])
        session.events.append(DrawerOpened(session_id=id, at=at, float_cents=float_cents, by=by))
        return session

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def expected_cash_cents(self) -> int:
        return sum(m.signed_cents for m in self.movements)

    def totals_by_kind(self) -> dict[str, int]:
        """Signed cents per kind of movement present (pay-outs and refunds negative)."""
        totals: dict[str, int] = {}
        for m in self.movements:
            totals[m.kind.value] = totals.get(m.kind.value, 0) + m.signed_cents
        return totals

    def _total(self, kind: CashMovementKind) -> int:
        return sum(m.amount_cents for m in self.movements if m.kind is kind)

    def _count(self, kind: CashMovementKind) -> int:
        return sum(1 for m in self.movements if m.kind is kind)

    def _add(self, kind: CashMovementKind, amount_cents: int, *, at: datetime, by: str, reason: str = "",
             ref: str = "") -> CashMovement:
        if not self.is_open:
            raise IllegalTransition(f"drawer session {self.id} is closed", code="till-closed")
        if amount_cents <= 0:
            raise ValidationFailed(f"a {kind.value} must be more than zero", code="invalid-amount",
                                   errors=[{"field": "amount_cents", "message": "more than 0"}])
        if _SIGN[kind] < 0 and amount_cents > self.expected_cash_cents:
            raise ValidationFailed(
                f"the drawer should hold only {self.expected_cash_cents} cents; cannot take out {amount_cents}",
                code="not-enough-cash", errors=[{"field": "amount_cents", "message": "more than the drawer holds"}])
        movement = CashMovement(kind=kind, amount_cents=amount_cents, at=at, by=by, reason=reason, ref=ref)
        self.movements.append(movement)
        self.events.append(CashMoved(session_id=self.id, at=at, movement=movement))
        return movement

    def pay_in(self, amount_cents: int, *, reason: str, by: str, at: datetime) -> CashMovement:
        return self._add(CashMovementKind.PAY_IN, amount_cents, reason=_reason(reason), by=by, at=at)

    def pay_out(self, amount_cents: int, *, reason: str, by: str, at: datetime) -> CashMovement:
        return self._add(CashMovementKind.PAY_OUT, amount_cents, reason=_reason(reason), by=by, at=at)

    def record_cash_sale(self, cash_kept_cents: int, *, order_id: str, by: str, at: datetime) -> CashMovement:
        """Cash that stayed in the drawer: tendered minus change."""
        return self._add(CashMovementKind.CASH_SALE, cash_kept_cents, ref=order_id, by=by, at=at)

    def record_cash_refund(self, amount_cents: int, *, return_id: str, by: str, at: datetime) -> CashMovement:
        return self._add(CashMovementKind.CASH_REFUND, amount_cents, ref=return_id, by=by, at=at)

    def _report(self, kind: ReportKind, counted_cash_cents: int | None, at: datetime) -> TillReport:
        if counted_cash_cents is not None and counted_cash_cents < 0:
            raise ValidationFailed("counted cash cannot be negative", code="invalid-count",
                                   errors=[{"field": "counted_cash_cents", "message": "0 or more"}])
        expected = self.expected_cash_cents
        return TillReport(
            kind=kind, session_id=self.id, drawer_id=self.drawer_id, at=at,
            float_cents=self._total(CashMovementKind.FLOAT),
            pay_ins_cents=self._total(CashMovementKind.PAY_IN),
            pay_outs_cents=self._total(CashMovementKind.PAY_OUT),
            cash_sales_cents=self._total(CashMovementKind.CASH_SALE),
            cash_refunds_cents=self._total(CashMovementKind.CASH_REFUND),
            sales_count=self._count(CashMovementKind.CASH_SALE),
            refunds_count=self._count(CashMovementKind.CASH_REFUND),
            expected_cash_cents=expected, counted_cash_cents=counted_cash_cents,
            variance_cents=None if counted_cash_cents is None else counted_cash_cents - expected,
        )

    def x_report(self, *, at: datetime, counted_cash_cents: int | None = None) -> TillReport:
        """A reading during the day; the session stays open."""
        if not self.is_open:
            raise IllegalTransition(f"drawer session {self.id} is closed; its Z report is final", code="till-closed")
        return self._report(ReportKind.X, counted_cash_cents, at)

    def close(self, *, counted_cash_cents: int, at: datetime, unsynced_by_lane: Mapping[str, int]) -> TillReport:
        """Count the drawer and close the day with a Z report."""
        if not self.is_open:
            raise IllegalTransition(f"drawer session {self.id} is already closed", code="till-closed")
        waiting = {lane: count for lane, count in sorted(unsynced_by_lane.items()) if count > 0}
        if waiting:
            listing = ", ".join(f"lane {lane}: {count}" for lane, count in waiting.items())
            raise UnsyncedSales(
                f"cannot close the day: lanes still hold unsynced offline sales ({listing}); "
                "reconnect them and let them sync first", code="unsynced-lane-queues",
                errors=[{"field": f"lanes.{lane}", "message": f"{count} queued sales"} for lane, count in waiting.items()])
        report = self._report(ReportKind.Z, counted_cash_cents, at)
        self.closed_at = at
        self.z_report = report
        self.events.append(DrawerClosed(session_id=self.id, at=at, report=report))
        return report


def _reason(reason: str) -> str:
    if not reason.strip():
        raise ValidationFailed("a pay-in or pay-out needs a reason", code="reason-required",
                               errors=[{"field": "reason", "message": "required"}])
    return reason.strip()
