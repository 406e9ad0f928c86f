"""Payment lookups (provider callbacks are in `edge.api.routes.crypto`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, requires
from edge.domain.errors import NotFound
from edge.service.orders import present_payment


@get("/api/v1/payments/{payment_id:str}", guards=[requires(*STORE_STAFF)], operation_id="getPayment")
async def get_payment(request: Request, payment_id: str) -> dict[str, Any]:
    row = await services(request).uow.read(actor(request), lambda u: u.payments.get(payment_id))
    if row is None:
        raise NotFound("no such payment", code="payment-not-found")
    return present_payment(row) | {"order_id": row.order_id, "kind": row.kind}


ROUTES = [get_payment]
