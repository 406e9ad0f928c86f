"""Row-level security on Postgres: a tenant transaction sees only its tenant's rows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from cloud.ingest import Ingestor
from cloud.schema import events
from edge.contracts.envelope import EventEnvelope


def env(tenant: str) -> EventEnvelope:
    return EventEnvelope(
        event_id=str(uuid.uuid4()),
        tenant_id=tenant,
        store_id=f"{tenant}-s1",  # a store id belongs to one tenant
        seq=1,
        type="order.completed",
        occurred_at="2026-03-02T10:00:00.000Z",
        business_day="2026-03-02",
        payload={"total_cents": 100},
    )


async def test_a_tenant_never_sees_or_writes_another_tenants_rows(cloud_db):
    if not cloud_db.is_postgres:
        pytest.skip("RLS is a Postgres feature; SQLite relies on the explicit tenant filters")
    await Ingestor(cloud_db).ingest([env("t1"), env("t2")])
    async with cloud_db.tenant("t1", write=False) as conn:
        tenants = {r[0] for r in await conn.execute(select(events.c.tenant_id))}  # no WHERE on purpose
        forced = (
            await conn.execute(text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'events'"))
        ).scalar()
    assert tenants == {"t1"}
    assert forced is True
    with pytest.raises(Exception, match="row-level security"):
        async with cloud_db.tenant("t1") as conn:
            await conn.execute(
                events.insert().values(
                    event_id="x",
                    tenant_id="t2",
                    store_id="s",
                    seq=1,
                    type="t",
                    schema_version=1,
                    occurred_at="",
                    business_day="",
                    received_at="",
                    envelope="{}",
                )
            )
