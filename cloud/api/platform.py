"""Platform routes (`/api/v1/platform`): a hosted HQ's operator onboards and lists tenants.

Only `platform_admin` reaches them; that role is in no `/api/v1/hq` guard, so the operator
sees which tenants exist but never their sales, stock or stores.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post

from cloud import tenants
from cloud.api.guards import PLATFORM, allow


class NewTenantBody(msgspec.Struct, forbid_unknown_fields=True):
    tenant_id: Annotated[str, msgspec.Meta(max_length=64)]
    name: Annotated[str, msgspec.Meta(max_length=200)]
    admin_username: Annotated[str, msgspec.Meta(max_length=128)]
    admin_password: Annotated[str, msgspec.Meta(max_length=512)]


@post("/tenants", guards=[allow(*PLATFORM)], operation_id="platformCreateTenant", status_code=201)
async def create_tenant(request: Request, data: NewTenantBody) -> dict[str, Any]:
    new = tenants.NewTenant(data.tenant_id, data.name, data.admin_username, data.admin_password)
    return await tenants.create_tenant(request.app.state.db, new, actor=request.state.principal.username)


@get("/tenants", guards=[allow(*PLATFORM)], operation_id="platformTenants")
async def list_tenants(request: Request) -> dict[str, Any]:
    return {"items": await tenants.list_tenants(request.app.state.db)}


platform_router = Router(path="/api/v1/platform", route_handlers=[create_tenant, list_tenants])
