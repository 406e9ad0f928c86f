"""HQ scaled out survives losing a NATS node and a cloud instance under load: a 3-node JetStream
cluster (R3 streams, `sync_interval: always`), two real `novapos-cloud serve` processes sharing
4 ingest partitions over Postgres, and 40 simulated stores publishing sales and voids. Mid-load
one node and one instance are killed with SIGKILL; the survivor takes the dead instance's
partitions over, and HQ ends with every event exactly once and projections that equal a
recomputation from the events table (a void projected before its sale would not)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from hq_scale_support import Cluster, SimStore, connect, create_store_streams
from sqlalchemy import func, select

from cloud.db import CloudDB
from cloud.schema import events, sales, stores
from edge.contracts.envelope import decode_envelope
from tests.cloud.conftest import PG_URL, pg_schema_or_skip
from tests.cloud.partner_support import PartnerHub, admin_headers
from tests.support import eventually

TENANT = "acme"
STORES = 40
SALES_PER_STORE = 25  # plus a void for every fifth sale
PARTITIONS = 4


@pytest.fixture
async def scaled_hq(tmp_path: Path):
    schema = await pg_schema_or_skip()
    cluster = Cluster(tmp_path / "cluster").start()
    sims = [SimStore(TENANT, f"s{i:03d}") for i in range(STORES)]
    nc = await connect(cluster.urls)
    await create_store_streams(nc.jetstream(), sims, replicas=3)  # before HQ starts: its first sync sources them
    env = {"NOVAPOS_CLOUD_DB_SCHEMA": schema, "NOVAPOS_CLOUD_NATS_URL": cluster.url,
           "NOVAPOS_CLOUD_INGEST_PARTITIONS": str(PARTITIONS), "NOVAPOS_CLOUD_STREAM_REPLICAS": "3",
           "NOVAPOS_CLOUD_INGEST_PIN_TTL_S": "2"}
    hubs: list[PartnerHub] = []
    db = CloudDB(PG_URL, schema=schema)
    try:
        for name in ("a", "b"):  # one after the other: the first creates the schema
            (tmp_path / name).mkdir()
            hub = PartnerHub(tmp_path / name, env, db_url=PG_URL)
            # Every instance loads the same signing keys (in production: the same secret mounted).
            hub.args[hub.args.index("--keys-dir") + 1] = str(tmp_path / "a" / "keys")
            await asyncio.to_thread(hub.start, timeout=120)
            hubs.append(hub)
        yield cluster, hubs, nc, sims, db
    finally:
        for hub in hubs:
            hub.stop()
        await nc.close()
        cluster.stop()
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await db.close()


def pinned_partitions(hub: PartnerHub) -> set[str]:
    """The partitions this instance's log says it was pinned to (JSON log lines)."""
    held: set[str] = set()
    for line in hub.log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") in ("ingest.partition_pinned", "ingest.partition_taken_over"):
            held.add(entry["durable"])
    return held


async def trade(sim: SimStore, js, *, pace_s: float) -> None:
    rng = random.Random(sim.store_id)
    for i in range(SALES_PER_STORE):
        sale = sim.sale(rng.randint(100, 10_000))
        await sim.publish(js, sale)
        if i % 5 == 0:
            await sim.publish(js, sim.void(sale))
        await asyncio.sleep(pace_s)


async def test_killing_a_nats_node_and_a_cloud_instance_loses_and_doubles_nothing(scaled_hq):
    cluster, hubs, nc, sims, db = scaled_hq
    js = nc.jetstream()
    expected_total = STORES * (SALES_PER_STORE + SALES_PER_STORE // 5)

    async def ingested() -> int:
        async with db.tenant(TENANT, write=False) as conn:
            return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())

    load = asyncio.gather(*(trade(sim, js, pace_s=0.15) for sim in sims))
    await eventually(lambda: _at_least(ingested, expected_total // 4), within=120, what="a quarter ingested")
    victim = max(hubs, key=lambda h: len(pinned_partitions(h)))
    survivor = hubs[1] if victim is hubs[0] else hubs[0]
    victims_partitions = pinned_partitions(victim)
    assert victims_partitions, "the instance killed held partitions"
    signed_in = await asyncio.to_thread(admin_headers, victim.url)  # a session on the instance that dies
    cluster.nodes[0].kill9()
    victim.proc.kill()  # SIGKILL: no goodbye to the broker, its pins lapse after the pin TTL
    victim.proc.wait()
    await load

    await eventually(lambda: _at_least(ingested, expected_total), within=180, what="every event ingested")
    await asyncio.sleep(3)  # anything doubled would land within this
    published = {env.event_id: env for sim in sims for env in sim.published}
    assert len(published) == expected_total

    async with db.tenant(TENANT, write=False) as conn:
        rows = (await conn.execute(select(events.c.event_id, events.c.envelope))).all()
        facts = (await conn.execute(select(sales.c.store_id, func.sum(sales.c.orders), func.sum(sales.c.gross_cents))
                                    .group_by(sales.c.store_id))).all()
        telemetry = (await conn.execute(select(stores.c.store_id, stores.c.events_received, stores.c.missing_seqs)
                                        .where(stores.c.tenant_id == TENANT))).all()
    assert len(rows) == expected_total and {r.event_id for r in rows} == set(published)  # exactly once

    recomputed = _recompute([decode_envelope(r.envelope.encode()) for r in rows])
    assert {r.store_id: (int(r[1]), int(r[2])) for r in facts} == recomputed
    per_store = SALES_PER_STORE + SALES_PER_STORE // 5
    assert {(r.store_id, r.events_received, r.missing_seqs) for r in telemetry} == {
        (sim.store_id, per_store, 0) for sim in sims}
    assert victims_partitions <= pinned_partitions(survivor), "the survivor took the dead instance's partitions"
    # The API holds no session in memory: the dead instance's sign-in still works on the survivor.
    me = await asyncio.to_thread(httpx.get, f"{survivor.url}/api/v1/me", headers=signed_in, timeout=30)
    assert me.status_code == 200 and me.json()["username"] == "hq", me.text


async def _at_least(count, n: int) -> bool:
    return await count() >= n


def _recompute(envelopes) -> dict[str, tuple[int, int]]:
    """Per store (orders, net cents) from the raw events: sales minus the sales later voided."""
    sold: dict[tuple[str, str], int] = {}
    voided: set[tuple[str, str]] = set()
    for env in envelopes:
        key = (env.store_id, env.payload["order_id"])
        if env.type == "order.completed":
            sold[key] = env.payload["total_cents"]
        elif env.type == "order.voided":
            voided.add(key)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (store, order), cents in sold.items():
        sign = -1 if (store, order) in voided else 1
        totals[store][0] += 1 if sign > 0 else 0
        totals[store][1] += cents if sign > 0 else 0
    return {store: (orders, net) for store, (orders, net) in totals.items()}
