"""The writer thread's CPU per checkout, against a bare sqlite3 baseline measured in the same run.

    .venv/bin/python tests/bench/bench_checkout_writer.py [--orders 2000] [--batch 16] [--rounds 3] [--profile]
    .venv/bin/python tests/bench/bench_checkout_writer.py --instructions --orders 400   (needs valgrind)

Runs 3-line cash checkouts through exactly what the writer thread runs for `POST /api/v1/orders`:
the idempotency unit (`edge.api.idempotency.writer_unit`) around `orders.create_order`, in the
unit of work, inside `Database._run_batch` (a savepoint per unit, one group commit per `--batch`
units, synchronous=FULL) on a temporary demo store. It runs on this thread, so `time.thread_time()`
counts only the writer's work: no HTTP, no event loop, no waiting for the disk.

The baseline is a bare sqlite3 connection with the same pragmas writing 16 rows per order (what
a checkout changed, by SQLite's `total_changes`, when this bench was written), one `INSERT` per
row and one transaction per batch. Read the ratio, which stays put on a shared machine where the microseconds move; the
best of `--rounds` is printed. `--profile` prints a cProfile of one round, by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from edge.adapters.db import _Job
from edge.adapters.migrations import migrate
from edge.api.idempotency import canonical_body_hash, writer_unit
from edge.api.routes.orders import OrderIn
from edge.bootstrap import build_services, effective_settings, ensure_store
from edge.service import inventory, orders
from edge.service.commands import Moved
from edge.service.ports import Actor
from edge.settings import load_settings

ROUTE = "POST /api/v1/orders"
# Rows the baseline writes per order: fixed (what a checkout changed when this bench was
# written), so the ratio compares one change against another and not against a moving baseline.
BARE_ROWS = 16


def order_bodies(skus: list[str], count: int) -> list[bytes]:
    """The same bodies as bench_checkout.py sends."""
    out = []
    for i in range(count):
        lines = [{"sku": skus[(i + k) % len(skus)], "quantity": 1} for k in range(3)]
        out.append(msgspec.json.encode({"lane_id": str(1 + i % 3), "lines": lines,
                                        "tenders": [{"method": "cash", "amount_cents": 100_000}]}))
    return out


class Store:
    def __init__(self, directory: Path):
        settings = effective_settings(load_settings(environ={"NOVAPOS_DATA_DIR": str(directory),
                                                             "NOVAPOS_DEMO": "1"}))
        migrate(settings.db_path)
        self.services = build_services(settings)
        ensure_store(self.services)
        self.policy = None
        db = self.services.db
        self.db = db
        self.uow = self.services.uow
        tenant, store = settings.store.tenant_id, settings.store.store_id
        user_id = db.read_sync(lambda c: c.exec_driver_sql(
            "SELECT id FROM users WHERE username = 'cashier'").scalar())
        self.cashier = Actor(tenant_id=tenant, store_id=store, user_id=user_id, username="cashier",
                             roles=("cashier",), request_id=uuid.uuid4().hex)
        manager = Actor(tenant_id=tenant, store_id=store, user_id=None, username="manager",
                        roles=("store_manager",))
        products = db.read_sync(lambda c: c.exec_driver_sql(
            "SELECT id, sku FROM products WHERE sold_by_weight = 0 ORDER BY sku LIMIT 50").all())
        self.skus = [sku for _, sku in products]
        # Plenty of stock, so every checkout succeeds (as in bench_checkout.py).
        self.uow.run_sync(manager, lambda u: inventory.receive(
            u, "bench", [Moved(product_id=pid, quantity=1_000_000) for pid, _ in products]))
        self.conn = db._writer_engine.connect()

    def jobs(self, bodies: list[bytes]) -> list[_Job]:
        out = []
        for body in bodies:
            data = msgspec.json.decode(body, type=OrderIn)
            scope = (self.cashier.tenant_id, self.cashier.user_id, ROUTE, uuid.uuid4().hex)
            unit = writer_unit(scope, canonical_body_hash(body), 201, lambda u, data=data: orders.create_order(
                u, data, override_by=None, offline=False, points_online=True))
            out.append(_Job(lambda conn, unit=unit: unit(self.uow._uow(conn, self.cashier)), Future(), None))
        return out

    def run(self, bodies: list[bytes], batch: int, *, counted: bool = True) -> tuple[float, int]:
        """(writer CPU seconds, rows changed) for these checkouts, in batches. Only a `counted`
        run is counted by callgrind."""
        jobs = self.jobs(bodies)
        raw = self.conn.connection.driver_connection
        changes = raw.total_changes
        batches = [jobs[at:at + batch] for at in range(0, len(jobs), batch)]
        start = time.thread_time()
        # Through functools.reduce (a C function): under callgrind, `--toggle-collect=functools_reduce`
        # counts the instructions of exactly this loop (see `instructions`).
        if counted:
            functools.reduce(lambda _, b: self.db._run_batch(self.conn, b), batches, None)
        else:
            for b in batches:
                self.db._run_batch(self.conn, b)
        spent = time.thread_time() - start
        for job in jobs:
            job.future.result()  # raises if a checkout failed
        return spent, raw.total_changes - changes


def bare_baseline(directory: Path, orders_n: int, rows_per_order: int, batch: int) -> float:
    """CPU seconds for the same rows through a bare sqlite3 connection, one INSERT per row."""
    conn = sqlite3.connect(directory / "bare.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, a TEXT, b INTEGER, c TEXT, d INTEGER, e TEXT)")
    rows = [(uuid.uuid4().hex, "order", i, "2026-01-01T00:00:00Z", 3, "x" * 40)
            for i in range(orders_n * rows_per_order)]
    per_batch = rows_per_order * batch
    start = time.thread_time()
    for at in range(0, len(rows), per_batch):
        conn.execute("BEGIN IMMEDIATE")
        for row in rows[at:at + per_batch]:
            conn.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", row)
        conn.execute("COMMIT")
    spent = time.thread_time() - start
    conn.close()
    return spent


def instructions(orders_n: int, batch: int) -> None:
    """Instructions per order, counted by callgrind over the measured loop only: the figure that
    does not move with the machine's load. Slow (valgrind), so use a few hundred orders."""
    with tempfile.TemporaryDirectory() as out_dir:
        out = Path(out_dir) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=functools_reduce",
                        f"--callgrind-out-file={out}", sys.executable, __file__, "--orders", str(orders_n),
                        "--batch", str(batch), "--rounds", "1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        total = next(int(line.split()[1]) for line in out.read_text().splitlines()
                     if line.startswith(("summary:", "totals:")))
    print(f"instructions per order (callgrind, {orders_n} orders, batch {batch}): {total / orders_n:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=16, help="units per group commit (16 clients: up to 16)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind instead")
    args = parser.parse_args()
    if args.instructions:
        instructions(args.orders, args.batch)
        return
    import structlog

    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())  # no log output in the figures
    tmp = Path(tempfile.mkdtemp(prefix="novapos-bench-writer-"))
    try:
        measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a run leaves some hundred MB of orders behind


