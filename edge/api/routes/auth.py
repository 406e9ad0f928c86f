"""Login, lane PIN login, token refresh and logout, MFA enrolment, JWKS."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import structlog
from litestar import Request, Response, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from edge.adapters.security import offline_pin
from edge.api.deps import actor, services
from edge.api.guards import authenticated
from edge.api.routes.pairing import device_for_sign_in
from edge.service.auth import Grant, GrantedUser

Str256 = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Str256
    totp: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class PinBody(msgspec.Struct, forbid_unknown_fields=True):
    lane_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    pin: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    device_token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] | None = None  # from lane pairing


class RefreshBody(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Str256


class CodeBody(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


PUBLIC = {"public": True}
log = structlog.get_logger()


@post("/api/v1/auth/login", opt=PUBLIC, status_code=HTTP_200_OK, operation_id="login")
async def login(request: Request, data: LoginBody) -> Grant:
    return await services(request).auth.login(data.username.strip().lower(), data.password, data.totp)


@post("/api/v1/auth/pin", opt=PUBLIC, status_code=HTTP_200_OK, operation_id="pinLogin")
async def pin_login(request: Request, data: PinBody) -> dict[str, Any]:
    device_id = await device_for_sign_in(request, data.device_token, data.lane_id)
    granted = await services(request).auth.pin_login(data.lane_id, data.pin, device_id=device_id)
    # The grant, with what only the lane needs beside it
    return {**msgspec.to_builtins(granted), **await _lane_extras(request, data, granted.user)}


async def _lane_extras(request: Request, data: PinBody, user: GrantedUser) -> dict[str, Any]:
    """What the lane needs beyond the tokens: how long to wait for this server, and a verifier
    for signing this cashier in at this lane while the server is unreachable."""
    settings = services(request).settings
    lane = settings.lane
    extras: dict[str, Any] = {"lane": {"server_timeout_ms": int(lane.server_timeout_s * 1000),
                                       "offline_sign_in_attempts": lane.offline_sign_in_attempts}}
    if lane.offline_sign_in_ttl_s:
        # Without its hash: the lane derives that from the PIN it just sent (offline_pin.unhashed).
        extras["offline_pin"] = offline_pin.unhashed(
            tenant_id=settings.store.tenant_id, store_id=settings.store.store_id, lane_id=data.lane_id, user=user,
            iterations=lane.offline_pin_iterations, ttl_s=lane.offline_sign_in_ttl_s)
        log.info("auth.offline_pin_issued", user_id=user.id, lane_id=data.lane_id,
                 expires_at=extras["offline_pin"]["expires_at"])
    return extras


@post("/api/v1/auth/refresh", opt=PUBLIC, status_code=HTTP_200_OK, operation_id="refresh")
async def refresh(request: Request, data: RefreshBody) -> Grant:
    return await services(request).auth.refresh(data.refresh_token)


@post("/api/v1/auth/logout", opt=PUBLIC, status_code=HTTP_204_NO_CONTENT, operation_id="logout")
async def logout(request: Request, data: RefreshBody) -> None:
    await services(request).auth.logout(data.refresh_token)


@post("/api/v1/auth/mfa/enroll", guards=[authenticated], status_code=HTTP_200_OK, operation_id="mfaEnroll")
async def mfa_enroll(request: Request) -> dict[str, str]:
    return await services(request).auth.mfa_enroll(actor(request))


@post("/api/v1/auth/mfa/confirm", guards=[authenticated], status_code=HTTP_204_NO_CONTENT, operation_id="mfaConfirm")
async def mfa_confirm(request: Request, data: CodeBody) -> None:
    await services(request).auth.mfa_confirm(actor(request), data.code.strip())


@get("/api/v1/auth/me", guards=[authenticated], operation_id="me")
async def me(request: Request) -> dict[str, Any]:
    a = actor(request)
    return {"id": a.user_id, "username": a.username, "roles": list(a.roles), "tenant_id": a.tenant_id,
            "store_id": a.store_id, "lane_id": a.lane_id,
            "mfa_enrollment_required": bool(request.scope["state"].get("mfa_enroll"))}


@get("/.well-known/jwks.json", opt=PUBLIC, operation_id="jwks", cache_control=None)
async def jwks(request: Request) -> Response:
    return Response(content=services(request).keys.jwks(), headers={"Cache-Control": "max-age=300"})


ROUTES = [login, pin_login, refresh, logout, mfa_enroll, mfa_confirm, me, jwks]
