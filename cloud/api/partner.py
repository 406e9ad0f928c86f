"""The partner API (`/api/v1/partner`, version 1) and the OAuth2 token endpoint (`/oauth/token`).

Every route declares `guards=[partner(<scope>)]` (cloud.api.partner_guard). Writes take an
`Idempotency-Key` (cloud.partner_idempotency), run through the same HQ functions as the
dashboard (`cloud.commands.issue` for the catalog, `cloud.bopis.place` for pickup orders) and
leave an `hq_audit` row naming the app.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from sqlalchemy import Connection, select

from cloud import audit, bopis, commands, queries, webhooks
from cloud.api.guards import PUBLIC
from cloud.api.partner_guard import EXCEPTION_HANDLERS, partner, request_log
from cloud.bopis import MAX_BOPIS_LINES
from cloud.clock import now_iso
from cloud.partner_idempotency import idempotent
from cloud.schema import bopis_orders, sale_lines, sales, stock_levels
from cloud.schema import commands as commands_table
from edge.contracts.bounds import Name, Quantity, SafeId, Sku

Day = Annotated[str | None, Parameter(pattern=r"^\d{4}-\d{2}-\d{2}$", required=False)]
Limit = Annotated[int, Parameter(ge=1, le=500)]
EventType = Annotated[str, msgspec.Meta(min_length=3, max_length=64, pattern=r"^[a-z_]+\.([a-z_]+|\*)$")]


class ProductBody(msgspec.Struct, forbid_unknown_fields=True):
    sku: Sku
    name: Name
    price_cents: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
    tax_category: SafeId | None = None
    barcodes: Annotated[list[Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{1,32}$")]],
                        msgspec.Meta(max_length=10)] = []
    active: bool = True


class OrderLine(msgspec.Struct, forbid_unknown_fields=True):
    sku: Sku
    quantity: Quantity


class PickupOrderBody(msgspec.Struct, forbid_unknown_fields=True):
    order_id: SafeId
    lines: Annotated[list[OrderLine], msgspec.Meta(min_length=1, max_length=MAX_BOPIS_LINES)]
    prepaid: bool = False  # paid in the web shop: the store hands it over as a sale tendered `prepaid`


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class EndpointBody(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
    event_types: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=20)]


@post("/oauth/token", operation_id="partnerToken", opt={**PUBLIC, "problems": (400, 401)}, status_code=200,
      include_in_schema=False)
async def token(request: Request) -> Response:
    """RFC 6749 client credentials; errors in the RFC's own JSON shape (`error`,
    `error_description`), which OAuth client libraries parse."""
    body = await request.body()
    gateway = request.app.state.partners
    url = gateway.settings.token_url or str(request.url).split("?")[0]
    result = await gateway.oauth.issue(url, request.headers, body)
    return Response(result.body, status_code=result.status,
                    headers={"Cache-Control": "no-store", "Pragma": "no-cache", **dict(result.headers)})


def _who(request: Request) -> tuple[Any, str, str]:
    p = request.state.partner
    return request.app.state.db, p.tenant_id, p.app_id


# -- catalog -------------------------------------------------------------------------------------
@get("/catalog", guards=[partner("catalog:read")], operation_id="partnerCatalog")
async def catalog(request: Request, limit: Limit = 100, after: Annotated[str | None, Parameter(
        max_length=64, required=False)] = None) -> dict[str, Any]:
    """HQ's catalog as HQ last decided it: the newest `catalog.upsert` per SKU."""
    db, tenant, _ = _who(request)
    async with db.tenant(tenant, write=False) as conn:
        return await conn.run_sync(_catalog, tenant, limit, after)


def _catalog(conn: Connection, tenant: str, limit: int, after: str | None) -> dict[str, Any]:
    rows = conn.execute(select(commands_table.c.payload, commands_table.c.version, commands_table.c.issued_at)
                        .where(commands_table.c.tenant_id == tenant, commands_table.c.type == "catalog.upsert")
                        .order_by(commands_table.c.version))
    latest: dict[str, dict[str, Any]] = {}
    for payload, version, issued_at in rows:
        sku = str(payload.get("sku") or "")
        if sku:
            latest[sku] = {**payload, "version": int(version), "updated_at": issued_at}
    skus = sorted(s for s in latest if after is None or s > after)[:limit]
    return {"items": [latest[s] for s in skus], "next_after": skus[-1] if len(skus) == limit else None}


