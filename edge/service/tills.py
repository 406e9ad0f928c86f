"""Tills: a drawer session per lane, opened with a float; pay-ins, pay-outs, X and Z reports.

Expected cash = float + pay-ins - pay-outs + cash kept from sales - cash refunds (every
drawer movement is signed, so it is a sum). A Z report closes the session and refuses while
any lane reports sales queued offline that the store has not received yet.

A lane-bound sign-in works only its own lane's drawer (see `lane_binding`). A pay-out above
the policy's `payout_supervisor_over_cents` needs a supervisor: the actor's own role, or an
approval by PIN or token at the lane, recorded on the movement and in the audit trail.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edge.domain.errors import Conflict, NotFound, OverrideRequired, ValidationFailed
from edge.domain.ids import parse_iso, uuid7
from edge.domain.tills import CashMovement, CashMovementKind, DrawerSession
from edge.service.inventory import location
from edge.service.lane_binding import acting_lane
from edge.service.orders import is_supervisor
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import TillMovementRow, TillSessionRow

# What `till.opened` tells the audit trail and the outbox: the session as it opened.
OPENED_FIELDS = ("id", "store_id", "lane_id", "status", "float_cents", "opened_by", "opened_at", "business_day")


def _positive(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationFailed(f"{field} must be a whole number of cents >= 0", errors=[{"field": field,
                                                                                        "message": ">= 0"}])
    return value


class DrawerReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An X report (the drawer now) or a Z report (as it closed, with the count and variance)."""

    kind: str  # X | Z
    session_id: str
    lane_id: str
    status: str
    business_day: str
    opened_by: str
    opened_at: str
    float_cents: int
    totals: dict[str, int]  # signed cents per kind of cash movement
    expected_cents: int
    movements: int
    counted_cents: int | None = None
    variance_cents: int | None = None


class CashMoved(msgspec.Struct, frozen=True, kw_only=True):
    """A pay-in or pay-out as recorded (`TillMovementRow`), with the supervisor who approved it."""

    id: str
    session_id: str
    kind: str
    amount_cents: int
    reason: str | None
    ref: str | None
    actor: str
    at: str
    override_by: str | None


class QueueReport(msgspec.Struct, frozen=True, kw_only=True):
    lane_id: str
    queued: int
    oldest_queued_at: str | None
    reported_at: str


def open_till(uow: UnitOfWork, lane_id: str, float_cents: int) -> DrawerReport:
    loc = location(uow)
    lane_id = acting_lane(uow.actor, lane_id)
    if not uow.stores.lane_exists(loc, lane_id):
        raise NotFound(f"no lane {lane_id}", code="lane-unknown")
    tills = uow.tills
    if tills.open_session(loc, lane_id) is not None:
        raise Conflict(f"lane {lane_id} already has an open drawer session", code="till-already-open")
    session = TillSessionRow(id=uuid7(), store_id=loc, lane_id=lane_id, status="open",
                             float_cents=_positive(float_cents, "float_cents"), opened_by=uow.actor.username,
                             opened_at=uow.now, business_day=uow.business_day)
    tills.insert_session(session)
    tills.add_movement(TillMovementRow(id=uuid7(), session_id=session.id, kind="float", amount_cents=float_cents,
                                       reason="opening float", ref=None, actor=uow.actor.username, at=uow.now))
    opened = {k: getattr(session, k) for k in OPENED_FIELDS}
    uow.audit("till.opened", "till", session.id, None, opened)
    uow.emit("till.opened", opened)
    return report(uow, session.id, "X")


def _session(uow: UnitOfWork, session_id: str, *, at_lane: bool = False) -> TillSessionRow:
    """at_lane: the action changes the drawer, so a lane-bound sign-in must be at its lane."""
    session = uow.tills.get(session_id)
    if session is None:
        raise NotFound("no such drawer session", code="till-not-found")
    if at_lane:
        acting_lane(uow.actor, session.lane_id)
    return session


def _drawer(uow: UnitOfWork, session: TillSessionRow) -> DrawerSession:
    """The stored session as the domain's drawer; rows keep signed cents, the domain a kind and a size."""
    return DrawerSession(
        id=session.id, drawer_id=session.lane_id, store_id=session.store_id, opened_by=session.opened_by,
        opened_at=parse_iso(session.opened_at),
        movements=[CashMovement(kind=CashMovementKind(m.kind), amount_cents=abs(m.amount_cents),
                                at=parse_iso(m.at), by=m.actor or "", reason=m.reason or "",
                                ref=m.ref or "") for m in uow.tills.movements(session.id)],
        closed_at=None if session.status == "open" else parse_iso(session.closed_at or session.opened_at))


