"""HQ's customer routes: masked search, the 360, GDPR export and erase, the request log; and the
partner API's masked customer read (`customers:read`).

Analysts search and see masked contact details; export and erase are a tenant admin's (the
project has no separate DPO role). Each export and erase is logged as a request and audited in
`hq_audit` with the customer id only. Another tenant's customer is a 404, like an unknown one.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.params import Parameter

from cloud import customers, gdpr
from cloud.api.guards import ADMIN, READ, allow
from cloud.api.partner_guard import EXCEPTION_HANDLERS, partner, request_log
from cloud.clock import now_iso

CustomerIdParam = Annotated[str, Parameter(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Query = Annotated[str, Parameter(min_length=3, max_length=254)]


def _ctx(request: Request) -> tuple[Any, Any, str]:
    return request.app.state.db, request.app.state.customer_keys, request.state.tenant_id


@get("/api/v1/hq/customers", guards=[allow(*READ)], operation_id="hqCustomerSearch")
async def search_customers(request: Request, q: Query) -> dict[str, Any]:
    """By email, phone (E.164 or national) or card code, through the blind index: masked results."""
    db, keys, tenant = _ctx(request)
    items = await db.write(customers.search, keys, tenant, q, now_iso(), tenant_id=tenant)
    return {"items": items}


@get("/api/v1/hq/customers/{customer_id:str}", guards=[allow(*READ)], operation_id="hqCustomer")
async def customer_360(request: Request, customer_id: CustomerIdParam) -> dict[str, Any]:
    db, keys, tenant = _ctx(request)
    reveal = bool(set(request.state.principal.roles) & set(ADMIN))
    return await db.write(customers.hq_view, keys, tenant, customer_id, now_iso(), reveal=reveal,
                          actor=request.state.principal.username, tenant_id=tenant)


@post("/api/v1/hq/customers/{customer_id:str}/export", guards=[allow(*ADMIN)], status_code=200,
      operation_id="hqCustomerExport")
async def export_customer(request: Request, customer_id: CustomerIdParam) -> dict[str, Any]:
    db, keys, tenant = _ctx(request)
    return await db.write(gdpr.export, keys, tenant, customer_id, actor=request.state.principal.username,
                          now=now_iso(), tenant_id=tenant)


@post("/api/v1/hq/customers/{customer_id:str}/erase", guards=[allow(*ADMIN)], status_code=202,
      operation_id="hqCustomerErase")
async def erase_customer(request: Request, customer_id: CustomerIdParam) -> dict[str, Any]:
    """Destroys HQ's key and index now; the stores confirm as their inboxes apply the command."""
    db, keys, tenant = _ctx(request)
    return await db.write(gdpr.erase, keys, tenant, customer_id, actor=request.state.principal.username,
                          now=now_iso(), tenant_id=tenant)


@get("/api/v1/hq/gdpr/requests", guards=[allow(*ADMIN)], operation_id="hqGdprRequests")
async def gdpr_requests(request: Request, customer_id: Annotated[str | None, Parameter(
        max_length=64, pattern=r"^[A-Za-z0-9_-]{8,64}$", required=False)] = None) -> dict[str, Any]:
    db, tenant = request.app.state.db, request.state.tenant_id
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await conn.run_sync(lambda c: gdpr.requests(c, tenant, customer_id=customer_id))}


@get("/{customer_id:str}", guards=[partner("customers:read")], operation_id="partnerCustomer")
async def partner_customer(request: Request, customer_id: CustomerIdParam) -> dict[str, Any]:
    """A partner app sees a customer masked, with their points balance; never the full contact."""
    db, keys, p = request.app.state.db, request.app.state.customer_keys, request.state.partner
    view = await db.write(customers.hq_view, keys, p.tenant_id, customer_id, now_iso(), reveal=False,
                          tenant_id=p.tenant_id)
    return {"customer_id": view["customer_id"], "name": view["name"], "email_masked": view["email_masked"],
            "phone_masked": view["phone_masked"], "home_store_id": view["home_store_id"],
            "created_at": view["created_at"],
            "consents": {k: view["consents"][k] for k in ("marketing", "e_receipts")},
            "loyalty": {"balance_points": view["loyalty"]["balance_points"]}}


partner_customers_router = Router(
    path="/api/v1/partner/customers",
    route_handlers=[partner_customer],
    exception_handlers=EXCEPTION_HANDLERS,
    middleware=[request_log],
    tags=["partner"],
)

CUSTOMER_ROUTES = [search_customers, customer_360, export_customer, erase_customer, gdpr_requests,
                   partner_customers_router]