@post("/catalog/products", guards=[partner("catalog:write")], operation_id="partnerUpsertProduct", status_code=202,
      opt={"problems": (409, 422)})
async def upsert_product(request: Request, data: ProductBody) -> Response:
    """Queued for every store as HQ's dashboard does it (`catalog.upsert`)."""
    _, tenant, app_id = _who(request)
    payload = {"sku": data.sku, "name": data.name, "price_cents": data.price_cents, "barcodes": data.barcodes,
               "active": data.active, **({"tax_category": data.tax_category} if data.tax_category else {})}

    def write(conn: Connection) -> dict[str, Any]:
        row = commands.issue(conn, tenant, None, "catalog.upsert", payload, actor=f"partner:{app_id}", now=now_iso())
        audit.record(conn, tenant, actor=f"partner:{app_id}", action="partner.catalog_upsert", entity="partner_write",
                     entity_id=data.sku, before=None, after={"command_id": row["command_id"], **payload}, at=now_iso())
        return {"command_id": row["command_id"], "version": row["version"], "sku": data.sku, "status": "queued"}

    response = await idempotent(request, "catalog.upsert", 202, write)
    await request.app.state.runtime.publish_commands()
    return response


# -- inventory -----------------------------------------------------------------------------------
@get("/inventory", guards=[partner("inventory:read")], operation_id="partnerInventory")
async def inventory(request: Request, sku: Annotated[str | None, Parameter(max_length=64, required=False)] = None,
                    location_id: Annotated[str | None, Parameter(max_length=64, required=False)] = None,
                    ) -> dict[str, Any]:
    """Per location: on hand (as the stores last reported), reserved (pickup orders a store holds
    or is asked to hold) and available = on_hand - reserved."""
    db, tenant, _ = _who(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await conn.run_sync(_inventory, tenant, sku, location_id)}


def _inventory(conn: Connection, tenant: str, sku: str | None, location_id: str | None) -> list[dict[str, Any]]:
    q = select(stock_levels).where(stock_levels.c.tenant_id == tenant)
    if sku:
        q = q.where(stock_levels.c.sku == sku)
    if location_id:
        q = q.where(stock_levels.c.location_id == location_id)
    reserved: dict[tuple[str, str], int] = {}
    for order in conn.execute(select(bopis_orders.c.store_id, bopis_orders.c.lines).where(
            bopis_orders.c.tenant_id == tenant, bopis_orders.c.status.in_(("reserved", "accepted")))):
        for line in order.lines or []:
            key = (str(order.store_id), str(line.get("sku")))
            reserved[key] = reserved.get(key, 0) + int(line.get("quantity") or 0)
    items = []
    for r in conn.execute(q.order_by(stock_levels.c.sku, stock_levels.c.location_id).limit(1000)):
        held = reserved.get((r.store_id, r.sku), 0) if r.location_id == r.store_id or not r.location_id else 0
        items.append({"sku": r.sku, "location_id": r.location_id, "store_id": r.store_id, "on_hand": int(r.on_hand),
                      "reserved": held, "available": int(r.on_hand) - held, "updated_at": r.updated_at})
    return items


# -- orders (pickup injection) and reads ----------------------------------------------------------
@post("/orders", guards=[partner("orders:write")], operation_id="partnerPlaceOrder", status_code=201,
      opt={"problems": (409, 422)})
async def place_order(request: Request, data: PickupOrderBody) -> Response:
    """A web order for in-store pickup: HQ allocates it to a store with stock (`cloud.bopis`)."""
    _, tenant, app_id = _who(request)
    lines = [{"sku": ln.sku, "quantity": ln.quantity} for ln in data.lines]

    def write(conn: Connection) -> dict[str, Any]:
        order = bopis.place(conn, tenant, data.order_id, lines, actor=f"partner:{app_id}", now=now_iso(),
                            prepaid=data.prepaid)
        audit.record(conn, tenant, actor=f"partner:{app_id}", action="partner.order_place", entity="partner_write",
                     entity_id=data.order_id, before=None, after={"lines": lines, "status": order["status"]},
                     at=now_iso())
        return _order_view(order)

    response = await idempotent(request, "orders.place", 201, write)
    await request.app.state.runtime.publish_commands()
    return response


