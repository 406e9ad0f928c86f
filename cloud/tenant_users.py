"""The people of a tenant who work in the HQ dashboard: who a conflict case can be assigned to.

Users are global rows (a login names no tenant), read as the owner role: the tenant-scoped
transactions of the HQ routes cannot see them on Postgres, by design.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cloud.db import CloudDB
from cloud.errors import InvalidInput
from cloud.schema import users

HQ_ROLES = frozenset({"hq_analyst", "tenant_admin", "super_admin"})  # who can open the dashboard


async def hq_users(db: CloudDB, tenant: str) -> list[dict[str, Any]]:
    async with db.system(write=False) as conn:
        rows = await conn.execute(
            select(users.c.username, users.c.roles).where(users.c.tenant_id == tenant).order_by(users.c.username)
        )
        return [{"username": r.username, "roles": list(r.roles)} for r in rows if HQ_ROLES & set(r.roles or ())]


async def require_hq_user(db: CloudDB, tenant: str, username: str) -> None:
    if username not in {u["username"] for u in await hq_users(db, tenant)}:
        raise InvalidInput(
            f"{username} is not an HQ user of this tenant; pick someone from the user list",
            errors=[{"field": "assignee", "message": "not a user of this tenant"}],
        )
