"""Reading a drawer session back: its Z report (kept as it was when the drawer closed) and its
journal of cash movements, for the store admin's till screen and reprints."""

from __future__ import annotations

from typing import Any

import msgspec

from edge.domain.errors import Conflict, NotFound
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import TillSessionRow


def _session(uow: UnitOfWork, session_id: str) -> TillSessionRow:
    session = uow.tills.get(session_id)
    if session is None:
        raise NotFound("no such drawer session", code="till-not-found")
    return session


def z_report(uow: UnitOfWork, session_id: str) -> dict[str, Any]:
    """The Z report exactly as the close produced it: a reprint never recomputes the figures,
    so a late movement can never make yesterday's over/short say something else."""
    session = _session(uow, session_id)
    if session.status != "closed" or session.z_report is None:
        raise Conflict("the drawer is still open: close it with a cash count to get its Z report",
                       code="till-still-open")
    return session.z_report | {"status": "closed", "closed_by": session.closed_by, "closed_at": session.closed_at}


def journal(uow: UnitOfWork, session_id: str) -> dict[str, Any]:
    """Every cash movement of the session, oldest first: the float, pay-ins and pay-outs with
    their reasons, cash kept from sales and paid out for refunds."""
    session = _session(uow, session_id)
    return {"session_id": session.id, "lane_id": session.lane_id,
            "items": [msgspec.structs.asdict(m) for m in uow.tills.movements(session.id)]}
