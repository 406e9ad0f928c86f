"""Tenant admin for the partner gateway (`/api/v1/partner-admin`): apps, their credentials,
webhook endpoints, the delivery log, replay, and per-app health for the HQ page.

Reads are for every HQ role, changes for tenant admins; secrets and keys appear once, in the
answer that created them. Every change to an app or a credential leaves an `hq_audit` row.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from litestar import Request, Router, get, patch, post
from litestar.params import Parameter
from sqlalchemy import Connection, select

from cloud import audit, partners, webhooks
from cloud.api.guards import ADMIN, READ, allow
from cloud.api.partner import EndpointBody
from cloud.db import set_tenant
from cloud.errors import InvalidInput
from cloud.partner_metrics import usage_since
from cloud.schema import hq_audit
from edge.contracts.bounds import Name, SafeId

Scope = Annotated[str, msgspec.Meta(max_length=32, pattern=r"^[a-z]+:[a-z]+$")]
Cidr = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[0-9a-fA-F:.]+(/\d{1,3})?$")]
Iso = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")]
PathId = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class AppBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    contact: Name
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=8)]
    allowed_ips: Annotated[list[Cidr], msgspec.Meta(max_length=partners.MAX_IP_RANGES)] = []
    jwks: dict[str, Any] | None = None  # {"keys": [public JWK, …]} for private_key_jwt


class AppChanges(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    contact: Name | None = None
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=8)] | None = None
    allowed_ips: Annotated[list[Cidr], msgspec.Meta(max_length=partners.MAX_IP_RANGES)] | None = None


class ReplayBody(msgspec.Struct, forbid_unknown_fields=True):
    since: Iso
    until: Iso
    endpoint_id: SafeId | None = None


def _check_jwks(jwks: dict[str, Any] | None) -> dict[str, Any] | None:
    if jwks is None:
        return None
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not 1 <= len(keys) <= 5 or any(
            not isinstance(k, dict) or "d" in k for k in keys):
        raise InvalidInput("jwks must be {\"keys\": [...]} with 1 to 5 PUBLIC keys",
                           [{"key": "jwks", "message": "1-5 public JWKs"}])
    try:
        KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"jwks holds a key that cannot be read: {exc}",
                           [{"key": "jwks", "message": "unreadable key"}]) from None
    return jwks


def _ctx(request: Request) -> tuple[Any, str, str]:
    return request.app.state.db, request.state.tenant_id, request.state.principal.username


async def _system(request: Request, fn: Any, *args: Any) -> Any:
    """Run `fn(conn, tenant, *args)` on the global apps tables, scoped to the tenant for its audit row."""
    db, tenant, _ = _ctx(request)

    def scoped(conn: Connection) -> Any:
        set_tenant(conn, tenant)
        return fn(conn, tenant, *args)

    return await db.write(scoped, system=True)


async def _active_app(request: Request, app_id: str) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.system(write=False) as conn:
        app = await conn.run_sync(partners.get_app, tenant, app_id)
    if app["status"] != "active":
        raise InvalidInput(f"partner app {app_id} is revoked")
    return app


# -- apps --------------------------------------------------------------------------------------------
@get("/apps", guards=[allow(*READ)], operation_id="partnerAdminApps")
async def app_list(request: Request) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.system(write=False) as conn:
        return {"items": await conn.run_sync(partners.list_apps, tenant)}


@post("/apps", guards=[allow(*ADMIN)], operation_id="partnerAdminRegisterApp", status_code=201,
      opt={"problems": (422,)})
async def register_app(request: Request, data: AppBody) -> dict[str, Any]:
    """The client secret is in this answer only."""
    _, _, actor = _ctx(request)
    jwks = _check_jwks(data.jwks)
    return await _system(request, lambda conn, tenant: partners.register(
        conn, tenant, name=data.name, contact=data.contact, scopes=list(data.scopes),
        allowed_ips=list(data.allowed_ips), jwks=jwks, actor=actor))


@get("/apps/{app_id:str}", guards=[allow(*READ)], operation_id="partnerAdminApp", opt={"problems": (404,)})
async def app_detail(request: Request, app_id: PathId) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.system(write=False) as conn:
        app = await conn.run_sync(partners.get_app, tenant, app_id)
        app["keys"] = await conn.run_sync(partners.list_keys, tenant, app_id)
    return app


@patch("/apps/{app_id:str}", guards=[allow(*ADMIN)], operation_id="partnerAdminUpdateApp",
       opt={"problems": (404, 422)})
async def update_app(request: Request, app_id: PathId, data: AppChanges) -> dict[str, Any]:
    _, _, actor = _ctx(request)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    return await _system(request, partners.update_app, app_id, changes, actor)


@post("/apps/{app_id:str}/revoke", guards=[allow(*ADMIN)], operation_id="partnerAdminRevokeApp", status_code=200,
      opt={"problems": (404,)})
async def revoke_app(request: Request, app_id: PathId) -> dict[str, Any]:
    _, _, actor = _ctx(request)
    return await _system(request, partners.revoke_app, app_id, actor, time.time())


@post("/apps/{app_id:str}/revoke-tokens", guards=[allow(*ADMIN)], operation_id="partnerAdminRevokeTokens",
      status_code=200, opt={"problems": (404,)})
async def revoke_tokens(request: Request, app_id: PathId) -> dict[str, Any]:
    _, _, actor = _ctx(request)
    await _system(request, partners.revoke_tokens, app_id, actor, time.time())
    return {"app_id": app_id, "tokens": "revoked"}


@post("/apps/{app_id:str}/client-secret", guards=[allow(*ADMIN)], operation_id="partnerAdminRotateClientSecret",
      status_code=200, opt={"problems": (404,)})
async def rotate_client_secret(request: Request, app_id: PathId) -> dict[str, Any]:
    _, _, actor = _ctx(request)
    return await _system(request, partners.rotate_client_secret, app_id, actor)


@post("/apps/{app_id:str}/keys", guards=[allow(*ADMIN)], operation_id="partnerAdminIssueKey", status_code=201,
      opt={"problems": (404, 422)})
async def issue_key(request: Request, app_id: PathId) -> dict[str, Any]:
    """The API key is in this answer only."""
    _, _, actor = _ctx(request)
    return await _system(request, partners.issue_key, app_id, actor)


@post("/apps/{app_id:str}/keys/{key_id:str}/rotate", guards=[allow(*ADMIN)], operation_id="partnerAdminRotateKey",
      status_code=201, opt={"problems": (404, 422)})
async def rotate_key(request: Request, app_id: PathId, key_id: PathId) -> dict[str, Any]:
    _, _, actor = _ctx(request)
    overlap = request.app.state.partners.settings.key_overlap_s
    return await _system(request, partners.rotate_key, app_id, key_id, overlap, actor)


@post("/apps/{app_id:str}/keys/{key_id:str}/revoke", guards=[allow(*ADMIN)], operation_id="partnerAdminRevokeKey",
      status_code=200, opt={"problems": (404,)})
async def revoke_key(request: Request, app_id: PathId, key_id: PathId) -> dict[str, Any]:
    _, _, actor = _ctx(request)
    await _system(request, partners.revoke_key, app_id, key_id, actor)
    return {"key_id": key_id, "revoked": True}


# -- webhook endpoints, deliveries, replay ----------------------------------------------------------------
@get("/webhooks", guards=[allow(*READ)], operation_id="partnerAdminWebhooks")
async def endpoint_list(request: Request) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await conn.run_sync(webhooks.list_endpoints, tenant)}


@post("/apps/{app_id:str}/webhooks", guards=[allow(*ADMIN)], operation_id="partnerAdminSubscribe", status_code=201,
      opt={"problems": (404, 422)})
async def subscribe(request: Request, app_id: PathId, data: EndpointBody) -> dict[str, Any]:
    """The signing secret is in this answer only."""
    db, tenant, actor = _ctx(request)
    gateway = request.app.state.partners
    await _active_app(request, app_id)
    webhooks.check_url(data.url, allow_private=gateway.settings.allow_private_webhooks)

    def write(conn: Connection) -> dict[str, Any]:
        made = webhooks.subscribe(conn, tenant, app_id, data.url, list(data.event_types), gateway.box)
        audit.record(conn, tenant, actor=actor, action="webhook.subscribe", entity="partner_app", entity_id=app_id,
                     before=None, after={k: v for k, v in made.items() if k != "secret"}, at=made["created_at"])
        return made

    return await db.write(write, tenant_id=tenant)


@post("/webhooks/{endpoint_id:str}/rotate-secret", guards=[allow(*ADMIN)],
      operation_id="partnerAdminRotateWebhookSecret", status_code=200, opt={"problems": (404,)})
async def rotate_secret(request: Request, endpoint_id: PathId) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    gateway = request.app.state.partners
    return await db.write(webhooks.rotate_secret, tenant, endpoint_id, gateway.settings.secret_overlap_s, gateway.box,
                          tenant_id=tenant)


@post("/webhooks/{endpoint_id:str}/disable", guards=[allow(*ADMIN)], operation_id="partnerAdminDisableWebhook",
      status_code=200, opt={"problems": (404,)})
async def disable_endpoint(request: Request, endpoint_id: PathId) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    await db.write(webhooks.unsubscribe, tenant, endpoint_id, tenant_id=tenant)
    return {"endpoint_id": endpoint_id, "active": False}


@get("/deliveries", guards=[allow(*READ)], operation_id="partnerAdminDeliveries")
async def delivery_list(request: Request, status: Annotated[str | None, Parameter(
        pattern=r"^(pending|delivered|dead)$", required=False)] = None,
        endpoint_id: Annotated[str | None, Parameter(max_length=64, required=False)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await conn.run_sync(lambda c: webhooks.deliveries(c, tenant, status=status,
                                                                           endpoint_id=endpoint_id, limit=limit))}


@get("/deliveries/{delivery_id:str}/attempts", guards=[allow(*READ)], operation_id="partnerAdminAttempts")
async def attempt_list(request: Request, delivery_id: PathId) -> dict[str, Any]:
    """The delivery log: one entry per attempt, with its status code and latency."""
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        return {"items": await conn.run_sync(webhooks.attempts, tenant, delivery_id)}


@post("/deliveries/{delivery_id:str}/replay", guards=[allow(*ADMIN)], operation_id="partnerAdminReplay",
      status_code=202, opt={"problems": (404,)})
async def replay_one(request: Request, delivery_id: PathId) -> dict[str, Any]:
    db, tenant, _ = _ctx(request)
    count = await db.write(lambda c: webhooks.replay(c, tenant, delivery_id=delivery_id), tenant_id=tenant)
    request.app.state.partners.worker.nudge()
    return {"replayed": count}


@post("/replay", guards=[allow(*ADMIN)], operation_id="partnerAdminReplayRange", status_code=202,
      opt={"problems": (422,)})
async def replay_range(request: Request, data: ReplayBody) -> dict[str, Any]:
    """Every delivery created in [since, until), optionally for one endpoint."""
    if data.since >= data.until:
        raise InvalidInput("since must be before until", [{"key": "since", "message": "must be before until"}])
    db, tenant, _ = _ctx(request)
    count = await db.write(lambda c: webhooks.replay(c, tenant, since=data.since, until=data.until,
                                                     endpoint_id=data.endpoint_id), tenant_id=tenant)
    request.app.state.partners.worker.nudge()
    return {"replayed": count}


# -- health and audit ------------------------------------------------------------------------------------
@get("/health", guards=[allow(*READ)], operation_id="partnerAdminHealth")
async def health(request: Request, minutes: Annotated[int, Parameter(ge=1, le=1440)] = 60) -> dict[str, Any]:
    """Per app, over the last `minutes`: requests, 429s, errors, mean latency; and the webhook
    backlog (pending) and dead letters."""
    db, tenant, _ = _ctx(request)
    async with db.system(write=False) as conn:
        apps = await conn.run_sync(partners.list_apps, tenant)
    async with db.tenant(tenant, write=False) as conn:
        usage = await conn.run_sync(usage_since, tenant, minutes)
        backlog = await conn.run_sync(webhooks.backlog, tenant)
    empty = {"requests": 0, "throttled": 0, "errors": 0, "avg_latency_ms": None}
    return {"minutes": minutes, "items": [
        {"app_id": a["app_id"], "name": a["name"], "status": a["status"], **usage.get(a["app_id"], empty),
         **backlog.get(a["app_id"], {"pending": 0, "dead": 0})} for a in apps]}


@get("/audit", guards=[allow(*READ)], operation_id="partnerAdminAudit")
async def audit_trail(request: Request, limit: Annotated[int, Parameter(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Partner writes and changes to partner apps, newest first."""
    db, tenant, _ = _ctx(request)
    async with db.tenant(tenant, write=False) as conn:
        rows = await conn.execute(select(hq_audit).where(hq_audit.c.tenant_id == tenant,
                                                         hq_audit.c.entity.in_(("partner_write", "partner_app")))
                                  .order_by(hq_audit.c.at.desc()).limit(limit))
        return {"items": [{k: v for k, v in r._mapping.items() if k != "tenant_id"} for r in rows]}


partner_admin_router = Router(
    path="/api/v1/partner-admin",
    route_handlers=[app_list, register_app, app_detail, update_app, revoke_app, revoke_tokens, rotate_client_secret,
                    issue_key, rotate_key, revoke_key, endpoint_list, subscribe, rotate_secret, disable_endpoint,
                    delivery_list, attempt_list, replay_one, replay_range, health, audit_trail],
    tags=["partner-admin"],
)
