"""HQ authentication: Argon2id passwords, TOTP, RS256 access tokens, rotated refresh tokens.

Same login contract as the edge (ARCHITECTURE.md, "HTTP conventions" and "Security model").
Roles here: hq_analyst (read), tenant_admin (read + commands + conflict handling), super_admin
(any tenant, switched with X-Tenant-ID).
The tenant always comes from the token; the header may only *switch* it for a super-admin,
and any other mismatch is a 403.

- Lockout counts failures per username (known or not) with exponential backoff; an unknown
  user costs the same Argon2 work and gets the same answers as a real one.
- TOTP is required for admin roles (not in demo mode); a code's time step is accepted once.
- Refresh tokens are opaque; only their SHA-256 is stored. Each rotation stays in the login's
  family; presenting an already-rotated token revokes the whole family.
- Signing keys rotate (`TokenKeys.rotate`); the JWKS keeps a retired key until every token it
  signed has expired.
- Access tokens name their session (`sid`, the refresh family): after a logout or a refresh
  reuse, the session's access tokens are refused too (`cloud.revocation`, checked by the guard).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pyotp
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, or_, select, update

from cloud import metrics
from cloud.clock import iso, now_iso, parse_iso, utc_now
from cloud.db import CloudDB
from cloud.projections import dialect_insert
from cloud.revocation import RevokedSessions
from cloud.schema import login_failures, refresh_tokens, users

log = structlog.get_logger()

# platform_admin (a hosted HQ's operator) onboards tenants and sees the tenant list, never
# a tenant's sales or stock: it is in no HQ route's guard.
ROLES = ("hq_analyst", "tenant_admin", "super_admin", "platform_admin")
MFA_ROLES = frozenset({"tenant_admin", "super_admin", "platform_admin"})
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # OWASP minimum for Argon2id
_DUMMY_HASH = HASHER.hash("timing-equaliser")
LOCKOUT_AFTER = 5
LOCKOUT_BASE_S = 30
LOCKOUT_MAX_S = 3600
TOTP_STEP_S = 30
ENROLMENT_TOKEN_TTL_S = 600  # long enough to install an authenticator app, short enough to be useless later
ACCESS, ENROLMENT = "access", "mfa-enroll"  # token purposes (`typ`): each route accepts one
ISSUER, AUDIENCE = "novapos-cloud", "novapos"
INVALID = "invalid credentials"


class AuthError(Exception):
    """Login or token failure (401). `code` is the problem type."""

    def __init__(self, message: str = INVALID, code: str = "invalid-credentials"):
        super().__init__(message)
        self.code = code


class LockedOut(AuthError):
    """Too many failures for this username (429 with Retry-After); unknown names lock out too."""

    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed attempts; try again in {retry_after_s} s", "locked-out")
        self.retry_after_s = retry_after_s


class MfaEnrollmentRequired(AuthError):
    """An admin without TOTP (403). The password was right, so the answer carries a short-lived
    token that can only set up TOTP (`cloud.mfa`); `novapos-cloud mfa-reset` is the operator's way."""

    def __init__(self, enrollment_token: str | None = None) -> None:
        super().__init__("this role requires two-step sign-in: set up an authenticator app first",
                         "mfa-enrollment-required")
        self.enrollment_token = enrollment_token


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    roles: tuple[str, ...]
    tenant_id: str  # the token's tenant
    store_id: str | None = None
    session_id: str | None = None  # the login's refresh family: revoked at logout


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    created_at: float
    retired_at: float | None = None


