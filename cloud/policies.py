"""A tenant's store policies: the template a new tenant starts with, validated edits, versions.

Every change is one transaction: the new document, its audit row (before and after) and the
`policy.set` command that carries it to every store of the tenant. The command's version is
the policy's version, so HQ and each store's `GET /api/v1/policy` name the same number, and a
store never lets an older version replace a newer one.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud import audit, commands
from cloud.errors import InvalidInput, VersionMismatch
from cloud.schema import tenant_policies
from edge.contracts.policy import DEFAULT_POLICY, PolicyDocument, decode_policy, policy_dict, unknown_fields

SALES = "sales"
_AT_FIELD = re.compile(r"at `\$\.(\w+)")


def validate(raw: Any) -> PolicyDocument:
    """A complete document from a JSON object, or InvalidInput naming the field and the bound."""
    if not isinstance(raw, dict):
        raise InvalidInput("the policy is a JSON object of fields")
    extra = unknown_fields(raw)
    if extra:
        raise InvalidInput(f"unknown policy fields: {', '.join(extra)}",
                           [{"field": name, "message": "not a policy field"} for name in extra])
    try:
        return decode_policy(raw)
    except msgspec.ValidationError as err:
        found = _AT_FIELD.search(str(err))
        field = found.group(1) if found else "policy"
        raise InvalidInput(f"policy refused: {err}", [{"field": field, "message": str(err)}]) from None


def create_template(conn: Connection, tenant_id: str, *, actor: str, now: str) -> dict[str, Any]:
    """A new tenant's policy: the defaults, sent to its stores like any later change."""
    return _store(conn, tenant_id, DEFAULT_POLICY, None, actor=actor, now=now, action="policy.created")


def change(conn: Connection, tenant_id: str, fields: dict[str, Any], *, replace: bool, actor: str, now: str,
           expected_version: int | None = None) -> dict[str, Any]:
    """Apply an edit (PATCH merges `fields`, PUT replaces the document); audited and sent down."""
    current = _current(conn, tenant_id, lock=True)
    if expected_version is not None and (current["version"] if current else 0) != expected_version:
        raise VersionMismatch(f"the policy is at version {current['version'] if current else 0}, "
                              f"not {expected_version}; reload it and apply your change again")
    base = current["policy"] if current and not replace else {}
    if not isinstance(fields, dict):
        raise InvalidInput("the policy is a JSON object of fields")
    document = validate({**base, **fields})
    return _store(conn, tenant_id, document, current, actor=actor, now=now, action="policy.changed")


async def get(conn: AsyncConnection, tenant_id: str) -> dict[str, Any]:
    row = (await conn.execute(select(tenant_policies).where(
        tenant_policies.c.tenant_id == tenant_id, tenant_policies.c.name == SALES))).first()
    if row is None:  # a tenant from before policies existed: the defaults, not yet sent
        return {"name": SALES, "version": 0, "policy": policy_dict(DEFAULT_POLICY), "updated_at": None,
                "updated_by": None}
    return _shape(row)


def _current(conn: Connection, tenant_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(tenant_policies).where(tenant_policies.c.tenant_id == tenant_id, tenant_policies.c.name == SALES)
    # On Postgres two admins' edits run concurrently: the row lock makes the second wait, so the
    # versions they are given (max + 1 in `commands.issue`) never collide. SQLite has one writer.
    row = conn.execute(query.with_for_update() if lock else query).first()
    return _shape(row) if row is not None else None


def _shape(row: Any) -> dict[str, Any]:
    return {"name": row.name, "version": row.version, "policy": dict(row.document), "updated_at": row.updated_at,
            "updated_by": row.updated_by}


def _store(conn: Connection, tenant_id: str, document: PolicyDocument, current: dict[str, Any] | None, *,
           actor: str, now: str, action: str) -> dict[str, Any]:
    body = policy_dict(document)
    command = commands.issue(conn, tenant_id, None, "policy.set", body, actor=actor, now=now)
    values = {"document": body, "version": command["version"], "updated_at": now, "updated_by": actor}
    if current is None:
        conn.execute(tenant_policies.insert().values(tenant_id=tenant_id, name=SALES, **values))
    else:
        conn.execute(tenant_policies.update().where(
            tenant_policies.c.tenant_id == tenant_id, tenant_policies.c.name == SALES).values(**values))
    after = {"name": SALES, **values, "policy": body}
    del after["document"]
    audit.record(conn, tenant_id, actor=actor, action=action, entity="policy", entity_id=SALES,
                 before=current, after=after, at=now)
    return {**after, "command_id": command["command_id"]}
