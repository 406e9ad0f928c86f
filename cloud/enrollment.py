"""Store ownership and enrollment: how a box becomes a tenant's store on the hub.

- A store id belongs to exactly one tenant (`store_owners`, keyed by store id alone). The
  first claim wins: HQ's registration, a minted enrollment token, or the first events ingest
  sees. Another tenant's claim is a 409 that changes nothing.
- A tenant admin mints a one-time enrollment token for one store; only its SHA-256 is stored,
  and it can be claimed once, before it expires.
- Claiming it (`POST /api/v1/enroll`, unauthenticated: holding the token is the authority)
  gives the box its identity, a fresh NATS user (seed returned once, never stored), the leaf
  configuration, HQ's JWKS and the tenant's policies. The store's previous users are revoked
  in the same transaction, and the hub reloads, so a replaced box is cut off.

Errors (part of cloud.errors' tree, mapped to problem+json by cloud.app):

    HQError
    └── EnrollmentProblem
    ├── StoreOwnedByAnotherTenant  409
    ├── TokenInvalid               401  (unknown)
    ├── TokenExpired               401
    ├── TokenUsed                  409
    └── HubUnavailable             503  (the token is not spent)
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, select, update

from cloud import audit
from cloud.clock import iso, now_iso, utc_now
from cloud.db import CloudDB, set_tenant
from cloud.errors import HQError
from cloud.nats_auth import replace_store_user
from cloud.projections import dialect_insert
from cloud.schema import enrollment_tokens, store_owners, stores

log = structlog.get_logger()

TOKEN_PREFIX = "npe_"  # noqa: S105 - makes a leaked token recognisable; not a secret
MIN_TTL_S, MAX_TTL_S = 60, 72 * 3600


class EnrollmentProblem(HQError):
    status = 400
    code = "enrollment"
    title = "Enrollment refused"


class StoreOwnedByAnotherTenant(EnrollmentProblem):
    status, code, title = 409, "store-owned-by-another-tenant", "Store belongs to another tenant"

    def __init__(self, store_id: str):
        super().__init__(f"store {store_id!r} is registered to another tenant; pick another store id")


class TokenInvalid(EnrollmentProblem):
    status, code, title = 401, "enrollment-token-invalid", "Unknown enrollment token"

    def __init__(self) -> None:
        super().__init__("this enrollment token is not known to HQ; ask HQ for a new one")


class TokenExpired(EnrollmentProblem):
    status, code, title = 401, "enrollment-token-expired", "Enrollment token expired"

    def __init__(self, expired_at: str) -> None:
        super().__init__(f"this enrollment token expired at {expired_at}; ask HQ for a new one")


class TokenUsed(EnrollmentProblem):
    status, code, title = 409, "enrollment-token-used", "Enrollment token already used"

    def __init__(self, claimed_at: str | None) -> None:
        when = f" at {claimed_at}" if claimed_at else ""
        super().__init__(f"this enrollment token was already used{when}; ask HQ for a new one")


class HubUnavailable(EnrollmentProblem):
    status, code, title = 503, "hub-unavailable", "NATS hub unavailable"

    def __init__(self, error: str) -> None:
        super().__init__(f"HQ cannot reach its NATS hub ({error}); the token is still valid, try again")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- ownership ------------------------------------------------------------------------------
def claim_store(conn: Connection, tenant_id: str, store_id: str, actor: str, now: str) -> None:
    """Make `store_id` this tenant's, or raise if another tenant holds it (caller's transaction)."""
    stmt = dialect_insert(conn, store_owners).values(
        store_id=store_id, tenant_id=tenant_id, claimed_at=now, claimed_by=actor
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["store_id"]))
    owner = conn.execute(select(store_owners.c.tenant_id).where(store_owners.c.store_id == store_id)).scalar_one()
    if owner != tenant_id:
        log.warning("security.store_claim_refused", tenant_id=tenant_id, store_id=store_id)
        raise StoreOwnedByAnotherTenant(store_id)


def register_store(
    conn: Connection, tenant_id: str, store_id: str, name: str | None, leaf_domain: str | None, actor: str, now: str
) -> bool:
    """HQ's store registration: claim, upsert, audit. Returns True when the store was new.
    Runs as the owner role (`system=True`), scoped to the tenant for the RLS tables."""
    set_tenant(conn, tenant_id)
    claim_store(conn, tenant_id, store_id, actor, now)
    before_row = conn.execute(
        select(stores.c.name, stores.c.leaf_domain).where(stores.c.tenant_id == tenant_id, stores.c.store_id == store_id)
    ).first()
    stmt = dialect_insert(conn, stores).values(
        tenant_id=tenant_id, store_id=store_id, name=name, leaf_domain=leaf_domain, events_received=0, missing_seqs=0
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "store_id"], set_={"name": name, "leaf_domain": leaf_domain}
        )
    )
    before = dict(before_row._mapping) if before_row else None
    audit.record(
        conn, tenant_id, actor=actor, action="store.reregistered" if before else "store.registered",
        entity="store", entity_id=store_id, at=now, before=before, after={"name": name, "leaf_domain": leaf_domain},
    )
    return before is None


# -- tokens ---------------------------------------------------------------------------------
def _mint(conn: Connection, tenant_id: str, store_id: str, token_hash: str, actor: str, now: str, expires: str) -> None:
    set_tenant(conn, tenant_id)
    claim_store(conn, tenant_id, store_id, actor, now)
    conn.execute(
        enrollment_tokens.insert().values(
            token_hash=token_hash, tenant_id=tenant_id, store_id=store_id, created_at=now, created_by=actor,
            expires_at=expires,
        )
    )
    audit.record(conn, tenant_id, actor=actor, action="enrollment_token.created", entity="store",
                 entity_id=store_id, at=now, before=None, after={"expires_at": expires})


async def mint_token(db: CloudDB, tenant_id: str, store_id: str, *, actor: str, ttl_s: int) -> dict[str, Any]:
    """A one-time token for one store; the token itself is returned here and never again."""
    ttl_s = max(MIN_TTL_S, min(MAX_TTL_S, ttl_s))
    now = utc_now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = iso(now + timedelta(seconds=ttl_s))
    await db.write(_mint, tenant_id, store_id, hash_token(token), actor, iso(now), expires, system=True)
    log.info("enrollment.token_created", tenant_id=tenant_id, store_id=store_id, expires_at=expires, by=actor)
    return {"token": token, "expires_at": expires, "tenant_id": tenant_id, "store_id": store_id}


# -- claim ----------------------------------------------------------------------------------
async def check_token(db: CloudDB, token: str) -> Any:
    """The token's row if it can still be claimed; raises the problem a technician can act on."""
    async with db.system(write=False) as conn:
        row = (await conn.execute(select(enrollment_tokens).where(enrollment_tokens.c.token_hash == hash_token(token)))).first()
        if row is None:
            raise TokenInvalid()
        if row.claimed_at is not None:
            raise TokenUsed(row.claimed_at)
        if row.expires_at <= now_iso():
            raise TokenExpired(row.expires_at)
        owner = (await conn.execute(select(store_owners.c.tenant_id).where(store_owners.c.store_id == row.store_id))).scalar()
    if owner != row.tenant_id:
        raise StoreOwnedByAnotherTenant(row.store_id)
    return row