def cash_movement(uow: UnitOfWork, session_id: str, kind: str, amount_cents: int, reason: str, *,
                  override_by: str | None = None, payout_supervisor_over_cents: int | None = None
                  ) -> CashMoved:
    """A pay-in or pay-out. override_by: the supervisor who approved at the lane, if any."""
    if kind not in ("pay_in", "pay_out"):
        raise ValidationFailed("kind is pay_in or pay_out", errors=[{"field": "kind", "message": "pay_in|pay_out"}])
    amount = _positive(amount_cents, "amount_cents")
    session = _session(uow, session_id, at_lane=True)
    limit = payout_supervisor_over_cents
    if (kind == "pay_out" and limit is not None and amount > limit and override_by is None
            and not is_supervisor(uow.actor.roles)):
        raise OverrideRequired(f"a pay-out over {limit} cents needs a supervisor's approval",
                               code="payout-override-required",
                               errors=[{"field": "amount_cents", "message": f"more than {limit}"}])
    drawer = _drawer(uow, session)
    take = drawer.pay_in if kind == "pay_in" else drawer.pay_out
    moved = take(amount, reason=reason or "", by=uow.actor.username, at=parse_iso(uow.now))
    movement = TillMovementRow(id=uuid7(), session_id=session_id, kind=kind, amount_cents=moved.signed_cents,
                               reason=moved.reason, ref=None, actor=uow.actor.username, at=uow.now)
    uow.tills.add_movement(movement)
    shown = CashMoved(**msgspec.structs.asdict(movement), override_by=override_by)
    uow.audit(f"till.{kind}", "till", session_id, None, shown)
    uow.emit(f"till.{kind}", msgspec.structs.asdict(shown) | {"lane_id": session.lane_id})
    return shown


def _present(session: TillSessionRow, drawer: DrawerSession, kind: str, counted_cents: int | None,
             status: str | None = None) -> DrawerReport:
    expected = drawer.expected_cash_cents
    return DrawerReport(kind=kind, session_id=session.id, lane_id=session.lane_id, status=status or session.status,
                        business_day=session.business_day, opened_by=session.opened_by, opened_at=session.opened_at,
                        float_cents=session.float_cents, totals=drawer.totals_by_kind(), expected_cents=expected,
                        movements=len(drawer.movements), counted_cents=counted_cents,
                        variance_cents=None if counted_cents is None else counted_cents - expected)


def report(uow: UnitOfWork, session_id: str, kind: str = "X", counted_cents: int | None = None) -> DrawerReport:
    session = _session(uow, session_id)
    return _present(session, _drawer(uow, session), kind, counted_cents)


def close_till(uow: UnitOfWork, session_id: str, counted_cents: int) -> DrawerReport:
    """The Z report: count the drawer, record the variance, close the session."""
    counted = _positive(counted_cents, "counted_cents")
    session = _session(uow, session_id, at_lane=True)
    drawer = _drawer(uow, session)
    queued = {q.lane_id: q.queued for q in uow.tills.queues(session.store_id)}
    closed = drawer.close(counted_cash_cents=counted, at=parse_iso(uow.now), unsynced_by_lane=queued)
    # Stored as shown while open (the status it closed from), answered as closed.
    shown = msgspec.to_builtins(_present(session, drawer, "Z", counted))
    uow.tills.update_session(session_id, {"status": "closed", "closed_by": uow.actor.username,
                                                  "closed_at": uow.now, "counted_cents": counted,
                                                  "expected_cents": closed.expected_cash_cents,
                                                  "variance_cents": closed.variance_cents, "z_report": shown})
    z = _present(session, drawer, "Z", counted, status="closed")
    uow.audit("till.closed", "till", session_id, {"status": "open"}, z)
    uow.emit("till.closed", msgspec.to_builtins(z))
    return z


def report_lane_queue(uow: UnitOfWork, lane_id: str, queued: int, oldest: str | None) -> QueueReport:
    loc = location(uow)
    lane_id = acting_lane(uow.actor, lane_id)  # a lane reports only its own queue
    if not uow.stores.lane_exists(loc, lane_id):
        raise NotFound(f"no lane {lane_id}", code="lane-unknown")
    uow.tills.report_queue(loc, lane_id, _positive(queued, "queued"), oldest, uow.now)
    return QueueReport(lane_id=lane_id, queued=queued, oldest_queued_at=oldest, reported_at=uow.now)
