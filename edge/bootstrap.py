"""The composition root: the only place that picks concrete adapters for the edge process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from edge.adapters.db import Database
from edge.adapters.hardware import start_hardware, stop_hardware
from edge.adapters.migrations import migrate
from edge.adapters.replication import start_replication, stop_replication
from edge.adapters.security.adapter import SecurityAdapter
from edge.adapters.systemd import start_systemd, stop_systemd
from edge.adapters.uow import UnitOfWorkFactory
from edge.api.card_numbers import refuse_card_numbers
from edge.api.deps import Services
from edge.api.idempotency import RETENTION_DAYS, Idempotency
from edge.api.limits import BoundedRequest, reject_unsafe_paths
from edge.api.middleware import context_middleware
from edge.api.problems import EXCEPTION_HANDLERS
from edge.api.routes import audit, auth, catalog, devices, health, lane_kiosk, lanes, pairing, sync, users
from edge.api.routes import backoffice as backoffice_routes
from edge.api.routes import customers as customer_routes
from edge.bootstrap_customers import start_customers, stop_customers
from edge.bootstrap_imports import start_catalog_imports, stop_catalog_imports
from edge.bootstrap_lanes import lane_sessions_of
from edge.bootstrap_sales import SALES_ROUTE_MODULES, start_sales, stop_sales
from edge.demo import DEMO_TENANT, seed_demo
from edge.domain.ids import iso
from edge.service.auth import AuthService
from edge.service.ports import Actor
from edge.settings import Settings
from webui.openapi import document_api
from webui.security_headers import security_headers
from webui.swagger import LocalSwaggerUI, swagger_assets_router

log = structlog.get_logger()

SWAGGER_ASSETS = "/api/v1/schema/swagger-ui"  # under the schema path: public like the document itself
ROUTE_MODULES = [auth, catalog, audit, users, health, sync, *SALES_ROUTE_MODULES, devices, lanes, pairing, lane_kiosk,
                 backoffice_routes, customer_routes]


def effective_settings(settings: Settings) -> Settings:
    """Demo mode pins the demo tenant and store, whatever the configuration says."""
    if settings.demo:
        import msgspec

        store = msgspec.structs.replace(settings.store, tenant_id=DEMO_TENANT, store_id=settings.demo_store,
                                        name="Demo Store")
        return msgspec.structs.replace(settings, store=store)
    return settings


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_path, max_batch=settings.storage.max_batch)
    uow = UnitOfWorkFactory(db, timezone=settings.store.timezone, day_start_hour=settings.store.day_start_hour)
    security = SecurityAdapter(settings.data_dir / "keys", issuer=settings.auth.issuer,
                               audience=settings.auth.audience, access_ttl_s=settings.auth.access_ttl_s)
    auth_service = AuthService(uow, security, settings.auth, tenant_id=settings.store.tenant_id,
                               store_id=settings.store.store_id, demo=settings.demo,
                               clock=lambda: datetime.now(UTC))
    built = Services(settings=settings, db=db, uow=uow, idempotency=Idempotency(uow), auth=auth_service,
                     security=security, keys=security.keys, extras={})
    auth_service.lane_sessions = lane_sessions_of(built)
    return built


def ensure_store(services: Services) -> None:
    """Make sure the configured tenant, store and lanes exist (the demo store in demo mode)."""
    settings = services.settings
    if settings.demo:
        seed_demo(services.uow, services.security, lanes=settings.store.lanes, store_id=settings.store.store_id)
        return
    cfg = settings.store
    services.uow.run_sync(Actor.system(cfg.tenant_id, cfg.store_id), lambda u: u.stores.ensure(
        tenant_name=cfg.tenant_id, store_id=cfg.store_id, store_name=cfg.name, timezone=cfg.timezone,
        day_start_hour=cfg.day_start_hour, currency=cfg.currency, lanes=cfg.lanes, require_mfa=True,
        now=u.now))


def prepare_storage(services: Services) -> None:
    """Migrate (with a backup), make sure the store exists, start the writer."""
    settings = services.settings
    migrate(settings.db_path)
    if settings.demo:
        log.warning("demo.mode", message="DEMO MODE: demo users with a published password exist; "
                    "never run demo mode on a store's network")
    ensure_store(services)
    services.db.start()


async def _maintenance(services: Services) -> None:
    """Hourly housekeeping: expire idempotency keys past their retention."""
    while True:
        cutoff = iso(datetime.now(UTC) - timedelta(days=RETENTION_DAYS))
        try:
            purged = await services.db.write(
                lambda c, cutoff=cutoff: c.exec_driver_sql(
                    "DELETE FROM idempotency_keys WHERE created_at < ?", (cutoff,)).rowcount)
            if purged:
                log.info("idempotency.purged", rows=purged)
        except Exception:  # housekeeping must never take the server down
            log.exception("maintenance.failed")
        await asyncio.sleep(3600)


def _static_routers() -> list[Router]:
    import webui

    root = Path(next(iter(webui.__path__)))  # works for a regular and an editable install alike
    routers = []
    # `common` holds what the lane and the admin pages share (the API client).
    for name, path in (("lane", "/"), ("admin", "/admin"), ("common", "/common")):
        directory = root / name
        if directory.is_dir():
            routers.append(create_static_files_router(path=path, directories=[str(directory)], html_mode=True,
                                                      name=f"webui-{name}", opt={"public": True},
                                                      include_in_schema=False))
    return routers


def create_app(settings: Settings, *, services: Services | None = None) -> Litestar:
    settings = effective_settings(settings)
    services = services or build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        prepare_storage(services)
        tasks = [asyncio.create_task(_maintenance(services), name="maintenance")]
        for start in STARTUP_HOOKS:
            await start(services)
        await start_systemd(services)  # last: "ready" only once every part has started
        try:
            yield
        finally:
            for stop in reversed(SHUTDOWN_HOOKS):
                with contextlib.suppress(Exception):
                    await stop(services)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.db.close()

    handlers: list[Any] = [h for module in ROUTE_MODULES for h in module.ROUTES]
    app = Litestar(
        route_handlers=[*handlers, *_static_routers(), swagger_assets_router(SWAGGER_ASSETS)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_request=refuse_card_numbers,  # every body, every route: no card number gets in
        lifespan=[lifespan],
        request_max_body_size=settings.server.max_body_bytes,
        request_class=BoundedRequest,
        openapi_config=OpenAPIConfig(title="NovaPOS edge API", version="1", path="/api/v1/schema",
                                     render_plugins=[LocalSwaggerUI(SWAGGER_ASSETS)]),
        debug=False,
        logging_config=None,
    )
    app.state.services = services
    document_api(app)
    # Wrap the whole ASGI handler, not each route: Litestar applies `middleware=` per route, so
    # 404s and 405s from the router would otherwise get no request id, metrics or log line.
    app.asgi_handler = security_headers(
        context_middleware(services.security.tokens, services.db.in_flight)(reject_unsafe_paths(app.asgi_handler)))
    return app


# The process's parts in start-up order. Hardware starts before sales, which takes the hub's
# card terminal and recovers in-flight card payments through it; shutdown runs in reverse.
STARTUP_HOOKS: list[Any] = [start_replication, start_hardware, start_sales, start_catalog_imports, start_customers]
SHUTDOWN_HOOKS: list[Any] = [stop_systemd, stop_replication, stop_hardware, stop_sales, stop_catalog_imports,
                             stop_customers]
