"""One open conflict case per key, even when two HQ instances raise it at the same moment.

Several `novapos-cloud` instances sweep overdue transfers and ingest events at once. Two
transactions that both read "no open case for this key" used to both open one; the database's
partial unique index now makes the later one wait, skip its insert and refresh the case the
other opened. A hub created before the index gets its duplicates merged on upgrade.
"""

from __future__ import annotations

import asyncio

from conftest import PG_URL, pg_schema_or_skip
from sqlalchemy import func, select, text

from cloud import conflicts
from cloud.conflicts import Case
from cloud.db import CloudDB
from cloud.schema import conflict_audit, create_schema
from cloud.schema import conflicts as conflicts_table

TENANT = "t-race"
KEY = "transfer:TR-1:BAK-0001"


def case(summary: str) -> Case:
    return Case(None, "transfer_unreceived", KEY, summary, {"transfer_id": "TR-1", "sku": "BAK-0001"})


async def open_cases(db: CloudDB) -> list[tuple[str, str]]:
    async with db.tenant(TENANT, write=False) as conn:
        rows = await conn.execute(
            select(conflicts_table.c.id, conflicts_table.c.summary).where(
                conflicts_table.c.tenant_id == TENANT, conflicts_table.c.dedup_key == KEY,
                conflicts_table.c.status != "resolved",
            )
        )
        return [(r.id, r.summary) for r in rows]


async def test_two_instances_raising_one_key_at_once_open_one_case() -> None:
    schema = await pg_schema_or_skip()
    first = CloudDB(PG_URL, schema=schema, app_role="novapos_test_app")
    await create_schema(first)
    second = CloudDB(PG_URL, schema=schema, app_role="novapos_test_app")
    try:
        other = Case(None, "transfer_unreceived", "transfer:TR-2:BAK-0002", "another transfer", {})
        async with first.tenant(TENANT) as conn:  # instance 1 opens the case and has not committed yet
            await conn.run_sync(lambda c: conflicts.raise_cases(c, TENANT, [case("seen by instance 1")], "t1"))
            # Instance 2 read no open case (instance 1's is not committed) and inserts its own.
            racer = asyncio.create_task(
                second.write(conflicts.raise_cases, TENANT, [case("seen by instance 2"), other], "t2", tenant_id=TENANT)
            )
            await asyncio.sleep(0.5)
            assert not racer.done(), "the second insert should wait for the first transaction"
        await asyncio.wait_for(racer, 10)

        cases = await open_cases(first)
        assert len(cases) == 1, cases
        assert cases[0][1] == "seen by instance 2"  # the later reading refreshed the one case
        async with first.tenant(TENANT, write=False) as conn:
            raised = await conn.scalar(
                select(func.count()).select_from(conflict_audit).where(conflict_audit.c.action == "raised")
            )
        assert raised == 2  # instance 1's case, and instance 2's case for the other transfer
    finally:
        await second.close()
        async with first.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await first.close()


async def test_upgrade_merges_duplicate_open_cases_and_adds_the_index(cloud_db: CloudDB) -> None:
    # A hub from before the index: drop it and store two open cases for one key, as a race left them.
    async with cloud_db.engine.begin() as conn:
        await conn.execute(text("DROP INDEX uq_conflicts_open"))
    rows = [
        {"id": cid, "tenant_id": TENANT, "store_id": None, "kind": "transfer_unreceived", "dedup_key": KEY,
         "status": "open", "summary": summary, "detail": {}, "created_at": at, "updated_at": at}
        for cid, summary, at in (("c-old", "first", "2026-11-01T00:00:00Z"), ("c-new", "second", "2026-11-01T00:00:01Z"))
    ]
    async with cloud_db.tenant(TENANT) as conn:
        await conn.execute(conflicts_table.insert(), rows)

    await create_schema(cloud_db)  # the upgrade a restarted hub runs

    assert await open_cases(cloud_db) == [("c-old", "first")]
    async with cloud_db.tenant(TENANT, write=False) as conn:
        merged = (await conn.execute(
            select(conflicts_table.c.status, conflicts_table.c.resolution).where(conflicts_table.c.id == "c-new")
        )).one()
    assert tuple(merged) == ("resolved", "duplicate")
    # The index holds from now on: a second open case for the key is refused by the database.
    async with cloud_db.tenant(TENANT) as conn:
        await conn.run_sync(lambda c: conflicts.raise_cases(c, TENANT, [case("third")], "t3"))
    assert await open_cases(cloud_db) == [("c-old", "third")]
