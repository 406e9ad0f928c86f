"""RBAC guard and tenant resolution for every HQ route (one mechanism, declared per route)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from cloud import metrics
from cloud.auth import AuthError
from edge.contracts.metrics_tokens import bearer

log = structlog.get_logger()

READ = ("hq_analyst", "tenant_admin", "super_admin")
PUBLIC = {"public": True}  # `opt=PUBLIC` marks a route that is deliberately unguarded (tested)
PUBLIC_PREFIXES = ("/schema",)  # Litestar's OpenAPI documents: the API's shape, no data
ADMIN = ("tenant_admin", "super_admin")
PLATFORM = ("platform_admin",)  # tenants only; no tenant's data


def allow(*roles: str) -> Callable[[ASGIConnection, Any], Awaitable[None]]:
    async def guard(connection: ASGIConnection, _handler: Any) -> None:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException("a bearer token is required")
        try:
            principal = connection.app.state.token_keys.verify(token)  # counts its own rejections
            await connection.app.state.auth.ensure_active(principal)  # a signed-out session: 401 at once
        except AuthError as exc:
            raise NotAuthorizedException(str(exc)) from exc
        if not set(principal.roles) & set(roles):
            metrics.security_event("forbidden")
            raise PermissionDeniedException("your roles do not allow this")
        tenant = principal.tenant_id
        asked = connection.headers.get("x-tenant-id")
        if asked and asked != tenant:
            if "super_admin" not in principal.roles:
                metrics.security_event("cross_tenant")
                log.warning("security.cross_tenant_attempt", user_id=principal.user_id, asked=asked)
                raise PermissionDeniedException("X-Tenant-ID does not match your tenant")
            tenant = asked  # tenant switching is a super-admin power
        connection.state.principal = principal
        connection.state.tenant_id = tenant

    return guard


def metrics_scope(connection: ASGIConnection, _handler: Any) -> None:
    """`/metrics` wants a metrics token (`novapos-cloud metrics-token`): the lag series name
    every tenant and store, which no anonymous caller may learn."""
    token = bearer(connection.headers.get("authorization", ""))
    if connection.app.state.metrics_tokens.verify(token) is None:
        metrics.security_event("metrics_refused")
        raise NotAuthorizedException("a metrics token is required (novapos-cloud metrics-token)")
