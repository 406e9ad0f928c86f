"""The tenant's HQ users (`/api/v1/hq/users`), for the dashboard's assignee list."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get

from cloud import tenant_users
from cloud.api.guards import ADMIN, allow


@get("/", guards=[allow(*ADMIN)], operation_id="hqUsers")
async def list_users(request: Request) -> dict[str, Any]:
    return {"items": await tenant_users.hq_users(request.app.state.db, request.state.tenant_id)}


team_router = Router(path="/api/v1/hq/users", route_handlers=[list_users])
