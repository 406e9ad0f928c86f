"""`POST /api/v1/enroll`: a store box claims its enrollment token (cloud.enrollment).

Unauthenticated by design (the token is the credential), so it is bounded: a small body, a
token of fixed shape, and a per-client rate limit (the `limits` package); every refusal is
counted as a security event. The answer carries the store's NATS seed once: serve HQ over
TLS.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import structlog
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from litestar import Request, post
from litestar.exceptions import TooManyRequestsException

from cloud import enrollment, metrics
from cloud.api.guards import PUBLIC
from cloud.clock import now_iso
from cloud.leafnode import LeafConfig, domain_for, render_leaf_config
from cloud.nats_auth import HUB_JS_DOMAIN, new_user_key

log = structlog.get_logger()

AbsolutePath = Annotated[str, msgspec.Meta(pattern=r"^/[^\x00\n\"]{0,255}$")]
PER_CLIENT = RateLimitItemPerMinute(10)


class EnrollBody(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
    jetstream_dir: AbsolutePath = "/var/lib/novapos/jetstream"  # the box's leaf node store (leaf mode)


@post("/api/v1/enroll", status_code=200, operation_id="enrollStore", opt=PUBLIC, request_max_body_size=4096)
async def enroll(request: Request, data: EnrollBody) -> dict[str, Any]:
    client = request.client.host if request.client else "unknown"
    limiter = getattr(request.app.state, "enroll_limiter", None)
    if limiter is None:  # one per app: in memory, per process (one HQ instance per limiter)
        limiter = request.app.state.enroll_limiter = MovingWindowRateLimiter(MemoryStorage())
    if not limiter.hit(PER_CLIENT, "enroll", client):
        metrics.security_event("enrollment_rate_limited")
        raise TooManyRequestsException("too many enrollment attempts; wait a minute and try again")
    try:
        return await _claim(request, data, client)
    except enrollment.EnrollmentProblem as exc:
        metrics.security_event("enrollment_refused")
        log.warning("enrollment.refused", reason=exc.code, client=client)
        raise


async def _claim(request: Request, data: EnrollBody, client: str) -> dict[str, Any]:
    state = request.app.state
    settings, runtime, db = state.settings, state.runtime, state.db
    row = await enrollment.check_token(db, data.token)
    leaf = bool(settings.nats_leaf_url)
    try:  # before the token is spent: a hub that is down leaves it claimable
        await runtime.provision_store(row.tenant_id, row.store_id, leaf=leaf)
    except Exception as exc:
        raise enrollment.HubUnavailable(type(exc).__name__) from exc
    seed, public = new_user_key() if runtime.auth is not None else (None, None)
    leaf_domain = domain_for(row.store_id) if leaf else None
    revoked = await db.write(enrollment.consume, row, public, now_iso(), client, leaf_domain, system=True)
    if runtime.auth is not None:
        await runtime.auth.apply(db)  # the hub reloads: the new user in, the replaced box out
    log.info("enrollment.claimed", tenant_id=row.tenant_id, store_id=row.store_id, revoked=len(revoked))
    hub_url = settings.nats_public_url or settings.nats_url
    leaf_config = None
    if leaf:
        leaf_config = render_leaf_config(
            LeafConfig(
                store_id=row.store_id,
                tenant_id=row.tenant_id,
                hub_url=settings.nats_leaf_url,
                store_dir=data.jetstream_dir,
                nkey_seed=seed,
            )
        )
    return {
        "tenant_id": row.tenant_id,
        "store_id": row.store_id,
        "nats": {
            "url": "nats://127.0.0.1:4222" if leaf else hub_url,
            "hub_domain": HUB_JS_DOMAIN if leaf else "",
            "credentials": seed,  # the nkey seed: write it 0600; null in the hub's no-auth dev mode
            "public_key": public,
            "leaf_config": leaf_config,
            "revoked": len(revoked),
        },
        "jwks": state.token_keys.jwks(),
        "policies": await enrollment.current_policies(db, row.tenant_id),
    }
