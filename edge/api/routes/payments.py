"""Payment provider callbacks and payment lookups."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, Response, get, post

from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, requires
from edge.domain.errors import NotFound
from edge.service import payments
from edge.service.orders import present_payment
from edge.service.ports import Actor


@post("/api/v1/payments/crypto/callback", opt={"public": True, "request_media_type": "application/json"},
      operation_id="cryptoCallback", status_code=200,
      request_max_body_size=64 * 1024)
async def crypto_callback(request: Request) -> Response:
    """Public, but every byte is authenticated: HMAC over the raw body, ±300 s window,
    deduplicated by the provider's event id. A bad signature gets 400 and changes nothing."""
    s = services(request)
    runtime = s.extras["sales"]
    raw = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        event = runtime.provider.verify_callback(raw, headers, time.time())
    except ValueError as err:
        return Response(content={"type": "https://novapos.dev/problems/signature-invalid", "title": "Bad request",
                                 "status": 400, "detail": str(err)}, status_code=400,
                        media_type="application/problem+json")
    cfg = s.settings.store
    result = await s.uow.run(Actor.system(cfg.tenant_id, cfg.store_id, "crypto-callback"),
                             lambda u: payments.provider_callback(u, runtime.provider.name, event))
    return Response(content=result, status_code=200)


@get("/api/v1/payments/{payment_id:str}", guards=[requires(*STORE_STAFF)], operation_id="getPayment")
async def get_payment(request: Request, payment_id: str) -> dict[str, Any]:
    row = await services(request).uow.read(actor(request), lambda u: u.payments.get(payment_id))
    if row is None:
        raise NotFound("no such payment", code="payment-not-found")
    return present_payment(row) | {"order_id": row.order_id, "kind": row.kind}


ROUTES = [crypto_callback, get_payment]
