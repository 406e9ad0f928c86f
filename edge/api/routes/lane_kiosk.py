"""The lane as a kiosk: its session rules, unlocking after an idle lock, supervisor approvals at
the lane, and lines taken off a sale.

- `GET /api/v1/lanes/{lane_id}/session`: when the signed-in session ends, the idle lock time and
  whether a removed line needs a reason (the policy in force).
- `POST /api/v1/lanes/{lane_id}/unlock` `{pin}`: the signed-in cashier's own PIN or a
  supervisor's. A wrong PIN counts on the cashier's account like a wrong supervisor PIN, so a
  locked lane cannot be used to guess PINs.
- `POST /api/v1/lanes/{lane_id}/approvals` `{pin, action, product_id, quantity}`: a supervisor
  lets the lane sell an item it believes is out of stock.
- `POST /api/v1/lanes/{lane_id}/line-removals` `{product_id, quantity, reason}`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post

from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, requires
from edge.api.limits import Quantity
from edge.api.routes.lanes import same_lane
from edge.contracts.bounds import SafeId, line
from edge.domain.errors import Forbidden, OverrideRequired
from edge.service import lane_kiosk
from edge.service.lane_sessions import KioskRules
from edge.service.orders import SUPERVISOR_ROLES

Pin = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
LANE_STAFF = [requires(*STORE_STAFF), same_lane]


class UnlockIn(msgspec.Struct, forbid_unknown_fields=True):
    pin: Pin


class ApprovalIn(msgspec.Struct, forbid_unknown_fields=True):
    pin: Pin
    action: Literal["sell_out_of_stock"]
    product_id: SafeId
    quantity: Quantity = 1


class LineRemovalIn(msgspec.Struct, forbid_unknown_fields=True):
    product_id: SafeId
    quantity: Quantity = 1
    reason: line(200, min_length=0) = ""


def _policy(request: Request) -> KioskRules:
    return services(request).auth.lane_sessions.kiosk()


@get("/api/v1/lanes/{lane_id:str}/session", guards=LANE_STAFF, operation_id="laneSession")
async def lane_session(request: Request, lane_id: str) -> dict[str, Any]:
    s, who = services(request), actor(request)
    ends_at = None
    if who.lane_id is not None:
        rows = await s.uow.read(who, lambda u: u.lanes.open_sessions(s.settings.store.store_id, lane_id))
        mine = [r for r in rows if r.user_id == who.user_id]
        ends_at = mine[-1].ends_at if mine else None
    return {"lane_id": lane_id, "user": who.username, "ends_at": ends_at, **msgspec.structs.asdict(_policy(request))}


@post("/api/v1/lanes/{lane_id:str}/unlock", guards=LANE_STAFF, status_code=200, operation_id="unlockLane",
      opt={"problems": (403, 429)})
async def unlock_lane(request: Request, lane_id: str, data: UnlockIn) -> lane_kiosk.Unlocked:
    s, who = services(request), actor(request)
    user = await s.uow.read(who, lambda u: u.users.by_id(who.user_id))
    own = bool(user and not user.disabled and user.pin_hash
               and await asyncio.to_thread(s.auth.security.verify_secret, user.pin_hash, data.pin))
    if own:
        by, role = who.username, "cashier"
    else:
        try:
            by, role = await s.auth.supervisor_by_pin(who, data.pin, SUPERVISOR_ROLES), "supervisor"
        except OverrideRequired:
            raise Forbidden("wrong PIN: use your own PIN or a supervisor's", code="unlock-pin-invalid") from None
    return await s.uow.run(who, lambda u: lane_kiosk.record_unlock(u, lane_id, by=by, role=role))


@post("/api/v1/lanes/{lane_id:str}/approvals", guards=LANE_STAFF, status_code=201, operation_id="approveAtLane")
async def approve_at_lane(request: Request, lane_id: str, data: ApprovalIn) -> lane_kiosk.Approved:
    s, who = services(request), actor(request)
    approved_by = await s.auth.supervisor_by_pin(who, data.pin, SUPERVISOR_ROLES)
    return await s.uow.run(who, lambda u: lane_kiosk.record_approval(
        u, lane_id, action=data.action, product_id=data.product_id, quantity=data.quantity, approved_by=approved_by))


@post("/api/v1/lanes/{lane_id:str}/line-removals", guards=LANE_STAFF, status_code=201, operation_id="removeLine")
async def remove_line(request: Request, lane_id: str, data: LineRemovalIn) -> lane_kiosk.LineRemoved:
    s, who = services(request), actor(request)
    required = _policy(request).line_removal_reason_required
    return await s.uow.run(who, lambda u: lane_kiosk.record_line_removal(
        u, lane_id, product_id=data.product_id, quantity=data.quantity, reason=data.reason, reason_required=required))


ROUTES = [lane_session, unlock_lane, approve_at_lane, remove_line]
