"""BOPIS pickups at the store: the orders HQ allocated here, and each step a store works through.

Managers (and supervisors) accept or reject an order and may cancel it; any store staff picks,
marks it ready and completes the pickup at a lane or in the admin.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter

from edge.api.deps import actor, check_limit, services
from edge.api.guards import MANAGERS, STORE_STAFF, SUPERVISOR, requires
from edge.api.limits import Note, PositiveCents, SafeId
from edge.contracts.bounds import line
from edge.domain.pickups import PickupStatus
from edge.service import bopis
from edge.service.pickup_ports import PickupRow

DECIDERS = (SUPERVISOR, *MANAGERS)
OrderId = Annotated[str, Parameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
StatusFilter = Literal["received", "accepted", "rejected", "picked", "ready", "completed", "cancelled", "expired",
                       "open"]
Reason = line(200, min_length=0)
OPEN = [PickupStatus.RECEIVED, PickupStatus.ACCEPTED, PickupStatus.PICKED, PickupStatus.READY]


class RejectIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason  # a blank one is refused by the business rule, which says what to write


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Note | None = None


class PickupTender(msgspec.Struct, forbid_unknown_fields=True):
    method: Literal["cash"]
    amount_cents: PositiveCents


class CompleteIn(msgspec.Struct, forbid_unknown_fields=True):
    lane_id: SafeId | None = None  # a lane sign-in's own lane; required in the admin
    tenders: Annotated[list[PickupTender], msgspec.Meta(max_length=10)] = []


def _runtime_policy(request: Request) -> Any:
    sales = services(request).extras.get("sales")
    return sales.policy if sales is not None else bopis.POLICY


@get("/api/v1/pickups", guards=[requires(*STORE_STAFF)], operation_id="listPickups")
async def list_(request: Request, status: StatusFilter | None = None, limit: int = 100) -> dict[str, Any]:
    check_limit(limit)
    statuses = [s.value for s in OPEN] if status == "open" else [status] if status else None
    items = await services(request).uow.read(actor(request), lambda u: bopis.list_pickups(u, statuses, limit))
    return {"items": items}


@get("/api/v1/pickups/{order_id:str}", guards=[requires(*STORE_STAFF)], operation_id="getPickup")
async def get_one(request: Request, order_id: OrderId) -> PickupRow:
    return await services(request).uow.read(actor(request), lambda u: bopis.get_pickup(u, order_id))


@post("/api/v1/pickups/{order_id:str}/accept", guards=[requires(*DECIDERS)], operation_id="acceptPickup")
async def accept(request: Request, order_id: OrderId) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: bopis.accept(u, order_id), status_code=200)


@post("/api/v1/pickups/{order_id:str}/reject", guards=[requires(*DECIDERS)], operation_id="rejectPickup")
async def reject(request: Request, order_id: OrderId, data: RejectIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: bopis.reject(u, order_id, data.reason), status_code=200)


@post("/api/v1/pickups/{order_id:str}/picked", guards=[requires(*STORE_STAFF)], operation_id="markPickupPicked")
async def picked(request: Request, order_id: OrderId) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: bopis.mark_picked(u, order_id), status_code=200)


@post("/api/v1/pickups/{order_id:str}/ready", guards=[requires(*STORE_STAFF)], operation_id="markPickupReady")
async def ready(request: Request, order_id: OrderId) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: bopis.mark_ready(u, order_id), status_code=200)


@post("/api/v1/pickups/{order_id:str}/complete", guards=[requires(*STORE_STAFF)], operation_id="completePickup")
async def complete(request: Request, order_id: OrderId, data: CompleteIn) -> Response:
    s, who, policy = services(request), actor(request), _runtime_policy(request)
    return await s.idempotency.run(request, who, lambda u: bopis.complete(
        u, order_id, lane_id=data.lane_id, tenders=data.tenders, policy=policy), status_code=200)


@post("/api/v1/pickups/{order_id:str}/cancel", guards=[requires(*DECIDERS)], operation_id="cancelPickup")
async def cancel(request: Request, order_id: OrderId, data: CancelIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: bopis.cancel(u, order_id, data.reason), status_code=200)


ROUTES = [list_, get_one, accept, reject, picked, ready, complete, cancel]
