"""HQ's loyalty routes for one customer: the points ledger with its balance, and adjustments.

An adjustment is a signed number of points with a reason, made by a tenant admin, audited in
`hq_audit` with the customer id only. Stores see HQ's entries through the balance HQ reports on
the rpc channel (lookups and 360 views), never through a command.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import Parameter

from cloud import loyalty
from cloud.api.guards import ADMIN, READ, allow
from cloud.clock import now_iso

CustomerIdParam = Annotated[str, Parameter(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class AdjustmentBody(msgspec.Struct, forbid_unknown_fields=True):
    points: Annotated[int, msgspec.Meta(ge=-loyalty.MAX_ADJUST_POINTS, le=loyalty.MAX_ADJUST_POINTS)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


@get("/api/v1/hq/customers/{customer_id:str}/loyalty/ledger", guards=[allow(*READ)],
     operation_id="hqLoyaltyLedger")
async def hq_loyalty_ledger(request: Request, customer_id: CustomerIdParam) -> dict[str, Any]:
    db, tenant = request.app.state.db, request.state.tenant_id
    async with db.tenant(tenant, write=False) as conn:
        items = await conn.run_sync(loyalty.ledger, tenant, customer_id)
    return {"customer_id": customer_id, "balance_points": sum(int(i["points"]) for i in items), "items": items}


@post("/api/v1/hq/customers/{customer_id:str}/loyalty/adjustments", guards=[allow(*ADMIN)], status_code=201,
      operation_id="hqLoyaltyAdjust")
async def hq_loyalty_adjust(request: Request, customer_id: CustomerIdParam, data: AdjustmentBody) -> dict[str, Any]:
    db, tenant, actor = request.app.state.db, request.state.tenant_id, request.state.principal.username
    return await db.write(loyalty.adjust, tenant, customer_id, points=data.points, reason=data.reason, actor=actor,
                          now=now_iso(), tenant_id=tenant)


LOYALTY_ROUTES = [hq_loyalty_ledger, hq_loyalty_adjust]
