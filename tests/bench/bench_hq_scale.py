"""HQ scale-out benchmark: 1,000 simulated stores → JetStream → partitioned ingest → Postgres.

Run: `python tests/bench/bench_hq_scale.py [--stores 1000] [--partitions 6] [--cluster]`.
The stores are lightweight publishers speaking the real envelope and subjects (one stream per
store, `Nats-Msg-Id = event_id`), not 1,000 edge servers. Each ingest instance is a child
process running the real partition consumers (cloud.partitions) and Ingestor on Postgres.
Prints, measured in one run on this machine:
1. baseline: the stores' publish-with-ack rate into JetStream (the pre-fill), events/s;
2. sustained ingest of a pre-filled backlog with 1, 2 and 3 instances, events/s into Postgres,
   and the scaling ratio against 1 instance;
3. lag p50/p95 (HQ received_at minus the event's occurred_at) at a steady load, 3 instances;
4. catch-up after a simulated 1-hour HQ outage: ingest down while every store keeps trading
   (the hour scaled down to `--outage-events` per store, stated), then 3 instances drain it.
No asserts: figures only. Needs the local Postgres (NOVAPOS_TEST_PG_URL). A few minutes at most.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cloud")]

import structlog  # noqa: E402
from conftest import PG_URL, NatsServer, pg_problem  # noqa: E402
from hq_scale_support import Cluster, SimStore, connect, create_store_streams  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from cloud.clock import parse_iso  # noqa: E402
from cloud.db import CloudDB  # noqa: E402
from cloud.ingest import AGGREGATE_STREAM  # noqa: E402
from cloud.partitions import partition_durable  # noqa: E402
from cloud.schema import create_schema, events  # noqa: E402
from cloud.streams import sync_aggregate  # noqa: E402
from edge.contracts.envelope import encode_envelope, subject_for_event  # noqa: E402

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # errors only
TENANT = "bench"
VERBOSE = bool(os.environ.get("BENCH_VERBOSE"))


def ingest_instance(urls: list[str], schema: str, partitions: int, ready: Any) -> None:
    """One `novapos-cloud` ingest, as the runtime builds it (child process)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(20 if VERBOSE else 40))

    async def run() -> None:
        from cloud.ingest import Ingestor
        from cloud.partitions import ingest_consumers
        from cloud.settings import CloudSettings

        db = CloudDB(PG_URL, schema=schema)
        nc = await connect(urls)
        settings = CloudSettings(ingest_partitions=partitions)  # the default pin TTL
        for consumer in ingest_consumers(Ingestor(db), nc.jetstream(), settings):
            consumer.fetch_timeout_s = 0.5
            await consumer.start()
        ready.release()
        await asyncio.Event().wait()

    asyncio.run(run())


class Instances:
    def __init__(self, urls: list[str], schema: str, partitions: int):
        self.ctx = multiprocessing.get_context("spawn")
        self.ready = self.ctx.Semaphore(0)
        self.args = (urls, schema, partitions, self.ready)
        self.procs: list[Any] = []

    def start(self, n: int) -> None:
        """Returns once every instance is up (imported, connected, its consumers pulling)."""
        for _ in range(n):
            proc = self.ctx.Process(target=ingest_instance, args=self.args, daemon=True)
            proc.start()
            self.procs.append(proc)
        for _ in range(n):
            self.ready.acquire(timeout=120)

    def kill(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.join()
        self.procs.clear()


async def publish_all(js: Any, batch: list[tuple[SimStore, Any]], window: int = 512) -> float:
    """Windowed publish-with-ack of (store, envelope) pairs; returns events/s."""
    start = time.perf_counter()
    for i in range(0, len(batch), window):
        futures = [
            await js.publish_async(subject_for_event(env.tenant_id, env.store_id, env.type), encode_envelope(env),
                                   headers={"Nats-Msg-Id": env.event_id})
            for _, env in batch[i:i + window]
        ]
        await asyncio.gather(*(asyncio.wait_for(f, 30) for f in futures))
    return len(batch) / (time.perf_counter() - start)


async def wait_sourced(js: Any, total: int, limit_s: float = 300.0) -> float:
    start = time.perf_counter()
    while (await js.stream_info(AGGREGATE_STREAM)).state.messages < total:
        if time.perf_counter() - start > limit_s:
            raise RuntimeError("the aggregate did not source every store in time")
        await asyncio.sleep(2)
    return time.perf_counter() - start


async def count(db: CloudDB) -> int:
    async with db.tenant(TENANT, write=False) as conn:
        return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())


async def wait_ingested(db: CloudDB, total: int, limit_s: float = 600.0) -> float:
    start = time.perf_counter()
    while await count(db) < total:
        if time.perf_counter() - start > limit_s:
            raise RuntimeError(f"ingest stalled at {await count(db)} of {total}")
        await asyncio.sleep(0.1)
    return time.perf_counter() - start


async def fresh_db() -> tuple[CloudDB, str]:
    schema = f"novapos_bench_{uuid.uuid4().hex[:8]}"
    db = CloudDB(PG_URL, schema=schema)
    await create_schema(db)
    return db, schema


async def drop(db: CloudDB, schema: str) -> None:
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await db.close()


async def reset_consumers(js: Any, partitions: int) -> None:
    """The next run re-reads the whole aggregate (the same backlog) from the start."""
    for k in range(partitions):
        try:
            await js.delete_consumer(AGGREGATE_STREAM, partition_durable(k))
        except Exception:
            pass


