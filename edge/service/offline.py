"""Offline replay: sales a lane queued while the store server was unreachable.

Each queued sale keeps the idempotency key the lane minted when it was rung up. It is never
refused for stock (stock may go negative and a stock conflict case opens) and the price the
customer paid stands (a differing catalog price opens a price-variance case). The verdict
tells the lane what happened: accepted, accepted_with_price_variance,
accepted_with_stock_conflict, or duplicate (already received, nothing new was written).
"""

from __future__ import annotations

import json
from typing import Any

from edge.domain.errors import DomainError
from edge.domain.offline import OfflineVerdict
from edge.service import orders as order_cases
from edge.service.commands import OfflineSale
from edge.service.ports import UnitOfWork

ROUTE = "POST /api/v1/offline/sales#sale"


def replay_sale(uow: UnitOfWork, sale: OfflineSale, *, override_by: str | None = None,
                policy: order_cases.SalesPolicy = order_cases.POLICY) -> dict[str, Any]:
    """One queued sale, in its own savepoint-backed unit of work (see the route). Its lane
    prices are honoured on the terms of `orders.create_order` (lane-bound sign-in, a plausible
    time, a supervisor for a steep undercharge)."""
    idem = uow.idempotency
    scope = (uow.actor.tenant_id, uow.actor.user_id or uow.actor.username, ROUTE, sale.idempotency_key)
    stored = idem.find(scope)
    if stored is not None:
        previous = json.loads(stored.response_body)
        return previous | {"verdict": OfflineVerdict.DUPLICATE.value}
    view = order_cases.create_order(uow, sale, offline=True, override_by=override_by, policy=policy)
    result = {"idempotency_key": sale.idempotency_key, "verdict": view["verdict"], "order_id": view["id"],
              "number": view["number"], "status": view["status"], "total_cents": view["total_cents"]}
    idem.save(scope, "offline", 201, json.dumps(result), uow.now)
    return result


def rejected(sale: OfflineSale, err: DomainError) -> dict[str, Any]:
    return {"idempotency_key": sale.idempotency_key, "verdict": "rejected", "code": err.code,
            "detail": err.detail, "errors": err.errors}
