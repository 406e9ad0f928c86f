"""Tills: a drawer session per lane, opened with a float; pay-ins, pay-outs, X and Z reports.

Expected cash = float + pay-ins - pay-outs + cash kept from sales - cash refunds (every
drawer movement is signed, so it is a sum). A Z report closes the session and refuses while
any lane reports sales queued offline that the store has not received yet.
"""

from __future__ import annotations

from typing import Any

from edge.domain import checkout as rules
from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.domain.ids import uuid7
from edge.service.inventory import location
from edge.service.ports import UnitOfWork


def _positive(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationFailed(f"{field} must be a whole number of cents >= 0", errors=[{"field": field,
                                                                                        "message": ">= 0"}])
    return value


def open_till(uow: UnitOfWork, lane_id: str, float_cents: int) -> dict[str, Any]:
    loc = location(uow)
    if not uow.repo("stores").lane_exists(loc, lane_id):
        raise NotFound(f"no lane {lane_id}", code="lane-unknown")
    tills = uow.repo("tills")
    if tills.open_session(loc, lane_id) is not None:
        raise Conflict(f"lane {lane_id} already has an open drawer session", code="till-already-open")
    session = {"id": uuid7(), "store_id": loc, "lane_id": lane_id, "status": "open",
               "float_cents": _positive(float_cents, "float_cents"), "opened_by": uow.actor.username,
               "opened_at": uow.now, "business_day": uow.business_day}
    tills.insert_session(session)
    tills.add_movement({"id": uuid7(), "session_id": session["id"], "kind": "float", "amount_cents": float_cents,
                        "reason": "opening float", "ref": None, "actor": uow.actor.username, "at": uow.now})
    uow.audit("till.opened", "till", session["id"], None, session)
    uow.emit("till.opened", session)
    return report(uow, session["id"], "X")


def _session(uow: UnitOfWork, session_id: str) -> dict[str, Any]:
    session = uow.repo("tills").get(session_id)
    if session is None:
        raise NotFound("no such drawer session", code="till-not-found")
    return session


def cash_movement(uow: UnitOfWork, session_id: str, kind: str, amount_cents: int, reason: str) -> dict[str, Any]:
    if kind not in ("pay_in", "pay_out"):
        raise ValidationFailed("kind is pay_in or pay_out", errors=[{"field": "kind", "message": "pay_in|pay_out"}])
    if not reason:
        raise ValidationFailed("a pay-in or pay-out needs a reason", errors=[{"field": "reason", "message": "required"}])
    amount = _positive(amount_cents, "amount_cents")
    session = _session(uow, session_id)
    if session["status"] != "open":
        raise Conflict("the drawer session is closed", code="till-closed")
    movement = {"id": uuid7(), "session_id": session_id, "kind": kind,
                "amount_cents": amount if kind == "pay_in" else -amount, "reason": reason, "ref": None,
                "actor": uow.actor.username, "at": uow.now}
    uow.repo("tills").add_movement(movement)
    uow.audit(f"till.{kind}", "till", session_id, None, movement)
    uow.emit(f"till.{kind}", movement | {"lane_id": session["lane_id"]})
    return movement


def report(uow: UnitOfWork, session_id: str, kind: str = "X", counted_cents: int | None = None) -> dict[str, Any]:
    session = _session(uow, session_id)
    movements = uow.repo("tills").movements(session_id)
    expected = rules.expected_cash(movements)
    out = {"kind": kind, "session_id": session_id, "lane_id": session["lane_id"], "status": session["status"],
           "business_day": session["business_day"], "opened_by": session["opened_by"],
           "opened_at": session["opened_at"], "float_cents": session["float_cents"],
           "totals": rules.till_summary(movements), "expected_cents": expected, "movements": len(movements)}
    if counted_cents is not None:
        out |= {"counted_cents": counted_cents, "variance_cents": counted_cents - expected}
    return out


def close_till(uow: UnitOfWork, session_id: str, counted_cents: int) -> dict[str, Any]:
    """The Z report: count the drawer, record the variance, close the session."""
    counted = _positive(counted_cents, "counted_cents")
    session = _session(uow, session_id)
    if session["status"] != "open":
        raise Conflict("the drawer session is already closed", code="till-closed")
    unsynced = [q for q in uow.repo("tills").queues(session["store_id"]) if q["queued"] > 0]
    if unsynced:
        raise Conflict("lanes still hold sales queued offline: " + ", ".join(
            f"lane {q['lane_id']} ({q['queued']})" for q in unsynced) + "; let them sync before the Z report",
            code="unsynced-lane-queues", errors=[{"field": "lanes", "message": f"lane {q['lane_id']}: {q['queued']}"}
                                                 for q in unsynced])
    z = report(uow, session_id, "Z", counted)
    uow.repo("tills").update_session(session_id, {"status": "closed", "closed_by": uow.actor.username,
                                                  "closed_at": uow.now, "counted_cents": counted,
                                                  "expected_cents": z["expected_cents"],
                                                  "variance_cents": z["variance_cents"], "z_report": z})
    z["status"] = "closed"
    uow.audit("till.closed", "till", session_id, {"status": "open"}, z)
    uow.emit("till.closed", z)
    return z


def report_lane_queue(uow: UnitOfWork, lane_id: str, queued: int, oldest: str | None) -> dict[str, Any]:
    loc = location(uow)
    if not uow.repo("stores").lane_exists(loc, lane_id):
        raise NotFound(f"no lane {lane_id}", code="lane-unknown")
    uow.repo("tills").report_queue(loc, lane_id, _positive(queued, "queued"), oldest, uow.now)
    return {"lane_id": lane_id, "queued": queued, "oldest_queued_at": oldest, "reported_at": uow.now}
