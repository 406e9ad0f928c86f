"""Partner apps and their credentials: registration, client secrets, API keys, revocation.

- An app belongs to one tenant, has a name, a contact, scopes and optional allowed IP ranges.
- A client secret (OAuth2 client credentials) and API keys are shown once and stored as
  SHA-256 digests: both are 256-bit random values, so a slow hash would add nothing.
- API keys look like `npk_<key_id>_<secret>`: the prefix makes a leaked key recognisable to
  secret scanners, and `key_id` finds the row without scanning digests.
- Rotating a key issues a new one and keeps the old one working for an overlap window;
  revoking a key or the app takes effect on the next request (credentials are read from the
  database on every call, by primary key).
- The tenant always comes from the app row, never from the request.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from cloud import audit
from cloud.clock import iso, now_iso, utc_now
from cloud.errors import HQError, InvalidInput
from cloud.schema_partners import partner_api_keys, partner_apps

SCOPES = (
    "catalog:read",
    "catalog:write",
    "inventory:read",
    "orders:read",
    "orders:write",
    "customers:read",
    "webhooks:manage",
    "reports:read",
)
KEY_PREFIX = "npk_"
MAX_IP_RANGES = 20


class AppNotFound(HQError):
    status, code, title = 404, "not-found", "No such partner app"


@dataclass(frozen=True)
class PartnerPrincipal:
    """Who is calling the partner API: the app, its tenant, and what the credential allows."""

    app_id: str
    tenant_id: str
    scopes: frozenset[str]
    credential: str  # "oauth" | "api_key"
    allowed_ips: tuple[str, ...] = ()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(digest(secret).encode(), stored.encode())


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scopes {unknown}; known: {', '.join(SCOPES)}",
                           [{"key": "scopes", "message": f"unknown: {', '.join(unknown)}"}])
    return sorted(set(scopes))


def check_ip_ranges(ranges: list[str]) -> list[str]:
    out = []
    for text in ranges:
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise InvalidInput(f"{text!r} is not an IP range (example: 203.0.113.0/24)",
                               [{"key": "allowed_ips", "message": f"not a CIDR: {text}"}]) from None
    return out


def address_allowed(allowed: list[str], host: str | None) -> bool:
    if not allowed:
        return True
    try:
        addr = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(net) for net in allowed)


def _public(row: Any) -> dict[str, Any]:
    return {"app_id": row.app_id, "name": row.name, "contact": row.contact, "scopes": list(row.scopes),
            "allowed_ips": list(row.allowed_ips), "status": row.status, "created_at": row.created_at,
            "has_client_secret": row.client_secret_hash is not None, "has_jwks": bool(row.jwks)}


def _app(conn: Connection, tenant_id: str, app_id: str) -> Any:
    row = conn.execute(select(partner_apps).where(partner_apps.c.app_id == app_id,
                                                  partner_apps.c.tenant_id == tenant_id)).first()
    if row is None:
        raise AppNotFound(f"partner app {app_id} does not exist in this tenant")
    return row


# -- transactions (run by CloudDB.write, system=True: the apps table is global) ---------------
def register(conn: Connection, tenant_id: str, *, name: str, contact: str, scopes: list[str],
             allowed_ips: list[str], jwks: dict[str, Any] | None, actor: str) -> dict[str, Any]:
    """A new app with a client secret; the secret is in the answer and nowhere else."""
    app_id = "app_" + secrets.token_hex(8)
    secret = "ncs_" + secrets.token_urlsafe(32)
    now = now_iso()
    row = {"app_id": app_id, "tenant_id": tenant_id, "name": name, "contact": contact, "scopes": check_scopes(scopes),
           "allowed_ips": check_ip_ranges(allowed_ips), "client_secret_hash": digest(secret), "jwks": jwks,
           "status": "active", "tokens_valid_after": 0.0, "created_at": now, "created_by": actor}
    conn.execute(partner_apps.insert().values(**row))
    app = _public(_app(conn, tenant_id, app_id))
    audit.record(conn, tenant_id, actor=actor, action="partner_app.register", entity="partner_app", entity_id=app_id,
                 before=None, after=app, at=now)
    return {**app, "client_id": app_id, "client_secret": secret}


def update_app(conn: Connection, tenant_id: str, app_id: str, changes: dict[str, Any], actor: str) -> dict[str, Any]:
    before = _public(_app(conn, tenant_id, app_id))
    if "scopes" in changes:
        changes["scopes"] = check_scopes(changes["scopes"])
    if "allowed_ips" in changes:
        changes["allowed_ips"] = check_ip_ranges(changes["allowed_ips"])
    if changes:
        conn.execute(update(partner_apps).where(partner_apps.c.app_id == app_id).values(**changes))
    after = _public(_app(conn, tenant_id, app_id))
    audit.record(conn, tenant_id, actor=actor, action="partner_app.update", entity="partner_app", entity_id=app_id,
                 before=before, after=after, at=now_iso())
    return after


def rotate_client_secret(conn: Connection, tenant_id: str, app_id: str, actor: str) -> dict[str, Any]:
    _app(conn, tenant_id, app_id)
    secret = "ncs_" + secrets.token_urlsafe(32)
    conn.execute(update(partner_apps).where(partner_apps.c.app_id == app_id).values(client_secret_hash=digest(secret)))
    audit.record(conn, tenant_id, actor=actor, action="partner_app.rotate_secret", entity="partner_app",
                 entity_id=app_id, before=None, after=None, at=now_iso())
    return {"client_id": app_id, "client_secret": secret}


def revoke_app(conn: Connection, tenant_id: str, app_id: str, actor: str, now_epoch: float) -> dict[str, Any]:
    """The app, its tokens and its keys stop working on their next request."""
    before = _public(_app(conn, tenant_id, app_id))
    now = now_iso()
    conn.execute(update(partner_apps).where(partner_apps.c.app_id == app_id)
                 .values(status="revoked", revoked_at=now, tokens_valid_after=now_epoch))
    conn.execute(update(partner_api_keys).where(partner_api_keys.c.app_id == app_id,
                                                partner_api_keys.c.revoked_at.is_(None)).values(revoked_at=now))
    after = _public(_app(conn, tenant_id, app_id))
    audit.record(conn, tenant_id, actor=actor, action="partner_app.revoke", entity="partner_app", entity_id=app_id,
                 before=before, after=after, at=now)
    return after


def revoke_tokens(conn: Connection, tenant_id: str, app_id: str, actor: str, now_epoch: float) -> None:
    """Every access token issued so far is refused; the app may ask for new ones."""
    _app(conn, tenant_id, app_id)
    conn.execute(update(partner_apps).where(partner_apps.c.app_id == app_id).values(tokens_valid_after=now_epoch))
    audit.record(conn, tenant_id, actor=actor, action="partner_app.revoke_tokens", entity="partner_app",
                 entity_id=app_id, before=None, after=None, at=now_iso())


def issue_key(conn: Connection, tenant_id: str, app_id: str, actor: str) -> dict[str, Any]:
    app = _app(conn, tenant_id, app_id)
    if app.status != "active":
        raise InvalidInput(f"partner app {app_id} is revoked")
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = now_iso()
    conn.execute(partner_api_keys.insert().values(key_id=key_id, app_id=app_id, tenant_id=tenant_id,
                                                  key_hash=digest(key), created_at=now))
    audit.record(conn, tenant_id, actor=actor, action="partner_key.issue", entity="partner_app", entity_id=app_id,
                 before=None, after={"key_id": key_id}, at=now)
    return {"key_id": key_id, "api_key": key, "created_at": now}


def rotate_key(conn: Connection, tenant_id: str, app_id: str, key_id: str, overlap_s: int,
               actor: str) -> dict[str, Any]:
    """A new key; the old one keeps working until the overlap window ends."""
    old = conn.execute(select(partner_api_keys).where(
        partner_api_keys.c.key_id == key_id, partner_api_keys.c.app_id == app_id,
        partner_api_keys.c.tenant_id == tenant_id, partner_api_keys.c.revoked_at.is_(None))).first()
    if old is None:
        raise AppNotFound(f"no live API key {key_id} for app {app_id}")
    until = iso(utc_now() + timedelta(seconds=overlap_s))
    if old.expires_at is None or old.expires_at > until:
        conn.execute(update(partner_api_keys).where(partner_api_keys.c.key_id == key_id).values(expires_at=until))
    new = issue_key(conn, tenant_id, app_id, actor)
    return {**new, "previous_key_id": key_id, "previous_expires_at": until}


def revoke_key(conn: Connection, tenant_id: str, app_id: str, key_id: str, actor: str) -> None:
    done = conn.execute(update(partner_api_keys).where(
        partner_api_keys.c.key_id == key_id, partner_api_keys.c.app_id == app_id,
        partner_api_keys.c.tenant_id == tenant_id).values(revoked_at=now_iso())).rowcount
    if not done:
        raise AppNotFound(f"no API key {key_id} for app {app_id}")
    audit.record(conn, tenant_id, actor=actor, action="partner_key.revoke", entity="partner_app", entity_id=app_id,
                 before={"key_id": key_id}, after=None, at=now_iso())


def list_keys(conn: Connection, tenant_id: str, app_id: str) -> list[dict[str, Any]]:
    _app(conn, tenant_id, app_id)
    rows = conn.execute(select(partner_api_keys).where(partner_api_keys.c.app_id == app_id)
                        .order_by(partner_api_keys.c.created_at))
    return [{"key_id": r.key_id, "created_at": r.created_at, "expires_at": r.expires_at,
             "revoked_at": r.revoked_at, "last_used_at": r.last_used_at} for r in rows]


def list_apps(conn: Connection, tenant_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(partner_apps).where(partner_apps.c.tenant_id == tenant_id)
                        .order_by(partner_apps.c.created_at))
    return [_public(r) for r in rows]


def get_app(conn: Connection, tenant_id: str, app_id: str) -> dict[str, Any]:
    return _public(_app(conn, tenant_id, app_id))


def new_endpoint_id() -> str:
    return "ep_" + uuid.uuid4().hex[:16]
