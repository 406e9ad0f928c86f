"""TOTP set-up from the dashboard (`/api/v1/auth/mfa/enroll`, `/api/v1/auth/mfa/confirm`), the
same calls as the store server's. See `cloud.mfa` for who may enrol and why."""

from __future__ import annotations

from typing import Annotated, Any

import jwt
import msgspec
from litestar import Request, Router, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

from cloud import mfa
from cloud.auth import ENROLMENT, AuthError
from edge.contracts.metrics_tokens import bearer


class CodeBody(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=6, max_length=6, pattern="^[0-9]{6}$")]


async def signed_in_or_enrolling(connection: ASGIConnection, _handler: Any) -> None:
    """A signed-in user of any role, or the holder of a sign-in's enrolment token."""
    token = bearer(connection.headers.get("authorization", ""))
    if not token:
        raise NotAuthorizedException("a bearer token is required")
    keys, auth = connection.app.state.token_keys, connection.app.state.auth
    try:
        # Only a peek to choose the check: the token is then verified in full for that purpose.
        enrolment_only = jwt.decode(token, options={"verify_signature": False}).get("typ") == ENROLMENT
    except jwt.PyJWTError:
        enrolment_only = False
    try:
        if enrolment_only:
            principal = keys.verify(token, typ=ENROLMENT)  # no session yet: nothing to revoke
        else:
            principal = keys.verify(token)
            await auth.ensure_active(principal)
    except AuthError as exc:
        raise NotAuthorizedException(str(exc)) from exc
    connection.state.principal = principal
    connection.state.enrolment_only = enrolment_only


@post("/enroll", guards=[signed_in_or_enrolling], operation_id="hqMfaEnroll", status_code=200)
async def enroll(request: Request) -> dict[str, str]:
    """A new secret, its otpauth URI and a QR code; the current one stays until confirmed."""
    return await mfa.start(request.app.state.auth, request.state.principal.user_id,
                           enrolment_only=request.state.enrolment_only)


@post("/confirm", guards=[signed_in_or_enrolling], operation_id="hqMfaConfirm", status_code=204)
async def confirm(request: Request, data: CodeBody) -> None:
    await mfa.confirm(request.app.state.auth, request.state.principal.user_id, data.code,
                      enrolment_only=request.state.enrolment_only)


mfa_router = Router(path="/api/v1/auth/mfa", route_handlers=[enroll, confirm])
