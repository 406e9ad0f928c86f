"""HQ JSON API (`/api/v1/hq`): stores and sync health, sales, stock, transfers, conflicts, commands.

Every route declares its roles with `guards=[allow(...)]`; the guard resolves the tenant from
the token (a super-admin may switch it with X-Tenant-ID) and reads open one tenant
transaction (RLS on Postgres); writes go through `CloudDB.write`, the single writer.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from sqlalchemy import select

from cloud import bopis, commands, conflicts, enrollment, queries, tenant_users
from cloud.api.guards import ADMIN, READ, allow
from cloud.bopis import MAX_BOPIS_LINES
from cloud.clock import now_iso
from cloud.ingest import seq_gaps
from cloud.schema import quarantined_events
from edge.contracts.bounds import Name, Note, Quantity, SafeId, Sku

From = Annotated[str | None, QueryParameter(query="from", pattern=r"^\d{4}-\d{2}-\d{2}$", required=False)]
To = Annotated[str | None, QueryParameter(query="to", pattern=r"^\d{4}-\d{2}-\d{2}$", required=False)]


class AssignBody(msgspec.Struct, forbid_unknown_fields=True):
    assignee: Name  # a username from GET /api/v1/hq/users
    note: Note | None = None


class ResolveBody(msgspec.Struct, forbid_unknown_fields=True):
    resolution: Annotated[str, msgspec.Meta(max_length=64, pattern="^[a-z][a-z_]*$")]  # a code its kind allows
    note: Note | None = None


class CommandBody(msgspec.Struct):
    type: Annotated[str, msgspec.Meta(max_length=64)]
    payload: dict[str, Any]  # nesting bounded for every body by cloud.api.limits.BoundedRequest
    store_id: SafeId | None = None  # None: every store of the tenant


STORE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
StoreId = Annotated[str, msgspec.Meta(pattern=f"^{STORE_ID.pattern}$")]


class RegisterStoreBody(msgspec.Struct):
    store_id: SafeId
    name: Name | None = None
    leaf_domain: SafeId | None = None  # JetStream domain of the store's leaf node (leaf mode)


class EnrollmentTokenBody(msgspec.Struct, forbid_unknown_fields=True):
    ttl_s: Annotated[int, msgspec.Meta(ge=enrollment.MIN_TTL_S, le=enrollment.MAX_TTL_S)] | None = None


class BopisLine(msgspec.Struct):
    sku: Sku
    quantity: Quantity


class BopisBody(msgspec.Struct):
    order_id: SafeId
    lines: Annotated[list[BopisLine], msgspec.Meta(min_length=1, max_length=MAX_BOPIS_LINES)]
    prepaid: bool = False  # paid online: the store hands it over as a sale tendered `prepaid`
    hold_hours: Annotated[int, msgspec.Meta(ge=1, le=7 * 24)] = bopis.DEFAULT_HOLD_HOURS


def _ctx(request: Request) -> tuple[Any, str, str]:
    return request.app.state.db, request.state.tenant_id, request.state.principal.username


@get("/stores", guards=[allow(*READ)], operation_id="hqStores")
async def list_stores(request: Request) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.store_list(conn, tenant)}


@post("/stores", guards=[allow(*ADMIN)], operation_id="hqRegisterStore", status_code=201,
      responses={200: ResponseSpec(data_container=dict[str, Any], description="the tenant's own store, registered again")})
async def register_store(request: Request, data: RegisterStoreBody) -> Response[dict[str, Any]]:
    """A store id is one tenant's: another tenant's id is a 409 that changes nothing; the owner
    registering it again (e.g. a new leaf domain) is audited with before and after."""
    db, tenant, actor = _ctx(request)
    new = await db.write(
        enrollment.register_store, tenant, data.store_id, data.name, data.leaf_domain, actor, now_iso(), system=True
    )
    body = {"store_id": data.store_id, "leaf_domain": data.leaf_domain}
    return Response(body, status_code=201 if new else 200)


@post(
    "/stores/{store_id:str}/enrollment-tokens",
    guards=[allow(*ADMIN)],
    operation_id="hqMintEnrollmentToken",
    status_code=201,
)
async def mint_enrollment_token(
    request: Request, store_id: str, data: EnrollmentTokenBody | None = None
) -> dict[str, Any]:
    """A one-time, short-lived token a technician gives `novapos-provision enroll`."""
    if not STORE_ID.fullmatch(store_id):
        raise ValidationException("store_id must be 1-64 letters, digits, '-' or '_' (example: demo-001)")
    db, tenant, actor = _ctx(request)
    ttl = (data.ttl_s if data else None) or request.app.state.settings.enroll_token_ttl_s
    minted = await enrollment.mint_token(db, tenant, store_id, actor=actor, ttl_s=ttl)
    return {"token": minted["token"], "expires_at": minted["expires_at"], "store_id": store_id}


@get("/quarantine", guards=[allow(*READ)], operation_id="hqQuarantine")
async def quarantine_list(
    request: Request, limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100
) -> dict[str, Any]:
    """Events ingest refused to project, newest first: what came from this tenant's account or
    subjects claiming to be someone else's."""
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        rows = await conn.execute(
            select(quarantined_events)
            .where(quarantined_events.c.tenant_id == tenant)
            .order_by(quarantined_events.c.received_at.desc(), quarantined_events.c.id)
            .limit(limit)
        )
        items = [
            {
                "id": r.id,
                "received_at": r.received_at,
                "reason": r.reason,
                "subject": r.subject,
                "event_id": r.event_id,
                "claimed_tenant_id": r.claimed_tenant_id,
                "claimed_store_id": r.claimed_store_id,
            }
            for r in rows
        ]
    return {"items": items}


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
    await tenant_users.require_hq_user(db, tenant, data.assignee)
    return await db.write(
        conflicts.assign, tenant, case_id, data.assignee, actor, now_iso(), data.note, tenant_id=tenant
    )


@post("/conflicts/{case_id:str}/resolve", guards=[allow(*ADMIN)], operation_id="hqResolveConflict", status_code=200)
async def conflict_resolve(request: Request, case_id: str, data: ResolveBody) -> dict[str, Any]:
    db, tenant, actor = _ctx(request)
    return await db.write(
        conflicts.resolve, tenant, case_id, data.resolution, actor, now_iso(), data.note, tenant_id=tenant
    )


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
    order = await db.write(bopis.place, tenant, data.order_id, lines, actor=actor, now=now_iso(), tenant_id=tenant,
                           prepaid=data.prepaid, hold_hours=data.hold_hours)
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
        mint_enrollment_token,
        quarantine_list,
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
