"""Settlement reconciliation reports: read them, or reconcile a business day now."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post

from edge.api.deps import actor, services
from edge.api.guards import MANAGERS, requires
from edge.contracts.bounds import SafeId
from edge.domain.errors import NotFound
from edge.service import settlement

BusinessDay = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", examples=["2026-11-30"])]


class ReconcileIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    business_day: BusinessDay
    provider: SafeId | None = None  # every configured provider when absent


@get("/api/v1/settlement/reports", guards=[requires(*MANAGERS)], operation_id="listSettlementReports")
async def list_reports(request: Request, business_day: str | None = None, provider: str | None = None,
                       limit: int = 60) -> dict[str, Any]:
    if business_day:
        settlement.parse_day(business_day)
    limit = max(1, min(limit, 366))
    items = await services(request).uow.read(actor(request), lambda u: u.settlement.reports(
        business_day=business_day, provider=provider, limit=limit))
    sources = [s.provider for s in services(request).extras["settlement"].sources]
    return {"items": items, "providers": sources}


@post("/api/v1/settlement/reports", guards=[requires(*MANAGERS)], operation_id="reconcileSettlement",
      status_code=200, opt={"problems": (404, 503)})
async def reconcile(request: Request, data: ReconcileIn) -> dict[str, Any]:
    """Reconcile one business day now (the daily run does the previous day by itself)."""
    s = services(request)
    runtime = s.extras["settlement"]
    day = settlement.parse_day(data.business_day)
    chosen = [src for src in runtime.sources if data.provider in (None, src.provider)]
    if not chosen:
        raise NotFound(f"no settlement source named {data.provider!r}", code="settlement-source-not-found")
    store = s.settings.store
    reports = [await settlement.reconcile_day(s.uow, actor(request), src, day, timezone=store.timezone,
                                              day_start_hour=store.day_start_hour, currency=store.currency)
               for src in chosen]
    return {"items": reports}


ROUTES = [list_reports, reconcile]
