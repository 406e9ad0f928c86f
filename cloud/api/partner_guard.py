"""The partner API's own guard and its request bookkeeping.

`partner(scope)` is the guard every partner route declares: it authenticates the partner
credential (never an HQ user token; see `cloud.oauth`), checks the scope (a 403 names the
missing one), then counts the call against the app's and the tenant's rate limits (a 429 with
`Retry-After` and the RateLimit fields). `PartnerRequestLog` (ASGI middleware on the partner
router) times every answer, errors included, adds the RateLimit fields to it, and records it
per app (`cloud.partner_metrics`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cloud import metrics
from cloud.partner_gateway import PartnerAuthError
from cloud.ratelimit import Decision

log = structlog.get_logger()
PROBLEM = "application/problem+json"


class MissingScope(Exception):
    def __init__(self, scope: str):
        super().__init__(f"this call needs the scope {scope}, which the credential does not carry")
        self.scope = scope


class RateLimited(Exception):
    def __init__(self, decision: Decision):
        super().__init__(f"rate limit {decision.exceeded} exceeded; retry in {decision.retry_after_s} s")
        self.decision = decision


def problem(status: int, type_: str, title: str, detail: str, **extra: Any) -> Response:
    return Response({"type": f"https://novapos.dev/problems/{type_}", "title": title, "status": status,
                     "detail": detail, **extra}, status_code=status, media_type=PROBLEM)


def partner(scope: str) -> Callable[[ASGIConnection, Any], Awaitable[None]]:
    async def guard(connection: ASGIConnection, _handler: Any) -> None:
        gateway = connection.app.state.partners
        client = connection.client.host if connection.client else None
        principal = await gateway.authenticate(connection.headers, client)
        connection.state.partner = principal
        if scope not in principal.scopes:
            metrics.security_event("partner_scope_refused")
            raise MissingScope(scope)
        decision = await gateway.limiter.hit(principal.tenant_id, principal.app_id)
        connection.state.rate_headers = decision.headers
        if not decision.allowed:
            raise RateLimited(decision)

    guard.partner_scope = scope  # type: ignore[attr-defined]  # read by the architecture test's route walk
    return guard


def _auth_problem(_: Request, exc: PartnerAuthError) -> Response:
    response = problem(401, "unauthenticated", "Not authenticated", str(exc))
    response.headers["WWW-Authenticate"] = 'Bearer realm="novapos-partner"'
    return response


def _scope_problem(_: Request, exc: MissingScope) -> Response:
    return problem(403, "insufficient-scope", "Missing scope", str(exc), missing_scope=exc.scope)


def _rate_problem(_: Request, exc: RateLimited) -> Response:
    response = problem(429, "rate-limited", "Too many requests", str(exc), policy=exc.decision.exceeded)
    response.headers.update(exc.decision.headers)
    return response


EXCEPTION_HANDLERS: dict[Any, Any] = {
    PartnerAuthError: _auth_problem,
    MissingScope: _scope_problem,
    RateLimited: _rate_problem,
}


def request_log(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status_seen: list[int] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(int(message["status"]))
                state = scope.get("state", {})
                extra = state.get("rate_headers") or {}
                if extra and not any(k.lower() == b"ratelimit" for k, _ in message.get("headers", [])):
                    message["headers"] = [*message.get("headers", []),
                                          *[(k.lower().encode(), v.encode()) for k, v in extra.items()
                                            if k != "Retry-After"]]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            principal = scope.get("state", {}).get("partner")
            if principal is not None:
                status = status_seen[0] if status_seen else 500
                scope["app"].state.partners.usage.record(principal.tenant_id, principal.app_id, status,
                                                         time.perf_counter() - started)
    return middleware


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)
