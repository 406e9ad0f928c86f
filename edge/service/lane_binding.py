"""Which lane an action at a lane happens on: a sale, a drawer opening, a pay-in or pay-out.

The lane decides whose drawer the cash counts toward, so it comes from the credential where
the credential has one:
- a lane-bound sign-in (a cashier's PIN keyed in at a lane) acts on its own lane only. A request
  that names another lane is refused (403 `lane-mismatch`), not quietly moved to the token's
  lane: a mismatch means a token carried to another terminal or a lane set up wrongly, and the
  person at the screen should find out before any cash changes hands;
- a back-office sign-in (username and password) is not at a lane, so it names one: a manager
  ringing up a sale for a customer at the service desk, or opening every drawer in the morning.
"""

from __future__ import annotations

import structlog

from edge.domain.errors import Forbidden
from edge.service.ports import Actor

log = structlog.get_logger()


def acting_lane(actor: Actor, requested: str | None) -> str:
    """The lane to act on: the token's own lane, or the requested one for a back-office sign-in."""
    requested = str(requested) if requested not in (None, "") else None
    if actor.lane_id is None:
        return requested or ""
    if requested is not None and requested != str(actor.lane_id):
        log.warning("security.cross_lane", user=actor.username, lane_id=actor.lane_id, requested_lane=requested,
                    request_id=actor.request_id)
        raise Forbidden(f"this sign-in is for lane {actor.lane_id}, not lane {requested}", code="lane-mismatch",
                        errors=[{"field": "lane_id", "message": f"must be {actor.lane_id} or left out"}])
    return str(actor.lane_id)
