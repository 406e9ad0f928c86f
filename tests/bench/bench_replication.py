# ruff: noqa: ASYNC110 - polling the DB for progress is the measurement here
"""Replication benchmark: edge outbox → relay → JetStream → aggregate → cloud DB, for 20 stores.

Run: `python tests/bench/bench_replication.py [--stores 20] [--events 300] [--rate 25]`.
Prints, measured in one run on this machine:
1. baseline: raw JetStream publish-with-ack (windowed publish_async, 1 stream), events/s: the
   first run (the ratios' base, as it always was) and the best of three (warmed up, and less
   at the mercy of a neighbour's hiccup: one burst's worth takes a fraction of a second);
2. burst: every store's outbox pre-filled, then relays and cloud ingest run together:
   end-to-end events/s (outbox -> relay -> JetStream -> aggregate -> cloud DB, committed);
   The cloud ingest runs in a child process (the hub is another machine in production);
   relays and the simulated stores share this one.
3. steady load: each store emits `--rate` events/s for a fixed time; lag = cloud received_at
   minus the event's occurred_at (p50/p95/max).
Ratios are against the baseline. No asserts: figures only. Bounded well under 2 minutes.
The CPU each side (and nats-server) spent per burst event is printed too: on a shared machine
the wall-clock ratios move with the neighbours' load, the CPU per event much less.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cloud")]

import nats  # noqa: E402
import structlog  # noqa: E402
from conftest import CloudSide, EdgeStore, NatsServer, sale  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from cloud.clock import parse_iso  # noqa: E402
from cloud.db import CloudDB  # noqa: E402
from cloud.schema import create_schema, events  # noqa: E402
from edge.adapters.relay import Relay, RelayConfig, ensure_stream, stream_config  # noqa: E402
from edge.adapters.tables import outbox  # noqa: E402
from edge.domain.ids import now_iso  # noqa: E402

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # errors only


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (Linux /proc), or None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def baseline(url: str, n: int) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="BENCH_RAW", subjects=["bench.raw"])
    body = b"x" * 700  # about the size of an order.completed envelope
    start = time.perf_counter()
    window = 256
    for i in range(0, n, window):
        futures = [
            await js.publish_async("bench.raw", body, headers={"Nats-Msg-Id": f"b{j}"})
            for j in range(i, min(n, i + window))
        ]
        await asyncio.gather(*(asyncio.wait_for(f, 10) for f in futures))
    rate = n / (time.perf_counter() - start)
    await js.delete_stream("BENCH_RAW")
    await nc.close()
    return rate


def cloud_process(db_path: str, url: str, ready: Any, committed: Any) -> None:
    """The hub's ingest (aggregate stream -> cloud DB), alone in a child process. `committed`
    follows the ingestor's count of committed new events, so the parent need not poll the DB."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))

    async def serve() -> None:
        side = CloudSide(CloudDB(f"sqlite:///{db_path}"), url, batch=500)
        await side.start()
        ready.set()
        while True:  # until terminated
            committed.value = side.ingestor.total_new
            await asyncio.sleep(0.01)

    asyncio.run(serve())