def _order_view(order: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": order["order_id"], "kind": "pickup", "status": order["status"],
            "store_id": order.get("store_id"), "lines": order["lines"], "updated_at": order["updated_at"]}


def _pickup_view(conn: Connection, tenant: str, order_id: str) -> dict[str, Any]:
    """A pickup order with its history: every status, the store that took it, and a store's reason
    when it rejected the order (HQ-internal details, such as who at HQ acted, are left out)."""
    found = bopis.detail(conn, tenant, order_id)
    return {**_order_view(found), "prepaid": bool(found.get("prepaid")), "placed_at": found.get("placed_at"),
            "history": [{"status": h["status"], "store_id": h["store_id"], "reason": h["reason"], "at": h["at"]}
                        for h in found["history"]]}


@get("/orders/{order_id:str}", guards=[partner("orders:read")], operation_id="partnerOrder")
async def order_detail(request: Request, order_id: str) -> dict[str, Any]:
    db, tenant, _ = _who(request)
    async with db.tenant(tenant, write=False) as conn:
        found = await conn.run_sync(_order, tenant, order_id[:64])
    if found is None:
        raise NotFoundException(f"no order {order_id[:64]}")
    return found


def _order(conn: Connection, tenant: str, order_id: str) -> dict[str, Any] | None:
    try:
        return _pickup_view(conn, tenant, order_id)
    except bopis.BopisNotFound:
        pass
    facts = conn.execute(select(sales).where(sales.c.tenant_id == tenant, sales.c.order_id == order_id)
                         .order_by(sales.c.occurred_at)).all()
    if not facts:
        return None
    sale = next((f for f in facts if f.kind == "sale"), facts[0])
    lines = conn.execute(select(sale_lines.c.sku, sale_lines.c.name, sale_lines.c.quantity, sale_lines.c.amount_cents)
                         .where(sale_lines.c.tenant_id == tenant, sale_lines.c.event_id == sale.event_id)
                         .order_by(sale_lines.c.line_no)).all()
    return {"order_id": order_id, "kind": "store", "store_id": sale.store_id, "business_day": sale.business_day,
            "occurred_at": sale.occurred_at, "total_cents": int(sale.gross_cents), "currency": sale.currency,
            "status": "voided" if any(f.kind == "void" for f in facts) else "completed",
            "lines": [{"sku": r.sku, "name": r.name, "quantity": int(r.quantity), "amount_cents": int(r.amount_cents)}
                      for r in lines],
            "refunds": [{"kind": f.kind, "amount_cents": -int(f.gross_cents), "occurred_at": f.occurred_at}
                        for f in facts if f.kind in ("return", "void")]}


@post("/orders/{order_id:str}/cancel", guards=[partner("orders:write")], operation_id="partnerCancelOrder",
      status_code=200, opt={"problems": (404, 409, 422)})
async def cancel_order(request: Request, order_id: Annotated[str, Parameter(max_length=64)],
                       data: CancelBody | None = None) -> Response:
    """Withdraw a pickup order not yet completed: the store holding it releases the stock, and the
    order's endpoints get `bopis.cancelled`."""
    _, tenant, app_id = _who(request)
    reason = data.reason if data else None

    def write(conn: Connection) -> dict[str, Any]:
        before = bopis.detail(conn, tenant, order_id)
        if before.get("placed_by") != f"partner:{app_id}":  # another app's (or HQ's) order is not this app's to cancel
            raise bopis.BopisNotFound(f"no pickup order {order_id} placed by this app")
        bopis.cancel(conn, tenant, order_id, reason=reason, actor=f"partner:{app_id}", now=now_iso())
        audit.record(conn, tenant, actor=f"partner:{app_id}", action="partner.order_cancel", entity="partner_write",
                     entity_id=order_id, before={"status": before["status"]},
                     after={"status": "cancelled", "reason": reason}, at=now_iso())
        return _pickup_view(conn, tenant, order_id)

    # The key is scoped to the order: one key reused for two orders must not replay the first answer.
    response = await idempotent(request, f"orders.cancel:{order_id}", 200, write)
    await request.app.state.runtime.publish_commands()
    return response


