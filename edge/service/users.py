"""User administration: add, change password or PIN, roles, disable, MFA reset.

Secrets are hashed by the caller before the unit of work runs (Argon2 is slow and must not hold
the writer). Role changes and disabling revoke the user's refresh tokens and are counted as
security events.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from edge.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from edge.domain.ids import uuid7
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import UserRow

KNOWN_ROLES = {"cashier", "supervisor", "store_manager", "tenant_admin", "hq_analyst", "technician", "integration"}
# A store manager may grant only store-floor roles; tenant-wide roles need a tenant admin.
STORE_MANAGER_GRANTS = {"cashier", "supervisor", "technician"}
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    """An account as answers, audit rows and events show it: never a secret or its hash."""

    id: str
    username: str
    roles: list[str]
    tenant_id: str
    store_id: str | None
    disabled: bool
    mfa_enabled: bool
    has_pin: bool


def public(row: UserRow, tenant_id: str) -> AccountView:
    return AccountView(id=row.id, username=row.username, roles=list(row.roles), tenant_id=tenant_id,
                       store_id=row.store_id, disabled=row.disabled, mfa_enabled=row.totp_confirmed,
                       has_pin=row.pin_hash is not None)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if len(password) > 256:
        return "use at most 256 characters"
    return None


def pin_problem(pin: str) -> str | None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        return "a PIN is 4 to 8 digits"
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return "choose a PIN that is not a repeated or sequential run of digits"
    return None


def check_roles(roles: list[str], granted_by: tuple[str, ...] | None) -> None:
    unknown = sorted(set(roles) - KNOWN_ROLES)
    if not roles or unknown:
        raise ValidationFailed("roles are not valid", errors=[{"field": "roles", "message":
                               f"unknown role(s): {', '.join(unknown)}" if unknown else "give at least one role"}])
    if granted_by is not None and "tenant_admin" not in granted_by and set(roles) - STORE_MANAGER_GRANTS:
        raise Forbidden("a store manager may grant only cashier, supervisor and technician roles")


def add_user(uow: UnitOfWork, *, username: str, password_hash: str, roles: list[str], store_id: str | None,
             pin_hash: str | None = None, pin_lookup: str | None = None,
             granted_by: tuple[str, ...] | None = None) -> AccountView:
    if not USERNAME_RE.match(username):
        raise ValidationFailed("the username is not valid", errors=[{"field": "username", "message":
                               "2-64 lowercase letters, digits, . _ -"}])
    check_roles(roles, granted_by)
    users = uow.users
    if users.by_username(username) is not None:
        raise Conflict(f"user {username} already exists", code="duplicate-user")
    if pin_lookup and users.by_pin_lookup(store_id, pin_lookup) is not None:
        raise Conflict("that PIN is taken at this store; choose another", code="duplicate-pin")
    user_id = uuid7()
    row = UserRow(id=user_id, store_id=store_id, username=username, password_hash=password_hash, pin_hash=pin_hash,
                  pin_lookup=pin_lookup, roles=list(roles), created_at=uow.now, updated_at=uow.now)
    users.add(row)
    view = public(row, uow.actor.tenant_id)
    uow.audit("user.created", "user", user_id, None, view)
    uow.emit("user.changed", msgspec.structs.asdict(view))
    return view


def _load(uow: UnitOfWork, user_id: str | None = None, username: str | None = None) -> UserRow:
    users = uow.users
    row = users.by_id(user_id) if user_id else users.by_username(username or "")
    if row is None:
        raise NotFound("no such user", code="user-not-found")
    return row


def change_user(uow: UnitOfWork, *, user_id: str | None = None, username: str | None = None,
                roles: list[str] | None = None, disabled: bool | None = None, password_hash: str | None = None,
                pin_hash: str | None = None, pin_lookup: str | None = None, reset_mfa: bool = False,
                granted_by: tuple[str, ...] | None = None, security_event: Any = None) -> AccountView:
    users = uow.users
    before = _load(uow, user_id, username)
    if granted_by is not None and "tenant_admin" not in granted_by and set(before.roles) - STORE_MANAGER_GRANTS:
        raise Forbidden("a store manager may not change a manager's or admin's account")
    values: dict[str, Any] = {"updated_at": uow.now}
    revoke = False
    if roles is not None:
        check_roles(roles, granted_by)
        values["roles"] = roles
        revoke = set(roles) != set(before.roles)
        if revoke and security_event:
            security_event("role_change")
    if disabled is not None:
        values["disabled"] = disabled
        revoke = revoke or disabled
    if password_hash is not None:
        values["password_hash"] = password_hash
        revoke = True
    if pin_hash is not None:
        if pin_lookup and (other := users.by_pin_lookup(before.store_id, pin_lookup)) and other.id != before.id:
            raise Conflict("that PIN is taken at this store; choose another", code="duplicate-pin")
        values["pin_hash"], values["pin_lookup"] = pin_hash, pin_lookup
    if reset_mfa:
        values.update(totp_secret=None, totp_confirmed=False, totp_last_step=None)
    users.update(before.id, **values)
    if revoke:
        users.revoke_user(before.id, uow.now)
    after = users.by_id(before.id)
    tenant_id = uow.actor.tenant_id
    uow.audit("user.updated", "user", before.id, public(before, tenant_id), public(after, tenant_id))
    uow.emit("user.changed", msgspec.structs.asdict(public(after, tenant_id)))
    return public(after, tenant_id)
