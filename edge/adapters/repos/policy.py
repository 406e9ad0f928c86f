"""The policy in force, per tenant and policy name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from edge.adapters import tables as t
from edge.adapters.tables_policy import policy_in_force
from edge.service.ports import Actor


class SqlPolicyRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def get(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(policy_in_force).where(
            policy_in_force.c.tenant_id == self.tenant_id, policy_in_force.c.name == name)).mappings().first()
        return dict(row) if row else None

    def put(self, name: str, values: dict[str, Any]) -> None:
        if self.get(name) is None:
            self.conn.execute(insert(policy_in_force).values(tenant_id=self.tenant_id, name=name, **values))
        else:
            self.conn.execute(update(policy_in_force).where(
                policy_in_force.c.tenant_id == self.tenant_id, policy_in_force.c.name == name).values(**values))

    def set_manager_mfa(self, required: bool) -> None:
        self.conn.execute(update(t.tenants).where(t.tenants.c.id == self.tenant_id).values(require_mfa=required))
