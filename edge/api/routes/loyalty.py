"""Loyalty at the store: a customer's points ledger, and a supervisor's adjustment with a reason.

Also where the order routes learn whether a points tender is online: `points_online` asks the
`HqReach` in `services.extras["loyalty_reach"]` (wired by the customers feature to the rpc
channel) to refresh the customer's HQ balance; a store with no HQ configured is always online
(its ledger is the whole truth), one configured for HQ with nothing to ask is offline-capped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter

from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, SUPERVISOR, requires
from edge.api.limits import Note
from edge.service import loyalty
from edge.service.orders import SUPERVISOR_ROLES

CustomerIdPath = Annotated[str, Parameter(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]{8,64}$")]
SUPERVISORS = (SUPERVISOR, *sorted(SUPERVISOR_ROLES - {SUPERVISOR}))


class AdjustmentIn(msgspec.Struct, forbid_unknown_fields=True):
    points: Annotated[int, msgspec.Meta(ge=-loyalty.MAX_ADJUST_POINTS, le=loyalty.MAX_ADJUST_POINTS)]
    reason: Note


def reach(request: Request) -> loyalty.HqReach:
    s = services(request)
    extras = s.extras or {}
    found = extras.get("loyalty_reach")
    if found is not None:
        return found
    if "customers_hq" in extras:  # the customers feature's rpc channel (None: no HQ configured)
        return loyalty.LinkReach(s.uow, extras["customers_hq"])
    return loyalty.Unreachable() if s.settings.sync.nats_url else loyalty.Standalone()


async def points_online(request: Request, customer_id: str | None, tenders: Sequence[Any]) -> bool:
    """For a sale paying with points: can HQ vouch for the balance right now?"""
    if not customer_id or not any(t.method == "points" for t in tenders):
        return True
    return await reach(request).refresh(actor(request), customer_id)


@get("/api/v1/customers/{customer_id:str}/loyalty/ledger", guards=[requires(*STORE_STAFF)],
     operation_id="loyaltyLedger")
async def loyalty_ledger(request: Request, customer_id: CustomerIdPath) -> dict[str, Any]:
    return await services(request).uow.read(actor(request), lambda u: loyalty.ledger(u, customer_id))


@post("/api/v1/customers/{customer_id:str}/loyalty/adjustments", guards=[requires(*SUPERVISORS)],
      operation_id="loyaltyAdjust")
async def loyalty_adjust(request: Request, customer_id: CustomerIdPath, data: AdjustmentIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: loyalty.adjust(u, customer_id, data))


ROUTES = [loyalty_ledger, loyalty_adjust]
