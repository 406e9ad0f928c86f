"""Liveness, readiness, Prometheus metrics (with a metrics token), store facts."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edge.adapters.metrics import DB_COMMITS, DB_UNITS, REGISTRY, security_event
from edge.api.deps import Services, actor, services
from edge.api.guards import authenticated
from edge.contracts.metrics_tokens import FILENAME, MetricsTokens, bearer

# Litestar appends "; charset=utf-8" to every text/* type itself: prometheus_client's
# CONTENT_TYPE_LATEST already carries one, which doubled it.
PROMETHEUS_TEXT = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")

PUBLIC = {"public": True}


@get("/healthz", opt=PUBLIC, operation_id="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", opt={**PUBLIC, "problems": (503,)}, operation_id="readyz")
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


def metrics_tokens(s: Services) -> MetricsTokens:
    """The scrape tokens minted by `novapos-edge token metrics`, beside the signing keys."""
    extras = s.extras if s.extras is not None else {}
    tokens = extras.get("metrics_tokens")
    if tokens is None:
        tokens = extras["metrics_tokens"] = MetricsTokens(s.settings.data_dir / "keys" / FILENAME)
    return tokens


async def metrics_scope(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    # Not a user token: a scrape credential with the metrics scope only, so a leaked Prometheus
    # config opens no till, and no anonymous caller reads the store's figures.
    token = bearer(connection.headers.get("authorization", ""))
    if metrics_tokens(connection.app.state.services).verify(token) is None:
        security_event("metrics_refused")
        raise NotAuthorizedException("a metrics token is required (novapos-edge token metrics)")


@get("/metrics", guards=[metrics_scope], operation_id="metrics", media_type="text/plain", include_in_schema=False)
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
            "lanes": [{"id": lane.id, "name": lane.name} for lane in lanes]}


ROUTES = [healthz, readyz, metrics, store]