def measure(args: argparse.Namespace, tmp: Path) -> None:
    store = Store(tmp / "data")
    bodies = order_bodies(store.skus, 150)
    cycle = (bodies * (args.orders // len(bodies) + 1))[:args.orders]
    store.run(cycle[:300], args.batch, counted=False)  # warm-up: compile caches, statement caches, page cache
    best = best_bare = float("inf")
    rows = 0
    for _ in range(args.rounds):
        spent, changed = store.run(cycle, args.batch)
        rows = round(changed / args.orders)
        best = min(best, spent)
        best_bare = min(best_bare, bare_baseline(tmp, args.orders, BARE_ROWS, args.batch))
    print(f"orders {args.orders}, batch {args.batch}, rows changed per order {rows}")
    print(f"writer CPU per order: {best / args.orders * 1e6:.0f} us (best of {args.rounds})")
    print(f"bare sqlite3, {BARE_ROWS} single-row INSERTs per order: {best_bare / args.orders * 1e6:.0f} us")
    print(f"writer / bare: {best / best_bare:.2f}x")
    if args.profile:
        profiler = cProfile.Profile(time.thread_time)  # CPU, not the waits for the disk
        profiler.enable()
        store.run(cycle, args.batch)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(45)
    store.conn.close()


if __name__ == "__main__":
    main()
