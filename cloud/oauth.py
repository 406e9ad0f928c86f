"""The partner OAuth2 token endpoint (client credentials) on authlib's AuthorizationServer,
and the partner access tokens it issues.

- Client authentication: `client_secret_basic`, `client_secret_post` (a secret shown once at
  registration, stored as a digest) or `private_key_jwt` (RFC 7523: an assertion signed with a
  key from the app's registered JWKS; each assertion's `jti` is accepted once).
- Tokens are RS256 JWTs signed with the hub's keys (`cloud.auth.TokenKeys`), with their own
  audience and `typ: partner`: the HQ guard refuses them (it wants `typ: access`), and the
  partner guard refuses HQ user tokens, so neither works on the other's routes.
- They are short-lived (`NOVAPOS_CLOUD_PARTNER_TOKEN_TTL_S`), and still checked against the app
  on every call: a revoked app, a `revoke-tokens` or a narrowed scope applies on the next request.

authlib's server is synchronous and framework-neutral, while the app rows live behind the async
database: the rows the request can name (Basic user, `client_id`, the assertion's `sub`) are read
first, then authlib runs without any await in between, so no other request interleaves.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import jwt
import structlog
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidClientError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.jwk import KeySet
from sqlalchemy import Connection, delete, select

from cloud.auth import ISSUER, TokenKeys
from cloud.db import CloudDB
from cloud.partners import SCOPES, same_digest
from cloud.projections import dialect_insert
from cloud.schema_partners import partner_apps, partner_assertion_ids

log = structlog.get_logger()

PARTNER_AUDIENCE = "novapos-partner"
PARTNER_TYP = "partner"
MAX_FORM_BYTES = 8192


class PartnerTokenError(Exception):
    """A partner bearer token that is malformed, expired, or not a partner token."""


@dataclass
class PartnerClient(ClientMixin):
    app_id: str
    tenant_id: str
    scopes: list[str]
    secret_hash: str | None
    jwks: dict[str, Any] | None
    active: bool

    def get_client_id(self) -> str:
        return self.app_id

    def check_client_secret(self, client_secret: str) -> bool:
        return self.active and same_digest(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if not self.active or endpoint != "token":
            return False
        if method in ("client_secret_basic", "client_secret_post"):
            return self.secret_hash is not None
        return method == "private_key_jwt" and bool(self.jwks)

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str) -> str:
        asked = scope_to_list(scope) if scope else list(self.scopes)
        return " ".join(s for s in asked if s in self.scopes)


class _PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: PartnerAuthorizationServer):
        super().__init__(validate_jti=True)
        self.server = server

    def get_audiences(self) -> list[str]:
        return [self.server.token_url]

    def resolve_client_public_key(self, client: PartnerClient) -> KeySet:
        return KeySet.import_key_set(client.jwks or {"keys": []})

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        # Recorded after authlib is done, in the database every instance shares (`issue`).
        self.server.pending_jtis.append((str(jti), float(claims.get("exp") or time.time() + 300)))
        return isinstance(jti, str) and 0 < len(jti) <= 200


class _ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()
        asked = scope_to_list(self.request.payload.scope or "") or []
        beyond = sorted(set(asked) - set(self.request.client.scopes))
        if beyond:
            raise InvalidScopeError(description=f"the app is not granted: {' '.join(beyond)}")


class _FormPayload(OAuth2Payload):
    def __init__(self, form: dict[str, str]):
        self._form = form

    @property
    def data(self) -> dict[str, str]:
        return self._form

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {k: [v] for k, v in self._form.items()}


class _FormRequest(OAuth2Request):
    def __init__(self, uri: str, headers: Any, form: dict[str, str]):
        super().__init__("POST", uri, headers=headers)
        self._form = form
        self.payload = _FormPayload(form)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class TokenResponse:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]] = field(default_factory=list)


class PartnerAuthorizationServer(AuthorizationServer):
    def __init__(self, db: CloudDB, keys: TokenKeys, *, token_ttl_s: int):
        super().__init__(scopes_supported=list(SCOPES))
        self.db = db
        self.keys = keys
        self.token_ttl_s = token_ttl_s
        self.token_url = ""
        self.clients: dict[str, PartnerClient] = {}
        self.pending_jtis: list[tuple[str, float]] = []
        self.register_grant(_ClientCredentials)
        self.register_client_auth_method("private_key_jwt", _PrivateKeyJwt(self))
        self.register_token_generator("default", self._generate)

    # -- authlib's framework hooks ------------------------------------------------------------
    def query_client(self, client_id: str) -> PartnerClient | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        return None  # self-contained JWTs: nothing to store; revocation is per app (see module doc)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> TokenResponse:
        return TokenResponse(status, dict(body), list(headers or []))

    def _generate(self, grant_type: str, client: PartnerClient, user: Any = None, scope: str | None = None,
                  expires_in: int | None = None, include_refresh_token: bool = False) -> dict[str, Any]:
        granted = client.get_allowed_scope(scope or "")
        return {"access_token": self.sign(client, granted), "token_type": "Bearer",
                "expires_in": self.token_ttl_s, "scope": granted}

    # -- tokens ----------------------------------------------------------------------------------
    def sign(self, client: PartnerClient, scope: str) -> str:
        key = self.keys.keys[self.keys.active_kid]
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": PARTNER_AUDIENCE, "sub": client.app_id, "tenant_id": client.tenant_id,
                  "scope": scope, "typ": PARTNER_TYP, "iat": now, "nbf": now, "exp": now + self.token_ttl_s,
                  "jti": secrets.token_hex(8)}
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid partner token; PartnerTokenError otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise PartnerTokenError("malformed token") from exc
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise PartnerTokenError("unsupported token header")
        key = self.keys.verification_key(header["kid"])
        if key is None:
            raise PartnerTokenError("unknown signing key")
        try:
            claims = jwt.decode(token, key.private_key.public_key(), algorithms=["RS256"], audience=PARTNER_AUDIENCE,
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.PyJWTError as exc:
            raise PartnerTokenError(str(exc)) from exc
        if claims.get("typ") != PARTNER_TYP or not isinstance(claims.get("tenant_id"), str):
            raise PartnerTokenError("not a partner token")
        return claims

    # -- the token endpoint ----------------------------------------------------------------------
    async def issue(self, url: str, headers: Any, body: bytes) -> TokenResponse:
        if len(body) > MAX_FORM_BYTES:
            return _error(400, "invalid_request", "the form is too large")
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            return _error(400, "invalid_request", "the form is not UTF-8")
        try:
            request = _FormRequest(url, headers, form)
        except InsecureTransportError:
            # TLS belongs in front of the hub; set NOVAPOS_CLOUD_PARTNER_TOKEN_URL to the https URL.
            return _error(400, "insecure_transport", "the token endpoint must be reached over https")
        self.token_url = url
        named = _named_clients(headers, form)
        async with self.db.system(write=False) as conn:
            rows = (await conn.execute(select(partner_apps).where(partner_apps.c.app_id.in_(named)))).all() \
                if named else []
        clients = {r.app_id: PartnerClient(r.app_id, r.tenant_id, list(r.scopes), r.client_secret_hash, r.jwks,
                                           r.status == "active") for r in rows}
        # No await from here to the end of authlib's work: `clients` and `pending_jtis` are this
        # request's alone.
        self.clients, self.pending_jtis = clients, []
        response = self.create_token_response(request)
        jtis, self.clients, self.pending_jtis = self.pending_jtis, {}, []
        if response.status == 200 and jtis and not await self.db.write(_record_jtis, jtis, time.time(), system=True):
            log.warning("security.partner_assertion_replayed")
            return _error(401, "invalid_client", "the client assertion was used before")
        if response.status == 200:
            log.info("partner.token_issued", app_id=_app_of(response, self), scope=response.body.get("scope"))
        else:
            log.info("partner.token_refused", error=response.body.get("error"))
        return response


def _app_of(response: TokenResponse, server: PartnerAuthorizationServer) -> str | None:
    try:
        return str(server.verify(response.body["access_token"])["sub"])
    except (PartnerTokenError, KeyError):
        return None


def _named_clients(headers: Any, form: dict[str, str]) -> list[str]:
    named = []
    if form.get("client_id"):
        named.append(form["client_id"])
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")[0]
            from urllib.parse import unquote

            named.append(unquote(user))
        except (ValueError, UnicodeDecodeError):
            pass
    assertion = form.get("client_assertion")
    if assertion:
        try:
            sub = jwt.decode(assertion, options={"verify_signature": False}).get("sub")
            if isinstance(sub, str):
                named.append(sub)
        except jwt.PyJWTError:
            pass
    return [n[:64] for n in named[:3]]


def _record_jtis(conn: Connection, jtis: list[tuple[str, float]], now: float) -> bool:
    """True when every assertion id is new (and now recorded); False when one was seen before."""
    conn.execute(delete(partner_assertion_ids).where(partner_assertion_ids.c.expires_at < now))
    for jti, exp in jtis:
        stmt = dialect_insert(conn, partner_assertion_ids).values(jti=jti, expires_at=exp + 60)
        if conn.execute(stmt.on_conflict_do_nothing(index_elements=["jti"])).rowcount == 0:
            return False
    return True


def _error(status: int, error: str, description: str) -> TokenResponse:
    return TokenResponse(status, {"error": error, "error_description": description},
                         [("Cache-Control", "no-store"), ("Pragma", "no-cache")])


__all__ = ["InvalidClientError", "PartnerAuthorizationServer", "PartnerClient", "PartnerTokenError"]
