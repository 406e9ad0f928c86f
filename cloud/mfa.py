"""TOTP enrolment from the HQ dashboard: start (a new secret and its QR code), then confirm with
the first code from the authenticator app, which makes it the secret the user signs in with.

Who may enrol:
- a signed-in HQ user, to set up or replace their authenticator;
- an admin refused at sign-in because the role needs TOTP and none is set up: the sign-in
  answer (403 `mfa-enrollment-required`, after the password was checked) carries a short-lived
  enrolment token good for these two calls only. It cannot replace a confirmed secret, so a
  leaked one is worth nothing once the admin has enrolled.
A wrong confirmation code counts as a failed sign-in (the same lockout).
"""

from __future__ import annotations

import base64
import io

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import Connection, delete, select, update

from cloud import audit
from cloud.auth import AuthError, AuthService, totp_step
from cloud.clock import now_iso
from cloud.db import set_tenant
from cloud.errors import HQError, InvalidInput
from cloud.projections import dialect_insert
from cloud.schema import users
from cloud.schema_mfa import totp_enrolments

ISSUER_NAME = "NovaPOS HQ"


class AlreadyEnrolled(HQError):
    status, code, title = 409, "mfa-already-enrolled", "Already enrolled"


async def start(auth: AuthService, user_id: str, *, enrolment_only: bool) -> dict[str, str]:
    secret = pyotp.random_base32()

    def _start(conn: Connection) -> str:
        user = conn.execute(select(users).where(users.c.id == user_id)).first()
        if user is None:
            raise AuthError("the account no longer exists", "invalid-token")
        if enrolment_only and user.totp_confirmed:
            raise AlreadyEnrolled("two-step sign-in is already set up; sign in with your code to replace it")
        row = {"user_id": user_id, "secret": secret, "started_at": now_iso()}
        stmt = dialect_insert(conn, totp_enrolments).values(**row)  # a new start replaces an unfinished one
        conn.execute(stmt.on_conflict_do_update(index_elements=["user_id"],
                                                set_={"secret": secret, "started_at": row["started_at"]}))
        return str(user.username)

    username = await auth.db.write(_start, system=True)
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER_NAME)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": _qr_data_url(uri)}


async def confirm(auth: AuthService, user_id: str, code: str, *, enrolment_only: bool) -> None:
    async with auth.db.system(write=False) as conn:
        pending = (await conn.execute(select(totp_enrolments).where(totp_enrolments.c.user_id == user_id))).first()
        user = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    if pending is None or user is None:
        raise InvalidInput("start the set-up first", errors=[{"field": "code", "message": "no set-up in progress"}])
    step = totp_step(pending.secret, code)
    if step is None:
        await auth.record_failure(user.username, "mfa_failed")
        raise InvalidInput("the code does not match; check the authenticator app's clock and type the newest code",
                           errors=[{"field": "code", "message": "wrong code"}])

    def _confirm(conn: Connection) -> None:
        current = conn.execute(select(users.c.totp_confirmed).where(users.c.id == user_id)).scalar_one()
        if enrolment_only and current:
            raise AlreadyEnrolled("two-step sign-in is already set up; sign in with your code to replace it")
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(totp_secret=pending.secret, totp_confirmed=True, totp_last_step=step))
        conn.execute(delete(totp_enrolments).where(totp_enrolments.c.user_id == user_id))
        set_tenant(conn, user.tenant_id)  # the audit row is the tenant's own (RLS on Postgres)
        audit.record(conn, user.tenant_id, actor=user.username, action="mfa.enrolled", entity="user",
                     entity_id=user_id, before={"totp_confirmed": bool(current)}, after={"totp_confirmed": True},
                     at=now_iso())

    await auth.db.write(_confirm, system=True)


def _qr_data_url(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URL (the page's policy allows data: images)."""
    out = io.BytesIO()
    qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, border=2).save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
