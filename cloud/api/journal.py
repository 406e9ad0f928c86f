"""`GET /api/v1/hq/journal`: the accounting export of one store's business day, CSV or JSON.

Exporting records the day (see `cloud.journal`): the same request again answers the same
batches, and a late sale shows up as a correction batch, never as a changed past.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, Response, get
from litestar.params import Parameter

from cloud import journal
from cloud.api.guards import READ, allow
from cloud.clock import now_iso

StoreId = Annotated[str, Parameter(query="store", min_length=1, max_length=64,
                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
BusinessDay = Annotated[str, Parameter(pattern=r"^\d{4}-\d{2}-\d{2}$")]


@get("/api/v1/hq/journal", guards=[allow(*READ)], operation_id="hqJournal",
     opt={"media_types": ["application/json", "text/csv"]})
async def journal_export(request: Request, store_id: StoreId, business_day: BusinessDay,
                         format: Literal["json", "csv"] = "json") -> Response[Any]:
    db, tenant, actor = request.app.state.db, request.state.tenant_id, request.state.principal.username
    journal.check_day(business_day)
    result = await db.write(journal.export, tenant, store_id, business_day, actor=actor, now=now_iso(),
                            tenant_id=tenant)
    if format == "csv":
        filename = f"journal-{store_id}-{business_day}.csv"
        return Response(journal.to_csv(result), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return Response(result)


ROUTES = [journal_export]