@get("/orders", guards=[partner("orders:read")], operation_id="partnerOrders")
async def order_list(request: Request, day_from: Day = None, day_to: Day = None, limit: Limit = 100) -> dict[str, Any]:
    return {"items": await _facts(request, ("sale",), day_from, day_to, limit)}


@get("/refunds", guards=[partner("orders:read")], operation_id="partnerRefunds")
async def refund_list(request: Request, day_from: Day = None, day_to: Day = None, limit: Limit = 100) -> dict[str, Any]:
    """Returns and voids, as the stores reported them (amounts positive)."""
    return {"items": await _facts(request, ("return", "void"), day_from, day_to, limit)}


async def _facts(request: Request, kinds: tuple[str, ...], day_from: str | None, day_to: str | None,
                 limit: int) -> list[dict[str, Any]]:
    db, tenant, _ = _who(request)
    q = select(sales).where(sales.c.tenant_id == tenant, sales.c.kind.in_(kinds))
    if day_from:
        q = q.where(sales.c.business_day >= day_from)
    if day_to:
        q = q.where(sales.c.business_day <= day_to)
    async with db.tenant(tenant, write=False) as conn:
        rows = await conn.execute(q.order_by(sales.c.occurred_at.desc()).limit(limit))
        return [{"order_id": r.order_id, "kind": r.kind, "store_id": r.store_id, "business_day": r.business_day,
                 "occurred_at": r.occurred_at, "amount_cents": abs(int(r.gross_cents)), "currency": r.currency}
                for r in rows]


@get("/reports/sales-summary", guards=[partner("reports:read")], operation_id="partnerSalesSummary")
async def sales_summary(request: Request, day_from: Day = None, day_to: Day = None) -> dict[str, Any]:
    db, tenant, _ = _who(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await queries.sales_summary(conn, tenant, day_from, day_to)}


# -- the app's own webhook endpoints ---------------------------------------------------------------
@get("/webhooks", guards=[partner("webhooks:manage")], operation_id="partnerWebhooks")
async def endpoint_list(request: Request) -> dict[str, Any]:
    db, tenant, app_id = _who(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await conn.run_sync(webhooks.list_endpoints, tenant, app_id)}


@post("/webhooks", guards=[partner("webhooks:manage")], operation_id="partnerSubscribe", status_code=201,
      opt={"problems": (422,)})
async def subscribe(request: Request, data: EndpointBody) -> dict[str, Any]:
    """The signing secret is in this answer only."""
    db, tenant, app_id = _who(request)
    gateway = request.app.state.partners
    webhooks.check_url(data.url, allow_private=gateway.settings.allow_private_webhooks)
    return await db.write(webhooks.subscribe, tenant, app_id, data.url, list(data.event_types), gateway.box,
                          tenant_id=tenant)


@post("/webhooks/{endpoint_id:str}/rotate-secret", guards=[partner("webhooks:manage")],
      operation_id="partnerRotateWebhookSecret", status_code=200)
async def rotate_secret(request: Request, endpoint_id: str) -> dict[str, Any]:
    db, tenant, app_id = _who(request)
    gateway = request.app.state.partners
    return await db.write(webhooks.rotate_secret, tenant, endpoint_id[:64], gateway.settings.secret_overlap_s,
                          gateway.box, app_id, tenant_id=tenant)


PARTNER_ROUTES = [catalog, upsert_product, inventory, place_order, order_detail, cancel_order, order_list, refund_list,
                  sales_summary, endpoint_list, subscribe, rotate_secret]
for _handler in PARTNER_ROUTES:  # every partner call may be rate-limited: the document says so
    _handler.opt["problems"] = tuple(sorted({*_handler.opt.get("problems", ()), 429}))

partner_router = Router(
    path="/api/v1/partner",
    route_handlers=PARTNER_ROUTES,
    exception_handlers=EXCEPTION_HANDLERS,
    middleware=[request_log],
    tags=["partner"],
)
