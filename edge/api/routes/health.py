"""Liveness, readiness, Prometheus metrics, store facts."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edge.adapters.metrics import DB_COMMITS, DB_UNITS, REGISTRY
from edge.api.deps import actor, services
from edge.api.guards import authenticated

# Litestar appends "; charset=utf-8" to every text/* type itself: prometheus_client's
# CONTENT_TYPE_LATEST already carries one, which doubled it.
PROMETHEUS_TEXT = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")

PUBLIC = {"public": True}


@get("/healthz", opt=PUBLIC, operation_id="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", opt=PUBLIC, operation_id="readyz")
async def readyz(request: Request) -> Response:
    s = services(request)
    checks: dict[str, Any] = {}
    try:
        await s.db.read(lambda c: c.exec_driver_sql("SELECT 1 FROM outbox LIMIT 1").all())
        checks["database"] = "ok"
    except Exception as err:  # readiness reports, it does not raise
        checks["database"] = f"error: {type(err).__name__}"
    if s.relay is not None:
        checks["replication"] = s.relay.link
    ready = checks["database"] == "ok"
    return Response(content={"status": "ready" if ready else "not ready", "checks": checks},
                    status_code=200 if ready else 503)


@get("/metrics", opt=PUBLIC, operation_id="metrics")
async def metrics(request: Request) -> Response:
    s = services(request)
    DB_COMMITS.set(s.db.commits)
    DB_UNITS.set(s.db.units)
    return Response(content=generate_latest(REGISTRY), media_type=PROMETHEUS_TEXT)


@get("/api/v1/store", guards=[authenticated], operation_id="store")
async def store(request: Request) -> dict[str, Any]:
    s, who = services(request), actor(request)
    lanes = await s.uow.read(who, lambda u: u.stores.lanes(s.settings.store.store_id))
    cfg = s.settings.store
    return {"tenant_id": cfg.tenant_id, "store_id": cfg.store_id, "name": cfg.name, "timezone": cfg.timezone,
            "currency": cfg.currency, "demo": s.settings.demo,
            "lanes": [{"id": lane["id"], "name": lane["name"]} for lane in lanes]}


ROUTES = [healthz, readyz, metrics, store]