class TokenKeys:
    """RS256 signing keys with rotation; persisted under `directory` when given.

    A retired key still verifies (and stays in the JWKS) for `keep_retired_s`, which must be at
    least the access-token lifetime, so a rotation never logs anyone out.
    """

    def __init__(self, directory: Path | None = None, *, keep_retired_s: int = 900 + 60):
        self.directory = directory
        self.keep_retired_s = keep_retired_s
        self.keys: dict[str, SigningKey] = {}
        self.active_kid = ""
        if directory and (directory / "keys.json").exists():
            self._load(directory)
        else:
            self.rotate()

    @property
    def kid(self) -> str:
        return self.active_kid

    def rotate(self) -> str:
        """Make a new active key; the previous one verifies until its tokens have expired."""
        now = time.time()
        if self.active_kid:
            self.keys[self.active_kid].retired_at = now
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kid = hashlib.sha256(public).hexdigest()[:16]
        self.keys[kid] = SigningKey(kid, private, now)
        self.active_kid = kid
        self.keys = {k: v for k, v in self.keys.items() if self.verification_key(k) is not None}
        self._save()
        log.info("auth.key_rotated", kid=kid)
        return kid

    def verification_key(self, kid: str) -> SigningKey | None:
        key = self.keys.get(kid)
        if key is None or (key.retired_at is not None and time.time() > key.retired_at + self.keep_retired_s):
            return None
        return key

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in list(self.keys):
            key = self.verification_key(kid)
            if key is not None:
                jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.private_key.public_key(), as_dict=True)
                keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def issue(self, claims: dict[str, Any], ttl_s: int, *, typ: str = ACCESS) -> str:
        key = self.keys[self.active_kid]
        now = utc_now()
        body = {
            **claims,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl_s),
            "typ": typ,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(body, key.private_key, algorithm="RS256", headers={"kid": key.kid})

    def verify(self, token: str, *, typ: str = ACCESS) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _rejected("malformed token") from exc
        # Checked before PyJWT sees the token: `none` in any spelling, HS256 keyed with our
        # public key, or any other algorithm never reaches a verifier.
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise _rejected("unsupported token header")
        key = self.verification_key(header["kid"])
        if key is None:
            raise _rejected("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _rejected(str(exc)) from exc
        if claims.get("typ") != typ:
            raise _rejected(f"not an {typ} token")
        return Principal(
            claims["sub"], claims["username"], tuple(claims["roles"]), claims["tenant_id"], claims.get("store_id"),
            claims.get("sid"),
        )

    def _save(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        meta = {"active": self.active_kid, "keys": {}}
        for kid, key in self.keys.items():
            pem_path = self.directory / f"{kid}.pem"
            if not pem_path.exists():
                _write_private(pem_path, key.private_key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            meta["keys"][kid] = {"created_at": key.created_at, "retired_at": key.retired_at}
        tmp = self.directory / "keys.json.tmp"
        _write_private(tmp, json.dumps(meta).encode())
        tmp.replace(self.directory / "keys.json")

    def _load(self, directory: Path) -> None:
        meta = json.loads((directory / "keys.json").read_text())
        for kid, info in meta["keys"].items():
            private = serialization.load_pem_private_key((directory / f"{kid}.pem").read_bytes(), password=None)
            assert isinstance(private, rsa.RSAPrivateKey)
            self.keys[kid] = SigningKey(kid, private, info["created_at"], info.get("retired_at"))
        self.active_kid = meta["active"]


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start: a chmod after writing leaves a moment where umask rules.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT


def _rejected(reason: str) -> AuthError:
    metrics.security_event("token_rejected")
    log.info("security.token_rejected", reason=reason)
    return AuthError("invalid or expired token", "invalid-token")


def totp_step(secret: str, code: str, *, at: float | None = None, window: int = 1) -> int | None:
    """The time step a 6-digit code belongs to (±`window` steps of clock drift), or None."""
    if not (code.isdigit() and len(code) == 6):
        return None
    now = time.time() if at is None else at
    totp, current = pyotp.TOTP(secret), int(now // TOTP_STEP_S)
    for step in range(current - window, current + window + 1):
        if pyotp.utils.strings_equal(totp.at(step * TOTP_STEP_S), code):
            return step
    return None


@dataclass(frozen=True)
class _Reused:
    """A rotated refresh token came back: its family (session) is now revoked."""

    family_id: str


class AuthService:
    def __init__(
        self,
        db: CloudDB,
        keys: TokenKeys,
        *,
        access_ttl_s: int = 900,
        refresh_ttl_s: int = 8 * 3600,
        require_admin_mfa: bool = True,
    ):
        self.db = db
        self.keys = keys
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.require_admin_mfa = require_admin_mfa
        # A revoked session's tokens live at most one access lifetime plus clock skew.
        self.revocations = RevokedSessions(db, keep_s=access_ttl_s + 120)

    async def ensure_active(self, principal: Principal) -> None:
        """Refuse a token whose session was signed out (on any hub instance; see cloud.revocation)."""
        if await self.revocations.is_revoked(principal.session_id):
            metrics.security_event("token_revoked")
            raise AuthError("the session was signed out; sign in again", "session-revoked")

    # -- users -----------------------------------------------------------------------------
    async def create_user(
        self, username: str, password: str, roles: list[str], tenant_id: str, *, totp_secret: str | None = None
    ) -> str:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        user_id = str(uuid.uuid4())
        row = {
            "id": user_id,
            "username": username,
            "password_hash": HASHER.hash(password),
            "roles": roles,
            "tenant_id": tenant_id,
            "failures": 0,
            "created_at": now_iso(),
            "totp_secret": totp_secret,
            "totp_confirmed": totp_secret is not None,
        }
        await self.db.write(lambda conn: conn.execute(users.insert().values(**row)), system=True)
        return user_id

    async def reset_totp(self, username: str) -> str:
        """A new confirmed TOTP secret for `username` (operator action); returns the secret."""
        secret = pyotp.random_base32()

        def _reset(conn: Connection) -> int:
            stmt = update(users).where(users.c.username == username)
            return conn.execute(stmt.values(totp_secret=secret, totp_confirmed=True, totp_last_step=None)).rowcount

        if not await self.db.write(_reset, system=True):
            raise LookupError(username)
        return secret

    # -- login -----------------------------------------------------------------------------
    async def login(self, username: str, password: str, totp: str | None = None) -> dict[str, Any]:
        now = utc_now()
        async with self.db.system(write=False) as conn:
            user = (await conn.execute(select(users).where(users.c.username == username))).first()
            fails = (await conn.execute(select(login_failures).where(login_failures.c.username == username))).first()
        if fails is not None and fails.locked_until and parse_iso(fails.locked_until) > now:
            await asyncio.to_thread(_verify, _DUMMY_HASH, password)  # same work as any other attempt
            metrics.security_event("login_while_locked")
            raise LockedOut(max(1, round((parse_iso(fails.locked_until) - now).total_seconds())))
        ok = await asyncio.to_thread(_verify, user.password_hash if user else _DUMMY_HASH, password)
        if not ok or user is None:
            await self._failed(username, "login_failed")
            raise AuthError()
        step = None
        if user.totp_confirmed and user.totp_secret:
            if not totp:
                raise AuthError("a one-time code from your authenticator app is required", "mfa-required")
            step = totp_step(user.totp_secret, totp)
            if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
                await self._failed(username, "mfa_failed")
                raise AuthError("the one-time code is wrong or was already used", "mfa-invalid")
        elif self.require_admin_mfa and MFA_ROLES & set(user.roles):
            claims = {"sub": user.id, "username": user.username, "roles": [], "tenant_id": user.tenant_id}
            raise MfaEnrollmentRequired(self.keys.issue(claims, ENROLMENT_TOKEN_TTL_S, typ=ENROLMENT))
        rehash = HASHER.hash(password) if HASHER.check_needs_rehash(user.password_hash) else None
        refresh = secrets.token_urlsafe(32)
        family = await self.db.write(
            _grant, user.id, username, step, rehash, _digest(refresh), self._refresh_expiry(), system=True
        )
        if family is None:  # another login used the same TOTP step first
            await self._failed(username, "mfa_failed")
            raise AuthError("the one-time code is wrong or was already used", "mfa-invalid")
        log.info("auth.login", user_id=user.id)
        return self._pair(user, refresh, family)

    async def record_failure(self, username: str, event: str) -> None:
        """Count a failed proof of identity outside login (a wrong TOTP set-up code) like a login."""
        await self._failed(username, event)

    async def _failed(self, username: str, event: str) -> None:
        locked = await self.db.write(_record_failure, username, utc_now(), system=True)
        metrics.security_event(event)
        log.warning("security." + event, username_hash=_digest(username)[:12])
        if locked:
            metrics.security_event("lockout")
            log.warning("security.lockout", username_hash=_digest(username)[:12])

    # -- refresh and logout ------------------------------------------------------------------
    async def refresh(self, token: str) -> dict[str, Any]:
        new = secrets.token_urlsafe(32)
        outcome = await self.db.write(
            _rotate, _digest(token), _digest(new), now_iso(), self._refresh_expiry(), system=True
        )
        if isinstance(outcome, _Reused):
            self.revocations.revoked_here(outcome.family_id)
            # Raised only now, after the revocation committed: raising inside the transaction
            # would have rolled the revocation back.
            metrics.security_event("refresh_reuse")
            log.warning("security.refresh_reuse")
            raise AuthError("the refresh token was already used; the session is revoked", "refresh-token-reused")
        if outcome is None:
            raise AuthError("the refresh token is not valid; log in again", "invalid-refresh-token")
        user_id, family = outcome
        async with self.db.system(write=False) as conn:
            user = (await conn.execute(select(users).where(users.c.id == user_id))).one()
        return self._pair(user, new, family)

    async def logout(self, token: str) -> None:
        family = await self.db.write(_revoke_family_of, _digest(token), now_iso(), system=True)
        if family is not None:
            self.revocations.revoked_here(family)

    # -- tokens -----------------------------------------------------------------------------
    def _refresh_expiry(self) -> str:
        return iso(utc_now() + timedelta(seconds=self.refresh_ttl_s))

    def _pair(self, user: Any, refresh: str, family: str) -> dict[str, Any]:
        profile = {
            "id": user.id,
            "username": user.username,
            "roles": list(user.roles),
            "tenant_id": user.tenant_id,
            "store_id": user.store_id,
        }
        claims = {"sub": user.id, "sid": family, **{k: v for k, v in profile.items() if k != "id"}}
        return {
            "access_token": self.keys.issue(claims, self.access_ttl_s),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.access_ttl_s,
            "user": profile,
        }


# -- transactions (sync Core, run by CloudDB.write) ---------------------------------------------
def _record_failure(conn: Connection, username: str, now: Any) -> bool:
    """Count a failure; returns True when this one locked the username."""
    row = conn.execute(select(login_failures).where(login_failures.c.username == username)).first()
    failures = (row.failures if row else 0) + 1
    locked = None
    if failures >= LOCKOUT_AFTER:
        wait = min(LOCKOUT_MAX_S, LOCKOUT_BASE_S * 2 ** (failures - LOCKOUT_AFTER))
        locked = iso(now + timedelta(seconds=wait))
    stmt = dialect_insert(conn, login_failures).values(
        username=username, failures=failures, locked_until=locked, updated_at=iso(now)
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["username"],
            set_={"failures": failures, "locked_until": locked, "updated_at": iso(now)},
        )
    )
    return locked is not None


def _grant(
    conn: Connection, user_id: str, username: str, step: int | None, rehash: str | None, refresh_hash: str, expires: str
) -> str | None:
    """The new session's family id, or None when the TOTP step was already used."""
    if step is not None:
        # Conditional update: of two logins racing with one code, only one moves the step on.
        stmt = update(users).where(
            users.c.id == user_id, or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step)
        )
        if conn.execute(stmt.values(totp_last_step=step)).rowcount == 0:
            return None
    if rehash:
        conn.execute(update(users).where(users.c.id == user_id).values(password_hash=rehash))
    conn.execute(login_failures.delete().where(login_failures.c.username == username))
    family = str(uuid.uuid4())
    conn.execute(
        refresh_tokens.insert().values(token_hash=refresh_hash, user_id=user_id, family_id=family, expires_at=expires)
    )
    return family


def _rotate(conn: Connection, old_hash: str, new_hash: str, now: str, expires: str) -> tuple[str, str] | _Reused | None:
    """(user id, family id) on success, `_Reused` after revoking the family, None when invalid."""
    row = conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == old_hash)).first()
    if row is None or row.revoked_at or row.expires_at < now:
        return None
    marked = conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.token_hash == old_hash, refresh_tokens.c.rotated_at.is_(None))
        .values(rotated_at=now)
    ).rowcount
    if not marked:  # rotated before: a copy of the token is in someone else's hands
        conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == row.family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return _Reused(row.family_id)
    conn.execute(
        refresh_tokens.insert().values(
            token_hash=new_hash, user_id=row.user_id, family_id=row.family_id, expires_at=expires
        )
    )
    return row.user_id, row.family_id


def _revoke_family_of(conn: Connection, token_hash: str, now: str) -> str | None:
    """Revoke the session `token_hash` belongs to; its family id, or None for an unknown token."""
    row = conn.execute(select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_hash == token_hash)).first()
    if row is None:
        return None
    conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == row.family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return row.family_id


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
