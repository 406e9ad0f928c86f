"""Stock across locations, filtered and paged (`/api/v1/hq/stock/levels`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from cloud import stock_list
from cloud.api.guards import READ, allow
from edge.contracts.bounds import ID_PATTERN, MAX_ID_LENGTH

Id = Annotated[str | None, QueryParameter(pattern=ID_PATTERN, max_length=MAX_ID_LENGTH, required=False)]


@get("/", guards=[allow(*READ)], operation_id="hqStockLevels")
async def stock_levels(
    request: Request,
    q: Annotated[str | None, QueryParameter(max_length=64, pattern=r"^[A-Za-z0-9._/-]*$", required=False)] = None,
    store_id: Id = None,
    location_id: Id = None,
    low_stock: bool = False,
    limit: Annotated[int, QueryParameter(ge=1, le=stock_list.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, QueryParameter(max_length=400, required=False)] = None,
) -> dict[str, Any]:
    """Levels ordered by SKU then location; `next_cursor` fetches the next page."""
    tenant = request.state.tenant_id
    where = stock_list.StockFilter(q=q or None, store_id=store_id, location_id=location_id, low_only=low_stock)
    threshold = request.app.state.settings.low_stock_threshold
    try:
        async with request.app.state.db.tenant(tenant, write=False) as conn:
            return await stock_list.page(conn, tenant, where, low_threshold=threshold, limit=limit, cursor=cursor)
    except stock_list.BadCursor as exc:
        raise ValidationException(str(exc), extra=[{"key": "cursor", "message": str(exc)}]) from None


stock_router = Router(path="/api/v1/hq/stock/levels", route_handlers=[stock_levels])
