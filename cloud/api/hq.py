"""HQ JSON API (`/api/v1/hq`): stores and sync health, sales, stock, transfers, conflicts, commands.

Every route declares its roles with `guards=[allow(...)]`; the guard resolves the tenant from
the token (a super-admin may switch it with X-Tenant-ID) and reads open one tenant
transaction (RLS on Postgres); writes go through `CloudDB.write`, the single writer.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter
from sqlalchemy import Connection

from cloud import bopis, commands, conflicts, queries
from cloud.api.guards import ADMIN, READ, allow
from cloud.bopis import MAX_BOPIS_LINES
from cloud.clock import now_iso
from cloud.ingest import seq_gaps
from cloud.projections import dialect_insert
from cloud.schema import stores
from edge.contracts.bounds import Name, Note, Quantity, SafeId, Sku

From = Annotated[str | None, QueryParameter(query="from", pattern=r"^\d{4}-\d{2}-\d{2}$", required=False)]
To = Annotated[str | None, QueryParameter(query="to", pattern=r"^\d{4}-\d{2}-\d{2}$", required=False)]


class AssignBody(msgspec.Struct):
    assignee: Name


class ResolveBody(msgspec.Struct):
    resolution: Note


class CommandBody(msgspec.Struct):
    type: Annotated[str, msgspec.Meta(max_length=64)]
    payload: dict[str, Any]  # nesting bounded for every body by cloud.api.limits.BoundedRequest
    store_id: SafeId | None = None  # None: every store of the tenant


class RegisterStoreBody(msgspec.Struct):
    store_id: SafeId
    name: Name | None = None
    leaf_domain: SafeId | None = None  # JetStream domain of the store's leaf node (leaf mode)


class BopisLine(msgspec.Struct):
    sku: Sku
    quantity: Quantity


class BopisBody(msgspec.Struct):
    order_id: SafeId
    lines: Annotated[list[BopisLine], msgspec.Meta(min_length=1, max_length=MAX_BOPIS_LINES)]


def _ctx(request: Request) -> tuple[Any, str, str]:
    return request.app.state.db, request.state.tenant_id, request.state.principal.username


@get("/stores", guards=[allow(*READ)], operation_id="hqStores")
async def list_stores(request: Request) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.store_list(conn, tenant)}


@post("/stores", guards=[allow(*ADMIN)], operation_id="hqRegisterStore", status_code=201)
async def register_store(request: Request, data: RegisterStoreBody) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    await db.write(_register_store, tenant, data, tenant_id=tenant)
    return {"store_id": data.store_id, "leaf_domain": data.leaf_domain}


def _register_store(conn: Connection, tenant: str, data: RegisterStoreBody) -> None:
    stmt = dialect_insert(conn, stores).values(
        tenant_id=tenant,
        store_id=data.store_id,
        name=data.name,
        leaf_domain=data.leaf_domain,
        events_received=0,
        missing_seqs=0,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "store_id"], set_={"name": data.name, "leaf_domain": data.leaf_domain}
        )
    )


@get("/stores/{store_id:str}/gaps", guards=[allow(*READ)], operation_id="hqStoreGaps")
async def store_gaps(request: Request, store_id: str) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"store_id": store_id, "items": await seq_gaps(conn, tenant, store_id)}


@get("/sync", guards=[allow(*READ)], operation_id="hqSyncHealth")
async def sync_health(request: Request) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        items = await queries.store_list(conn, tenant)
    runtime = request.app.state.runtime
    return {"nats": "up" if runtime.nats_up else "down", "ingested": runtime.ingestor.total_new, "items": items}


@get("/sales/summary", guards=[allow(*READ)], operation_id="hqSalesSummary")
async def sales_summary(
    request: Request, day_from: From = None, day_to: To = None, store_id: str | None = None
) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.sales_summary(conn, tenant, day_from, day_to, store_id)}


@get("/sales/by-day", guards=[allow(*READ)], operation_id="hqSalesByDay")
async def sales_by_day(
    request: Request, day_from: From = None, day_to: To = None, store_id: str | None = None
) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.sales_by(conn, tenant, "day", day_from, day_to, store_id)}


@get("/sales/by-hour", guards=[allow(*READ)], operation_id="hqSalesByHour")
async def sales_by_hour(
    request: Request, day_from: From = None, day_to: To = None, store_id: str | None = None
) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.sales_by(conn, tenant, "hour", day_from, day_to, store_id)}


@get("/sales/tenders", guards=[allow(*READ)], operation_id="hqTenderMix")
async def tender_mix(request: Request, day_from: From = None, day_to: To = None) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.tender_mix(conn, tenant, day_from, day_to)}


@get("/sales/top-products", guards=[allow(*READ)], operation_id="hqTopProducts")
async def top_products(
    request: Request, day_from: From = None, day_to: To = None, limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10
) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.top_products(conn, tenant, day_from, day_to, limit)}


@get("/sales/compare", guards=[allow(*READ)], operation_id="hqStoreComparison")
async def store_comparison(request: Request, day_from: From = None, day_to: To = None) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.store_comparison(conn, tenant, day_from, day_to)}


@get("/stock", guards=[allow(*READ)], operation_id="hqStock")
async def stock(request: Request, sku: str | None = None, low_stock: bool = False) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    threshold = request.app.state.settings.low_stock_threshold
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.stock(conn, tenant, sku=sku, low_only=low_stock, low_threshold=threshold)}


@get("/transfers", guards=[allow(*READ)], operation_id="hqTransfers")
async def transfer_list(request: Request, status: str | None = None) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.transfer_list(conn, tenant, status)}


@get("/conflicts", guards=[allow(*READ)], operation_id="hqConflicts")
async def conflict_list(
    request: Request, status: str | None = None, kind: str | None = None, store_id: str | None = None
) -> dict[str, Any]:
    if status and status not in conflicts.STATUSES:
        raise ValidationException(f"status must be one of {', '.join(conflicts.STATUSES)}")
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        items = await conn.run_sync(conflicts.list_cases, tenant, status=status, kind=kind, store_id=store_id)
    return {"items": items}


@get("/conflicts/{case_id:str}", guards=[allow(*READ)], operation_id="hqConflict")
async def conflict_detail(request: Request, case_id: str) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return await conn.run_sync(conflicts.get_case, tenant, case_id)


@post("/conflicts/{case_id:str}/assign", guards=[allow(*ADMIN)], operation_id="hqAssignConflict", status_code=200)
async def conflict_assign(request: Request, case_id: str, data: AssignBody) -> dict[str, Any]:
    db, tenant, actor = _ctx(request)
    return await db.write(conflicts.assign, tenant, case_id, data.assignee, actor, now_iso(), tenant_id=tenant)


@post("/conflicts/{case_id:str}/resolve", guards=[allow(*ADMIN)], operation_id="hqResolveConflict", status_code=200)
async def conflict_resolve(request: Request, case_id: str, data: ResolveBody) -> dict[str, Any]:
    db, tenant, actor = _ctx(request)
    return await db.write(conflicts.resolve, tenant, case_id, data.resolution, actor, now_iso(), tenant_id=tenant)


@post("/commands", guards=[allow(*ADMIN)], operation_id="hqIssueCommand", status_code=202)
async def issue_command(request: Request, data: CommandBody) -> dict[str, Any]:
    if data.type not in commands.COMMAND_TYPES:
        raise ValidationException(f"type must be one of {', '.join(commands.COMMAND_TYPES)}")
    db, tenant, actor = _ctx(request)
    row = await db.write(
        commands.issue, tenant, data.store_id, data.type, data.payload, actor=actor, now=now_iso(), tenant_id=tenant
    )
    await request.app.state.runtime.publish_commands()  # best effort now; the loop retries
    return row


@post("/bopis", guards=[allow(*ADMIN)], operation_id="hqPlaceBopis", status_code=201)
async def place_bopis(request: Request, data: BopisBody) -> dict[str, Any]:
    db, tenant, actor = _ctx(request)
    lines = [{"sku": line.sku, "quantity": line.quantity} for line in data.lines]
    order = await db.write(bopis.place, tenant, data.order_id, lines, actor=actor, now=now_iso(), tenant_id=tenant)
    await request.app.state.runtime.publish_commands()
    return order


@get("/bopis", guards=[allow(*READ)], operation_id="hqBopis")
async def bopis_list(request: Request) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.bopis_list(conn, tenant)}


hq_router = Router(
    path="/api/v1/hq",
    route_handlers=[
        list_stores,
        register_store,
        store_gaps,
        sync_health,
        sales_summary,
        sales_by_day,
        sales_by_hour,
        tender_mix,
        top_products,
        store_comparison,
        stock,
        transfer_list,
        conflict_list,
        conflict_detail,
        conflict_assign,
        conflict_resolve,
        issue_command,
        place_bopis,
        bopis_list,
    ],
)