async def cloud_count(db: CloudDB) -> int:
    async with db.tenant("bench", write=False) as conn:
        return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="novapos-bench-"))
    server = NatsServer(tmp / "js")
    server.start()
    try:
        raws = [await baseline(server.url, args.stores * args.events) for _ in range(3)]
        raw, raw_best = raws[0], max(raws)
        stores = [EdgeStore(tmp / f"edge-{i}.db", "bench", f"b{i:02d}") for i in range(args.stores)]
        for s in stores:
            for _ in range(args.events // 50):
                await s.emit([("order.completed", sale(100, location=s.store_id)) for _ in range(50)])
        db = CloudDB(f"sqlite:///{tmp / 'cloud.db'}")
        await create_schema(db)
        relays = [
            Relay(s.db, RelayConfig(nats_url=server.url, tenant_id="bench", store_id=s.store_id, idle_poll_s=0.05))
            for s in stores
        ]
        total = args.stores * (args.events // 50) * 50
        # Burst: the whole pipeline at once (relays and cloud ingest run concurrently).
        nc = await nats.connect(server.url)  # store streams first, so the aggregate sources them all
        for s in stores:
            await ensure_stream(nc.jetstream(), stream_config("bench", s.store_id))
        await nc.close()
        # The hub runs in its own process, as in production: otherwise 20 relays, 20 store
        # writers and the ingest share one interpreter lock and the figure measures that.
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        committed = ctx.Value("q", 0, lock=False)
        cloud = ctx.Process(target=cloud_process, args=(str(tmp / "cloud.db"), server.url, ready, committed),
                            daemon=True)
        cloud.start()
        if not ready.wait(60):
            raise SystemExit("the cloud ingest process did not start")
        cloud_cpu0, edge_cpu0 = cpu_seconds(cloud.pid), time.process_time()
        server_cpu0 = cpu_seconds(server.proc.pid)
        start = time.perf_counter()
        for r in relays:
            await r.start()
        drained_at, edge_cpu_drained = None, None
        # Progress comes from the cloud process's own count of committed events: polling the
        # cloud DB from here took CPU from the relays being measured.
        while committed.value < total:
            if time.perf_counter() - start > 120:
                raise SystemExit(f"burst stalled at {committed.value} of {total} events")
            if drained_at is None and sum(r.published for r in relays) >= total:
                # Every outbox row has its PubAck, marked sent (counted by the relays: reading
                # 20 outboxes every 20 ms here took CPU from the relays being measured).
                drained_at = time.perf_counter()
                edge_cpu_drained = time.process_time() - edge_cpu0
            await asyncio.sleep(0.02)
        burst = total / (time.perf_counter() - start)
        cloud_cpu1, edge_cpu = cpu_seconds(cloud.pid), time.process_time() - edge_cpu0
        server_cpu1 = cpu_seconds(server.proc.pid)
        cloud_cpu = None if cloud_cpu0 is None or cloud_cpu1 is None else cloud_cpu1 - cloud_cpu0
        server_cpu = None if server_cpu0 is None or server_cpu1 is None else server_cpu1 - server_cpu0
        if await cloud_count(db) != total:
            raise SystemExit(f"the cloud DB holds {await cloud_count(db)} events, not {total}")
        relay_rate = total / ((drained_at or time.perf_counter()) - start)

        # Steady load: each store sells at `rate` events/s (on a schedule, so the offered load
        # is the stated one) while everything runs.
        async def sell(store: EdgeStore, relay: Relay, until: float) -> int:
            sent, t0 = 0, time.perf_counter()
            while time.perf_counter() < until:
                await store.emit([("order.completed", sale(100, location=store.store_id))])
                relay.notify()
                sent += 1
                await asyncio.sleep(max(0.0, t0 + sent / args.rate - time.perf_counter()))
            return sent

        steady_from = now_iso()
        steady_start = time.perf_counter()
        until = steady_start + args.seconds
        emitted = sum(await asyncio.gather(*(sell(s, r, until) for s, r in zip(stores, relays, strict=True))))
        target = total + emitted
        while await cloud_count(db) < target and time.perf_counter() < until + 30:
            await asyncio.sleep(0.02)
        steady_rate = (await cloud_count(db) - total) / (time.perf_counter() - steady_start)
        async with db.tenant("bench", write=False) as conn:
            rows = await conn.execute(
                select(events.c.occurred_at, events.c.received_at).where(events.c.occurred_at >= steady_from)
            )
            lags = [(parse_iso(r[1]) - parse_iso(r[0])).total_seconds() for r in rows]
        relay_lags = []  # the edge's share: occurred -> PubAck recorded (sent_at)
        for s in stores:
            relay_lags += await s.db.read(
                lambda c: [
                    (parse_iso(r[1]) - parse_iso(r[0])).total_seconds()
                    for r in c.execute(
                        select(outbox.c.occurred_at, outbox.c.sent_at).where(
                            outbox.c.occurred_at >= steady_from, outbox.c.sent_at.is_not(None)
                        )
                    )
                ]
            )
        for r in relays:
            await r.stop()
        cloud.terminate()
        cloud.join(10)
        await db.close()
        for s in stores:
            await s.close()
    finally:
        server.stop()

    lags.sort()
    relay_lags.sort()

    def p(q: float, values: list[float] = lags) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else 0.0

    print(f"\nNovaPOS replication benchmark: {args.stores} stores, loopback nats-server, SQLite cloud DB\n")
    print(f"{'measure':<52}{'value':>14}{'vs raw':>10}")
    print("-" * 76)
    print(f"{'raw JetStream publish-with-ack (window 256)':<52}{raw:>11,.0f}/s{'1.00':>10}")
    print(f"{'  the same, best of 3 runs':<52}{raw_best:>11,.0f}/s{raw_best / raw:>10.2f}")
    print(f"{'end-to-end burst, outbox -> cloud DB':<52}{burst:>11,.0f}/s{burst / raw:>10.2f}")
    print(f"{'  vs the best raw run':<52}{'':>13}{burst / raw_best:>10.2f}")
    print(f"{'  of which edge: 20 relays drain outbox -> PubAck':<52}{relay_rate:>11,.0f}/s{relay_rate / raw:>10.2f}")
    if cloud_cpu is not None:
        print(f"{'  CPU per burst event, cloud ingest process':<52}{cloud_cpu / total * 1e6:>11,.0f}us")
    print(f"{'  CPU per burst event, relays + stores process':<52}{edge_cpu / total * 1e6:>11,.0f}us")
    if edge_cpu_drained is not None:  # without the relays' idle polls while the cloud catches up
        print(f"{'    of which until the outboxes were drained':<52}{edge_cpu_drained / total * 1e6:>11,.0f}us")
    if server_cpu is not None:
        print(f"{'  CPU per burst event, nats-server':<52}{server_cpu / total * 1e6:>11,.0f}us")
    offered = args.stores * args.rate
    print(f"{f'steady load offered ({args.stores} x {args.rate}/s)':<52}{offered:>11,.0f}/s{offered / raw:>10.2f}")
    print(f"{'steady load delivered to cloud DB':<52}{steady_rate:>11,.0f}/s{steady_rate / raw:>10.2f}")
    print(f"{'steady lag p50 (occurred -> in cloud DB)':<52}{p(0.5):>11,.0f}ms")
    print(f"{'steady lag p95':<52}{p(0.95):>11,.0f}ms")
    print(f"{'steady lag max':<52}{lags[-1] * 1000 if lags else 0:>11,.0f}ms")
    print(f"{'  of which edge: occurred -> PubAck, p50':<52}{p(0.5, relay_lags):>11,.0f}ms")
    print(f"{'  of which edge: occurred -> PubAck, p95':<52}{p(0.95, relay_lags):>11,.0f}ms")
    print(f"\nevents: burst {total}, steady {emitted}; statistics.mean lag {statistics.mean(lags) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--events", type=int, default=100, help="pre-filled outbox events per store (burst)")
    parser.add_argument("--rate", type=float, default=5.0, help="events/s per store under steady load")
    parser.add_argument("--seconds", type=float, default=10.0, help="steady-load duration")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
