"""Tills (drawer sessions, X/Z reports), lanes' offline queue reports, offline replay, reviews."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post

from edge.api.deps import actor, check_limit, decode_cursor, encode_cursor, services
from edge.api.guards import MANAGERS, STORE_STAFF, SUPERVISOR, requires
from edge.api.limits import (
    MAX_BATCH,
    MAX_LINES,
    MAX_QUEUED,
    Cents,
    Code,
    IdempotencyKey,
    Note,
    PositiveCents,
    SafeId,
    Secret,
    Timestamp,
)
from edge.api.routes.orders import LineIn, TenderIn, override_by, runtime
from edge.contracts.customers import CustomerId
from edge.domain.errors import DomainError
from edge.service import offline, reviews, tills

TILL_CLOSE = (*MANAGERS, SUPERVISOR)
TILL_FIELDS = ("id", "lane_id", "status", "business_day", "float_cents", "opened_by", "opened_at", "closed_by",
               "closed_at", "counted_cents", "expected_cents", "variance_cents")


class OpenTillIn(msgspec.Struct, forbid_unknown_fields=True):
    lane_id: SafeId
    float_cents: Cents


class CashMoveIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Code
    amount_cents: PositiveCents
    reason: Note
    override_token: Secret | None = None  # a supervisor's approval of a large pay-out: their token
    override_pin: Secret | None = None  # or their PIN, keyed in at the lane


class CloseTillIn(msgspec.Struct, forbid_unknown_fields=True):
    counted_cents: Cents


class QueueStatusIn(msgspec.Struct, forbid_unknown_fields=True):
    queued: Annotated[int, msgspec.Meta(ge=0, le=MAX_QUEUED)]
    oldest_queued_at: Timestamp | None = None


class OfflineSaleIn(msgspec.Struct, forbid_unknown_fields=True):
    idempotency_key: IdempotencyKey
    offline_created_at: Timestamp
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=MAX_LINES)]
    tenders: Annotated[list[TenderIn], msgspec.Meta(max_length=MAX_LINES)]
    lane_id: SafeId | None = None
    discount_cents: Cents = 0
    override_token: Secret | None = None  # a supervisor approving lane prices far below today's
    override_pin: Secret | None = None
    customer_id: CustomerId | None = None  # the customer attached offline (created or cached at the store)


class OfflineBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    sales: Annotated[list[OfflineSaleIn], msgspec.Meta(max_length=MAX_BATCH)]


class ResolveIn(msgspec.Struct, forbid_unknown_fields=True):
    resolution: Code
    note: Note | None = None


@post("/api/v1/tills", guards=[requires(*STORE_STAFF)], operation_id="openTill")
async def open_till(request: Request, data: OpenTillIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: tills.open_till(u, data.lane_id, data.float_cents))


@post("/api/v1/tills/{session_id:str}/cash", guards=[requires(*STORE_STAFF)], operation_id="tillCashMovement")
async def cash_movement(request: Request, session_id: str, data: CashMoveIn) -> Response:
    s, who = services(request), actor(request)
    approved_by = await override_by(request, data.override_token, data.override_pin)
    limit = runtime(request).policy.payout_supervisor_over_cents
    return await s.idempotency.run(request, who, lambda u: tills.cash_movement(
        u, session_id, data.kind, data.amount_cents, data.reason, override_by=approved_by,
        payout_supervisor_over_cents=limit))


@get("/api/v1/tills/{session_id:str}/x-report", guards=[requires(*STORE_STAFF)], operation_id="tillXReport")
async def x_report(request: Request, session_id: str) -> tills.DrawerReport:
    return await services(request).uow.read(actor(request), lambda u: tills.report(u, session_id, "X"))


@post("/api/v1/tills/{session_id:str}/close", guards=[requires(*TILL_CLOSE)], operation_id="closeTill")
async def close_till(request: Request, session_id: str, data: CloseTillIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: tills.close_till(u, session_id, data.counted_cents),
                                   status_code=200)


@get("/api/v1/tills", guards=[requires(*STORE_STAFF)], operation_id="listTills")
async def list_tills(request: Request, lane_id: str | None = None,
                     status: Literal["open", "closed"] | None = None) -> dict[str, Any]:
    """The store's drawer sessions, newest first (the latest 100), with their drawer figures:
    float, and once closed the counted and expected cash and the variance."""
    who = actor(request)
    rows = await services(request).uow.read(who, lambda u: u.tills.sessions(who.store_id, lane_id=lane_id,
                                                                                     status=status))
    return {"items": [{k: getattr(r, k) for k in TILL_FIELDS} for r in rows]}


@post("/api/v1/lanes/{lane_id:str}/queue-status", guards=[requires(*STORE_STAFF)], operation_id="laneQueueStatus",
      status_code=200)
async def lane_queue_status(request: Request, lane_id: str, data: QueueStatusIn) -> tills.QueueReport:
    # A gauge, not money: the latest report simply replaces the previous one.
    return await services(request).uow.run(actor(request), lambda u: tills.report_lane_queue(
        u, lane_id, data.queued, data.oldest_queued_at))


@get("/api/v1/lanes/queue-status", guards=[requires(*STORE_STAFF)], operation_id="laneQueues")
async def lane_queues(request: Request) -> dict[str, Any]:
    who = actor(request)
    queues = await services(request).uow.read(who, lambda u: u.tills.queues(who.store_id))
    return {"items": [{"tenant_id": who.tenant_id} | msgspec.structs.asdict(q) for q in queues]}


@post("/api/v1/offline/sales", guards=[requires(*STORE_STAFF)], operation_id="replayOfflineSales", status_code=200)
async def replay_offline(request: Request, data: OfflineBatchIn) -> dict[str, Any]:
    """Each queued sale carries the idempotency key minted when it was rung up, and commits on
    its own: one bad sale never blocks the rest of the queue, and a re-sent one is `duplicate`."""
    s, who = services(request), actor(request)
    policy = runtime(request).policy
    results = []
    for sale in data.sales:
        try:
            approved_by = await override_by(request, sale.override_token, sale.override_pin)
            results.append(await s.uow.run(who, lambda u, sale=sale, by=approved_by: offline.replay_sale(
                u, sale, override_by=by, policy=policy)))
        except DomainError as err:
            results.append(offline.rejected(sale, err))
    return {"results": results}


@get("/api/v1/reviews", guards=[requires(*MANAGERS, SUPERVISOR)], operation_id="listReviews")
async def list_reviews(request: Request, status: str | None = "open", kind: str | None = None,
                       cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
    check_limit(limit)
    after = decode_cursor(cursor)
    items = await services(request).uow.read(actor(request), lambda u: reviews.list_cases(u, status, kind, after,
                                                                                          limit + 1))
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(items[-1].id) if more and items else None}


@post("/api/v1/reviews/{case_id:str}/resolve", guards=[requires(*MANAGERS, SUPERVISOR)],
      operation_id="resolveReview", status_code=200)
async def resolve_review(request: Request, case_id: str, data: ResolveIn) -> Response:
    # With an Idempotency-Key, a retry after a lost answer gets the same answer, not a 409.
    s = services(request)
    return await s.idempotency.run(request, actor(request), lambda u: reviews.resolve(
        u, case_id, data.resolution, data.note), status_code=200, required=False)


ROUTES = [open_till, cash_movement, x_report, close_till, list_tills, lane_queue_status, lane_queues,
          replay_offline, list_reviews, resolve_review]
