"""HQ authentication: Argon2id passwords, RS256 access tokens, rotated refresh tokens.

Same login contract as the edge (DESIGN §5). Roles here: hq_analyst (read), tenant_admin
(read + commands + conflict handling), super_admin (any tenant, switched with X-Tenant-ID).
The tenant always comes from the token; the header may only *switch* it for a super-admin,
and any other mismatch is a 403 (DESIGN §5).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update

from cloud.clock import iso, now_iso, parse_iso, utc_now
from cloud.db import CloudDB
from cloud.schema import refresh_tokens, users

log = structlog.get_logger()

ROLES = ("hq_analyst", "tenant_admin", "super_admin")
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # OWASP minimum for Argon2id
_DUMMY_HASH = HASHER.hash("timing-equaliser")
LOCKOUT_AFTER = 5
ISSUER, AUDIENCE = "novapos-cloud", "novapos"


class AuthError(Exception):
    """Login or token failure; always the same message for unknown user and bad password."""


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    roles: tuple[str, ...]
    tenant_id: str  # the token's tenant
    store_id: str | None = None


class TokenKeys:
    """One RS256 signing key; persisted under `directory` when given so restarts keep sessions."""

    def __init__(self, directory: Path | None = None):
        pem_path = directory / "hq-signing-key.pem" if directory else None
        if pem_path and pem_path.exists():
            self.key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if pem_path:
                pem_path.parent.mkdir(parents=True, exist_ok=True)
                pem_path.write_bytes(
                    self.key.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    )
                )
                pem_path.chmod(0o600)
        public = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(public).hexdigest()[:16]

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def issue(self, claims: dict[str, Any], ttl_s: int) -> str:
        now = utc_now()
        body = {**claims, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + timedelta(seconds=ttl_s)}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "nbf", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError("invalid or expired token") from exc
        return Principal(
            claims["sub"], claims["username"], tuple(claims["roles"]), claims["tenant_id"], claims.get("store_id")
        )


class AuthService:
    def __init__(self, db: CloudDB, keys: TokenKeys, *, access_ttl_s: int = 900, refresh_ttl_s: int = 8 * 3600):
        self.db = db
        self.keys = keys
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    async def create_user(self, username: str, password: str, roles: list[str], tenant_id: str) -> str:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        user_id = str(uuid.uuid4())
        async with self.db.system() as conn:
            await conn.execute(
                users.insert().values(
                    id=user_id,
                    username=username,
                    password_hash=HASHER.hash(password),
                    roles=roles,
                    tenant_id=tenant_id,
                    failures=0,
                    created_at=now_iso(),
                )
            )
        return user_id

    async def login(self, username: str, password: str) -> dict[str, Any]:
        async with self.db.system() as conn:
            user = (await conn.execute(select(users).where(users.c.username == username))).first()
            now = utc_now()
            if user is None:
                _verify(_DUMMY_HASH, password)  # same work as a real account
                raise AuthError("invalid credentials")
            if user.locked_until and parse_iso(user.locked_until) > now:
                raise AuthError("invalid credentials")
            if not _verify(user.password_hash, password):
                failures = user.failures + 1
                locked = (
                    iso(now + timedelta(seconds=30 * 2 ** (failures - LOCKOUT_AFTER)))
                    if failures >= LOCKOUT_AFTER
                    else None
                )
                await conn.execute(
                    update(users).where(users.c.id == user.id).values(failures=failures, locked_until=locked)
                )
                log.warning("auth.login_failed", user_id=user.id, failures=failures)
                raise AuthError("invalid credentials")
            values: dict[str, Any] = {"failures": 0, "locked_until": None}
            if HASHER.check_needs_rehash(user.password_hash):
                values["password_hash"] = HASHER.hash(password)
            await conn.execute(update(users).where(users.c.id == user.id).values(**values))
            return await self._pair(conn, user)

    async def refresh(self, token: str) -> dict[str, Any]:
        digest = hashlib.sha256(token.encode()).hexdigest()
        async with self.db.system() as conn:
            row = (await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == digest))).first()
            if row is None or row.rotated_at or parse_iso(row.expires_at) < utc_now():
                raise AuthError("invalid refresh token")
            await conn.execute(
                update(refresh_tokens).where(refresh_tokens.c.token_hash == digest).values(rotated_at=now_iso())
            )
            user = (await conn.execute(select(users).where(users.c.id == row.user_id))).one()
            return await self._pair(conn, user)

    async def logout(self, token: str) -> None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        async with self.db.system() as conn:
            await conn.execute(
                update(refresh_tokens).where(refresh_tokens.c.token_hash == digest).values(rotated_at=now_iso())
            )

    async def _pair(self, conn: Any, user: Any) -> dict[str, Any]:
        refresh = secrets.token_urlsafe(32)
        await conn.execute(
            refresh_tokens.insert().values(
                token_hash=hashlib.sha256(refresh.encode()).hexdigest(),
                user_id=user.id,
                expires_at=iso(utc_now() + timedelta(seconds=self.refresh_ttl_s)),
            )
        )
        claims = {
            "sub": user.id,
            "username": user.username,
            "roles": list(user.roles),
            "tenant_id": user.tenant_id,
            "store_id": user.store_id,
        }
        return {
            "access_token": self.keys.issue(claims, self.access_ttl_s),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.access_ttl_s,
            "user": {
                "id": user.id,
                "username": user.username,
                "roles": list(user.roles),
                "tenant_id": user.tenant_id,
                "store_id": user.store_id,
            },
        }


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
