"""RBAC: every route declares its guard next to it. There is exactly one way to do so:

    @get("/x", guards=[requires(*CATALOG_READ)])      # these roles
    @get("/y", guards=[authenticated])                # any valid token, even one that must enrol MFA
    @get("/z", opt={"public": True})                  # no token (login, health, JWKS, static files)

The architecture test walks every route and fails if one has neither a guard nor `public`.
Tenant and store come from the verified claims; an `X-Tenant-ID` header that disagrees is
refused and counted as a cross-tenant attempt.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from edge.adapters.metrics import security_event
from edge.service.ports import Actor

CASHIER = "cashier"
SUPERVISOR = "supervisor"
STORE_MANAGER = "store_manager"
TENANT_ADMIN = "tenant_admin"
HQ_ANALYST = "hq_analyst"
TECHNICIAN = "technician"
INTEGRATION = "integration"
ALL_ROLES = (CASHIER, SUPERVISOR, STORE_MANAGER, TENANT_ADMIN, HQ_ANALYST, TECHNICIAN, INTEGRATION)

STORE_STAFF = (CASHIER, SUPERVISOR, STORE_MANAGER, TENANT_ADMIN)
MANAGERS = (STORE_MANAGER, TENANT_ADMIN)
CATALOG_READ = (*STORE_STAFF, HQ_ANALYST, INTEGRATION, TECHNICIAN)
CATALOG_WRITE = (STORE_MANAGER, TENANT_ADMIN, INTEGRATION)
AUDIT_READ = (STORE_MANAGER, TENANT_ADMIN, HQ_ANALYST)
USER_ADMIN = (STORE_MANAGER, TENANT_ADMIN)
DEVICE_ADMIN = (TECHNICIAN, STORE_MANAGER, TENANT_ADMIN)
OPERATIONS_READ = (STORE_MANAGER, TENANT_ADMIN, TECHNICIAN, HQ_ANALYST)


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    state = connection.scope.get("state", {})
    actor = state.get("actor")
    if actor is None:
        # A revoked session says so, so that the lane can tell "sign in again" from a fault.
        raise NotAuthorizedException(state.get("auth_error") if state.get("auth_revoked") else
                                     "a bearer token is required")
    return actor


def _check_tenant_header(connection: ASGIConnection[Any, Any, Any, Any], actor: Actor) -> None:
    # Scan the raw ASGI headers (lower-case names): building Litestar's Headers multidict for
    # one optional header cost more than the rest of the guard.
    for name, value in connection.scope["headers"]:
        if name == b"x-tenant-id" and value.decode("latin-1") != actor.tenant_id:
            security_event("cross_tenant")
            raise PermissionDeniedException("X-Tenant-ID does not match your account's tenant")


# Guards are coroutines on purpose: Litestar runs a plain-function guard in a worker thread,
# a thread hop per request that cost more than the whole barcode lookup (bench_catalog).
async def authenticated(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _check_tenant_header(connection, actor_of(connection))


def requires(*roles: str):
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        actor = actor_of(connection)
        _check_tenant_header(connection, actor)
        if not allowed.intersection(actor.roles):
            if connection.scope.get("state", {}).get("mfa_enroll"):
                raise PermissionDeniedException("set up two-factor authentication first (POST /api/v1/auth/mfa/enroll)")
            raise PermissionDeniedException("your role may not do this")

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the architecture test and docs
    return guard
