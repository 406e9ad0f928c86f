"""Access tokens (RS256 JWT) and opaque refresh tokens.

Verification pins the algorithm list to RS256 and requires iss, aud, exp, nbf, iat, sub and
kid: `alg: none`, HS256 signed with our public key, an unknown kid, an expired or
not-yet-valid token, or a token for another audience all fail the same way. A token whose
session (`sid`) was revoked fails too, cached or not (see `revocation`).
A refresh token is opaque random text; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from typing import Any

import jwt
import msgspec

from edge.adapters.security.keys import KeyStore
from edge.adapters.security.revocation import RevocationList
from edge.service.ports import AccessClaims

ALGORITHMS = ["RS256"]


class InvalidToken(Exception):
    pass


class RevokedToken(InvalidToken):
    pass


class TokenService:
    def __init__(self, keys: KeyStore, *, issuer: str, audience: str, access_ttl_s: int,
                 revocations: RevocationList | None = None):
        self.keys = keys
        self.revocations = revocations if revocations is not None else RevocationList(keep_s=access_ttl_s + 120)
        self.issuer = issuer
        self.audience = audience
        self.access_ttl_s = access_ttl_s
        # Verified-token cache: RS256 verification is the largest per-request cost on hot
        # lookups. Entries are keyed by the exact token text and still checked for expiry.
        self._cache: OrderedDict[str, tuple[AccessClaims, int, str]] = OrderedDict()  # claims, exp, kid
        self._cache_max = 4096

    def issue_access(self, claims: AccessClaims) -> str:
        key = self.keys.active()
        now = int(time.time())
        payload = {
            **msgspec.to_builtins(claims),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.access_ttl_s,
            "typ": "access",
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.kid})

    def verify_access(self, token: str) -> AccessClaims:
        cached = self._cache.get(token)
        if cached is not None:
            claims, exp, kid = cached
            if exp > time.time() and self.keys.verification_key(kid) is not None:
                self._refuse_if_revoked(claims)
                return claims
            self._cache.pop(token, None)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise InvalidToken("malformed token") from err
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") != "RS256":
            raise InvalidToken("unsupported token header")
        key = self.keys.verification_key(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            registered: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as err:
            raise InvalidToken(str(err)) from err
        if registered.get("typ") != "access":
            raise InvalidToken("not an access token")
        try:
            claims = msgspec.convert(registered, AccessClaims)
        except msgspec.ValidationError as err:
            raise InvalidToken(f"unexpected claims: {err}") from None
        self._refuse_if_revoked(claims)
        self._cache[token] = (claims, int(registered["exp"]), kid)
        if len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)
        return claims

    def _refuse_if_revoked(self, claims: AccessClaims) -> None:
        if self.revocations.is_revoked(claims.sid):
            raise RevokedToken("the session was signed out or the account was disabled; sign in again")


def new_refresh_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
