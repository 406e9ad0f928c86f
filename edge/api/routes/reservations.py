"""Reservations: BOPIS and manual holds with a TTL; pickup commits, release frees."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post

from edge.api.deps import actor, check_limit, services
from edge.api.guards import INTEGRATION, STORE_STAFF, requires
from edge.api.limits import MAX_HOLD_S, MAX_LINES, Name, Note, Quantity, SafeId, Sku
from edge.service import reservations

HOLDERS = (*STORE_STAFF, INTEGRATION)


class HoldItem(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    quantity: Quantity
    sku: Sku | None = None
    product_id: SafeId | None = None


class HoldIn(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[HoldItem], msgspec.Meta(max_length=MAX_LINES)]
    kind: Literal["bopis", "hold"] = "bopis"
    ref: SafeId | None = None
    customer: Name | None = None
    ttl_s: Annotated[int, msgspec.Meta(ge=1, le=MAX_HOLD_S)] = 3600


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Note | None = None


@post("/api/v1/reservations", guards=[requires(*HOLDERS)], operation_id="createReservation")
async def create(request: Request, data: HoldIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: reservations.create_hold(u, data))


@get("/api/v1/reservations", guards=[requires(*HOLDERS)], operation_id="listReservations")
async def list_(request: Request, status: str | None = None, kind: str | None = None, limit: int = 100
                ) -> dict[str, Any]:
    check_limit(limit)
    items = await services(request).uow.read(actor(request), lambda u: reservations.list_holds(u, status, kind, None,
                                                                                               limit))
    return {"items": items}


@get("/api/v1/reservations/{reservation_id:str}", guards=[requires(*HOLDERS)], operation_id="getReservation")
async def get_one(request: Request, reservation_id: str) -> dict[str, Any]:
    return await services(request).uow.read(actor(request), lambda u: reservations.get_hold(u, reservation_id))


@post("/api/v1/reservations/{reservation_id:str}/pickup", guards=[requires(*STORE_STAFF)],
      operation_id="pickUpReservation")
async def pick_up(request: Request, reservation_id: str) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: reservations.pick_up(u, reservation_id), status_code=200)


@post("/api/v1/reservations/{reservation_id:str}/release", guards=[requires(*HOLDERS)],
      operation_id="releaseReservation")
async def release(request: Request, reservation_id: str, data: ReleaseIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: reservations.release_hold(u, reservation_id, data.reason),
                                   status_code=200)


ROUTES = [create, list_, get_one, pick_up, release]