def trade(sims: list[SimStore], per_store: int, occurred_at: str | None = None) -> list[tuple[SimStore, Any]]:
    rng = random.Random(7)
    return [(sim, sim.sale(rng.randint(100, 20_000), occurred_at)) for _ in range(per_store) for sim in sims]


async def steady_load(js: Any, sims: list[SimStore], rate: float, seconds: float) -> list[str]:
    """`rate` events/s spread over random stores, each published as it happens."""
    rng, ids = random.Random(11), []
    start = time.perf_counter()
    sent = 0
    while time.perf_counter() - start < seconds:
        due = int((time.perf_counter() - start) * rate) - sent
        if due > 0:
            batch = [(sim, sim.sale(rng.randint(100, 20_000))) for sim in rng.sample(sims, min(due, len(sims)))]
            await publish_all(js, batch)
            ids += [env.event_id for _, env in batch]
            sent += len(batch)
        await asyncio.sleep(0.01)
    return ids


async def lags(db: CloudDB, ids: list[str]) -> list[float]:
    out: list[float] = []
    async with db.tenant(TENANT, write=False) as conn:
        for i in range(0, len(ids), 1000):
            rows = await conn.execute(select(events.c.occurred_at, events.c.received_at)
                                      .where(events.c.event_id.in_(ids[i:i + 1000])))
            out += [(parse_iso(r.received_at) - parse_iso(r.occurred_at)).total_seconds() for r in rows]
    return sorted(out)


async def main(args: argparse.Namespace) -> None:
    problem = await pg_problem()
    if problem:
        print(f"skipped: Postgres not reachable at {PG_URL} ({problem})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        replicas = 3 if args.cluster else 1
        if args.cluster:
            cluster = Cluster(Path(tmp) / "cluster").start()
            urls, stop = cluster.urls, cluster.stop
        else:
            node = NatsServer(Path(tmp) / "js")
            node.start()
            urls, stop = [node.url], node.stop
        instances: Instances | None = None
        try:
            nc = await connect(urls)
            js = nc.jetstream()
            sims = [SimStore(TENANT, f"s{i:04d}") for i in range(args.stores)]
            t = time.perf_counter()
            await create_store_streams(js, sims, replicas=replicas)
            await sync_aggregate(js, partitions=args.partitions, replicas=replicas)
            print(f"setup: {args.stores} store streams (R{replicas}) sourced into {args.partitions} partitions "
                  f"in {time.perf_counter() - t:.1f} s ({'3-node cluster' if args.cluster else 'one node'})")

            backlog = trade(sims, args.backlog_events)
            baseline = await publish_all(js, backlog)
            sourced_s = await wait_sourced(js, len(backlog))
            print(f"baseline: stores publish-with-ack {baseline:,.0f} events/s "
                  f"({len(backlog):,} events; aggregate sourced them {sourced_s:.1f} s later)")

            rates: dict[int, float] = {}
            for n in (1, 2, 3):
                await reset_consumers(js, args.partitions)
                db, schema = await fresh_db()
                instances = Instances(urls, schema, args.partitions)
                await asyncio.to_thread(instances.start, n)
                took = await wait_ingested(db, len(backlog))
                rates[n] = len(backlog) / took
                print(f"sustained ingest, {n} instance(s): {rates[n]:,.0f} events/s into Postgres "
                      f"({len(backlog):,} events in {took:.1f} s; x{rates[n] / rates[1]:.2f} vs 1 instance, "
                      f"{rates[n] / baseline:.0%} of baseline)")
                if n < 3:
                    instances.kill()
                    await drop(db, schema)

            ids = await steady_load(js, sims, args.rate, args.steady_s)
            await wait_ingested(db, len(backlog) + len(ids))
            lag = await lags(db, ids)
            print(f"steady load, 3 instances: {args.rate:.0f} events/s over {args.stores} stores for "
                  f"{args.steady_s:.0f} s: lag p50 {statistics.median(lag) * 1000:.0f} ms, "
                  f"p95 {lag[int(len(lag) * 0.95) - 1] * 1000:.0f} ms, max {lag[-1] * 1000:.0f} ms")

            instances.kill()  # HQ ingest down; the stores keep trading into their streams
            before = await count(db)
            outage = trade(sims, args.outage_events)
            await publish_all(js, outage)
            await wait_sourced(js, len(backlog) + len(ids) + len(outage))
            await asyncio.to_thread(instances.start, 3)
            took = await wait_ingested(db, before + len(outage))
            print(f"catch-up after a 1 h outage (scaled: {args.outage_events} events per store for the hour, "
                  f"{len(outage):,} in all): 3 instances drained it in {took:.1f} s "
                  f"({len(outage) / took:,.0f} events/s)")
            instances.kill()
            await drop(db, schema)
            await nc.close()
        finally:
            if instances is not None:
                instances.kill()
            stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--backlog-events", type=int, default=30, help="per store, for the throughput runs")
    parser.add_argument("--outage-events", type=int, default=20, help="per store, the scaled-down hour")
    parser.add_argument("--rate", type=float, default=200.0, help="steady load, events/s over all stores")
    parser.add_argument("--steady-s", type=float, default=15.0)
    parser.add_argument("--cluster", action="store_true", help="a 3-node cluster with R3 streams")
    asyncio.run(main(parser.parse_args()))