def consume(
    conn: Connection, row: Any, public_key: str | None, now: str, client: str, leaf_domain: str | None = None
) -> list[str]:
    """Spend the token and swap the store's NATS user, in one transaction. Returns revoked keys.
    In leaf mode the store is registered with its leaf's domain, so the hub sources it."""
    spent = conn.execute(
        update(enrollment_tokens)
        .where(enrollment_tokens.c.token_hash == row.token_hash, enrollment_tokens.c.claimed_at.is_(None))
        .values(claimed_at=now)
    ).rowcount
    if spent != 1:
        raise TokenUsed(None)  # a concurrent claim of the same token won
    revoked = replace_store_user(conn, row.tenant_id, row.store_id, public_key, now, leaf_domain) if public_key else []
    set_tenant(conn, row.tenant_id)
    if leaf_domain:
        stmt = dialect_insert(conn, stores).values(
            tenant_id=row.tenant_id, store_id=row.store_id, leaf_domain=leaf_domain, events_received=0, missing_seqs=0
        )
        conn.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "store_id"],
                                                set_={"leaf_domain": leaf_domain}))
    audit.record(conn, row.tenant_id, actor=f"enrollment:{client}", action="store.enrolled", entity="store",
                 entity_id=row.store_id, at=now, before=None, after={"nats_user": public_key, "revoked": revoked})
    return revoked


async def current_policies(db: CloudDB, tenant_id: str) -> dict[str, Any]:
    """The tenant's policies as HQ holds them today, by name (the document and its version: the
    same one its stores receive as `policy.set`)."""
    from cloud import policies

    async with db.tenant(tenant_id, write=False) as conn:
        current = await policies.get(conn, tenant_id)
    return {current["name"]: current}

