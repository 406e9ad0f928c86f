"""The policy in force, per tenant and policy name."""

from __future__ import annotations

import msgspec
from sqlalchemy import Connection, insert, select, update

from edge.adapters import tables as t
from edge.adapters.tables_policy import policy_in_force
from edge.service.ports import Actor
from edge.service.repository_ports import PolicyRow

_COLUMNS = [policy_in_force.c[name] for name in PolicyRow.__struct_fields__]


class SqlPolicyRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def get(self, name: str) -> PolicyRow | None:
        row = self.conn.execute(select(*_COLUMNS).where(
            policy_in_force.c.tenant_id == self.tenant_id, policy_in_force.c.name == name)).mappings().first()
        return PolicyRow(**row) if row else None

    def put(self, policy: PolicyRow) -> None:
        values = msgspec.structs.asdict(policy)
        if self.get(policy.name) is None:
            self.conn.execute(insert(policy_in_force).values(tenant_id=self.tenant_id, **values))
        else:
            self.conn.execute(update(policy_in_force).where(
                policy_in_force.c.tenant_id == self.tenant_id, policy_in_force.c.name == policy.name).values(**values))

    def set_manager_mfa(self, required: bool) -> None:
        self.conn.execute(update(t.tenants).where(t.tenants.c.id == self.tenant_id).values(require_mfa=required))
