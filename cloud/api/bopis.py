"""HQ's BOPIS order routes beside placing and listing (`cloud.api.hq`): one order with its
status history, and cancelling an order the web shop withdrew."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.params import Parameter

from cloud import bopis
from cloud.api.guards import ADMIN, READ, allow
from cloud.clock import now_iso
from edge.contracts.bounds import Note

OrderId = Annotated[str, Parameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Note | None = None


@get("/{order_id:str}", guards=[allow(*READ)], operation_id="hqBopisOrder")
async def bopis_order(request: Request, order_id: OrderId) -> dict[str, Any]:
    db, tenant = request.app.state.db, request.state.tenant_id
    async with db.tenant(tenant, write=False) as conn:
        return await conn.run_sync(bopis.detail, tenant, order_id)


@post("/{order_id:str}/cancel", guards=[allow(*ADMIN)], operation_id="hqCancelBopis", status_code=200)
async def cancel_bopis(request: Request, order_id: OrderId, data: CancelBody) -> dict[str, Any]:
    db, tenant, actor = request.app.state.db, request.state.tenant_id, request.state.principal.username
    order = await db.write(bopis.cancel, tenant, order_id, reason=data.reason, actor=actor, now=now_iso(),
                           tenant_id=tenant)
    await request.app.state.runtime.publish_commands()  # best effort now; the loop retries
    return order


bopis_router = Router(path="/api/v1/hq/bopis", route_handlers=[bopis_order, cancel_bopis])
