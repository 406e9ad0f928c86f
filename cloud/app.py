"""The cloud hub's composition root: `create_app(settings)` wires DB, auth, runtime and routes."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import structlog
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from cloud.api.guards import READ, allow
from cloud.api.hq import hq_router
from cloud.auth import AuthError, AuthService, TokenKeys
from cloud.clock import now_iso
from cloud.conflicts import ConflictNotFound, InvalidTransition
from cloud.db import CloudDB
from cloud.projections import dialect_insert
from cloud.runtime import CloudRuntime
from cloud.schema import create_schema, tenants
from cloud.settings import CloudSettings

log = structlog.get_logger()

WEBUI_HQ = Path(__file__).resolve().parent.parent / "webui" / "hq"
PROBLEM = "application/problem+json"


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


@post("/api/v1/auth/login", status_code=200, operation_id="login")
async def login(request: Request, data: LoginBody) -> dict[str, Any]:
    try:
        return await request.app.state.auth.login(data.username, data.password)
    except AuthError as exc:
        raise NotAuthorizedException(str(exc)) from exc


@post("/api/v1/auth/refresh", status_code=200, operation_id="refresh")
async def refresh(request: Request, data: RefreshBody) -> dict[str, Any]:
    try:
        return await request.app.state.auth.refresh(data.refresh_token)
    except AuthError as exc:
        raise NotAuthorizedException(str(exc)) from exc


@post("/api/v1/auth/logout", status_code=204, operation_id="logout")
async def logout(request: Request, data: RefreshBody) -> None:
    await request.app.state.auth.logout(data.refresh_token)


@get("/.well-known/jwks.json", operation_id="jwks")
async def jwks(request: Request) -> dict[str, Any]:
    return request.app.state.token_keys.jwks()


@get("/api/v1/me", guards=[allow(*READ)], operation_id="me")
async def me(request: Request) -> dict[str, Any]:
    p = request.state.principal
    return {"id": p.user_id, "username": p.username, "roles": list(p.roles), "tenant_id": request.state.tenant_id}


@get("/api/v1/tenants", guards=[allow("super_admin")], operation_id="tenants")
async def tenant_list(request: Request) -> dict[str, Any]:
    async with request.app.state.db.system(write=False) as conn:
        rows = await conn.execute(tenants.select().order_by(tenants.c.id))
        return {"items": [{"id": r.id, "name": r.name} for r in rows]}


@get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", operation_id="readyz")
async def readyz(request: Request) -> Response:
    state = request.app.state
    db_ok = await state.db.ping()
    nats = "disabled" if not state.settings.nats_url else ("up" if state.runtime.nats_up else "down")
    ready = db_ok and nats != "down"
    return Response(
        {"db": "up" if db_ok else "down", "nats": nats}, status_code=200 if ready else 503, media_type=MediaType.JSON
    )


@get("/", include_in_schema=False)
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


def create_app(settings: CloudSettings) -> Litestar:
    db = CloudDB(settings.db_url, schema=settings.db_schema, app_role=settings.app_role)
    keys = TokenKeys(Path(settings.keys_dir) if settings.keys_dir else None)
    auth = AuthService(db, keys)
    runtime = CloudRuntime(db, settings)

    @asynccontextmanager
    async def lifespan(_app: Litestar):
        await create_schema(db)
        if settings.demo:
            await seed_demo(db, auth)
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            await db.close()

    handlers: list[Any] = [login, refresh, logout, jwks, me, tenant_list, healthz, readyz, root, hq_router]
    if WEBUI_HQ.is_dir():
        handlers.append(create_static_files_router(path="/hq", directories=[WEBUI_HQ], html_mode=True))
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        exception_handlers={
            HTTPException: _http_problem,
            ConflictNotFound: lambda r, e: problem(404, "not-found", "No such conflict case", str(e)),
            InvalidTransition: lambda r, e: problem(409, "invalid-transition", "Invalid transition", str(e)),
            Exception: _unexpected,
        },
    )
    app.state.db, app.state.token_keys, app.state.auth = db, keys, auth
    app.state.runtime, app.state.settings = runtime, settings
    return app
