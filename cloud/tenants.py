"""Tenant onboarding: a tenant, its first admin (with TOTP enrolled) and its policy template.

One transaction creates all three and audits it, so a failed onboarding leaves nothing behind
and a retry is clean. What lives outside the database (the tenant's NATS account) is created
by the hooks in `on_tenant_created`, which the composition root fills, after the commit.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pyotp
import structlog
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from cloud import audit, policies
from cloud.auth import HASHER
from cloud.clock import now_iso
from cloud.db import CloudDB, set_tenant
from cloud.errors import AlreadyExists, InvalidInput
from cloud.schema import tenants, users

log = structlog.get_logger()

# A tenant id is a NATS subject token and part of stream names: lower-case letters, digits, dashes.
TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{3,64}$")
RESERVED = frozenset({"all", "platform", "system", "novapos", "sys", "js"})
MIN_PASSWORD, MAX_PASSWORD = 12, 256
_WEAK = frozenset({"password1234", "123456789012", "qwertyuiop12", "novapos-demo", "changemechangeme"})

# Called with the new tenant id after its row committed (e.g. to create its NATS account).
TenantHook = Callable[[str], Awaitable[None]]
on_tenant_created: list[TenantHook] = []


@dataclass(frozen=True)
class NewTenant:
    tenant_id: str
    name: str
    admin_username: str
    admin_password: str


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is too weak, in words an operator can act on; None when it will do."""
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"use at most {MAX_PASSWORD} characters"
    lowered = password.lower()
    if len(set(password)) < 4 or lowered in _WEAK or (username and username.lower() in lowered):
        return "choose a password that is not a common one, a repeated character or the username"
    return None


def check(new: NewTenant) -> None:
    problems = name_problems(new.tenant_id, new.name, new.admin_username)
    if problem := password_problem(new.admin_password, new.admin_username):
        problems.append({"field": "admin_password", "message": problem})
    if problems:
        raise InvalidInput("; ".join(f"{p['field']}: {p['message']}" for p in problems), problems)


def name_problems(tenant_id: str, name: str, admin_username: str) -> list[dict[str, str]]:
    """What is wrong with the names, checked before anyone is asked for a password."""
    problems = []
    if not TENANT_ID.match(tenant_id) or tenant_id in RESERVED:
        problems.append({"field": "tenant_id", "message": "1-32 lower-case letters, digits or dashes (e.g. acme-retail);"
                         f" not one of {', '.join(sorted(RESERVED))}"})
    if not name.strip() or len(name) > 100 or not name.isprintable():
        problems.append({"field": "name", "message": "1-100 printable characters"})
    if not USERNAME.match(admin_username):
        problems.append({"field": "admin_username", "message": "3-64 letters, digits, '.', '_', '@' or '-'"})
    return problems


async def create_tenant(db: CloudDB, new: NewTenant, *, actor: str) -> dict[str, Any]:
    """Create the tenant, its tenant_admin and its policy; returns them with the admin's TOTP URI."""
    check(new)
    password_hash = await asyncio.to_thread(HASHER.hash, new.admin_password)
    totp_secret = pyotp.random_base32()  # admins need TOTP: enrolled now, handed over with the password
    try:
        created = await db.write(_create, new, password_hash, totp_secret, actor, now_iso(), system=True)
    except IntegrityError:  # a concurrent onboarding of the same id or username won the race
        raise AlreadyExists(f"tenant {new.tenant_id!r} or username {new.admin_username!r} was just taken") from None
    log.info("tenant.created", tenant_id=new.tenant_id, admin_id=created["admin"]["id"], by=actor)
    pending = []
    for hook in on_tenant_created:
        try:
            await hook(new.tenant_id)
        except Exception as exc:  # the tenant exists; the operator must see what is missing
            log.error("tenant.setup_failed", tenant_id=new.tenant_id, hook=getattr(hook, "__name__", "hook"),
                      error=str(exc))
            pending.append(getattr(hook, "__name__", "hook"))
    created["admin"]["otpauth_uri"] = pyotp.TOTP(totp_secret).provisioning_uri(
        name=new.admin_username, issuer_name="NovaPOS HQ")
    created["setup_incomplete"] = pending
    return created


async def list_tenants(db: CloudDB) -> list[dict[str, Any]]:
    async with db.system(write=False) as conn:
        admins = (
            select(users.c.tenant_id, func.count().label("users")).group_by(users.c.tenant_id).subquery()
        )
        rows = await conn.execute(
            select(tenants, admins.c.users).outerjoin(admins, admins.c.tenant_id == tenants.c.id)
            .order_by(tenants.c.id)
        )
        return [{"id": r.id, "name": r.name, "created_at": r.created_at, "users": r.users or 0} for r in rows]


def _create(conn: Connection, new: NewTenant, password_hash: str, totp_secret: str, actor: str,
            now: str) -> dict[str, Any]:
    if conn.execute(select(tenants.c.id).where(tenants.c.id == new.tenant_id)).first() is not None:
        raise AlreadyExists(f"tenant {new.tenant_id!r} already exists",
                            [{"field": "tenant_id", "message": "taken"}])
    if conn.execute(select(users.c.id).where(users.c.username == new.admin_username)).first() is not None:
        raise AlreadyExists(f"username {new.admin_username!r} is taken; HQ usernames are unique across tenants",
                            [{"field": "admin_username", "message": "taken"}])
    conn.execute(tenants.insert().values(id=new.tenant_id, name=new.name, created_at=now))
    admin_id = str(uuid.uuid4())
    conn.execute(users.insert().values(
        id=admin_id, username=new.admin_username, password_hash=password_hash, roles=["tenant_admin"],
        tenant_id=new.tenant_id, failures=0, created_at=now, totp_secret=totp_secret, totp_confirmed=True))
    set_tenant(conn, new.tenant_id)  # the policy and audit rows are the tenant's own (RLS on Postgres)
    policy = policies.create_template(conn, new.tenant_id, actor=actor, now=now)
    admin = {"id": admin_id, "username": new.admin_username, "roles": ["tenant_admin"]}
    audit.record(conn, new.tenant_id, actor=actor, action="tenant.created", entity="tenant", entity_id=new.tenant_id,
                 before=None, after={"id": new.tenant_id, "name": new.name, "admin": admin}, at=now)
    return {"tenant_id": new.tenant_id, "name": new.name, "created_at": now, "admin": admin,
            "policy_version": policy["version"]}
