"""Store policies for a tenant's admins (`/api/v1/hq/policies`): read, edit, history.

PATCH merges the fields sent; PUT replaces the whole document (missing fields take the
defaults). `If-Match: <version>` makes an edit conditional (412 when someone changed it
meanwhile). Each edit is audited and sent to every store as a `policy.set` command.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, patch, put
from sqlalchemy.exc import IntegrityError

from cloud import audit, policies
from cloud.api.guards import ADMIN, READ, allow
from cloud.clock import now_iso
from cloud.errors import InvalidInput, VersionMismatch


@get("/", guards=[allow(*READ)], operation_id="hqPolicies")
async def list_policies(request: Request) -> dict[str, Any]:
    tenant = request.state.tenant_id
    async with request.app.state.db.tenant(tenant, write=False) as conn:
        return {"items": [await policies.get(conn, tenant)]}


@patch("/", guards=[allow(*ADMIN)], operation_id="hqPatchPolicy", status_code=200)
async def patch_policy(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    return await _change(request, data, replace=False)


@put("/", guards=[allow(*ADMIN)], operation_id="hqPutPolicy", status_code=200)
async def put_policy(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    return await _change(request, data, replace=True)


@get("/history", guards=[allow(*READ)], operation_id="hqPolicyHistory")
async def policy_history(request: Request) -> dict[str, Any]:
    tenant = request.state.tenant_id
    async with request.app.state.db.tenant(tenant, write=False) as conn:
        return {"items": await audit.trail(conn, tenant, "policy")}


async def _change(request: Request, data: dict[str, Any], *, replace: bool) -> dict[str, Any]:
    tenant, actor = request.state.tenant_id, request.state.principal.username
    expected = _if_match(request.headers.get("if-match"))
    try:
        changed = await request.app.state.db.write(
            policies.change, tenant, data, replace=replace, actor=actor, now=now_iso(), expected_version=expected,
            tenant_id=tenant)
    except IntegrityError:  # two first-ever edits of a tenant's policy at once: the other one won
        raise VersionMismatch("the policy was changed meanwhile; reload it and apply your change again") from None
    await request.app.state.runtime.publish_commands()  # best effort now; the loop retries
    return changed


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("If-Match must be the policy version, e.g. If-Match: \"7\"",
                           [{"field": "If-Match", "message": "a version number"}])
    return int(text)


policies_router = Router(path="/api/v1/hq/policies",
                         route_handlers=[list_policies, patch_policy, put_policy, policy_history])
