"""The cloud hub's composition root: `create_app(settings)` wires DB, auth, runtime and routes."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import structlog
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from cloud import metrics
from cloud import tenants as tenants_
from cloud.api.analytics import analytics_router
from cloud.api.bopis import bopis_router
from cloud.api.card_numbers import CardNumberInRequest, refuse_card_numbers
from cloud.api.customers import CUSTOMER_ROUTES
from cloud.api.enroll import enroll
from cloud.api.guards import PUBLIC, READ, allow, metrics_scope
from cloud.api.hq import hq_router
from cloud.api.journal import journal_export
from cloud.api.limits import BoundedRequest, reject_unsafe_paths
from cloud.api.loyalty import LOYALTY_ROUTES
from cloud.api.mfa import mfa_router
from cloud.api.partner import partner_router
from cloud.api.partner import token as partner_token
from cloud.api.partner_admin import partner_admin_router
from cloud.api.platform import platform_router
from cloud.api.policies import policies_router
from cloud.api.stock import stock_router
from cloud.api.team import team_router
from cloud.auth import AuthError, AuthService, LockedOut, MfaEnrollmentRequired, TokenKeys
from cloud.bopis import BopisOrderExists, InvalidBopisLines
from cloud.clock import now_iso
from cloud.conflicts import ConflictNotFound, InvalidTransition
from cloud.customers import CustomerNotFound
from cloud.db import CloudDB
from cloud.errors import HQError
from cloud.nats_auth import create_tenant_account
from cloud.partner_gateway import PartnerGateway
from cloud.partner_settings import load_partner_settings
from cloud.projections import dialect_insert
from cloud.runtime import CloudRuntime
from cloud.schema import create_schema, tenants
from cloud.settings import CloudSettings
from edge.contracts.metrics_tokens import FILENAME as METRICS_TOKENS_FILE
from edge.contracts.metrics_tokens import MetricsTokens
from webui.openapi import document_api
from webui.security_headers import security_headers
from webui.swagger import LocalSwaggerUI, swagger_assets_router
from webui.vendor_assets import vendor_router

log = structlog.get_logger()

WEBUI_HQ = Path(__file__).resolve().parent.parent / "webui" / "hq"
WEBUI_COMMON = WEBUI_HQ.parent / "common"  # the web apps' shared modules (API client, DOM, money)
PROBLEM = "application/problem+json"
SWAGGER_ASSETS = "/schema/swagger-ui"


class LoginBody(msgspec.Struct):
    username: str
    password: str
    totp: str | None = None


class RefreshBody(msgspec.Struct):
    refresh_token: str


def problem(status: int, type_: str, title: str, detail: str, errors: list[Any] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"https://novapos.dev/problems/{type_}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM)


def _http_problem(_: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        return problem(
            400, "validation", "Invalid request", exc.detail, exc.extra if isinstance(exc.extra, list) else None
        )
    kind = {401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
    return problem(exc.status_code, kind.get(exc.status_code, "http-error"), exc.detail, exc.detail)


def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("http.unhandled", error=str(exc))
    return problem(500, "internal", "Internal error", "an unexpected error occurred")


def _hq_problem(_: Request, exc: HQError) -> Response:
    return problem(exc.status, exc.code, exc.title, exc.detail, exc.errors)


def _auth_problem(_: Request, exc: AuthError) -> Response:
    if isinstance(exc, LockedOut):
        response = problem(429, exc.code, "Too many attempts", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, MfaEnrollmentRequired):
        response = problem(403, exc.code, "MFA enrolment required", str(exc))
        if exc.enrollment_token:  # an RFC 9457 extension member: what the client needs to act on it
            response.content["enrollment_token"] = exc.enrollment_token
        return response
    return problem(401, exc.code, "Not authenticated", str(exc))


@post("/api/v1/auth/login", status_code=200, operation_id="login", opt=PUBLIC)
async def login(request: Request, data: LoginBody) -> dict[str, Any]:
    return await request.app.state.auth.login(data.username, data.password, data.totp)


@post("/api/v1/auth/refresh", status_code=200, operation_id="refresh", opt=PUBLIC)
async def refresh(request: Request, data: RefreshBody) -> dict[str, Any]:
    return await request.app.state.auth.refresh(data.refresh_token)


@post("/api/v1/auth/logout", status_code=204, operation_id="logout", opt=PUBLIC)
async def logout(request: Request, data: RefreshBody) -> None:
    await request.app.state.auth.logout(data.refresh_token)  # holding the token is the authority


@get("/.well-known/jwks.json", operation_id="jwks", opt=PUBLIC)
async def jwks(request: Request) -> dict[str, Any]:
    return request.app.state.token_keys.jwks()


@post("/api/v1/auth/keys/rotate", guards=[allow("super_admin")], operation_id="rotateKeys", status_code=200)
async def rotate_keys(request: Request) -> dict[str, Any]:
    kid = request.app.state.token_keys.rotate()
    log.warning("security.key_rotated", kid=kid, by=request.state.principal.username)
    return {"active_kid": kid}


@get("/metrics", guards=[metrics_scope], operation_id="metrics", include_in_schema=False)
async def metrics_endpoint() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


@get("/api/v1/me", guards=[allow(*READ)], operation_id="me")
async def me(request: Request) -> dict[str, Any]:
    p = request.state.principal
    return {"id": p.user_id, "username": p.username, "roles": list(p.roles), "tenant_id": request.state.tenant_id}


@get("/api/v1/tenants", guards=[allow("super_admin")], operation_id="tenants")
async def tenant_list(request: Request) -> dict[str, Any]:
    async with request.app.state.db.system(write=False) as conn:
        rows = await conn.execute(tenants.select().order_by(tenants.c.id))
        return {"items": [{"id": r.id, "name": r.name} for r in rows]}


@get("/healthz", operation_id="healthz", opt=PUBLIC)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", operation_id="readyz", opt={**PUBLIC, "problems": (503,)})
async def readyz(request: Request) -> Response:
    state = request.app.state
    db_ok = await state.db.ping()
    nats = "disabled" if not state.settings.nats_url else ("up" if state.runtime.nats_up else "down")
    ready = db_ok and nats != "down"
    return Response(
        {"db": "up" if db_ok else "down", "nats": nats}, status_code=200 if ready else 503, media_type=MediaType.JSON
    )


@get("/", include_in_schema=False, opt=PUBLIC)
async def root() -> Redirect:
    return Redirect(path="/hq/")


async def seed_demo(db: CloudDB, auth: AuthService) -> None:
    from cloud.schema import users

    async with db.system() as conn:
        await conn.execute(
            dialect_insert(conn, tenants)
            .values(id="demo", name="Demo retail", created_at=now_iso())
            .on_conflict_do_nothing(index_elements=["id"])
        )
        exists = (await conn.execute(users.select().where(users.c.username == "hq"))).first()
    if exists is None:
        await auth.create_user("hq", "novapos-demo", ["tenant_admin", "hq_analyst"], "demo")
    log.warning("cloud.demo_mode", detail="demo tenant 'demo' with user hq / novapos-demo: never in production")


def install_tenant_hooks(settings: CloudSettings, db: CloudDB) -> None:
    """What else a new tenant needs beyond its rows, run after they commit (`cloud.tenants`).

    The one place to wire it, for the API and for `novapos-cloud tenant create` alike. Replaces
    the list, so a second app in one process never runs a hook twice.
    """

    async def nats_account(tenant_id: str) -> None:
        # Accounts mode only: the tenant's NATS account with its HQ user (idempotent).
        await create_tenant_account(db, settings, tenant_id)

    hooks: list[tenants_.TenantHook] = [nats_account]
    log.debug("tenant.hooks", hooks=len(hooks), nats_accounts=bool(settings.nats_auth_dir))
    tenants_.on_tenant_created[:] = hooks


def create_app(settings: CloudSettings) -> Litestar:
    db = CloudDB(settings.db_url, schema=settings.db_schema, app_role=settings.app_role)
    keys = TokenKeys(settings.resolved_keys_dir(), keep_retired_s=settings.access_ttl_s + 60)
    auth = AuthService(db, keys, access_ttl_s=settings.access_ttl_s, require_admin_mfa=not settings.demo)
    runtime = CloudRuntime(db, settings)
    partner_gateway = PartnerGateway(db, keys, load_partner_settings(), settings.resolved_keys_dir())
    install_tenant_hooks(settings, db)

    @asynccontextmanager
    async def lifespan(_app: Litestar):
        await create_schema(db)
        if settings.demo:
            await seed_demo(db, auth)
        await runtime.start()
        await partner_gateway.start()
        try:
            yield
        finally:
            await partner_gateway.stop()
            await runtime.stop()
            await db.close()

    handlers: list[Any] = [
        login,
        refresh,
        logout,
        jwks,
        rotate_keys,
        metrics_endpoint,
        me,
        tenant_list,
        healthz,
        readyz,
        root,
        hq_router,
        policies_router,
        bopis_router,
        journal_export,
        platform_router,
        enroll,
        analytics_router,
        stock_router,
        team_router,
        mfa_router,
        partner_token,
        partner_router,
        partner_admin_router,
        *LOYALTY_ROUTES,
        *CUSTOMER_ROUTES,
    ]
    if WEBUI_HQ.is_dir():  # static HTML and JS; every figure it shows comes from guarded JSON routes
        handlers.append(create_static_files_router(path="/hq", directories=[WEBUI_HQ], html_mode=True, opt=PUBLIC))
    if WEBUI_COMMON.is_dir():
        handlers.append(create_static_files_router(path="/common", directories=[WEBUI_COMMON], name="webui-common",
                                                   opt=PUBLIC, include_in_schema=False))
    handlers.append(swagger_assets_router(SWAGGER_ASSETS, **PUBLIC))
    handlers.append(vendor_router("echarts", **PUBLIC))  # the dashboard's chart library
    app = Litestar(
        route_handlers=handlers,
        openapi_config=OpenAPIConfig(title="NovaPOS cloud API", version="1",
                                     render_plugins=[LocalSwaggerUI(SWAGGER_ASSETS)]),
        lifespan=[lifespan],
        before_request=refuse_card_numbers,  # every body, every route: no card number gets in
        exception_handlers={
            CardNumberInRequest: lambda r, e: problem(422, "card-number-rejected", "Card number refused", str(e),
                                                      e.errors),
            HTTPException: _http_problem,
            AuthError: _auth_problem,
            HQError: _hq_problem,
            CustomerNotFound: _hq_problem,
            ConflictNotFound: lambda r, e: problem(404, "not-found", "No such conflict case", str(e)),
            InvalidTransition: lambda r, e: problem(409, "invalid-transition", "Invalid transition", str(e)),
            BopisOrderExists: lambda r, e: problem(409, "bopis-order-exists", "Order already placed",
                                                   f"BOPIS order {e} was placed already"),
            InvalidBopisLines: lambda r, e: problem(422, "bopis-invalid-lines", "Invalid order lines", str(e)),
            Exception: _unexpected,
        },
        request_class=BoundedRequest,
    )
    app.asgi_handler = reject_unsafe_paths(app.asgi_handler)
    document_api(app)
    app.state.db, app.state.token_keys, app.state.auth = db, keys, auth
    app.state.runtime, app.state.settings = runtime, settings
    app.state.partners = partner_gateway
    app.state.customer_keys = runtime.customer_keys
    app.state.metrics_tokens = MetricsTokens(settings.resolved_keys_dir() / METRICS_TOKENS_FILE)
    app.asgi_handler = security_headers(app.asgi_handler)  # every response, errors and static files too
    return app
