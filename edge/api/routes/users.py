"""User administration for store managers and tenant admins."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Request, get, patch, post

from edge.adapters.metrics import security_event
from edge.api.deps import actor, services
from edge.api.guards import USER_ADMIN, requires
from edge.api.limits import Code, Secret, line
from edge.domain.errors import ValidationFailed
from edge.service import user_admin, users

Roles = Annotated[list[Code], msgspec.Meta(max_length=10)]


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    username: line(64, min_length=2)
    password: Annotated[str, msgspec.Meta(max_length=256)]
    roles: Roles
    pin: Secret | None = None


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    roles: Roles | None = None
    disabled: bool | None = None
    password: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    pin: Secret | None = None
    reset_mfa: bool = False


async def _secrets(request: Request, password: str | None, pin: str | None) -> dict[str, Any]:
    s = services(request)
    out: dict[str, Any] = {}
    if password is not None:
        problem = users.password_problem(password)
        if problem:
            raise ValidationFailed("the password is too weak", errors=[{"field": "password", "message": problem}])
        out["password_hash"] = await asyncio.to_thread(s.security.hash_secret, password)
    if pin is not None:
        problem = users.pin_problem(pin)
        if problem:
            raise ValidationFailed("the PIN is not valid", errors=[{"field": "pin", "message": problem}])
        out["pin_hash"] = await asyncio.to_thread(s.security.hash_secret, pin)
        out["pin_lookup"] = s.security.pin_lookup(s.settings.store.tenant_id, s.settings.store.store_id, pin)
    return out


@get("/api/v1/users", guards=[requires(*USER_ADMIN)], operation_id="listUsers")
async def list_users(request: Request) -> dict[str, Any]:
    rows = await services(request).uow.read(actor(request), lambda u: u.users.list())
    return {"items": [users.public(r, actor(request).tenant_id) for r in rows]}


@post("/api/v1/users", guards=[requires(*USER_ADMIN)], operation_id="createUser")
async def create_user(request: Request, data: NewUser) -> users.AccountView:
    s, who = services(request), actor(request)
    hashed = await _secrets(request, data.password, data.pin)
    return await s.uow.run(who, lambda u: users.add_user(
        u, username=data.username.strip().lower(), roles=data.roles, store_id=who.store_id,
        granted_by=who.roles, **hashed))


@patch("/api/v1/users/{user_id:str}", guards=[requires(*USER_ADMIN)], operation_id="updateUser")
async def update_user(request: Request, user_id: str, data: UserPatch) -> users.AccountView:
    s, who = services(request), actor(request)
    hashed = await _secrets(request, data.password, data.pin)
    changed = await s.uow.run(who, lambda u: user_admin.change_user(
        u, user_id=user_id, roles=data.roles, disabled=data.disabled, reset_mfa=data.reset_mfa,
        security_event=security_event, **hashed))
    s.auth.sessions_changed()  # a disabled account's open lanes stop on their next request
    return changed


ROUTES = [list_users, create_user, update_user]
